"""Lava Processes of the rate-based Hebbian rules (Oja, BCM, competing hidden units):
interfaces only (ports and Vars).

The maths is in ``dynaxx_neuro.kernels.hebbian``; the ProcessModels in
``dynaxx_neuro.models.hebbian`` call it. The graph of one plastic layer is::

    HebbianSource --x--> HebbianSynapse --drive--> HebbianLayer
                              ^    ^--------activity-----|
                              +---------theta------------+

Every process follows one period of ``PERIOD_STEPS`` = 2 steps per training batch, read from
its own time step (``cycle.EpochCycle``, ``rules.hebbian``): at k = 0 the synapse computes
the drive of the new batch; at k = 1 it sends that drive (the one-step delay of Lava's
Dense), the layer answers with its activity and its threshold, and in the learning phase of
k = 1 the synapse updates W and the layer its BCM threshold.

Every process takes ``config`` (``rules.hebbian.HebbianConfig``) and ``cycle``
(``cycle.EpochCycle``) as parameters. Rate messages carry a leading batch axis ``(B, n)``;
``B = 1`` is the on-chip case.
"""

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class HebbianSource(AbstractProcess):
    """Streams the training batch x (B, n_inputs) of each period, in the order of
    ``cycle.epoch_order`` (shuffled by the run ``seed`` and the epoch), on both steps of the
    period. ``events`` counts the graded spikes (non-zero inputs) it sent in the current
    epoch."""

    def __init__(self, *, config, cycle, seed, x_train, **kwargs):
        super().__init__(config=config, cycle=cycle, seed=seed, x_train=x_train, **kwargs)
        self.x_out = OutPort(shape=(config.batch_size, config.n_inputs))
        self.events = Var(shape=(1,), init=0)


class HebbianSynapse(AbstractProcess):
    """Plastic dense synapses W (hidden, n_inputs) onto a Hebbian layer.

    Each step: send the drive computed in the previous step on ``a_out`` (W x, or the
    p-currents for KHU), receive the inputs on ``s_in``, the layer's activity on
    ``post_in`` and its threshold on ``theta_in``, compute the drive of the inputs. In the
    learning phase of a period's last step: W <- W + lr dW by the rule, with the epoch's rate
    in a features stage of ``n_epochs`` epochs (``HebbianConfig.epoch_lr``).
    """

    def __init__(self, *, config, cycle, n_epochs, weights, **kwargs):
        super().__init__(config=config, cycle=cycle, n_epochs=n_epochs, **kwargs)
        batch, n = config.batch_size, config.hidden
        self.s_in = InPort(shape=(batch, config.n_inputs))
        self.post_in = InPort(shape=(batch, n))
        self.theta_in = InPort(shape=(n,))
        self.a_out = OutPort(shape=(batch, n))
        self.weights = Var(shape=(n, config.n_inputs), init=weights)
        self.a_buff = Var(shape=(batch, n), init=0.0)


class HebbianLayer(AbstractProcess):
    """The units of a Hebbian layer: activity from drive (linear for Oja, rectified for BCM,
    the ranking +1 / -delta for KHU), sent on ``s_out`` with the BCM threshold theta on
    ``theta_out``; theta follows the running mean of y^2 in the learning phase.

    ``winners`` (hidden,) counts, per epoch, the samples in which each unit was the most
    active, and ``events`` the graded spikes (non-zero activities) it sent (both reset at
    an epoch's first batch).
    """

    def __init__(self, *, config, cycle, theta, **kwargs):
        super().__init__(config=config, cycle=cycle, **kwargs)
        batch, n = config.batch_size, config.hidden
        self.a_in = InPort(shape=(batch, n))
        self.s_out = OutPort(shape=(batch, n))
        self.theta_out = OutPort(shape=(n,))
        self.theta = Var(shape=(n,), init=theta)
        self.winners = Var(shape=(n,), init=0)
        self.events = Var(shape=(1,), init=0)
