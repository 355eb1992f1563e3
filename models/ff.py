"""Floating-point Lava ProcessModels of the forward-forward processes: thin wrappers over
``dynaxx_neuro.kernels.ff`` that follow ``FFCycle`` and ``PeriodPlan`` step by step.

Every model does in a period what ``dynaxx_neuro.networks.ff_numpy.train_period`` (training)
or ``predict`` (evaluation) does for it, with the same kernels in the same order, which is
what the equality test checks.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.kernels import ff
from dynaxx_neuro.networks.activity import count_sent
from dynaxx_neuro.networks.ep_common import padded_batch
from dynaxx_neuro.networks.ff_common import (NEGATIVE, NEUTRAL, POSITIVE, TRAIN, VAL,
                                             LayerMonitor, TensorState, dropout_rng,
                                             epoch_order, negative_batch, negative_rng,
                                             neutral_input, pass_input)
from dynaxx_neuro.processes.ff import FFLayer, FFReadout, FFSource

_TENSORS = ("w", "b", "mw", "vw", "mb", "vb")


class _CycleModel(PyLoihiProcessModel):
    """Where the current time step falls in the cycle; learning in the learning phase of a
    training period's last step."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config = proc_params["config"]
        self.cycle = proc_params["cycle"]

    def position(self) -> tuple[int, str, int, int]:
        """(epoch, split, batch, period step k) of the current time step."""
        return self.cycle.locate(self.time_step)

    def lrn_guard(self) -> bool:
        _, split, _, k = self.position()
        return split == TRAIN and k == self.cycle.train_plan.period - 1


class _LearnerModel(_CycleModel):
    """A model that holds weights, biases and their optimiser state (the Vars of
    ``processes.ff._tensor_vars``), read and written as a ``TensorState``."""

    w: np.ndarray = LavaPyType(np.ndarray, float)
    b: np.ndarray = LavaPyType(np.ndarray, float)
    mw: np.ndarray = LavaPyType(np.ndarray, float)
    vw: np.ndarray = LavaPyType(np.ndarray, float)
    mb: np.ndarray = LavaPyType(np.ndarray, float)
    vb: np.ndarray = LavaPyType(np.ndarray, float)
    step: np.ndarray = LavaPyType(np.ndarray, int)

    def tensor_state(self) -> TensorState:
        return TensorState(*(getattr(self, name) for name in _TENSORS), int(self.step[0]))

    def store(self, state: TensorState) -> None:
        for name in _TENSORS:
            setattr(self, name, getattr(state, name))
        self.step[0] = state.step


