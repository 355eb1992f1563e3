"""Lava Processes of FF's Loihi graph (``rules/ff_loihi.py``): interfaces only. The synapses
are Lava's own ``LearningDense`` (the layers' weights and biases, learning) and ``Dense``
(weights of ones: the squares summed into the goodness neurons, the inverse square roots
and third factors broadcast back); these are the neurons and the host's two ends.

Graph for sizes (n_0, ..., n_L), batch 1, periods of ``rules.ff_loihi.Timing``::

    FFFixedStream --X--> W_1 --> Layer_1 --X--> W_2 --> Layer_2 ... Layer_L
         | bias -------> b_l --> Layer_l          each Layer_l --q--> Sum_l (ones, (L, n_l))
                                                   Sum_l --> FFFixedGoodness (L neurons)
         FFFixedGoodness --y--> Norm_l (ones, (n_l, L)) --> Layer_l.y_in
         FFFixedGoodness --t--> Factor_l (ones, (n_l, L)) --> Layer_l.t_in
         FFFixedGoodness --S--> FFFixedReadout

W_l (n_l, n_{l-1}) and b_l (n_l, 1) learn from the post factors of Layer_l
(``s_out_y1/y2/y3``). Every process takes ``cycle`` (``cycle.EpochCycle``, batch 1) and
agrees with it on what each time step is.
"""

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class FFFixedStream(AbstractProcess):
    """The host's input end: every step, the payload of the current window's input (the
    sample with the window's label embedded, ``rules.ff_loihi.window_label``) on ``x_out``
    and the always-on bias input on ``bias_out``.

    ``inputs`` maps a split name to its raw samples, ``labels`` to their classes; training
    samples follow ``cycle.epoch_order`` with the run ``seed``; the model encodes each window
    (``rules.ff_loihi.fixed_inputs`` or ``float_inputs``). ``events`` counts the graded
    spikes sent in the epoch's training periods."""

    LOIHI = "host"

    def __init__(self, *, cycle, config, inputs, labels, seed, **kwargs):
        super().__init__(cycle=cycle, config=config, inputs=inputs, labels=labels, seed=seed,
                         **kwargs)
        self.x_out = OutPort(shape=(config.input_width,))
        self.bias_out = OutPort(shape=(1,))
        self.events = Var(shape=(1,), init=0)


class FFFixedLayer(AbstractProcess):
    """n FF neurons of the Loihi graph, memoryless: each step they read the summed drive of
    their synapses (``a_in``), the inverse square root (``y_in``) and the third factor
    (``t_in``) of their goodness neuron and send (``rules.ff_loihi.layer_step``) the
    normalised activity to the next layer (``s_out``), their squares to the goodness sum
    (``s_out_q``) and the post factors of their synapses' rule (``s_out_y1/y2/y3``).
    ``events`` counts the graded spikes sent on ``s_out`` in the epoch's training periods."""

    LOIHI = "neuron program"

    def __init__(self, *, n: int, cycle, **kwargs):
        super().__init__(cycle=cycle, **kwargs)
        self.a_in = InPort(shape=(n,))
        self.y_in = InPort(shape=(n,))
        self.t_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        self.s_out_q = OutPort(shape=(n,))
        self.s_out_y1 = OutPort(shape=(n,))
        self.s_out_y2 = OutPort(shape=(n,))
        self.s_out_y3 = OutPort(shape=(n,))
        self.events = Var(shape=(1,), init=0)


class FFFixedGoodness(AbstractProcess):
    """One goodness neuron per FF layer: from the summed squares of its layer (``a_in``) it
    computes (``rules.ff_loihi.goodness_step``) the inverse square root its layer
    normalises by (``s_out_y``), the third factor of its layer's synapses at the learning
    steps (``s_out_t``) and the goodness the host reads (``s_out_g``). ``config`` is the
    ``rules.ff_loihi.FFLoihiConfig``."""

    LOIHI = "neuron program"

    def __init__(self, *, n_layers: int, cycle, config, **kwargs):
        super().__init__(cycle=cycle, config=config, **kwargs)
        self.a_in = InPort(shape=(n_layers,))
        self.s_out_y = OutPort(shape=(n_layers,))
        self.s_out_t = OutPort(shape=(n_layers,))
        self.s_out_g = OutPort(shape=(n_layers,))
        self.s = Var(shape=(n_layers,), init=0)


class FFFixedReadout(AbstractProcess):
    """The host's output end: reads every layer's goodness (``g_in``) at the last step of
    every window and keeps the epoch's training score (``train_correct``: periods whose
    positive pass had more summed goodness than the negative; ``train_seen``;
    ``train_cost``: the summed FF loss of all layers, ``rules.ff_loihi.pair_score``) and the
    predictions of the validation-then-test samples (``eval_pred``: the label of most
    goodness summed over the layers)."""

    LOIHI = "host"

    def __init__(self, *, cycle, config, **kwargs):
        super().__init__(cycle=cycle, config=config, **kwargs)
        n_eval = max(cycle.n_val + cycle.n_test, 1)
        self.g_in = InPort(shape=(config.n_layers,))
        self.train_correct = Var(shape=(1,), init=0)
        self.train_seen = Var(shape=(1,), init=0)
        self.train_cost = Var(shape=(1,), init=0.0)
        self.eval_pred = Var(shape=(n_eval,), init=np.zeros(n_eval, dtype=int))
