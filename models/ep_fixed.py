"""The ``fixed_pt`` ProcessModel of the integer EP layer: each step it receives the summed
graded drives of its Dense synapses (and, at the output, the target), runs
``kernels.ep_fixed.period_step`` on int64 states and sends its rates as graded spikes.

Per step, the integer program (``s``, ``b`` in units 2^-rate_bits; ``>>`` floors)::

    k = step within the period;  a = sum of the Dense outputs (each (w r_pre) >> q)
    k = 0:          s = 0
    restore step:   s = s_free
    otherwise:      s = sat(a + b);  output, +beta / -beta phase: s = sat(s +/- ((d - r) >> k_beta))
    k = free end:   s_free = s
    r = clip(s, 0, 2^rate_bits - 1);  send r
    send y1 = r >> 1;  y2 = c at the +beta end, y3 = c at the -beta end, else 0

Only integer add, shift, compare and saturate on ``state_bits``-wide states, the operations
of a Loihi 2 programmable neuron; the payload is ``rate_bits`` <= 24 bits.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.processes.ep_fixed import EPFixedLayer


@implements(proc=EPFixedLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyEPFixedLayerModelFixed(PeriodModel):
    """The integer EP layer (see the module docstring)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    target_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    s: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    s_free: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    r: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    bias: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.schedule, self.fmt = proc_params["schedule"], proc_params["fmt"]
        self.beta_shift, self.is_output = proc_params["beta_shift"], proc_params["is_output"]
        self.third_factor = proc_params["third_factor"]

    def run_spk(self):
        drive = self.a_in.recv().astype(np.int64)
        target = self.target_in.recv().astype(np.int64)
        k = self.slot.k
        self.s = fx.period_step(self.schedule, k, self.s, self.s_free, drive, self.bias,
                                self.fmt, self.beta_shift,
                                target if self.is_output else None, self.r)
        if k == self.schedule.free_end:
            self.s_free = self.s.copy()
        self.r = fx.rate(self.s, self.fmt)
        self.s_out.send(self.r)
        y1, y2, y3 = fx.post_factors(self.schedule, k, self.r, self.third_factor)
        self.s_out_y1.send(y1)
        self.s_out_y2.send(y2)
        self.s_out_y3.send(y3)


MODELS = {"fixed_pt": (PyEPFixedLayerModelFixed,)}
