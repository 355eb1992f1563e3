"""ProcessModels of the Hebbian rule's Loihi graph (``processes/hebbian_fixed.py``):
``fixed_pt`` models that run the integer programs of ``rules.hebbian_loihi.hidden_step`` and
``error_step`` and ``floating_pt`` models of the same processes (the same functions with
``fixed=False``). The synapses are Lava's own LearningDense.

The integer programs, per step k of a sample's period (``>>`` floors; only add, shift,
compare and saturate, what a Loihi 2 programmable neuron does; states of ``state_bits``
bits, graded payloads of 8 bits, post factors of 7)::

    Oja: hidden unit                         error unit
    k = 1: y = sat(sat(a) >> q, +-255)       k = 0: x = the stream's input
           send max(y, 0)                    k = 2: r+ = a
    k = 2: send max(-y, 0)                   k = 3: e = sat(x - sat(r+ - a), +-255)
    k = 3..6: send max(b y, 0) and F's       k = 3..6: send max(a e, 0) and B's factors
           factors                           ((a, b) = (+,+), (+,-), (-,+), (-,-))

with the factors y1 = (v_part >> 1) + (v_part & 1)((v_part >> 1) & 1) and the gate c on
y2 or y3 (``kernels.hebbian_fixed.post_factors``). BCM: at k = 1 y = max(sat(sat(a) >> q),
0), send y, y1 = y2 = round(y / 2), y3 = round(theta / 2), then
theta = sat(theta + (((y y) >> (8 - q)) - theta) >> k_theta). The stream and the features recorder
are the host's (the ``CPU`` next to the chip); they only send samples and read
activities.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.activity import count_sent
from dynaxx_neuro.cycle import epoch_order
from dynaxx_neuro.kernels import hebbian_fixed as hf
from dynaxx_neuro.models import named
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.processes.hebbian_fixed import (HebbianFixedError, HebbianFixedFeatures,
                                                  HebbianFixedHidden, HebbianFixedStream)
from dynaxx_neuro.rules.hebbian_loihi import ErrorState, HiddenState, error_step, hidden_step


def _stream_model(tag_name: str, dtype):
    @implements(proc=HebbianFixedStream, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Sends the current sample's input at the first step of its period."""

        x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        events: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.inputs, self.seed = proc_params["inputs"], proc_params["seed"]
            self.shuffle, self.send_steps = proc_params["shuffle"], proc_params["send_steps"]
            self.order_epoch, self.order = None, np.arange(len(self.inputs))
            self.zeros = np.zeros(self.inputs.shape[1], dtype=dtype)

        def run_spk(self):
            slot = self.slot
            if slot.k not in self.send_steps:
                self.x_out.send(self.zeros)
                return
            if self.shuffle and self.order_epoch != slot.epoch:
                self.order = epoch_order(self.seed, slot.epoch, len(self.inputs), 1).ravel()
                self.order_epoch = slot.epoch
            x = self.inputs[self.order[slot.batch]]
            self.x_out.send(x)
            count_sent(self.events, x, slot.batch == 0 and slot.k == self.send_steps[0])

    return named(Model, "PyHebbianFixedStreamModel", tag_name)


def _send(model, sent: tuple) -> None:
    """Send (payload, y1, y2, y3) and count the payload's graded spikes."""
    for port, value in zip((model.s_out, model.s_out_y1, model.s_out_y2, model.s_out_y3),
                           sent):
        port.send(value)
    slot = model.slot
    count_sent(model.events, sent[0], slot.batch == 0 and slot.k == 0)


def _hidden_model(tag_name: str, dtype, fixed: bool):
    @implements(proc=HebbianFixedHidden, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Runs the hidden unit's program of the module docstring."""

        a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=24)
        y: np.ndarray = LavaPyType(np.ndarray, dtype, precision=9)
        theta: np.ndarray = LavaPyType(np.ndarray, dtype, precision=24)
        s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        events: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.config, self.c = proc_params["config"], proc_params["third_factor"]

        def run_spk(self):
            drive = self.a_in.recv()
            state = HiddenState(self.y, self.theta)
            sent = hidden_step(self.config, self.slot.k, state, drive, self.c, fixed)
            self.y, self.theta = state.y, state.theta
            _send(self, sent)

    return named(Model, "PyHebbianFixedHiddenModel", tag_name)


def _error_model(tag_name: str, dtype, fixed: bool):
    @implements(proc=HebbianFixedError, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Runs the error unit's program of the module docstring."""

        x_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=8)
        a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=24)
        x: np.ndarray = LavaPyType(np.ndarray, dtype, precision=8)
        r_plus: np.ndarray = LavaPyType(np.ndarray, dtype, precision=24)
        e: np.ndarray = LavaPyType(np.ndarray, dtype, precision=9)
        s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        events: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.config, self.c = proc_params["config"], proc_params["third_factor"]

        def run_spk(self):
            x, drive = self.x_in.recv(), self.a_in.recv()
            state = ErrorState(self.x, self.r_plus, self.e)
            sent = error_step(self.config, self.slot.k, state, x, drive, self.c, fixed)
            self.x, self.r_plus, self.e = state.x, state.r_plus, state.e
            _send(self, sent)

    return named(Model, "PyHebbianFixedErrorModel", tag_name)


def _features_model(tag_name: str, dtype):
    @implements(proc=HebbianFixedFeatures, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Keeps y = y+ - y- of every sample of an inference run."""

        s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=8)
        features: np.ndarray = LavaPyType(np.ndarray, dtype)

        def run_spk(self):
            sent, slot = self.s_in.recv(), self.slot
            if slot.k == hf.Y_STEP:
                self.features[slot.batch] = sent
            elif slot.k == hf.RECON_STEP:
                self.features[slot.batch] -= sent

    return named(Model, "PyHebbianFixedFeaturesModel", tag_name)


PyHebbianFixedStreamModelFixed = _stream_model("fixed_pt", np.int32)
PyHebbianFixedHiddenModelFixed = _hidden_model("fixed_pt", np.int32, True)
PyHebbianFixedErrorModelFixed = _error_model("fixed_pt", np.int32, True)
PyHebbianFixedFeaturesModelFixed = _features_model("fixed_pt", np.int32)
PyHebbianFixedStreamModelFloat = _stream_model("floating_pt", float)
PyHebbianFixedHiddenModelFloat = _hidden_model("floating_pt", float, False)
PyHebbianFixedErrorModelFloat = _error_model("floating_pt", float, False)
PyHebbianFixedFeaturesModelFloat = _features_model("floating_pt", float)

MODELS = {"fixed_pt": (PyHebbianFixedStreamModelFixed, PyHebbianFixedHiddenModelFixed,
                       PyHebbianFixedErrorModelFixed, PyHebbianFixedFeaturesModelFixed),
          "floating_pt": (PyHebbianFixedStreamModelFloat, PyHebbianFixedHiddenModelFloat,
                          PyHebbianFixedErrorModelFloat, PyHebbianFixedFeaturesModelFloat)}
