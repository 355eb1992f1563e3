"""Floating-point Lava ProcessModels of the forward-forward processes: thin wrappers over
the rule's composition (``dynaxx_neuro.rules.ff``) that follow the run's ``EpochCycle`` and
the ``PeriodPlan`` step by step.

Every model makes in a period the calls of ``rules.ff`` that ``networks.ff_numpy``'s
``train_period`` (training) or ``predict`` (evaluation) makes for it, which is what the
equality test checks: the source ``source_input``, each layer ``layer_pass`` and, in the
learning phase, ``learn_layer``, the readout ``learn_readout``.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.activity import count_sent
from dynaxx_neuro.cycle import TRAIN, VAL, EpochBatches
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.models.tensor import TensorStateModel
from dynaxx_neuro.processes.ff import FFLayer, FFReadout, FFSource
from dynaxx_neuro.rules.ff import (NEGATIVE, NEUTRAL, POSITIVE, LayerMonitor,
                                   layer_goodness, layer_pass, learn_layer, learn_readout,
                                   period_plan, score, source_input)


class _FFModel(PeriodModel):
    """A model of the FF graph: its configuration and the plan of each kind of period."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config = proc_params["config"]
        self.plans = {TRAIN: period_plan(self.config, TRAIN),
                      VAL: period_plan(self.config, VAL)}

    def plan(self, split: str):
        return self.plans[TRAIN if split == TRAIN else VAL]


class _LearnerModel(TensorStateModel, _FFModel):
    """A model that holds weights, biases and their optimiser state
    (``processes.tensor.tensor_vars``)."""


