"""Floating-point Lava ProcessModels of the Hebbian processes: thin wrappers over the rule's
methods (``kernels.hebbian``) on the two-step period of ``rules.hebbian``.

Per batch they call what ``rules.hebbian.learn_batch`` calls, in the same order (drive,
activity, weights, threshold), each in the process that owns it; the equality test with the
NumPy runner checks it.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from dynaxx_neuro.activity import count_sent
from dynaxx_neuro.cycle import epoch_order
from dynaxx_neuro.models.clock import PeriodModel
from dynaxx_neuro.processes.hebbian import HebbianLayer, HebbianSource, HebbianSynapse
from dynaxx_neuro.rules.hebbian import PERIOD_STEPS, winner_counts

LAST_STEP = PERIOD_STEPS - 1


@implements(proc=HebbianSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHebbianSourceModelFloat(PeriodModel):
    """Sends the batch of the current period on both steps of the period."""

    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.seed, self.x_train = proc_params["seed"], proc_params["x_train"]
        self.order_epoch, self.order, self.batch = None, None, None

    def run_spk(self):
        slot = self.slot
        if slot.k == 0:
            if self.order_epoch != slot.epoch:
                self.order = epoch_order(self.seed, slot.epoch, len(self.x_train),
                                         self.cycle.batch_size)
                self.order_epoch = slot.epoch
            self.batch = self.x_train[self.order[slot.batch]]
        self.x_out.send(self.batch)
        count_sent(self.events, self.batch, slot.batch == 0 and slot.k == 0)


@implements(proc=HebbianSynapse, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHebbianSynapseModelFloat(PeriodModel):
    """Drive with a one-step delay; the rule's weight update at each period's end."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    post_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    theta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config, self.n_epochs = proc_params["config"], proc_params["n_epochs"]
        self.rule = self.config.rule_params
        self.x = self.post = self.theta = None

    def run_spk(self):
        # The drive sent now was computed from the previous step's inputs (Dense's delay).
        self.a_out.send(self.a_buff)
        self.x, self.post, self.theta = self.s_in.recv(), self.post_in.recv(), self.theta_in.recv()
        self.a_buff = self.rule.drive(self.weights, self.x)

    def run_lrn(self):
        lr = self.config.epoch_lr(self.slot.epoch, self.n_epochs)
        self.weights = self.rule.updated_weights(self.weights, self.x, self.a_buff,
                                                 self.post, self.theta, lr)


@implements(proc=HebbianLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHebbianLayerModelFloat(PeriodModel):
    """Activity from the drive of the period; the BCM threshold at each period's end."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    theta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    theta: np.ndarray = LavaPyType(np.ndarray, float)
    winners: np.ndarray = LavaPyType(np.ndarray, int)
    events: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.config = proc_params["config"]
        self.rule = self.config.rule_params
        self.activity = None

    def run_spk(self):
        slot = self.slot
        drive = self.a_in.recv()
        if slot.k != LAST_STEP:  # the drive of this step belongs to the previous batch
            self.s_out.send(np.zeros_like(drive))
            self.theta_out.send(self.theta)
            return
        self.activity = self.rule.activity(drive)
        if slot.batch == 0:
            self.winners[:] = 0
        count_sent(self.events, self.activity, slot.batch == 0)
        self.winners += winner_counts(self.activity, self.config.hidden)
        self.s_out.send(self.activity)
        self.theta_out.send(self.theta)

    def run_lrn(self):
        self.theta = self.rule.threshold(self.theta, self.activity)


MODELS = {"floating_pt": (PyHebbianSourceModelFloat, PyHebbianSynapseModelFloat,
                          PyHebbianLayerModelFloat)}