@implements(proc=FFSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFFSourceModelFloat(_CycleModel):
    """Sends each pass of the period at its source step, zeros between passes."""

    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    goodness_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.data = proc_params["data"]
        self.order_epoch, self.order = None, None
        self.x, self.y = None, None

    def _load_batch(self, epoch: int, split: str, batch: int) -> None:
        data, size = self.data, self.config.batch_size
        if split == TRAIN:
            if self.order_epoch != epoch:
                self.order = epoch_order(self.config, len(data.x_train), epoch)
                self.order_epoch = epoch
            rows = self.order[batch]
            self.x, self.y = data.x_train[rows], data.y_train[rows]
            return
        x, y = (data.x_val, data.y_val) if split == VAL else (data.x_test, data.y_test)
        start = batch * size
        self.x = padded_batch(x, start, size)
        self.y = np.concatenate([y[start:start + size],
                                 np.zeros(size - len(y[start:start + size]), dtype=int)])

    def _pass(self, name, goodness: np.ndarray, epoch: int, batch: int) -> np.ndarray:
        config, x, y = self.config, self.x, self.y
        if name == NEUTRAL:
            return neutral_input(config, x)
        if name == POSITIVE:
            return pass_input(config, x, y)
        if name == NEGATIVE:
            mined = goodness if config.negatives.needs_label_goodness else None
            return negative_batch(config, x, y, mined, negative_rng(config, epoch, batch))
        return pass_input(config, x, np.full(len(x), name))

    def run_spk(self):
        epoch, split, batch, k = self.position()
        goodness = self.goodness_in.recv()
        if k == 0:
            self._load_batch(epoch, split, batch)
        plan = self.cycle.plan(split)
        j = plan.pass_at(k)
        if j is None:
            x = np.zeros((self.config.batch_size, self.config.n_inputs))
        else:
            x = self._pass(plan.passes[j], goodness, epoch, batch)
            if split == TRAIN:
                count_sent(self.events, x, batch == 0 and j == 0)
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
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.index = proc_params["index"]
        self.offset = sum(self.config.hidden[:self.index])
        self.passes = {}

    def _report(self, h: np.ndarray) -> np.ndarray:
        """normalize(h) in this layer's columns and G in its goodness column."""
        config = self.config
        report = np.zeros_like(self.report_buff)
        report[:, self.offset:self.offset + h.shape[1]] = ff.normalize(h, config.goodness.norm_eps)
        report[:, sum(config.hidden) + self.index] = ff.goodness(h, config.goodness)
        return report

    def run_spk(self):
        # What leaves now was computed in the previous step: one step of delay per layer.
        self.h_out.send(self.h_buff)
        self.report_out.send(self.report_buff)
        x = self.x_in.recv()
        _, split, batch, k = self.position()
        plan = self.cycle.plan(split)
        j = plan.pass_at(k - self.index)
        if j is None:  # no pass reaches this layer now: nothing to send next step
            self.h_buff = np.zeros_like(self.h_buff)
            self.report_buff = np.zeros_like(self.report_buff)
            return
        x_hat = ff.normalize(x, self.config.goodness.norm_eps)
        h = ff.layer_activity(self.w, self.b, x_hat)
        self.h_buff, self.report_buff = h, self._report(h)
        if split == TRAIN:
            count_sent(self.events, h, batch == 0 and j == 0)
        if split == TRAIN and plan.passes[j] in (POSITIVE, NEGATIVE):
            self.passes[plan.passes[j]] = (x_hat, h, j)

    def run_lrn(self):
        config, good = self.config, self.config.goodness
        epoch, _, batch, _ = self.position()
        (pos_in, pos_h, j_pos), (neg_in, neg_h, j_neg) = (self.passes[POSITIVE],
                                                          self.passes[NEGATIVE])
        masks = [ff.dropout_mask(pos_h.shape, good.dropout,
                                 dropout_rng(config, epoch, batch, self.index, j))
                 for j in (j_pos, j_neg)]
        dw, db = ff.ff_layer_grads(pos_in, pos_h, neg_in, neg_h, good, *masks)
        old = self.tensor_state()
        new = old.updated(dw, db, config.layer_lr(epoch, self.index), config.optimizer)
        self.store(new)
        monitor = (LayerMonitor(pos_h.shape[1]) if batch == 0
                   else LayerMonitor.from_state(self.monitor, self.ever_active))
        monitor.add(ff.goodness(pos_h, good, masks[0]), ff.goodness(neg_h, good, masks[1]),
                    good.theta, pos_h, neg_h, float(np.linalg.norm(new.w - old.w)))
        self.monitor, self.ever_active = monitor.state()


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
        _, split, batch, k = self.position()
        plan = self.cycle.plan(split)
        if k == 0:
            self.features = np.zeros_like(self.features)
            self.label_goodness = np.zeros_like(self.label_goodness)
        self._collect(self.report_in.recv(), plan, k)
        # The source waits for this before it sends the step's pass and labels.
        self.goodness_out.send(self.label_goodness)
        self.labels = self.label_in.recv()
        if k == self.config.n_layers:  # the neutral pass is complete
            self.probs = ff.readout_probs(self.w, self.b, self.features)
            if split == TRAIN:
                self._count(batch)
        if split != TRAIN and k == plan.period - 1:
            self._store_eval(split, batch)

    def _count(self, batch: int) -> None:
        if batch == 0:
            self.train_correct[:], self.train_loss[:], self.train_seen[:] = 0, 0.0, 0
        labels = self.labels.argmax(axis=1)
        self.train_correct += int((self.probs.argmax(axis=1) == labels).sum())
        self.train_loss += float(ff.cross_entropy(self.probs, self.labels).sum())
        self.train_seen += len(labels)

    def _store_eval(self, split: str, batch: int) -> None:
        cycle, size = self.cycle, self.config.batch_size
        start = batch * size + (0 if split == VAL else cycle.n_val)
        end = min(start + size, cycle.n_val if split == VAL else cycle.n_val + cycle.n_test)
        self.eval_probs[start:end] = self.probs[:end - start]
        self.eval_goodness[start:end] = self.label_goodness[:end - start]

    def run_lrn(self):
        epoch, _, _, _ = self.position()
        dw, db = ff.readout_grads(self.features, self.probs, self.labels)
        self.store(self.tensor_state().updated(dw, db, self.config.readout_lr_at(epoch),
                                               self.config.optimizer))
