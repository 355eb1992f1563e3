"""Lava ProcessModels of the STDP network's own processes, and the fixed-point ATRLIF model
it needs. The source and the recorder read their pass's schedule through
``models.clock.PeriodModel`` (the slot's batch is the sample shown, k the step within it).

``RateCodedSource`` and ``SpikeRecorder`` exchange only binary spike events and integer
counts, so one model each serves both the ``floating_pt`` and the ``fixed_pt`` graph (the
Bernoulli draws are the host's job, as on chip).

``PyATRLIFModelFixedKeepTheta`` is Lava's bit-accurate ATRLIF model except for one thing:
Lava's model overwrites every neuron's threshold with ``theta_0`` on its first step (it
MSB-aligns ``theta_0`` and copies it into ``theta``). A Diehl & Cook network keeps a learned,
per-neuron homeostatic threshold, so this model aligns each neuron's own ``theta`` instead.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.atrlif.models import PyATRLIFModelFixed
from lava.proc.atrlif.process import ATRLIF

from dynaxx_neuro.kernels.stdp import rate_code
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.processes.stdp import RateCodedSource, SpikeRecorder


@implements(proc=RateCodedSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PyRateCodedSourceModel(PeriodModel):
    """Draws this step's spikes of the current image with ``kernels.stdp.rate_code`` in the
    first ``t_present`` steps of its period."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    sent: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.images = proc_params["images"]
        self.t_present = proc_params["t_present"]
        self.input_rate = proc_params["input_rate"]
        self.rng = np.random.default_rng(proc_params["seed"])

    def run_spk(self):
        slot = self.slot
        spikes = np.zeros(self.images.shape[1], dtype=bool)
        if slot.k < self.t_present:
            spikes = rate_code(self.images[slot.batch], self.input_rate, self.rng)
            self.sent[slot.batch] += int(spikes.sum())
        self.s_out.send(spikes.astype(float))


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PySpikeRecorderModel(PeriodModel):
    """Adds this step's neuron spikes to the current sample's counts and, for the cycle's
    logged samples, writes both spike vectors into the rasters."""

    in_spikes: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    out_spikes: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    counts: np.ndarray = LavaPyType(np.ndarray, int)
    in_raster: np.ndarray = LavaPyType(np.ndarray, int)
    out_raster: np.ndarray = LavaPyType(np.ndarray, int)

    def run_spk(self):
        pre = self.in_spikes.recv() != 0
        post = self.out_spikes.recv() != 0
        slot = self.slot
        self.counts[slot.batch] += post
        if self.cycle.logged(slot):
            row = self.time_step - 1
            self.in_raster[row] = pre
            self.out_raster[row] = post


@implements(proc=ATRLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyATRLIFModelFixedKeepTheta(PyATRLIFModelFixed):
    """Lava's fixed-point ATRLIF with each neuron's initial ``theta`` kept (MSB-aligned by
    6 bits like ``theta_0``) instead of being reset to ``theta_0``."""

    def scale_threshold(self):
        self.theta_0 = np.int32(self.theta_0 * self.theta_unity)
        self.theta[:] = np.int32(np.asarray(self.theta) * self.theta_unity)
        self.theta_step = np.int32(self.theta_step * self.theta_unity)
        self.isthrscaled = True


MODELS = {"floating_pt": (PyRateCodedSourceModel, PySpikeRecorderModel),
          "fixed_pt": (PyRateCodedSourceModel, PySpikeRecorderModel,
                       PyATRLIFModelFixedKeepTheta)}
