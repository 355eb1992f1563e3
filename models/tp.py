"""Floating-point Lava ProcessModels of the target-propagation processes: thin wrappers over
the rule's composition (``dynaxx_neuro.rules.tp``) that follow the run's ``EpochCycle`` and
the period's ``Schedule`` step by step.

Every model sends, at the start of each step, what it computed in an earlier step (one step
of delay per hop, as Lava's Dense), then receives, then computes what the schedule says is
due now. In a training period it makes the calls ``networks.tp_numpy.train_batch`` makes
for it, in an evaluation period those of ``predict``: what the equality test checks.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.cycle import TRAIN, EpochBatches
from dynaxx_neuro.kernels import tp
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.models.tensor import TensorStateModel
from dynaxx_neuro.processes.tp import TPFeedback, TPForward, TPReadout, TPSource
from dynaxx_neuro.rules.tp import (Schedule, blocks, feedback_delta, layer_forward,
                                   learn_feedback, learn_forward, noise_rng, readout_delta)


class _TPModel(PeriodModel):
    """A model of the TP graph: its configuration and the period's schedule."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config = proc_params["config"]
        self.schedule = Schedule.of(self.config)
        self.rows = blocks(self.config) * self.config.batch_size

    @property
    def training(self) -> bool:
        return self.slot.split == TRAIN


@implements(proc=TPSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTPSourceModelFloat(_TPModel):
    """Loads the period's batch at its first step and sends it, with its labels, every step."""

    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.data = proc_params["data"]
        self.batches = EpochBatches(self.data, proc_params["seed"], self.config.batch_size)
        self.x = np.zeros((self.config.batch_size, self.config.n_inputs))
        self.labels = np.zeros((self.config.batch_size, self.config.n_classes))

    def run_spk(self):
        slot = self.slot
        if slot.k == 0:
            self.x, y = self.batches.batch(slot.epoch, slot.split, slot.batch)
            self.labels = self.data.targets(y)
        self.x_out.send(self.x)
        self.label_out.send(self.labels)


@implements(proc=TPForward, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTPForwardModelFloat(TensorStateModel, _TPModel):
    """Computes its output at step ``index`` (with its noisy block in training), keeps its
    input and the difference that reaches it, and learns from them."""

    x_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    h_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    probe_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.index, self.seed = proc_params["index"], proc_params["seed"]
        sizes, batch = self.config.sizes, self.config.batch_size
        self.h = np.zeros((self.rows, sizes[self.index + 1]))
        self.probe = np.zeros((2 * batch, sizes[self.index]))
        self.kept_in, self.delta = None, None

    def run_spk(self):
        self.h_out.send(self.h)
        if self.index:
            self.probe_out.send(self.probe)
        x, delta = self.x_in.recv(), self.delta_in.recv()
        slot = self.slot
        if slot.k == self.index:
            rng = (noise_rng(self.seed, slot.epoch, slot.batch, self.index) if self.training
                   else None)
            self.h, probe = layer_forward(self.tensor_state(), x, self.index, self.config, rng)
            self.kept_in = x
            if probe is not None:
                self.probe = probe
        if self.training and slot.k == self.schedule.arrive(self.index):
            self.delta = delta

    def run_lrn(self):
        self.store(learn_forward(self.tensor_state(), self.kept_in, self.h, self.delta,
                                 self.index, self.config))


@implements(proc=TPFeedback, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTPFeedbackModelFloat(TensorStateModel, _TPModel):
    """Keeps what it reads and the probe of its forward layer, makes delta_l when the
    difference above arrives, and learns its reconstruction from the probe."""

    h_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    probe_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.index = proc_params["index"]
        self.delta = np.zeros((self.config.batch_size, self.config.sizes[self.index]))
        self.kept_h, self.kept_probe = None, None

    def run_spk(self):
        self.delta_out.send(self.delta)
        h, probe, delta = self.h_in.recv(), self.probe_in.recv(), self.delta_in.recv()
        if not self.training:
            return
        k, l = self.slot.k, self.index
        if k == self.schedule.seen_step(l):
            self.kept_h = h
        if k == l + 1:
            self.kept_probe = probe
        if k == self.schedule.feedback_step(l):
            self.delta = feedback_delta(self.tensor_state(), self.kept_h, delta, self.config)

    def run_lrn(self):
        self.store(learn_feedback(self.tensor_state(), self.kept_probe, self.kept_h,
                                  self.index, self.config))


@implements(proc=TPReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTPReadoutModelFloat(_TPModel):
    """Makes delta_L from the logits and labels; counts training accuracy and loss; writes
    evaluation predictions and losses."""

    logits_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    train_correct: np.ndarray = LavaPyType(np.ndarray, int)
    train_loss: np.ndarray = LavaPyType(np.ndarray, float)
    train_seen: np.ndarray = LavaPyType(np.ndarray, int)
    eval_pred: np.ndarray = LavaPyType(np.ndarray, int)
    eval_loss: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.delta = np.zeros((self.config.batch_size, self.config.n_classes))

    def run_spk(self):
        self.delta_out.send(self.delta)
        logits, targets = self.logits_in.recv(), self.label_in.recv()
        slot = self.slot
        if slot.k != self.schedule.top:
            return
        clean = logits[:self.config.batch_size]
        if self.training:
            self.delta = readout_delta(logits, targets, self.config)
            self._count(slot.batch, clean, targets)
        else:
            first, n = self.cycle.eval_rows(slot.split, slot.batch)
            self.eval_pred[first:first + n] = clean[:n].argmax(axis=1)
            self.eval_loss[first:first + n] = tp.cross_entropy(clean[:n], targets[:n])

    def _count(self, batch: int, logits: np.ndarray, targets: np.ndarray) -> None:
        if batch == 0:
            self.train_correct[:], self.train_loss[:], self.train_seen[:] = 0, 0.0, 0
        self.train_correct += int((logits.argmax(axis=1) == targets.argmax(axis=1)).sum())
        self.train_loss += float(tp.cross_entropy(logits, targets).sum())
        self.train_seen += len(logits)


MODELS = {"floating_pt": (PyTPSourceModelFloat, PyTPForwardModelFloat,
                          PyTPFeedbackModelFloat, PyTPReadoutModelFloat)}
