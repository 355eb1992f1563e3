"""The ``lava-fixed`` and ``lava`` back ends of FF's Loihi graph (``rules/ff_loihi.py``): the
graph of ``processes/ff_fixed.py`` with Lava's own LearningDense and Dense synapses, run on
Lava's CPU simulator with the ``fixed_pt`` models (integer neurons, Lava's bit-approximate
learning engine) or the ``floating_pt`` models (the same graph in float).

Every layer's weights W_l and bias b_l are a ``LearningDense`` with a ``Loihi3FLearningRule``
(``kernels.ff_fixed.rule``, ``t_epoch = 1``), graded pre spikes in OVERWRITE mode and the
layer's post factors on ``s_in_y1..3``; all share ``cycle.engine_seed`` as
``rng_seed``. The goodness sums and the broadcasts back are ``Dense`` with weights of ones
(one row, or one column, per layer). The host only streams samples (``FFFixedStream``)
and reads the readout's counters and, once per epoch, the weights.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.cycle import TEST, TRAIN, VAL, EpochCycle, engine_seed
from dynaxx_neuro.kernels import ff_fixed as fx
from dynaxx_neuro.networks.ep_loihi_lava import ENGINE_WEIGHT_BITS, X1_TAU
from dynaxx_neuro.networks.lava_graph import EpochGraphRunner, LavaGraph
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.ff_loihi import FFLoihiConfig, FFLoihiParameters, training_activity

# Payload width Lava's Dense is told for the goodness messages (24-bit sums, y and t); Lava
# 0.10 reads it only as graded (> 0) or binary.
MESSAGE_BITS = 24


def graph_cycle(config: FFLoihiConfig, data, trains: bool, first_epoch: int) -> EpochCycle:
    """The cycle of the graph: batch 1, training and evaluation periods of
    ``config.timing``."""
    timing = config.timing
    return EpochCycle(len(data.x_train) if trains else 0, len(data.x_val), len(data.x_test),
                      1, timing.train_period, timing.eval_period, first_epoch)


def graph_inputs(data, trains: bool) -> dict:
    """The raw samples the stream encodes, per split."""
    x_train = data.x_train if trains else data.x_train[:0]
    return {TRAIN: np.asarray(x_train, float), VAL: np.asarray(data.x_val, float),
            TEST: np.asarray(data.x_test, float)}


def ones_rows(n_layers: int, layer: int, n: int) -> np.ndarray:
    """(L, n) weights with row ``layer`` all ones: layer ``layer``'s n squares summed into
    its goodness neuron."""
    w = np.zeros((n_layers, n), dtype=int)
    w[layer] = 1
    return w


class FFLoihiLavaRunner(EpochGraphRunner):
    """Trains and evaluates FF's Loihi graph as Lava processes (``fixed_pt`` or
    ``floating_pt``, from the launch's tag), one graph per epoch
    (``networks.lava_graph.EpochGraphRunner``)."""

    LOSS_VAR = "train_cost"

    def _build(self, trains: bool, epoch: int) -> None:
        prepare_lava_import()
        from lava.magma.core.learning.constants import GradedSpikeCfg
        from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
        from lava.proc.dense.process import Dense, LearningDense

        from dynaxx_neuro.processes.ff_fixed import (FFFixedGoodness, FFFixedLayer,
                                                     FFFixedReadout, FFFixedStream)

        config, data = self.config, self.data
        params = self.params if self.fixed else self.params.as_float(config)
        self.cycle = cycle = graph_cycle(config, data, trains, epoch)
        self.stream = FFFixedStream(cycle=cycle, config=config,
                                    inputs=graph_inputs(data, trains),
                                    labels={TRAIN: data.y_train}, seed=self.launch.seed)
        self.layers = [FFFixedLayer(n=n, cycle=cycle) for n in config.hidden]
        self.goodness = FFFixedGoodness(n_layers=config.n_layers, cycle=cycle, config=config)
        rule = Loihi3FLearningRule(dw=fx.rule(config.scale_at(epoch)), t_epoch=1,
                                   rng_seed=engine_seed(self.launch.seed, epoch),
                                   x1_impulse=0, x1_tau=X1_TAU)
        exp = -fx.drive_shift(config.weight_exp) if self.fixed else 0

        def synapse(weights):
            return LearningDense(weights=weights, num_message_bits=fx.X_BITS,
                                 num_weight_bits=ENGINE_WEIGHT_BITS, weight_exp=exp,
                                 graded_spike_cfg=GradedSpikeCfg.OVERWRITE, learning_rule=rule)

        def ones(weights):
            return Dense(weights=weights, num_message_bits=MESSAGE_BITS)

        n = config.n_layers
        self.forward = [synapse(w) for w in params.weights]
        self.bias = [synapse(b) for b in params.biases]
        self.sums = [ones(ones_rows(n, l, size)) for l, size in enumerate(config.hidden)]
        self.norms = [ones(ones_rows(n, l, size).T) for l, size in enumerate(config.hidden)]
        self.factors = [ones(ones_rows(n, l, size).T) for l, size in enumerate(config.hidden)]
        self.readout = FFFixedReadout(cycle=cycle, config=config)
        self._connect()
        self.graph = LavaGraph([self.stream, *self.layers, self.goodness, *self.forward,
                                *self.bias, *self.sums, *self.norms, *self.factors,
                                self.readout], self.launch.tag)

    def _connect(self) -> None:
        stream, layers, goodness = self.stream, self.layers, self.goodness
        below = [stream.x_out] + [layer.s_out for layer in layers[:-1]]
        for l, layer in enumerate(layers):
            for pre, synapse in ((below[l], self.forward[l]), (stream.bias_out, self.bias[l])):
                pre.connect(synapse.s_in)
                synapse.a_out.connect(layer.a_in)
                for y_out, y_in in ((layer.s_out_y1, synapse.s_in_y1),
                                    (layer.s_out_y2, synapse.s_in_y2),
                                    (layer.s_out_y3, synapse.s_in_y3)):
                    y_out.connect(y_in)
            layer.s_out_q.connect(self.sums[l].s_in)
            self.sums[l].a_out.connect(goodness.a_in)
            goodness.s_out_y.connect(self.norms[l].s_in)
            self.norms[l].a_out.connect(layer.y_in)
            goodness.s_out_t.connect(self.factors[l].s_in)
            self.factors[l].a_out.connect(layer.t_in)
        goodness.s_out_g.connect(self.readout.g_in)

    def _result(self, epoch: int) -> EpochResult:
        readout, n_val = self.readout, self.cycle.n_val
        seen = max(int(readout.train_seen.get()[0]), 1)
        pred = readout.eval_pred.get().astype(int)
        events = np.array([int(p.events.get()[0]) for p in (self.stream, *self.layers)])
        return EpochResult(readout.train_correct.get()[0] / seen,
                           float(readout.train_cost.get()[0]) / seen,
                           pred[:n_val], float("nan"), pred[n_val:n_val + self.cycle.n_test],
                           float("nan"),
                           training_activity(self.config, events, self.cycle.n_train
                                             ).tables(epoch))

    def _read_parameters(self) -> FFLoihiParameters:
        """The weights every synapse holds (integers, or floats for the float graph, kept in
        engine units w = W 2^e so both graphs checkpoint alike)."""
        weights = [s.weights.get() for s in self.forward]
        biases = [s.weights.get() for s in self.bias]
        if self.fixed:
            return FFLoihiParameters([w.astype(np.int64) for w in weights],
                                     [b.astype(np.int64) for b in biases])
        scale = 2.0 ** self.config.weight_exp
        return FFLoihiParameters([w * scale for w in weights], [b * scale for b in biases])
