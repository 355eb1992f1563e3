"""The ``lava-fixed`` and ``lava`` back ends of the Hebbian rule's Loihi graph
(``rules/hebbian_loihi.py``): the graph of ``processes/hebbian_fixed.py`` with Lava's own
LearningDense synapses, run on Lava's CPU simulator with the ``fixed_pt`` models (integer
neurons, Lava's bit-approximate learning engine) or the ``floating_pt`` models (the same
graph in float). BCM's graph is the stream, F and the hidden units only.

Both synapses are ``LearningDense`` with a ``Loihi3FLearningRule``
(``kernels.hebbian_fixed.rule``, ``t_epoch = 1``), graded pre spikes in OVERWRITE mode and
their post layer's factors on ``s_in_y1..3``; both share ``cycle.engine_seed`` as
``rng_seed``. The forward synapse F has weight exponent -e, the
reconstruction synapse B -(e - q), so B's drive of y (units 2^q / 255) is in input units.
The host only streams samples (``HebbianFixedStream``) and reads the weights and the
event counters once per epoch. The features the readouts read come from an inference run of
the same graph (:meth:`HebbianLoihiLavaGraph.activities`: periods of
``kernels.hebbian_fixed.INFERENCE_PERIOD`` steps, no post factors, the hidden units'
spikes recorded by ``HebbianFixedFeatures``).
"""

from __future__ import annotations

import time

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.cycle import EpochCycle, Launch, engine_seed
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels import hebbian_fixed as hf
from dynaxx_neuro.networks.ep_loihi_lava import ENGINE_WEIGHT_BITS, X1_TAU
from dynaxx_neuro.networks.hebbian_loihi_numpy import ChipStages
from dynaxx_neuro.networks.lava_graph import LavaGraph
from dynaxx_neuro.networks.result import EpochResult, require_next_epoch
from dynaxx_neuro.rules.hebbian_loihi import (HebbianLoihiConfig, HebbianLoihiParameters,
                                              epoch_tables, n_streamed)

# Samples run between two progress updates.
PROGRESS_PERIODS = 100


