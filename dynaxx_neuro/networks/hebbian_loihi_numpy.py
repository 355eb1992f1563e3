"""The ``numpy-fixed`` back end of the Hebbian rule's Loihi graph: the ``lava-fixed`` graph
as one plain loop, bit-exact with it (weights, activity counts and the features it computes;
``tests/test_hebbian_loihi.py``), for speed and sweeps; and the runner of both stages on
any of the graph's back ends (:class:`ChipStages`).

Each time step does what the Lava processes do in it (``networks/hebbian_loihi_lava.py``):
the hidden and the error units run ``rules.hebbian_loihi.hidden_step`` / ``error_step``
on the drives their synapses computed from the previous step's payloads; each synapse then
computes its next drive from this step's payloads and, at the two learning steps, learns
in the step's learning epoch (``kernels.learning_engine.three_factor_epoch``; at the other
steps every product is zero and the weights stay). Only the drives a neuron reads are
computed (F's of the input, B's of y+ and y-). The random numbers are Lava's
(``EngineStreams``: both LearningDense of an epoch's graph have
``cycle.engine_seed`` as ``rng_seed``), indexed by the graph's time step;
like the Lava runner, the twin starts a new graph (clock, states, streams) every epoch.

The readout stage trains the host readouts of ``networks.hebbian_readout`` on the features
the back end's graph computes (:class:`ChipReadoutRunner`); here they are the integer
activities of ``rules.hebbian_loihi.ChipFeatures``, the same program the Lava graph runs.
"""

from __future__ import annotations

import time

import numpy as np

from dynaxx_neuro.cycle import Launch, engine_seed, epoch_order
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels import hebbian_fixed as hf
from dynaxx_neuro.kernels import learning_engine as le
from dynaxx_neuro.networks.ep_loihi_lava import X1_TAU
from dynaxx_neuro.networks.hebbian_readout import FeatureSplits, ReadoutRunner
from dynaxx_neuro.networks.result import EpochResult, require_next_epoch
from dynaxx_neuro.rules.hebbian import ReadoutParameters
from dynaxx_neuro.rules.hebbian_loihi import (ErrorState, HebbianLoihiConfig,
                                              HebbianLoihiParameters, HiddenState,
                                              epoch_tables, error_step,
                                              hidden_step, n_streamed)