@implements(proc=FFSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFSourceModelFloat(_FFModel):
    """Sends each pass of the period at its source step, zeros between passes."""

    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    goodness_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.seed = proc_params["seed"]
        self.batches = EpochBatches(proc_params["data"], self.seed, self.config.batch_size)
        self.x, self.y = None, None

    def run_spk(self):
        slot = self.slot
        goodness = self.goodness_in.recv()
        if slot.k == 0:
            self.x, self.y = self.batches.batch(slot.epoch, slot.split, slot.batch)
        plan = self.plan(slot.split)
        j = plan.pass_at(slot.k)
        if j is None:
            x = np.zeros((self.config.batch_size, self.config.input_width))
        else:
            x = source_input(self.config, plan.passes[j], self.x, self.y, goodness, self.seed,
                             slot.epoch, slot.batch)
            if slot.split == TRAIN:
                count_sent(self.events, x, slot.batch == 0 and j == 0)
        self.x_out.send(x)
        self.label_out.send(np.eye(self.config.n_classes)[self.y])


@implements(proc=FFLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFLayerModelFloat(_LearnerModel):
    """Computes its activity and goodness in the steps of a pass (sending them one step
    later, like Dense; zeros between passes); keeps its positive and negative passes and
    learns from them."""

    x_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    h_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    report_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    h_buff: np.ndarray = LavaPyType(np.ndarray, float)
    report_buff: np.ndarray = LavaPyType(np.ndarray, float)
    monitor: np.ndarray = LavaPyType(np.ndarray, float)
    ever_active: np.ndarray = LavaPyType(np.ndarray, float)
    goodness_sample: np.ndarray = LavaPyType(np.ndarray, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.index, self.seed = proc_params["index"], proc_params["seed"]
        self.offset = sum(self.config.hidden[:self.index])
        self.passes = {}

    def _report(self, h: np.ndarray) -> np.ndarray:
        """normalize(h) in this layer's columns and G in its goodness column."""
        config = self.config
        report = np.zeros_like(self.report_buff)
        report[:, self.offset:self.offset + h.shape[1]] = ff.normalize(h, config.goodness.norm_eps)
        report[:, sum(config.hidden) + self.index] = layer_goodness(h, config)
        return report

    def run_spk(self):
        # What leaves now was computed in the previous step: one step of delay per layer.
        self.h_out.send(self.h_buff)
        self.report_out.send(self.report_buff)
        x = self.x_in.recv()
        slot = self.slot
        plan = self.plan(slot.split)
        j = plan.pass_at(slot.k - self.index)
        if j is None:  # no pass reaches this layer now: nothing to send next step
            self.h_buff = np.zeros_like(self.h_buff)
            self.report_buff = np.zeros_like(self.report_buff)
            return
        x_hat, h = layer_pass(self.tensor_state(), x, self.config)
        self.h_buff, self.report_buff = h, self._report(h)
        if slot.split == TRAIN:
            count_sent(self.events, h, slot.batch == 0 and j == 0)
        if slot.split == TRAIN and plan.passes[j] in (POSITIVE, NEGATIVE):
            self.passes[plan.passes[j]] = (x_hat, h, j)

    def run_lrn(self):
        slot = self.slot
        monitor = (LayerMonitor(self.w.shape[0], self.config.batch_size) if slot.batch == 0
                   else LayerMonitor.from_state(self.monitor, self.ever_active,
                                                self.goodness_sample))
        self.store(learn_layer(self.tensor_state(), self.passes[POSITIVE],
                               self.passes[NEGATIVE], self.config, self.seed, slot.epoch,
                               slot.batch, self.index, monitor))
        self.monitor, self.ever_active, self.goodness_sample = monitor.state()


@implements(proc=FFReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFReadoutModelFloat(_LearnerModel):
    """Collects each layer's report of each pass; scores, learns and sends label goodness."""

    report_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    goodness_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    train_correct: np.ndarray = LavaPyType(np.ndarray, int)
    train_loss: np.ndarray = LavaPyType(np.ndarray, float)
    train_seen: np.ndarray = LavaPyType(np.ndarray, int)
    eval_probs: np.ndarray = LavaPyType(np.ndarray, float)
    eval_goodness: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        config = self.config
        self.offsets = np.cumsum((0, *config.hidden))
        self.features = np.zeros((config.batch_size, sum(config.hidden)))
        self.label_goodness = np.zeros((config.batch_size, config.n_classes))
        self.probs, self.labels = None, None

    def _collect(self, report: np.ndarray, plan, k: int) -> None:
        """Take from the summed report what each layer computed for a pass (layer l's
        result of the pass that left the source at step s arrives at s + l + 1)."""
        n_features = len(self.features[0])
        for l in range(self.config.n_layers):
            j = plan.pass_at(k - l - 1)
            if j is None:
                continue
            name = plan.passes[j]
            if name == NEUTRAL:
                columns = slice(self.offsets[l], self.offsets[l + 1])
                self.features[:, columns] = report[:, columns]
            elif name not in (POSITIVE, NEGATIVE):
                self.label_goodness[:, name] += report[:, n_features + l]

    def run_spk(self):
        slot = self.slot
        plan = self.plan(slot.split)
        if slot.k == 0:
            self.features = np.zeros_like(self.features)
            self.label_goodness = np.zeros_like(self.label_goodness)
        self._collect(self.report_in.recv(), plan, slot.k)
        # The source waits for this before it sends the step's pass and labels.
        self.goodness_out.send(self.label_goodness)
        self.labels = self.label_in.recv()
        if slot.k == self.config.n_layers:  # the neutral pass is complete
            self.probs = ff.readout_probs(self.w, self.b, self.features)
            if slot.split == TRAIN:
                self._count(slot.batch)
        if slot.split != TRAIN and slot.k == plan.period - 1:
            first, n = self.cycle.eval_rows(slot.split, slot.batch)
            self.eval_probs[first:first + n] = self.probs[:n]
            self.eval_goodness[first:first + n] = self.label_goodness[:n]

    def _count(self, batch: int) -> None:
        if batch == 0:
            self.train_correct[:], self.train_loss[:], self.train_seen[:] = 0, 0.0, 0
        correct, loss = score(self.probs, self.labels)
        self.train_correct += correct
        self.train_loss += loss
        self.train_seen += len(self.labels)

    def run_lrn(self):
        self.store(learn_readout(self.tensor_state(), self.features, self.probs, self.labels,
                                 self.config, self.slot.epoch))


MODELS = {"floating_pt": (PyFFSourceModelFloat, PyFFLayerModelFloat, PyFFReadoutModelFloat)}
