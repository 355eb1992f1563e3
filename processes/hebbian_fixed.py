"""Lava Processes of the Hebbian rule's Loihi graph (``rules/hebbian_loihi.py``): interfaces
only. The synapses are Lava's own ``LearningDense`` with graded spikes; these are the
neurons and the host's input end.

Graph for n hidden units on n_in inputs, batch 1, one sample per period of
``kernels.hebbian_fixed.PERIOD`` steps::

    HebbianFixedStream --x--> F (W) --> HebbianFixedHidden --y+/y---> B (W^T) --+
            |                  ^  ^--------- post factors (y1..y3) ----|         |
            +--x--> HebbianFixedError --e+/e---+    B <-- post factors --+        |
                          ^--------------------------------- r = W^T y ----------+

F (n, n_in) and B (n_in, n) are LearningDense with ``kernels.hebbian_fixed.rule``; F learns
from the hidden units' factors, B from the error units'. An inference run adds
``HebbianFixedFeatures`` on the hidden units' spikes and sends no post factors. Every
process takes ``cycle`` (``cycle.EpochCycle``, batch 1, no evaluation periods) and agrees
with it on what each time step is.
"""

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class HebbianFixedStream(AbstractProcess):
    """The host's input end: at the first step of every period, the current sample's input
    on ``x_out`` (to F and to the error units), zeros at the other steps.

    ``inputs`` are the samples as the graph's models send them (integer rates for
    ``fixed_pt``, intensities in [0, 1] for ``floating_pt``), streamed in the order of
    ``cycle.epoch_order`` with the run ``seed`` when ``shuffle`` (training), else in order
    (inference); a sample is sent at the period steps ``send_steps`` (BCM: also at its
    learning step). ``events`` counts the graded spikes (non-zero inputs) sent in the
    epoch."""

    LOIHI = "host"

    def __init__(self, *, cycle, inputs, seed, shuffle=True, send_steps=(0,), **kwargs):
        super().__init__(cycle=cycle, inputs=inputs, seed=seed, shuffle=shuffle,
                         send_steps=send_steps, **kwargs)
        self.x_out = OutPort(shape=(inputs.shape[1],))
        self.events = Var(shape=(1,), init=0)


class _Sender(AbstractProcess):
    """n neurons that send a graded spike on ``s_out`` and the post factors of the synapse
    they drive on ``s_out_y1/y2/y3`` (``kernels.hebbian_fixed.post_factors``) and count
    the graded spikes they sent in the epoch (``events``)."""

    def _ports(self, n: int) -> None:
        self.s_out = OutPort(shape=(n,))
        self.s_out_y1 = OutPort(shape=(n,))
        self.s_out_y2 = OutPort(shape=(n,))
        self.s_out_y3 = OutPort(shape=(n,))
        self.events = Var(shape=(1,), init=0)


class HebbianFixedHidden(_Sender):
    """n Oja units: their activity ``y`` from the forward synapse's drive (``a_in``), sent
    as y+ and y- to the reconstruction synapse, with F's post factors at the learning steps
    (``rules.hebbian_loihi.hidden_step``; BCM units send y and keep their sliding threshold
    ``theta``, initially ``theta``). ``config`` (``rules.hebbian_loihi.HebbianLoihiConfig``)
    gives the rule and the widths; ``third_factor`` is c (``config.scale`` in fixed point,
    ``config.float_third_factor`` in float; 0: no learning)."""

    LOIHI = "neuron program"

    def __init__(self, *, n: int, cycle, config, third_factor, theta, **kwargs):
        super().__init__(cycle=cycle, config=config, third_factor=third_factor, **kwargs)
        self.a_in = InPort(shape=(n,))
        self._ports(n)
        self.y = Var(shape=(n,), init=0)
        self.theta = Var(shape=(n,), init=theta)


class HebbianFixedError(_Sender):
    """n_in reconstruction-error units: they keep the input (``x_in``, from the stream)
    and the reconstruction synapse's drive (``a_in``) and send e = x - W^T y as e+ and e-
    to the forward synapse, with B's post factors at the learning steps
    (``rules.hebbian_loihi.error_step``)."""

    LOIHI = "neuron program"

    def __init__(self, *, n: int, cycle, config, third_factor, **kwargs):
        super().__init__(cycle=cycle, config=config, third_factor=third_factor, **kwargs)
        self.x_in = InPort(shape=(n,))
        self.a_in = InPort(shape=(n,))
        self._ports(n)
        self.x = Var(shape=(n,), init=0)
        self.r_plus = Var(shape=(n,), init=0)
        self.e = Var(shape=(n,), init=0)


class HebbianFixedFeatures(AbstractProcess):
    """The host's output end of an inference run: reads the hidden units' graded spikes
    (``s_in``: y+ at ``Y_STEP``, y- at ``RECON_STEP``) and keeps each sample's activity
    y = y+ - y- in ``features`` (n_samples, n), the features the host readouts read."""

    LOIHI = "host"

    def __init__(self, *, n: int, n_samples: int, cycle, **kwargs):
        super().__init__(cycle=cycle, **kwargs)
        self.s_in = InPort(shape=(n,))
        self.features = Var(shape=(n_samples, n), init=0)
