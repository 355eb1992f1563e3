"""The ``numpy-fixed`` back end of EP's Loihi graph: the ``lava-fixed`` graph as one plain
loop, bit-exact with it (states, weights, predictions; ``tests/test_ep_loihi.py``), for
speed and sweeps.

Each time step does what the Lava processes do in it (``networks/ep_loihi_lava.py``): every
layer runs ``rules.ep_loihi.neuron_step`` on the drives its synapses computed from the
rates of the previous step; every synapse then computes its next drive from this step's
rates with the weights it holds, and learns in the step's learning epoch
(``kernels.learning_engine.three_factor_epoch``) when its post layer sends a third factor.
The random numbers are Lava's (``EngineStreams``: every LearningDense of an epoch's graph
has ``cycle.engine_seed`` as ``rng_seed``), indexed by the graph's time step; like
the Lava runner, the twin starts a new graph (clock, states, buffers, streams) every epoch.

Evaluation needs no learning and no state across samples, so it settles all samples of a
split at once.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.activity import EpochActivity
from dynaxx_neuro.cycle import (COARSE, TEST, TRAIN, VAL, Launch, Slot, engine_seed,
                                 epoch_order, stream)
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels import learning_engine as le
from dynaxx_neuro.networks.ep_loihi_lava import X1_TAU, graph_cycle, graph_inputs
from dynaxx_neuro.networks.result import EpochResult, require_next_epoch
from dynaxx_neuro.rules.ep_loihi import (EPLoihiConfig, EPLoihiParameters, NeuronState,
                                         loihi_activity, neuron_step, training_activity,
                                         third_factor_now)


class EPLoihiNumpyRunner:
    """Trains and evaluates EP's Loihi graph in NumPy, step for step as ``lava-fixed``."""

    def __init__(self, config: EPLoihiConfig, data: Splits, params: EPLoihiParameters,
                 launch: Launch):
        params.require_integers()
        self.config, self.data, self.launch = config, data, launch
        self.batch_size, self.batches_per_epoch = 1, len(data.x_train)
        self.inputs = graph_inputs(data, fixed=True, trains=True)
        self.cycle = graph_cycle(config, data, True, launch.first_epoch)
        self.engine = le.EngineParams(dw=fx.rule(config.scale),
                                      x1=le.Trace(0.0, X1_TAU), three_factor=True,
                                      graded=le.GradedSpikeCfg.OVERWRITE,
                                      weight_exp=-config.weight_exp,
                                      num_message_bits=fx.RATE_BITS)
        self.forward = [np.array(w, dtype=np.int64) for w in params.weights]
        self.backward = [np.array(w, dtype=np.int64) for w in params.backward]
        self.bias = [np.array(b, dtype=np.int64) for b in params.biases]
        self.next_epoch = launch.first_epoch

    def _start_graph(self, epoch: int) -> None:
        """What a new Lava graph starts with: zero states and drive buffers, its clock at 0
        and the learning engine's random streams of the epoch."""
        sizes = self.config.sizes
        self.layers = [NeuronState.zeros(n) for n in sizes[1:]]
        # The drives every synapse sends next step (Lava's a_buff), per synapse group.
        self.buffers = {"forward": [np.zeros(n, np.int64) for n in sizes[1:]],
                        "backward": [np.zeros(n, np.int64) for n in sizes[1:-1]],
                        "bias": [np.zeros(n, np.int64) for n in sizes[1:]]}
        self.time_step = 0
        self.streams = le.EngineStreams(engine_seed(self.launch.seed, epoch))
        # Weights coarser than the engine's round once more, with draws of their own, one
        # per synapse as Loihi draws them: the engine's one shared draw would correlate the
        # two roundings (a bias) and every synapse's rounding (all up or all down at once).
        self.coarse_draws = stream(self.launch.seed, epoch, COARSE)

    # --- one step of the graph ------------------------------------------------------------

    def _step(self, slot: Slot, x: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Time step ``self.time_step + 1`` of a training period; returns the events every
        layer sent (input first)."""
        self.time_step += 1
        t, config, buffers = self.time_step, self.config, self.buffers
        c = third_factor_now(config, slot, config.scale.third_factor)
        n = len(self.layers)
        ys = []
        for l, state in enumerate(self.layers):
            drive = buffers["forward"][l] + buffers["bias"][l]
            if l + 1 < n:
                drive = drive + buffers["backward"][l]
            ys.append(neuron_step(config, slot.k, state, drive,
                                  target if l == n - 1 else None, c))
        rates = [x] + [state.r for state in self.layers]
        bias_in = np.array([fx.RATE_MAX])
        plan = ([("forward", l, rates[l], l) for l in range(n)]
                + [("backward", l, rates[l + 2], l) for l in range(n - 1)]
                + [("bias", l, bias_in, l) for l in range(n)])
        learns = c and slot.k in config.timing.learning_steps
        draws = (self.streams.value("x_decay", 2 * t), self.streams.value("y_decay", 2 * t),
                 self.streams.value("conn", t)) if learns else None
        coarse = learns and config.fmt.weight_step > 1
        for group, l, pre, post in plan:
            synapses = getattr(self, group)
            buffers[group][l] = fx.dense_drive(synapses[l], pre, config.weight_exp)
            if learns:
                w = le.three_factor_epoch(synapses[l], self.engine, pre, ys[post][:3],
                                          ys[post][3], *draws)
                synapses[l] = (fx.coarsen(w, config.fmt, self.coarse_draws.random(w.shape))
                               if coarse else w)
        return np.array([np.count_nonzero(r) for r in rates])

    # --- the runner protocol ----------------------------------------------------------------

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch of the graph: every training sample in the epoch's order, one period
        each, then the evaluation periods."""
        require_next_epoch(self.next_epoch, epoch)
        config, data = self.config, self.data
        self._start_graph(epoch)
        order = epoch_order(self.launch.seed, epoch, len(data.x_train), 1).ravel()
        targets = np.eye(data.n_classes, dtype=np.int64) * fx.RATE_MAX
        events = np.zeros(len(config.sizes), dtype=np.int64)
        correct, cost = 0, 0.0
        for batch, row in enumerate(order):
            x, target = self.inputs[TRAIN][row], targets[data.y_train[row]]
            for k in range(config.timing.period):
                events += self._step(Slot(epoch, TRAIN, batch, k), x, target)
                if k == config.schedule.free_end:
                    output = self.layers[-1].r
                    correct += int(np.argmax(output) == data.y_train[row])
                    error = (target - output) / fx.RATE_MAX
                    cost += 0.5 * float(error @ error)
            if progress is not None and (batch + 1) % 100 == 0:
                progress(100, correct / (batch + 1))
        self._run_evaluation_steps()
        self.next_epoch += 1
        seen = max(len(order), 1)
        val, test = self.predictions(VAL), self.predictions(TEST)
        tables = training_activity(config, events, len(order), epoch).tables(epoch)
        return EpochResult(correct / seen, cost / seen, val, float("nan"), test,
                           float("nan"), tables)

    def _run_evaluation_steps(self) -> None:
        """Advance the graph's clock through the evaluation periods (no learning epoch
        changes a weight there) and leave the layers as Lava's are after the last one
        (``last_states``: the states when the epoch's graph stops)."""
        self.time_step += self.cycle.eval_steps
        if self.cycle.eval_steps:
            last = TEST if len(self.data.x_test) else VAL
            free = self.settle(self.inputs[last][-1:])
            for state, (s, r) in zip(self.layers, free):
                state.s, state.s_free, state.r = s[0], s[0].copy(), r[0]
                state.keep(self.config, self.config.schedule.free_end)
        self.last_states = [state.s.copy() for state in self.layers]

    def settle(self, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(states, rates) of every layer at the free end of an evaluation period, for the
        samples ``x`` (B, n_in) at once: the reset, then t_free steps of the integer program
        on the synapses' current weights."""
        states = [NeuronState.zeros((len(x), size)) for size in self.config.sizes[1:]]
        for k in range(1, self.config.schedule.free_end + 1):
            self._free_step(states, [x] + [state.r for state in states], k)
        return [(state.s, state.r) for state in states]

    def _free_step(self, states: list[NeuronState], rates: list[np.ndarray], k: int) -> None:
        """Free-phase step ``k`` of a batch of evaluation periods, from the rates of step
        k - 1 (input first)."""
        config, n = self.config, len(self.forward)
        drives = []
        for l in range(n):
            drive = (fx.dense_drive(self.forward[l], rates[l], config.weight_exp)
                     + fx.dense_drive(self.bias[l], np.full((len(rates[0]), 1), fx.RATE_MAX),
                                      config.weight_exp))
            if l + 1 < n:
                drive = drive + fx.dense_drive(self.backward[l], rates[l + 2],
                                               config.weight_exp)
            drives.append(drive)
        for state, drive in zip(states, drives):
            neuron_step(config, k, state, drive, None, 0)

    def inference_activity(self, x: np.ndarray) -> EpochActivity:
        """What the evaluation periods of the samples ``x`` send and do on chip: the graded
        spikes of the input and every layer over the reset and free steps (the reset step
        sends what the free phase starts from) and the synaptic operations they cause
        (``rules.ep.ep_activity`` of one free-phase period per sample, plus the bias input;
        no learning)."""
        config, n = self.config, len(self.forward)
        period = config.schedule.free_end + 1
        states = [NeuronState.zeros((len(x), size)) for size in config.sizes[1:]]
        events = np.zeros(n + 1, dtype=np.int64)
        for k in range(period):
            rates = [x] + [state.r for state in states]
            events += [np.count_nonzero(r) for r in rates]
            if k + 1 < period:
                self._free_step(states, rates, k + 1)
        return loihi_activity(config, events, len(x), period, 0)

    def predictions(self, split: str) -> np.ndarray:
        """The class each sample of ``split`` is read as at the end of its free phase."""
        x = self.inputs[split]
        if not len(x):
            return np.zeros(0, dtype=int)
        return np.argmax(self.settle(x)[-1][1], axis=1)

    def evaluate(self, epoch: int) -> EpochResult:
        val, test = self.predictions(VAL), self.predictions(TEST)
        return EpochResult(float("nan"), float("nan"), val, float("nan"), test, float("nan"))

    def parameters(self) -> EPLoihiParameters:
        return EPLoihiParameters([w.astype(np.int64) for w in self.forward],
                                 [w.astype(np.int64) for w in self.backward],
                                 [b.astype(np.int64) for b in self.bias])

    def close(self) -> None:
        """Nothing to release."""
