"""Floating-point Lava ProcessModels of the EP processes: thin wrappers over
``dynaxx_neuro.kernels.ep`` that follow the period of ``EPSchedule`` step by step.

Every model reads its slot (epoch, split, batch, period step k) from the run's
``cycle.EpochCycle`` through ``models.clock.PeriodModel`` and calls the rule's composition
(``dynaxx_neuro.rules.ep``: ``layer_step``, ``PhaseRates``, ``synapse_update``,
``bias_update``), as the NumPy runner does, which is what the equality test checks.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.activity import count_sent
from dynaxx_neuro.cycle import TRAIN, VAL, padded_batch
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.processes.ep import EPLayer, EPReadout, EPSource, EPSynapse
from dynaxx_neuro.rules.ep import PhaseRates, bias_update, epoch_plan, layer_step, synapse_update


class _EPModel(PeriodModel):
    """An EP model: its configuration, and learning only after a nudged period (beta != 0)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config = proc_params["config"]
        self.schedule = self.config.schedule
        self.beta = 0.0

    def learns_now(self) -> bool:
        return self.beta != 0.0

    def epoch_lr(self, lr: float) -> float:
        """The learning rate ``lr`` of the current epoch."""
        return ep.epoch_lr(lr, self.slot.epoch, self.config.learning.lr_decay)


@implements(proc=EPSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPSourceModelFloat(_EPModel):
    """Sends the batch of the current period on every step of the period."""

    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    target_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    beta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.data, self.seed = proc_params["data"], proc_params["seed"]
        self.plan_epoch, self.plan = None, None
        self.batch = None

    def _load_batch(self, epoch: int, split: str, batch: int) -> None:
        data, size = self.data, self.config.batch_size
        if split == TRAIN:
            if self.plan_epoch != epoch:
                self.plan = epoch_plan(self.config, self.seed, len(data.x_train), epoch)
                self.plan_epoch = epoch
            rows = self.plan[0][batch]
            self.batch = (data.x_train[rows], data.targets(data.y_train[rows]),
                          np.array([self.plan[1][batch]]))
            return
        x, y = (data.x_val, data.y_val) if split == VAL else (data.x_test, data.y_test)
        start = batch * size
        self.batch = (padded_batch(x, start, size),
                      padded_batch(data.targets(y), start, size), np.zeros(1))

    def run_spk(self):
        slot = self.slot
        if slot.k == 0:
            self._load_batch(slot.epoch, slot.split, slot.batch)
        x, target, beta = self.batch
        self.x_out.send(x)
        if slot.split == TRAIN:
            count_sent(self.events, x, slot.batch == 0 and slot.k == 0)
        self.target_out.send(target)
        self.beta_out.send(beta)


@implements(proc=EPLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPLayerModelFloat(_EPModel):
    """Settles its states one projected gradient step per time step; learns its bias."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    target_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    beta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    bias_velocity: np.ndarray = LavaPyType(np.ndarray, float)
    energy_log: np.ndarray = LavaPyType(np.ndarray, float)
    cost_log: np.ndarray = LavaPyType(np.ndarray, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.index = proc_params["index"]
        self.is_output = self.index == self.config.n_weight_layers - 1
        self.lr = self.config.lrs[self.index]
        self.phases = PhaseRates(self.schedule)
        self.s_free = None

    def run_spk(self):
        slot, schedule = self.slot, self.schedule
        total_drive = self.a_in.recv()
        target = self.target_in.recv()
        self.beta = float(self.beta_in.recv()[0])
        beta_k = schedule.phase_beta(slot.k, self.beta) if self.is_output else 0.0
        self.s = layer_step(schedule, slot.k, self.s, self.s_free, total_drive, self.bias,
                            self.config.dynamics.eps, beta_k, target)
        if slot.k == schedule.free_end:
            self.s_free = self.s.copy()
        rate = ep.rho(self.s)
        self.phases.record(slot.k, rate)
        self.s_out.send(rate)
        if slot.split == TRAIN:
            count_sent(self.events, rate, slot.batch == 0 and slot.k == 0)
        if self.cycle.logged(slot):
            self.energy_log[slot.batch, slot.k] = ep.layer_energy(self.s, self.bias)
            if self.is_output:
                self.cost_log[slot.batch, slot.k] = ep.cost(self.s, target)

    def run_lrn(self):
        self.bias, self.bias_velocity = bias_update(
            self.bias, self.bias_velocity, self.phases.contrast(self.beta),
            self.epoch_lr(self.lr), self.config.learning.momentum)


@implements(proc=EPSynapse, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPSynapseModelFloat(_EPModel):
    """Dense drive with a one-step delay; contrastive Hebbian learning of W."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    post_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    beta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    velocity: np.ndarray = LavaPyType(np.ndarray, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)
    energy_log: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.lr = proc_params["lr"]
        self.logs_energy = proc_params["logs_energy"]
        self.phases = PhaseRates(self.schedule)

    def run_spk(self):
        # The drive sent now was computed from the previous step's rates (Dense's delay),
        # which keeps every layer update synchronous and recurrent loops deadlock-free.
        self.a_out.send(self.a_buff)
        slot = self.slot
        pre, post = self.s_in.recv(), self.post_in.recv()
        self.beta = float(self.beta_in.recv()[0])
        self.a_buff = ep.drive(self.weights, pre)
        self.phases.record(slot.k, post, pre)
        if self.logs_energy and self.cycle.logged(slot):
            self.energy_log[slot.batch, slot.k] = ep.coupling_energy(post, self.a_buff)

    def run_lrn(self):
        self.weights, self.velocity = synapse_update(
            self.weights, self.velocity, self.phases.contrast(self.beta),
            self.epoch_lr(self.lr), self.config.learning.momentum)


@implements(proc=EPReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPReadoutModelFloat(_EPModel):
    """Scores the free-phase output of every period against its targets."""

    rate_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    target_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    train_correct: np.ndarray = LavaPyType(np.ndarray, int)
    train_cost: np.ndarray = LavaPyType(np.ndarray, float)
    train_seen: np.ndarray = LavaPyType(np.ndarray, int)
    eval_pred: np.ndarray = LavaPyType(np.ndarray, int)
    eval_cost: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        slot = self.slot
        rate, target = self.rate_in.recv(), self.target_in.recv()
        if slot.k != self.schedule.free_end:
            return
        predicted, cost = rate.argmax(axis=1), ep.cost(rate, target)
        if slot.split == TRAIN:
            if slot.batch == 0:
                self.train_correct[:], self.train_cost[:], self.train_seen[:] = 0, 0.0, 0
            self.train_correct += int((predicted == target.argmax(axis=1)).sum())
            self.train_cost += float(cost.sum())
            self.train_seen += len(rate)
            return
        start, n = self.cycle.eval_rows(slot.split, slot.batch)
        self.eval_pred[start:start + n] = predicted[:n]
        self.eval_cost[start:start + n] = cost[:n]


MODELS = {"floating_pt": (PyEPSourceModelFloat, PyEPLayerModelFloat, PyEPSynapseModelFloat,
                          PyEPReadoutModelFloat)}
