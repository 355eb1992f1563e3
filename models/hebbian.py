"""Floating-point Lava ProcessModels of the Hebbian processes: thin wrappers over
``dynaxx_neuro.kernels.hebbian`` that follow the two-step period of ``HebbianCycle``.

Per batch they call what ``dynaxx_neuro.networks.hebbian_common.learn_batch`` calls, in the
same order (drive, activity, weights, threshold), which is what the equality test checks.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.networks.activity import count_sent
from dynaxx_neuro.networks.hebbian_common import PERIOD_STEPS, epoch_plan
from dynaxx_neuro.processes.hebbian import HebbianLayer, HebbianSource, HebbianSynapse

LAST_STEP = PERIOD_STEPS - 1


class _LearnsAtPeriodEnd(PyLoihiProcessModel):
    """Learning in the learning phase of the last step of every period."""

    def lrn_guard(self) -> bool:
        return (self.time_step - 1) % PERIOD_STEPS == LAST_STEP


@implements(proc=HebbianSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHebbianSourceModelFloat(PyLoihiProcessModel):
    """Sends the batch of the current period on both steps of the period."""

    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config, self.cycle = proc_params["config"], proc_params["cycle"]
        self.x_train = proc_params["x_train"]
        self.plan_epoch, self.plan, self.batch = None, None, None

    def run_spk(self):
        k, epoch, batch = self.cycle.locate(self.time_step)
        if k == 0:
            if self.plan_epoch != epoch:
                self.plan = epoch_plan(self.config, len(self.x_train), epoch)
                self.plan_epoch = epoch
            self.batch = self.x_train[self.plan[batch]]
        self.x_out.send(self.batch)
        count_sent(self.events, self.batch, batch == 0 and k == 0)


@implements(proc=HebbianSynapse, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHebbianSynapseModelFloat(_LearnsAtPeriodEnd):
    """Drive with a one-step delay; the rule's weight update at each period's end."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    post_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    theta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config, self.cycle = proc_params["config"], proc_params["cycle"]
        self.x = self.post = self.theta = None

    def run_spk(self):
        # The drive sent now was computed from the previous step's inputs (Dense's delay).
        self.a_out.send(self.a_buff)
        self.x, self.post, self.theta = self.s_in.recv(), self.post_in.recv(), self.theta_in.recv()
        self.a_buff = hb.layer_drive(self.config.params, self.weights, self.x)

    def run_lrn(self):
        _, epoch, _ = self.cycle.locate(self.time_step)
        params, lr = self.config.params, self.config.epoch_lr(epoch)
        self.weights = hb.updated_weights(params, self.weights, self.x, self.a_buff,
                                          self.post, self.theta, lr)


@implements(proc=HebbianLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHebbianLayerModelFloat(_LearnsAtPeriodEnd):
    """Activity from the drive of the period; the BCM threshold at each period's end."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    theta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    theta: np.ndarray = LavaPyType(np.ndarray, float)
    winners: np.ndarray = LavaPyType(np.ndarray, int)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config, self.cycle = proc_params["config"], proc_params["cycle"]
        self.activity = None

    def run_spk(self):
        k, _, batch = self.cycle.locate(self.time_step)
        drive = self.a_in.recv()
        if k != LAST_STEP:  # the drive of this step belongs to the previous batch
            self.s_out.send(np.zeros_like(drive))
            self.theta_out.send(self.theta)
            return
        self.activity = hb.layer_activity(self.config.params, drive)
        if batch == 0:
            self.winners[:] = 0
        count_sent(self.events, self.activity, batch == 0)
        self.winners += np.bincount(self.activity.argmax(axis=1),
                                    minlength=self.config.n_hidden)
        self.s_out.send(self.activity)
        self.theta_out.send(self.theta)

    def run_lrn(self):
        self.theta = hb.threshold_update(self.config.params, self.theta, self.activity)
