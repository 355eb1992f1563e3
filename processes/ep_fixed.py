"""Lava Processes of EP's Loihi graph (``rules/ep_loihi.py``): interfaces only. The synapses
are Lava's own ``LearningDense`` with graded spikes; these are the neurons and the host's
two ends.

Graph for sizes (n_0, ..., n_L), batch 1, one sample per period of
``kernels.ep.EPSchedule`` (reset, free, +beta, restore, -beta) and, with ``--replay``, a
replay step (``kernels.ep_fixed.GraphTiming``)::

    EPFixedStream --x--> F_1 --> Layer_1 <--> F_2 / B_2 <--> Layer_2 ... Layer_L --> EPFixedReadout
         |  bias ----> Bias_l --> Layer_l (every layer)                     ^
         |  target --------------------------------------------------------> Layer_L

F_l (n_l, n_{l-1}), its backward copy B_l (n_{l-1}, n_l) and Bias_l (n_l, 1) are
LearningDense with ``kernels.ep_fixed.rule``; each learns from the post factors of the layer
it drives (``s_out_y1/y2/y3``). Every process takes ``cycle`` (``cycle.EpochCycle``, batch 1)
and agrees with it on what each time step is.
"""

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class EPFixedStream(AbstractProcess):
    """The host's input end: every step, the current sample's input rates on ``x_out``, the
    always-on bias input on ``bias_out`` and, for training samples, the one-hot target on
    ``target_out`` (0 for evaluation samples).

    ``inputs`` maps a split name to its samples as the graph's models send them (integer
    rates for ``fixed_pt``, intensities in [0, 1] for ``floating_pt``), ``labels`` to their
    classes; training samples follow ``cycle.epoch_order`` with the run ``seed``. ``events``
    counts the graded spikes (non-zero inputs) sent in the epoch's training periods."""

    LOIHI = "host"

    def __init__(self, *, cycle, schedule, inputs, labels, n_classes, seed, **kwargs):
        super().__init__(cycle=cycle, schedule=schedule, inputs=inputs, labels=labels,
                         n_classes=n_classes, seed=seed, **kwargs)
        self.x_out = OutPort(shape=(inputs["train"].shape[1],))
        self.bias_out = OutPort(shape=(1,))
        self.target_out = OutPort(shape=(n_classes,))
        self.events = Var(shape=(1,), init=0)


class EPFixedLayer(AbstractProcess):
    """n EP neurons of the Loihi graph: states ``s`` (units 2^-8, ``fmt.state_bits`` wide;
    ``s_free`` and ``s_held`` keep the free and the replayed state)
    that settle on the summed drives of their synapses (``a_in``), nudged towards
    ``target_in`` when ``is_output``; each step they send their rates r = clip(s, 0, 255) as
    graded spikes on ``s_out`` and the post factors of their synapses' learning rule on
    ``s_out_y1/y2/y3`` and ``s_out_bap`` (``kernels.ep_fixed.post_factors``: the third
    factor at the phase ends of the samples that learn, ``rules.ep_loihi.third_factor_now``,
    and the back-propagating spike of the floor correction).

    ``config`` (``rules.ep_loihi.EPLoihiConfig``) gives the schedule, the widths and beta;
    ``third_factor`` is c (``EPLoihiConfig.scale`` in fixed point, ``float_third_factor``
    in float). ``events`` counts the graded spikes sent in the epoch's training periods."""

    LOIHI = "neuron program"

    def __init__(self, *, n: int, cycle, config, is_output: bool, third_factor, **kwargs):
        super().__init__(cycle=cycle, config=config, is_output=is_output,
                         third_factor=third_factor, **kwargs)
        self.a_in = InPort(shape=(n,))
        self.target_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        self.s_out_y1 = OutPort(shape=(n,))
        self.s_out_y2 = OutPort(shape=(n,))
        self.s_out_y3 = OutPort(shape=(n,))
        self.s_out_bap = OutPort(shape=(n,))
        self.s = Var(shape=(n,), init=0)
        self.s_free = Var(shape=(n,), init=0)
        self.s_held = Var(shape=(n,), init=0)
        self.r = Var(shape=(n,), init=0)
        self.events = Var(shape=(1,), init=0)


class EPFixedReadout(AbstractProcess):
    """The host's output end: reads the output layer's rates (``rate_in``) and the stream's
    target (``target_in``) at the end of every free phase and keeps the epoch's training
    score (``train_correct``, ``train_seen``, and ``train_cost``, the summed
    1/2 ||d - rho||^2 with rho = r / 255 for ``fixed_pt``) and the predictions of the
    validation-then-test samples (``eval_pred``)."""

    LOIHI = "host"

    def __init__(self, *, cycle, schedule, n_classes, **kwargs):
        super().__init__(cycle=cycle, schedule=schedule, **kwargs)
        self.rate_in = InPort(shape=(n_classes,))
        self.target_in = InPort(shape=(n_classes,))
        self.train_correct = Var(shape=(1,), init=0)
        self.train_seen = Var(shape=(1,), init=0)
        self.train_cost = Var(shape=(1,), init=0.0)
        self.eval_pred = Var(shape=(max(cycle.n_val + cycle.n_test, 1),),
                             init=np.zeros(max(cycle.n_val + cycle.n_test, 1), dtype=int))
