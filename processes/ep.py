"""Lava Processes of equilibrium propagation: interfaces only (ports and Vars).

The maths is in ``dynaxx_neuro.kernels.ep`` and its composition in
``dynaxx_neuro.rules.ep``; the ProcessModels in ``dynaxx_neuro.models.ep`` call them. All
processes follow one fixed per-sample period (``dynaxx_neuro.kernels.ep.EPSchedule``) that
each derives from its own time step:
reset, free phase, +beta phase, and with symmetric nudging a restore step and a -beta
phase; plastic processes learn in the learning phase of the period's last step.

Rate messages carry a leading batch axis ``(B, n)``; ``B = 1`` is the on-chip case.
A graph for sizes (n_0, ..., n_L) has one ``EPSource``, L ``EPLayer``s, a forward
``EPSynapse`` per weight layer and a backward one per hidden-to-hidden or hidden-to-output
weight layer (holding W^T), and one ``EPReadout``.

Every process takes ``config`` (``rules.ep.EPConfig``) and ``cycle``
(``cycle.EpochCycle``) as parameters, so all of them agree on the period and on which
periods of an epoch are training, logged or evaluation periods.
"""

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class EPSource(AbstractProcess):
    """Streams one batch per period: inputs x (B, n_in), one-hot targets (B, n_out) and the
    batch's signed beta (0 for evaluation batches, which switches nudging and learning off).

    Training batches follow ``rules.ep.epoch_plan`` (shuffled by the run ``seed`` and the
    epoch); validation and test samples follow in order.
    ``events`` counts the graded spikes (non-zero inputs) sent in the current epoch's
    training periods.
    """

    def __init__(self, *, config, cycle, data, seed, **kwargs):
        super().__init__(config=config, cycle=cycle, data=data, seed=seed, **kwargs)
        batch = config.batch_size
        self.x_out = OutPort(shape=(batch, config.sizes[0]))
        self.target_out = OutPort(shape=(batch, config.sizes[-1]))
        self.beta_out = OutPort(shape=(1,))
        self.events = Var(shape=(1,), init=0)


class EPLayer(AbstractProcess):
    """A layer of EP states s (B, n) that settles on its energy and learns its bias.

    Each step: receive the summed drives of its synapses on ``a_in`` (computed from the
    neighbours' states of the previous step), take one settling step (the output layer adds
    the nudging force from ``target_in``), send rho(s) on ``s_out``. In the learning phase of
    the last period step: the contrastive bias update with momentum.

    ``energy_log`` (n_log, period, B) holds the layer's own energy term
    1/2 ||s||^2 - b . rho(s) for the logged periods, ``cost_log`` the cost C (output only).
    ``events`` counts the graded spikes (non-zero rates) it sent in the current epoch's
    training periods.
    """

    def __init__(self, *, config, cycle, index, bias, bias_velocity, **kwargs):
        super().__init__(config=config, cycle=cycle, index=index, **kwargs)
        batch, n = config.batch_size, config.sizes[index + 1]
        log_shape = (max(cycle.n_logged, 1), config.schedule.period, batch)
        self.a_in = InPort(shape=(batch, n))
        self.target_in = InPort(shape=(batch, n))
        self.beta_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(batch, n))
        self.s = Var(shape=(batch, n), init=0.0)
        self.bias = Var(shape=(n,), init=bias)
        self.bias_velocity = Var(shape=(n,), init=bias_velocity)
        self.energy_log = Var(shape=log_shape, init=0.0)
        self.cost_log = Var(shape=log_shape, init=0.0)
        self.events = Var(shape=(1,), init=0)


class EPSynapse(AbstractProcess):
    """Plastic dense synapses W (n_post, n_pre) between two EP layers, one direction.

    Each step: send the drive W rho(s_pre) computed in the previous step (the one-step delay
    of Lava's Dense), receive the pre rates on ``s_in`` and the post rates on ``post_in``. In
    the learning phase of the last period step: the contrastive update with momentum. A
    forward/backward pair starts from W and W^T and applies the same symmetric rule, so the
    pair stays symmetric. ``energy_log`` holds -rho(s_post) . W rho(s_pre) when
    ``logs_energy`` (forward synapses only, so each coupling counts once).
    """

    def __init__(self, *, config, cycle, weights, velocity, lr, logs_energy, **kwargs):
        super().__init__(config=config, cycle=cycle, lr=lr, logs_energy=logs_energy, **kwargs)
        batch = config.batch_size
        n_post, n_pre = weights.shape
        self.s_in = InPort(shape=(batch, n_pre))
        self.post_in = InPort(shape=(batch, n_post))
        self.beta_in = InPort(shape=(1,))
        self.a_out = OutPort(shape=(batch, n_post))
        self.weights = Var(shape=(n_post, n_pre), init=weights)
        self.velocity = Var(shape=(n_post, n_pre), init=velocity)
        self.a_buff = Var(shape=(batch, n_post), init=0.0)
        log_shape = (max(cycle.n_logged, 1), config.schedule.period, batch)
        self.energy_log = Var(shape=log_shape, init=0.0)


class EPReadout(AbstractProcess):
    """Reads the output rates at the free equilibrium of every period.

    Training periods add to ``train_correct``, ``train_cost`` and ``train_seen`` (reset at the
    start of each epoch); evaluation periods write each real sample's predicted label and cost
    into ``eval_pred`` / ``eval_cost`` (validation samples first, then test samples).
    """

    def __init__(self, *, config, cycle, **kwargs):
        super().__init__(config=config, cycle=cycle, **kwargs)
        batch, n_out = config.batch_size, config.sizes[-1]
        n_eval = max(cycle.n_val + cycle.n_test, 1)
        self.rate_in = InPort(shape=(batch, n_out))
        self.target_in = InPort(shape=(batch, n_out))
        self.train_correct = Var(shape=(1,), init=0)
        self.train_cost = Var(shape=(1,), init=0.0)
        self.train_seen = Var(shape=(1,), init=0)
        self.eval_pred = Var(shape=(n_eval,), init=-1)
        self.eval_cost = Var(shape=(n_eval,), init=np.nan)
