"""ProcessModels of FF's Loihi graph (``processes/ff_fixed.py``): ``fixed_pt`` models that run
the integer programs of ``rules.ff_loihi.layer_step`` and ``goodness_step`` and
``floating_pt`` models of the same processes (``float_layer_step``, ``float_goodness_step``).
The synapses are Lava's own LearningDense and Dense.

The integer program of an ``FFFixedLayer`` neuron per step (no state; only add, multiply,
shift, compare and saturate; 8-bit payloads, 12-bit squares, 7-bit post factors)::

    a = sum of its synapses' outputs ((w X) >> (e + 2) each);  y, t from its goodness neuron
    r = clip(a, 0, 255)
    send X' = min((r y) >> 12, 255),  q = (r r) >> 4,  y1 = round(r / 2),
         y2 = clip(t, 0, 127),  y3 = clip(-t, 0, 127)

and of an ``FFFixedGoodness`` neuron (one per layer, 24-bit sum)::

    S = min(sum q, 2^24 - 1);  y = inv_sqrt(S) (Lava's);  send y, S
    send t = (128 - P) >> (7 - c) (positive window) or -(P >> (7 - c)) (negative window),
         P = plan_sigmoid(S - theta), at the step before a training window's last, else 0
         (c: the epoch's third-factor width, ``rules.ff_loihi.FFLoihiConfig.scale_at``)

The stream and the readout are the host's; they only send samples and read goodness.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.activity import count_sent
from dynaxx_neuro.cycle import TRAIN, epoch_order
from dynaxx_neuro.kernels import ff_fixed as fx
from dynaxx_neuro.models import named
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.processes.ff_fixed import (FFFixedGoodness, FFFixedLayer, FFFixedReadout,
                                             FFFixedStream)
from dynaxx_neuro.rules.ff_loihi import (fixed_inputs, float_goodness_step, float_inputs,
                                         float_layer_step, goodness_step, goodness_value,
                                         layer_step, pair_score, window_label)


def _stream_model(tag_name: str, dtype, encode, full_scale):
    """The stream's model for ``tag_name``: windows encoded by ``encode``, the bias input
    sent as ``full_scale`` (255 in fixed point, 1.0 in float)."""

    @implements(proc=FFFixedStream, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Sends the current window's input and the always-on bias input."""

        x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        bias_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        events: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.config, self.seed = proc_params["config"], proc_params["seed"]
            self.inputs, self.labels = proc_params["inputs"], proc_params["labels"]
            self.order_epoch, self.order, self.x = None, None, None

        def _row(self, slot) -> int:
            if slot.split != TRAIN:
                return slot.batch
            if self.order_epoch != slot.epoch:
                self.order = epoch_order(self.seed, slot.epoch, len(self.labels[TRAIN]),
                                         1).ravel()
                self.order_epoch = slot.epoch
            return self.order[slot.batch]

        def run_spk(self):
            slot = self.slot
            if slot.k % self.config.timing.window == 0:
                row = self._row(slot)
                label = self.labels[TRAIN][row] if slot.split == TRAIN else 0
                label = window_label(self.config, slot, label, self.seed)
                self.x = encode(self.config, self.inputs[slot.split][row:row + 1],
                                np.array([label]))[0].astype(dtype)
            self.x_out.send(self.x)
            self.bias_out.send(np.array([full_scale], dtype=dtype))
            if slot.split == TRAIN:
                count_sent(self.events, self.x, slot.batch == 0 and slot.k == 0)

    return named(Model, "PyFFFixedStreamModel", tag_name)


def _layer_model(tag_name: str, dtype, step):
    """The layer's model for ``tag_name``: ``step`` is the neuron program."""

    @implements(proc=FFFixedLayer, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Runs the layer neuron's program of the module docstring."""

        a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=24)
        y_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=24)
        t_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=8)
        s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        s_out_q: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=12)
        s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=7)
        events: np.ndarray = LavaPyType(np.ndarray, int)

        def run_spk(self):
            x, q, y1, y2, y3 = step(self.a_in.recv(), self.y_in.recv(), self.t_in.recv())
            for port, value in ((self.s_out, x), (self.s_out_q, q), (self.s_out_y1, y1),
                                (self.s_out_y2, y2), (self.s_out_y3, y3)):
                port.send(value)
            slot = self.slot
            if slot.split == TRAIN:
                count_sent(self.events, x, slot.batch == 0 and slot.k == 0)

    return named(Model, "PyFFFixedLayerModel", tag_name)