class HebbianLoihiLavaGraph:
    """The features stage as Lava processes (``fixed_pt`` or ``floating_pt``, from the
    launch's tag), one graph per epoch: built from the weights the last epoch ended with,
    run for the epoch's periods, read and stopped (the learning engine's random streams
    start with a graph, so a resumed run draws as an uninterrupted one); and the features
    the graph computes (:meth:`activities`)."""

    def __init__(self, config: HebbianLoihiConfig, data: Splits,
                 params: HebbianLoihiParameters, launch: Launch):
        self.config, self.params, self.launch = config, params, launch
        self.fixed = launch.tag == "fixed_pt"
        x = data.x_train[:n_streamed(config, len(data.x_train))]
        self.inputs = fx.quantize_rates(x) if self.fixed else np.asarray(x, dtype=float)
        self.batch_size, self.batches_per_epoch = 1, len(self.inputs)
        self.next_epoch = launch.first_epoch
        self.graph = None

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """Build the epoch's graph, run its training periods, read the weights; a
        divergence when they stopped being finite (the float graph)."""
        require_next_epoch(self.next_epoch, epoch)
        start = time.perf_counter()
        self._build(epoch, self.inputs, inference=False)
        try:
            done = 0
            while done < self.batches_per_epoch:
                chunk = min(PROGRESS_PERIODS, self.batches_per_epoch - done)
                self.graph.run(chunk * self.config.period)
                done += chunk
                if progress is not None:
                    progress(chunk)
            after = self._read_parameters()
            events = np.array([int(p.events.get()[0]) if p is not None else 0
                               for p in (self.stream, self.hidden, self.error)])
        finally:
            self.close()
        if not after.is_finite():
            return EpochResult.divergence(float("nan"))
        before, self.params = self.params, after
        self.next_epoch += 1
        return EpochResult.unevaluated(epoch_tables(
            self.config, epoch, before, after, events, self.batches_per_epoch,
            time.perf_counter() - start))

    def evaluate(self, epoch: int) -> EpochResult:
        """The features stage learns without labels: nothing to evaluate."""
        return EpochResult.unevaluated({})

    def parameters(self) -> HebbianLoihiParameters:
        """The weights the last epoch's graph ended with."""
        return self.params

    def activities(self, x: np.ndarray) -> np.ndarray:
        """The hidden units' activities y (N, hidden) for the samples ``x`` (N, n_inputs):
        an inference run of the graph on the runner's weights, one period per sample in
        order, no learning (integers for ``fixed_pt``, floats for ``floating_pt``)."""
        inputs = fx.quantize_rates(x) if self.fixed else np.asarray(x, dtype=float)
        if not len(inputs):
            return np.zeros((0, self.config.hidden))
        self._build(self.next_epoch, inputs, inference=True)
        try:
            self.graph.run(len(inputs) * hf.INFERENCE_PERIOD)
            return np.asarray(self.recorder.features.get(), dtype=float)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the Lava runtime (its OS processes)."""
        if self.graph is not None:
            self.graph.stop()
            self.graph = None

    def _build(self, epoch: int, inputs: np.ndarray, inference: bool) -> None:
        """The graph of a training epoch on ``inputs`` (shuffled, periods of
        ``kernels.hebbian_fixed.PERIOD``) or of an inference run (in order, periods of
        ``INFERENCE_PERIOD``, no post factors, a ``HebbianFixedFeatures`` recorder)."""
        prepare_lava_import()
        from lava.magma.core.learning.constants import GradedSpikeCfg
        from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
        from lava.proc.dense.process import LearningDense

        from dynaxx_neuro.processes.hebbian_fixed import (HebbianFixedError,
                                                          HebbianFixedFeatures,
                                                          HebbianFixedHidden,
                                                          HebbianFixedStream)

        config = self.config
        params = self.params if self.fixed else self.params.as_float(config)
        n, n_in = params.weights.shape
        period = hf.INFERENCE_PERIOD if inference else config.period
        cycle = EpochCycle(len(inputs), 0, 0, 1, period, 0, epoch)
        c = 0 if inference else (config.scale.third_factor if self.fixed
                                 else config.float_third_factor)
        send_steps = (hf.X_STEP, hf.Y_STEP) if config.bcm and not inference else (hf.X_STEP,)
        self.stream = HebbianFixedStream(cycle=cycle, inputs=inputs, seed=self.launch.seed,
                                         shuffle=not inference, send_steps=send_steps,
                                         name="stream")
        self.hidden = HebbianFixedHidden(n=n, cycle=cycle, config=config, third_factor=c,
                                         theta=params.theta, name="hidden")
        self.error = (None if config.bcm else
                      HebbianFixedError(n=n_in, cycle=cycle, config=config, third_factor=c,
                                        name="error"))
        rule = Loihi3FLearningRule(dw=hf.rule(config.scale), t_epoch=1,
                                   rng_seed=engine_seed(self.launch.seed, epoch),
                                   x1_impulse=0, x1_tau=X1_TAU)

        def synapse(weights, shift, name):
            return LearningDense(weights=weights, name=name, num_message_bits=hf.PAYLOAD_BITS,
                                 num_weight_bits=ENGINE_WEIGHT_BITS,
                                 weight_exp=-shift if self.fixed else 0,
                                 graded_spike_cfg=GradedSpikeCfg.OVERWRITE, learning_rule=rule)

        self.forward = synapse(params.weights, config.weight_exp, "F")
        self.backward = (None if config.bcm else
                         synapse(params.backward, config.weight_exp - config.activity_shift, "B"))
        self._connect()
        processes = [p for p in (self.stream, self.hidden, self.error, self.forward,
                                 self.backward) if p is not None]
        if inference:
            self.recorder = HebbianFixedFeatures(n=n, n_samples=len(inputs), cycle=cycle,
                                                 name="features")
            self.hidden.s_out.connect(self.recorder.s_in)
            processes.append(self.recorder)
        self.graph = LavaGraph(processes, self.launch.tag)

    def _connect(self) -> None:
        stream, hidden, error = self.stream, self.hidden, self.error
        stream.x_out.connect(self.forward.s_in)
        self.forward.a_out.connect(hidden.a_in)
        learners = [(hidden, self.forward)]
        if error is not None:
            error.s_out.connect(self.forward.s_in)
            stream.x_out.connect(error.x_in)
            hidden.s_out.connect(self.backward.s_in)
            self.backward.a_out.connect(error.a_in)
            learners.append((error, self.backward))
        for post, synapse in learners:
            for y_out, y_in in ((post.s_out_y1, synapse.s_in_y1),
                                (post.s_out_y2, synapse.s_in_y2),
                                (post.s_out_y3, synapse.s_in_y3)):
                y_out.connect(y_in)

    def _read_parameters(self) -> HebbianLoihiParameters:
        """The weights both synapses hold (integers, or floats for the float graph, kept in
        engine units w = W 2^e so both graphs checkpoint alike)."""
        w = self.forward.weights.get()
        wt = self.params.backward if self.backward is None else self.backward.weights.get()
        theta = self.hidden.theta.get()
        if self.fixed:
            return HebbianLoihiParameters(w.astype(np.int64), wt.astype(np.int64),
                                          theta.astype(np.int64))
        scale = 2.0 ** self.config.weight_exp
        return HebbianLoihiParameters(w * scale, wt * scale if self.backward is not None
                                      else wt, theta)


class HebbianLoihiLavaRunner(ChipStages):
    """Both stages on ``lava-fixed`` or ``lava``."""

    GRAPH = HebbianLoihiLavaGraph
