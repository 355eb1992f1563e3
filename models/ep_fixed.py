"""ProcessModels of EP's Loihi graph (``processes/ep_fixed.py``): ``fixed_pt`` models that run
the integer program of ``rules.ep_loihi.neuron_step`` and ``floating_pt`` models of the same
processes (``rules.ep_loihi.float_neuron_step``). The synapses are Lava's own LearningDense.

The integer program of an ``EPFixedLayer`` neuron per step (``s`` in units 2^-8, 24 bits;
``>>`` floors; only add, shift, compare and saturate, what a Loihi 2 programmable neuron
does; graded payloads of 8 bits, post factors of 7)::

    k = step within the period;  a = sum of the synapses' outputs (each (w r_pre) >> e)
    k = 0:          s = 0
    restore step:   s = s_free
    replay step:    s = s_held                   (with --replay)
    otherwise:      s = sat(a);  output, +beta / -beta phase: s = sat(s +/- ((d - r) >> k_beta))
    k = free end:   s_free = s;   with --replay, k = +beta end (free end one-sided): s_held = s
    r = clip(s, 0, 255);  send r
    send y1 = (r >> 1) + (r & 1)((r >> 1) & 1), capped at 127
    send y2 = c at the + step, y3 = c at the - step of a learning sample, else 0
      (+beta end and -beta end; with --replay the replay step and the -beta end)
    send bap = r > 0 at the - step of a learning sample (the rule's floor correction)

The stream and the readout are the host's (the ``CPU`` next to the chip); they only send
samples and read rates.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.activity import count_sent
from dynaxx_neuro.cycle import TRAIN, epoch_order
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.models import named
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.processes.ep_fixed import EPFixedLayer, EPFixedReadout, EPFixedStream
from dynaxx_neuro.rules.ep_loihi import (NeuronState, float_neuron_step, neuron_step,
                                         third_factor_now)


def _stream_model(tag_name: str, dtype, full_scale):
    """The stream's model for ``tag_name``: payloads of ``dtype``, rate 1 sent as
    ``full_scale`` (255 in fixed point, 1.0 in float)."""

    @implements(proc=EPFixedStream, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Sends the current sample's inputs, the always-on bias input and the target."""

        x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        bias_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        target_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        events: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.inputs, self.labels = proc_params["inputs"], proc_params["labels"]
            self.n_classes, self.seed = proc_params["n_classes"], proc_params["seed"]
            self.order_epoch, self.order = None, None
            self.x = self.target = None

        def _load(self, slot) -> None:
            if slot.split == TRAIN:
                if self.order_epoch != slot.epoch:
                    self.order = epoch_order(self.seed, slot.epoch, len(self.labels[TRAIN]),
                                             1).ravel()
                    self.order_epoch = slot.epoch
                row = self.order[slot.batch]
            else:
                row = slot.batch
            self.x = self.inputs[slot.split][row]
            self.target = np.zeros(self.n_classes, dtype=dtype)
            if slot.split == TRAIN:
                self.target[self.labels[TRAIN][row]] = full_scale

        def run_spk(self):
            slot = self.slot
            if slot.k == 0:
                self._load(slot)
            self.x_out.send(self.x)
            self.bias_out.send(np.array([full_scale], dtype=dtype))
            self.target_out.send(self.target)
            if slot.split == TRAIN:
                count_sent(self.events, self.x, slot.batch == 0 and slot.k == 0)

    return named(Model, "PyEPFixedStreamModel", tag_name)


def _layer_model(tag_name: str, dtype, step):
    """The layer's model for ``tag_name``: ``step`` is the neuron program."""

    @implements(proc=EPFixedLayer, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Runs the neuron program of the module docstring."""

        a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=24)
        target_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=8)
        s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_bap: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=1)
        s: np.ndarray = LavaPyType(np.ndarray, dtype, precision=24)
        s_free: np.ndarray = LavaPyType(np.ndarray, dtype, precision=24)
        s_held: np.ndarray = LavaPyType(np.ndarray, dtype, precision=24)
        r: np.ndarray = LavaPyType(np.ndarray, dtype, precision=8)
        events: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.config = proc_params["config"]
            self.is_output, self.c = proc_params["is_output"], proc_params["third_factor"]

        def run_spk(self):
            drive, target = self.a_in.recv(), self.target_in.recv()
            slot = self.slot
            state = NeuronState(self.s, self.s_free, self.s_held, self.r)
            ys = step(self.config, slot.k, state, drive, target if self.is_output else None,
                      third_factor_now(self.config, slot, self.c))
            self.s, self.s_free, self.s_held, self.r = (state.s, state.s_free, state.s_held,
                                                        state.r)
            self.s_out.send(state.r)
            for port, y in zip((self.s_out_y1, self.s_out_y2, self.s_out_y3, self.s_out_bap),
                               ys):
                port.send(y)
            if slot.split == TRAIN:
                count_sent(self.events, state.r, slot.batch == 0 and slot.k == 0)

    return named(Model, "PyEPFixedLayerModel", tag_name)


def _readout_model(tag_name: str, dtype, full_scale):
    @implements(proc=EPFixedReadout, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Scores the output rates at the end of every free phase (the module docstring of
        ``processes/ep_fixed.py``)."""

        rate_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=8)
        target_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=8)
        train_correct: np.ndarray = LavaPyType(np.ndarray, int)
        train_seen: np.ndarray = LavaPyType(np.ndarray, int)
        train_cost: np.ndarray = LavaPyType(np.ndarray, float)
        eval_pred: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.free_end = proc_params["schedule"].free_end

        def run_spk(self):
            rate, target = self.rate_in.recv(), self.target_in.recv()
            slot = self.slot
            if slot.k != self.free_end:
                return
            predicted = int(np.argmax(rate))
            if slot.split == TRAIN:
                if slot.batch == 0:
                    self.train_correct[:], self.train_seen[:], self.train_cost[:] = 0, 0, 0.0
                self.train_correct += int(predicted == int(np.argmax(target)))
                self.train_seen += 1
                error = (np.asarray(target, float) - np.asarray(rate, float)) / full_scale
                self.train_cost += 0.5 * float(error @ error)
                return
            start, _ = self.cycle.eval_rows(slot.split, slot.batch)
            self.eval_pred[start] = predicted

    return named(Model, "PyEPFixedReadoutModel", tag_name)


PyEPFixedStreamModelFixed = _stream_model("fixed_pt", np.int32, fx.RATE_MAX)
PyEPFixedLayerModelFixed = _layer_model("fixed_pt", np.int32, neuron_step)
PyEPFixedReadoutModelFixed = _readout_model("fixed_pt", np.int32, fx.RATE_MAX)
PyEPFixedStreamModelFloat = _stream_model("floating_pt", float, 1.0)
PyEPFixedLayerModelFloat = _layer_model("floating_pt", float, float_neuron_step)
PyEPFixedReadoutModelFloat = _readout_model("floating_pt", float, 1.0)

MODELS = {"fixed_pt": (PyEPFixedStreamModelFixed, PyEPFixedLayerModelFixed,
                       PyEPFixedReadoutModelFixed),
          "floating_pt": (PyEPFixedStreamModelFloat, PyEPFixedLayerModelFloat,
                          PyEPFixedReadoutModelFloat)}
