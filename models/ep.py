"""Floating-point Lava ProcessModels of the EP processes: thin wrappers over
``dynaxx_neuro.kernels.ep`` that follow the period of ``EPSchedule`` step by step.

Step t (Lava counts from 1) is period step k = (t - 1) % period of period p = (t - 1) //
period; ``EPCycle.locate(p)`` tells the epoch, the split and the batch. Every model does in a
step what ``dynaxx_neuro.networks.ep_numpy.settle_period`` does in that step, which is what
the equality test checks.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.activity import count_sent
from dynaxx_neuro.networks.ep_common import TRAIN, VAL, epoch_plan, padded_batch
from dynaxx_neuro.processes.ep import EPLayer, EPReadout, EPSource, EPSynapse


class _PeriodClock:
    """Where a model's current time step falls: period step, period, and the cycle slot."""

    def __init__(self, proc_params):
        self.config = proc_params["config"]
        self.cycle = proc_params["cycle"]
        self.schedule = self.config.schedule

    def position(self, time_step: int) -> tuple[int, int, str, int]:
        """(k, epoch, split, batch) of a Lava time step."""
        period, k = divmod(time_step - 1, self.schedule.period)
        epoch, split, batch = self.cycle.locate(period)
        return k, epoch, split, batch

    def logged(self, split: str, batch: int) -> bool:
        return split == TRAIN and batch < self.cycle.n_logged


class _PhaseRecorder:
    """Keeps the rates seen at the ends of the free, +beta and -beta phases of a period and
    turns them into the contrastive pair (a, b) and scale of ``kernels.ep``."""

    def __init__(self, schedule: ep.EPSchedule):
        self.schedule = schedule
        self.rates: dict[int, tuple[np.ndarray, ...]] = {}

    def record(self, k: int, *rates: np.ndarray) -> None:
        if k in (self.schedule.free_end, self.schedule.nudged_end, self.schedule.period - 1):
            self.rates[k] = tuple(r.copy() for r in rates)

    def contrast(self, beta: float):
        """((rates of phase a), (rates of phase b), scale) for this period's update."""
        schedule = self.schedule
        phase_a = schedule.period - 1 if schedule.symmetric else schedule.free_end
        return (self.rates[phase_a], self.rates[schedule.nudged_end],
                ep.contrast_scale(beta, schedule.symmetric))


class _LearningPhase(PyLoihiProcessModel):
    """Learning in the learning phase of the last step of a training period (beta != 0)."""

    def lrn_guard(self) -> bool:
        k = (self.time_step - 1) % self.clock.schedule.period
        return k == self.clock.schedule.period - 1 and self.beta != 0.0

    def epoch_lr(self) -> float:
        """This process's learning rate in the current epoch."""
        _, epoch, _, _ = self.clock.position(self.time_step)
        return ep.epoch_lr(self.lr, epoch, self.clock.config.learning.lr_decay)