def _goodness_model(tag_name: str, dtype, step):
    """The goodness neurons' model for ``tag_name``: ``step`` is their program."""

    @implements(proc=FFFixedGoodness, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Runs the goodness neuron's program of the module docstring."""

        a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=24)
        s_out_y: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=24)
        s_out_t: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=8)
        s_out_g: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, dtype, precision=24)
        s: np.ndarray = LavaPyType(np.ndarray, dtype, precision=24)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.config = proc_params["config"]

        def run_spk(self):
            y, t, s = step(self.config, self.slot, self.a_in.recv())
            self.s = s
            self.s_out_y.send(y)
            self.s_out_t.send(t)
            self.s_out_g.send(s)

    return named(Model, "PyFFFixedGoodnessModel", tag_name)


def _readout_model(tag_name: str, fixed: bool):
    dtype = np.int32 if fixed else float

    @implements(proc=FFFixedReadout, protocol=LoihiProtocol)
    @requires(CPU)
    @tag(tag_name)
    class Model(PeriodModel):
        """Scores the goodness at the last step of every window (the docstring of
        ``processes/ff_fixed.FFFixedReadout``)."""

        g_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, dtype, precision=24)
        train_correct: np.ndarray = LavaPyType(np.ndarray, int)
        train_seen: np.ndarray = LavaPyType(np.ndarray, int)
        train_cost: np.ndarray = LavaPyType(np.ndarray, float)
        eval_pred: np.ndarray = LavaPyType(np.ndarray, int)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.config = proc_params["config"]
            self.goodness = np.zeros((self.config.n_classes, self.config.n_layers))

        def run_spk(self):
            g = goodness_value(self.config, self.g_in.recv(), fixed)
            slot = self.slot
            window, k = self.config.timing.window_of(slot.k)
            if k != self.config.timing.read_step:
                return
            self.goodness[window] = g
            if slot.split == TRAIN:
                if window == 1:
                    if slot.batch == 0:
                        self.train_correct[:], self.train_seen[:] = 0, 0
                        self.train_cost[:] = 0.0
                    won, loss = pair_score(self.config, self.goodness[0], self.goodness[1])
                    self.train_correct += won
                    self.train_seen += 1
                    self.train_cost += loss
            elif window == self.config.n_classes - 1:
                start, _ = self.cycle.eval_rows(slot.split, slot.batch)
                self.eval_pred[start] = int(np.argmax(self.goodness.sum(axis=1)))

    return named(Model, "PyFFFixedReadoutModel", tag_name)


PyFFFixedStreamModelFixed = _stream_model("fixed_pt", np.int32, fixed_inputs, fx.X_MAX)
PyFFFixedLayerModelFixed = _layer_model("fixed_pt", np.int32, layer_step)
PyFFFixedGoodnessModelFixed = _goodness_model("fixed_pt", np.int32, goodness_step)
PyFFFixedReadoutModelFixed = _readout_model("fixed_pt", True)
PyFFFixedStreamModelFloat = _stream_model("floating_pt", float, float_inputs, 1.0)
PyFFFixedLayerModelFloat = _layer_model("floating_pt", float, float_layer_step)
PyFFFixedGoodnessModelFloat = _goodness_model("floating_pt", float, float_goodness_step)
PyFFFixedReadoutModelFloat = _readout_model("floating_pt", False)

MODELS = {"fixed_pt": (PyFFFixedStreamModelFixed, PyFFFixedLayerModelFixed,
                       PyFFFixedGoodnessModelFixed, PyFFFixedReadoutModelFixed),
          "floating_pt": (PyFFFixedStreamModelFloat, PyFFFixedLayerModelFloat,
                          PyFFFixedGoodnessModelFloat, PyFFFixedReadoutModelFloat)}