class HebbianLoihiNumpyGraph:
    """The features stage in NumPy, step for step as ``lava-fixed``, and the features the
    graph computes (:meth:`activities`)."""

    def __init__(self, config: HebbianLoihiConfig, data: Splits,
                 params: HebbianLoihiParameters, launch: Launch):
        self.config, self.launch = config, launch
        self.inputs = fx.quantize_rates(data.x_train[:n_streamed(config, len(data.x_train))])
        self.batch_size, self.batches_per_epoch = 1, len(self.inputs)
        self.engine = le.EngineParams(dw=hf.rule(config.scale), x1=le.Trace(0.0, X1_TAU),
                                      three_factor=True, graded=le.GradedSpikeCfg.OVERWRITE,
                                      num_message_bits=hf.PAYLOAD_BITS)
        self.forward = np.array(params.weights, dtype=np.int64)
        self.backward = np.array(params.backward, dtype=np.int64)
        self.theta = np.array(params.theta, dtype=np.int64)
        self.next_epoch = launch.first_epoch

    def _start_graph(self, epoch: int) -> None:
        """What a new Lava graph starts with: zero states and drive buffers, its clock at 0
        and the learning engine's random streams of the epoch."""
        n, n_in = self.forward.shape
        self.hidden = HiddenState(np.zeros(n, np.int64), self.theta)
        self.error = ErrorState(*(np.zeros(n_in, np.int64) for _ in range(3)))
        self.f_drive, self.b_drive = np.zeros(n, np.int64), np.zeros(n_in, np.int64)
        self.time_step = 0
        self.streams = le.EngineStreams(engine_seed(self.launch.seed, epoch))

    def _draws(self) -> tuple[float, float, float]:
        """The learning engine's random numbers of the current step's learning epoch."""
        t = self.time_step
        return (self.streams.value("x_decay", 2 * t), self.streams.value("y_decay", 2 * t),
                self.streams.value("conn", t))

    def _bcm_step(self, k: int, x: np.ndarray) -> np.ndarray:
        """Time step ``self.time_step + 1`` of BCM's graph (the stream sends x at both
        steps, F learns at ``Y_STEP``); the graded spikes the stream and the hidden units
        sent (and 0 error events)."""
        self.time_step += 1
        h_out, *h_factors = hidden_step(self.config, k, self.hidden, self.f_drive,
                                        self.config.scale.third_factor)
        self.f_drive = fx.dense_drive(self.forward, x, self.config.weight_exp)
        if k == hf.Y_STEP:
            self.forward = self._learn(self.forward, x, h_factors, self._draws())
        return np.array([np.count_nonzero(x), np.count_nonzero(h_out), 0])

    def _step(self, k: int, x: np.ndarray) -> np.ndarray:
        """Time step ``self.time_step + 1``, step ``k`` of a sample's period with input
        ``x``; returns the graded spikes the stream, the hidden and the error units sent."""
        if self.config.bcm:
            return self._bcm_step(k, x)
        self.time_step += 1
        config, c = self.config, self.config.scale.third_factor
        streamed = x if k == hf.X_STEP else np.zeros_like(x)
        h_out, *h_factors = hidden_step(config, k, self.hidden, self.f_drive, c)
        e_out, *e_factors = error_step(config, k, self.error, streamed, self.b_drive, c)
        f_pre = streamed + e_out            # F's input port sums the stream and the errors
        if k == hf.X_STEP:
            self.f_drive = fx.dense_drive(self.forward, f_pre, config.weight_exp)
        if k in (hf.Y_STEP, hf.RECON_STEP):
            self.b_drive = fx.dense_drive(self.backward, h_out,
                                          config.weight_exp - config.activity_shift)
        if k in hf.LEARNING_STEPS:
            draws = self._draws()
            self.forward = self._learn(self.forward, f_pre, h_factors, draws)
            self.backward = self._learn(self.backward, h_out, e_factors, draws)
        return np.array([np.count_nonzero(v) for v in (streamed, h_out, e_out)])

    def _learn(self, weights: np.ndarray, pre: np.ndarray, factors: list,
               draws: tuple) -> np.ndarray:
        """The weights after a learning epoch (``three_factor_epoch``), computed on the
        synapses whose products can be non-zero: pre neurons that spiked, post neurons
        with a gate. Every other weight has a zero product, an integer accumulator and so
        the same value after the engine's rounding."""
        rows = np.flatnonzero(factors[1] | factors[2] if not self.config.bcm else factors[0])
        cols = np.flatnonzero(pre)
        if not len(rows) or not len(cols):
            return weights
        block = np.ix_(rows, cols)
        learned = weights.copy()
        learned[block] = le.three_factor_epoch(
            weights[block], self.engine, pre[cols], tuple(f[rows] for f in factors),
            np.zeros(len(rows), bool), *draws)
        return learned

    # --- the runner protocol ----------------------------------------------------------------

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch of the graph: every streamed training sample in the epoch's order, one
        period each; its ``hebbian``, ``spikes`` and ``ops`` rows."""
        require_next_epoch(self.next_epoch, epoch)
        start = time.perf_counter()
        before = self.parameters()
        self._start_graph(epoch)
        order = epoch_order(self.launch.seed, epoch, len(self.inputs), 1).ravel()
        events = np.zeros(3, dtype=np.int64)
        for done, row in enumerate(order, start=1):
            for k in range(self.config.period):
                events += self._step(k, self.inputs[row])
            if progress is not None and done % 100 == 0:
                progress(100)
        self.theta = self.hidden.theta
        self.next_epoch += 1
        return EpochResult.unevaluated(epoch_tables(
            self.config, epoch, before, self.parameters(), events, len(order),
            time.perf_counter() - start))

    def evaluate(self, epoch: int) -> EpochResult:
        """The features stage learns without labels: nothing to evaluate."""
        return EpochResult.unevaluated({})

    def parameters(self) -> HebbianLoihiParameters:
        return HebbianLoihiParameters(self.forward.copy(), self.backward.copy(),
                                      self.theta.copy())

    def activities(self, x: np.ndarray) -> np.ndarray:
        """The hidden units' activities y (N, hidden) for the samples ``x`` (N, n_inputs),
        as an inference period of the graph computes them (``ChipFeatures``)."""
        return self.config.rule_params.features(self.forward, x)

    def close(self) -> None:
        """Nothing to release."""


class ChipReadoutRunner(ReadoutRunner):
    """The readout stage on the graph's features: ``networks.hebbian_readout.ReadoutRunner``
    (every feature set, the same training) whose learned feature set is what ``graph``
    (a back end's graph runner, holding the learned layer) computes for every split with
    :meth:`activities`. The readouts themselves are trained on the host."""

    def __init__(self, config: HebbianLoihiConfig, data: Splits, params: ReadoutParameters,
                 launch: Launch, graph):
        super().__init__(config, data, params, launch)
        self.features["hebbian"] = FeatureSplits.of(graph.activities, data)


class ChipStages:
    """The runner protocol for both stages of the graph on one back end: with the layer's
    parameters (the features stage) the back end's ``GRAPH`` runner; with a readout
    checkpoint (``rules.hebbian.ReadoutParameters``, the readout stage) a
    :class:`ChipReadoutRunner` on the features that graph computes."""

    GRAPH: type

    def __init__(self, config: HebbianLoihiConfig, data: Splits, params, launch: Launch):
        if isinstance(params, ReadoutParameters):
            graph = self.GRAPH(config, data, params.layer, launch)
            self.stage = ChipReadoutRunner(config, data, params, launch, graph)
        else:
            self.stage = self.GRAPH(config, data, params, launch)
        self.batch_size = self.stage.batch_size
        self.batches_per_epoch = self.stage.batches_per_epoch

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        return self.stage.run_epoch(epoch, progress)

    def evaluate(self, epoch: int) -> EpochResult:
        return self.stage.evaluate(epoch)

    def parameters(self):
        return self.stage.parameters()

    def close(self) -> None:
        self.stage.close()


class HebbianLoihiNumpyRunner(ChipStages):
    """Both stages on ``numpy-fixed``."""

    GRAPH = HebbianLoihiNumpyGraph