@implements(proc=EPSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPSourceModelFloat(PyLoihiProcessModel):
    """Sends the batch of the current period on every step of the period."""

    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    target_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    beta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.clock = _PeriodClock(proc_params)
        self.data = proc_params["data"]
        self.plan_epoch, self.plan = None, None
        self.batch = None

    def _load_batch(self, epoch: int, split: str, batch: int) -> None:
        data, size = self.data, self.clock.config.batch_size
        if split == TRAIN:
            if self.plan_epoch != epoch:
                self.plan = epoch_plan(self.clock.config, len(data.x_train), epoch)
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
        k, epoch, split, batch = self.clock.position(self.time_step)
        if k == 0:
            self._load_batch(epoch, split, batch)
        x, target, beta = self.batch
        self.x_out.send(x)
        if split == TRAIN:
            count_sent(self.events, x, batch == 0 and k == 0)
        self.target_out.send(target)
        self.beta_out.send(beta)


@implements(proc=EPLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPLayerModelFloat(_LearningPhase):
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
        self.clock = _PeriodClock(proc_params)
        config = self.clock.config
        self.index = proc_params["index"]
        self.is_output = self.index == config.n_weight_layers - 1
        self.lr = config.learning.lrs[self.index]
        self.phases = _PhaseRecorder(self.clock.schedule)
        self.s_free = None
        self.beta = 0.0

    def run_spk(self):
        schedule = self.clock.schedule
        k, _, split, batch = self.clock.position(self.time_step)
        total_drive = self.a_in.recv()
        target = self.target_in.recv()
        self.beta = float(self.beta_in.recv()[0])
        code = schedule.phase(k)
        if code == ep.RESET:
            self.s = np.zeros_like(self.s)
        elif code == ep.RESTORE:
            self.s = self.s_free.copy()
        else:
            beta_k = schedule.phase_beta(k, self.beta) if self.is_output else 0.0
            self.s = ep.settle_step(self.s, total_drive, self.bias,
                                    self.clock.config.dynamics.eps, beta_k, target)
        if k == schedule.free_end:
            self.s_free = self.s.copy()
        rate = ep.rho(self.s)
        self.phases.record(k, rate)
        self.s_out.send(rate)
        if split == TRAIN:
            count_sent(self.events, rate, batch == 0 and k == 0)
        if self.clock.logged(split, batch):
            self.energy_log[batch, k] = ep.layer_energy(self.s, self.bias)
            if self.is_output:
                self.cost_log[batch, k] = ep.cost(self.s, target)

    def run_lrn(self):
        (post_a,), (post_b,), scale = self.phases.contrast(self.beta)
        db = ep.contrastive_db(post_a, post_b, scale)
        self.bias, self.bias_velocity = ep.momentum_step(
            self.bias, self.bias_velocity, db, self.epoch_lr(), self.clock.config.learning.momentum)


@implements(proc=EPSynapse, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPSynapseModelFloat(_LearningPhase):
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
        self.clock = _PeriodClock(proc_params)
        self.lr = proc_params["lr"]
        self.logs_energy = proc_params["logs_energy"]
        self.phases = _PhaseRecorder(self.clock.schedule)
        self.beta = 0.0

    def run_spk(self):
        # The drive sent now was computed from the previous step's rates (Dense's delay),
        # which keeps every layer update synchronous and recurrent loops deadlock-free.
        self.a_out.send(self.a_buff)
        k, _, split, batch = self.clock.position(self.time_step)
        pre, post = self.s_in.recv(), self.post_in.recv()
        self.beta = float(self.beta_in.recv()[0])
        self.a_buff = ep.drive(self.weights, pre)
        self.phases.record(k, post, pre)
        if self.logs_energy and self.clock.logged(split, batch):
            self.energy_log[batch, k] = ep.coupling_energy(post, self.a_buff)

    def run_lrn(self):
        (post_a, pre_a), (post_b, pre_b), scale = self.phases.contrast(self.beta)
        dw = ep.contrastive_dw(post_a, pre_a, post_b, pre_b, scale)
        self.weights, self.velocity = ep.momentum_step(
            self.weights, self.velocity, dw, self.epoch_lr(), self.clock.config.learning.momentum)


@implements(proc=EPReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEPReadoutModelFloat(PyLoihiProcessModel):
    """Scores the free-phase output of every period against its targets."""

    rate_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    target_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    train_correct: np.ndarray = LavaPyType(np.ndarray, int)
    train_cost: np.ndarray = LavaPyType(np.ndarray, float)
    train_seen: np.ndarray = LavaPyType(np.ndarray, int)
    eval_pred: np.ndarray = LavaPyType(np.ndarray, int)
    eval_cost: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.clock = _PeriodClock(proc_params)

    def run_spk(self):
        k, _, split, batch = self.clock.position(self.time_step)
        rate, target = self.rate_in.recv(), self.target_in.recv()
        if k != self.clock.schedule.free_end:
            return
        cycle = self.clock.cycle
        predicted, cost = rate.argmax(axis=1), ep.cost(rate, target)
        if split == TRAIN:
            if batch == 0:
                self.train_correct[:], self.train_cost[:], self.train_seen[:] = 0, 0.0, 0
            self.train_correct += int((predicted == target.argmax(axis=1)).sum())
            self.train_cost += float(cost.sum())
            self.train_seen += len(rate)
            return
        size = cycle.batch_size
        start = batch * size + (0 if split == VAL else cycle.n_val)
        n = min(size, (cycle.n_val if split == VAL else cycle.n_val + cycle.n_test) - start)
        self.eval_pred[start:start + n] = predicted[:n]
        self.eval_cost[start:start + n] = cost[:n]
