"""The ``lava-fixed`` and ``lava`` back ends of EP's Loihi graph (``rules/ep_loihi.py``):
the graph of ``processes/ep_fixed.py`` with Lava's own LearningDense synapses, run on
Lava's CPU simulator with the ``fixed_pt`` models (integer neurons, Lava's bit-approximate
learning engine) or the ``floating_pt`` models (the same graph in float).

Every synapse is a ``LearningDense`` with a ``Loihi3FLearningRule`` (``kernels.ep_fixed.rule``,
``t_epoch = 1``), graded pre spikes in OVERWRITE mode and its post layer's factors on
``s_in_y1..3`` and ``s_in_bap``; all of an epoch's graph share ``cycle.engine_seed``
as ``rng_seed``. The host only streams samples (``EPFixedStream``) and reads the readout's
counters and, once per epoch, the weights.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.cycle import TEST, TRAIN, VAL, EpochCycle, engine_seed
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.networks.lava_graph import EpochGraphRunner, LavaGraph
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.ep_loihi import EPLoihiParameters, training_activity

# The pre-trace time constant: the longest Lava allows, so a payload read in the step it
# arrives has decayed by exp(-1/65535) (one unit at most, stochastically).
X1_TAU = 65535
# The weights the learning engine writes are 9-bit signed integers, odd ones included; a
# LearningDense with num_weight_bits = 9 keeps them all when it starts (with Lava's default
# 8, MIXED weights lose their lowest bit at a graph's first step).
ENGINE_WEIGHT_BITS = 9


def graph_cycle(config, data, trains: bool, first_epoch: int) -> EpochCycle:
    """The cycle of the graph: batch 1, training periods of ``config.timing`` (the schedule,
    with or without a replay step), evaluation periods of the reset and the free phase."""
    schedule = config.schedule
    return EpochCycle(len(data.x_train) if trains else 0, len(data.x_val), len(data.x_test),
                      1, config.timing.period, schedule.free_end + 1, first_epoch)


def graph_inputs(data, fixed: bool, trains: bool) -> dict:
    """The samples the stream sends, per split: integer rates for the fixed-point graph,
    intensities for the float graph."""
    convert = fx.quantize_rates if fixed else (lambda x: np.asarray(x, dtype=float))
    x_train = data.x_train if trains else data.x_train[:0]
    return {TRAIN: convert(x_train), VAL: convert(data.x_val), TEST: convert(data.x_test)}


class EPLoihiLavaRunner(EpochGraphRunner):
    """Trains and evaluates EP's Loihi graph as Lava processes (``fixed_pt`` or
    ``floating_pt``, from the launch's tag), one graph per epoch
    (``networks.lava_graph.EpochGraphRunner``); after each epoch it also keeps the layers'
    states (``last_states``)."""

    LOSS_VAR = "train_cost"

    def __init__(self, config, data, params, launch):
        super().__init__(config, data, params, launch)
        if self.fixed:
            params.require_integers()

    def _read_after_epoch(self) -> None:
        super()._read_after_epoch()
        self.last_states = [layer.s.get().astype(np.int64) for layer in self.layers]

    def _build(self, trains: bool, epoch: int) -> None:
        prepare_lava_import()
        from lava.magma.core.learning.constants import GradedSpikeCfg
        from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
        from lava.proc.dense.process import LearningDense

        from dynaxx_neuro.processes.ep_fixed import EPFixedLayer, EPFixedReadout, EPFixedStream

        config, data = self.config, self.data
        params = self.params if self.fixed else self.params.as_float(config)
        self.cycle = cycle = graph_cycle(config, data, trains, epoch)
        self.stream = EPFixedStream(cycle=cycle, schedule=config.schedule,
                                    inputs=graph_inputs(data, self.fixed, trains),
                                    labels={TRAIN: data.y_train}, n_classes=data.n_classes,
                                    seed=self.launch.seed, name="stream")
        c = config.scale.third_factor if self.fixed else config.float_third_factor
        sizes = config.sizes
        self.layers = [EPFixedLayer(n=n, cycle=cycle, config=config,
                                    is_output=i == len(sizes) - 2, third_factor=c,
                                    name=f"layer{i + 1}")
                       for i, n in enumerate(sizes[1:])]
        rule = Loihi3FLearningRule(dw=fx.rule(config.scale, floor_correction=self.fixed),
                                   t_epoch=1,
                                   rng_seed=engine_seed(self.launch.seed, epoch),
                                   x1_impulse=0, x1_tau=X1_TAU)

        def synapse(weights, name):
            return LearningDense(weights=weights, name=name, num_message_bits=fx.RATE_BITS,
                                 num_weight_bits=ENGINE_WEIGHT_BITS,
                                 weight_exp=-config.weight_exp if self.fixed else 0,
                                 graded_spike_cfg=GradedSpikeCfg.OVERWRITE, learning_rule=rule)

        # W_l drives layer l from below, B_l layer l-1 from layer l (W_l^T), bias_l layer l
        self.forward = [synapse(w, f"W{i}") for i, w in enumerate(params.weights, start=1)]
        self.backward = [synapse(w, f"B{i}") for i, w in enumerate(params.backward, start=2)]
        self.bias = [synapse(b, f"bias{i}") for i, b in enumerate(params.biases, start=1)]
        self.readout = EPFixedReadout(cycle=cycle, schedule=config.schedule,
                                      n_classes=data.n_classes, name="readout")
        self._connect()
        self.graph = LavaGraph([self.stream, *self.layers, *self.forward, *self.backward,
                                *self.bias, self.readout], self.launch.tag)

    def _connect(self) -> None:
        stream, layers = self.stream, self.layers
        below = [stream.x_out] + [layer.s_out for layer in layers[:-1]]
        wiring = [(below[i], synapse, layers[i]) for i, synapse in enumerate(self.forward)]
        wiring += [(layers[i].s_out, synapse, layers[i - 1])
                   for i, synapse in enumerate(self.backward, start=1)]
        wiring += [(stream.bias_out, synapse, layers[i]) for i, synapse in enumerate(self.bias)]
        for pre, synapse, post in wiring:
            pre.connect(synapse.s_in)
            synapse.a_out.connect(post.a_in)
            for y_out, y_in in ((post.s_out_y1, synapse.s_in_y1),
                                (post.s_out_y2, synapse.s_in_y2),
                                (post.s_out_y3, synapse.s_in_y3),
                                (post.s_out_bap, synapse.s_in_bap)):
                y_out.connect(y_in)
        stream.target_out.connect(layers[-1].target_in)
        stream.target_out.connect(self.readout.target_in)
        layers[-1].s_out.connect(self.readout.rate_in)

    def _result(self, epoch: int) -> EpochResult:
        readout, n_val = self.readout, self.cycle.n_val
        seen = max(int(readout.train_seen.get()[0]), 1)
        pred = readout.eval_pred.get().astype(int)
        events = np.array([int(p.events.get()[0]) for p in (self.stream, *self.layers)])
        return EpochResult(readout.train_correct.get()[0] / seen,
                           float(readout.train_cost.get()[0]) / seen,
                           pred[:n_val], float("nan"), pred[n_val:n_val + self.cycle.n_test],
                           float("nan"),
                           training_activity(self.config, events, self.cycle.n_train,
                                             epoch).tables(epoch))

    def _read_parameters(self) -> EPLoihiParameters:
        """The weights every synapse holds (integers, or floats for the float graph, kept in
        engine units w = W 2^e so both graphs checkpoint alike)."""
        read = [[s.weights.get() for s in group]
                for group in (self.forward, self.backward, self.bias)]
        if self.fixed:
            return EPLoihiParameters(*([w.astype(np.int64) for w in g] for g in read))
        scale = 2.0 ** self.config.weight_exp
        return EPLoihiParameters(*([w * scale for w in g] for g in read))
