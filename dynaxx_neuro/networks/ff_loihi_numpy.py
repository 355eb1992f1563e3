"""The ``numpy-fixed`` back end of FF's Loihi graph: the ``lava-fixed`` graph as one plain
loop, bit-exact with it (weights, training scores, predictions, activity;
``tests/test_ff_loihi.py``), for speed and sweeps.

Each training step does what the Lava processes do in it (``networks/ff_loihi_lava.py``):
the layer and goodness neurons run ``rules.ff_loihi.layer_step`` / ``goodness_step`` on what
their synapses computed from the previous step's payloads; every synapse then computes its
next output from this step's payloads, and a layer's LearningDense synapses learn in the
step's learning epoch (``kernels.learning_engine.three_factor_epoch``) when the layer sends
a third factor. The random numbers are Lava's (``EngineStreams`` seeded
``cycle.engine_seed``, indexed by the graph's time step); like the Lava runner, the
twin starts a new graph (clock, buffers, streams) every epoch.

Evaluation needs no learning, and the graph keeps no state but its pipeline, which a
window flushes: the last step of a window is a function of its input alone
(``rules.ff_loihi`` docstring), so the twin evaluates every sample and label at once as one
feed-forward pass per layer (:meth:`FFLoihiNumpyRunner.goodness`).
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.cycle import TEST, TRAIN, VAL, Launch, Slot, epoch_order
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep_fixed
from dynaxx_neuro.kernels import ff_fixed as fx
from dynaxx_neuro.kernels import learning_engine as le
from dynaxx_neuro.networks.ep_loihi_lava import X1_TAU
from dynaxx_neuro.networks.ff_loihi_lava import graph_cycle
from dynaxx_neuro.networks.result import EpochResult, require_next_epoch
from dynaxx_neuro.cycle import engine_seed
from dynaxx_neuro.rules.ff_loihi import (FFLoihiConfig, FFLoihiParameters, fixed_inputs,
                                         goodness_step, goodness_value, layer_step,
                                         pair_score, training_activity, window_label)

BIAS_INPUT = np.array([fx.X_MAX])


class FFLoihiNumpyRunner:
    """Trains and evaluates FF's Loihi graph in NumPy, step for step as ``lava-fixed``."""

    def __init__(self, config: FFLoihiConfig, data: Splits, params: FFLoihiParameters,
                 launch: Launch):
        self.config, self.data, self.launch = config, data, launch
        self.batch_size, self.batches_per_epoch = 1, len(data.x_train)
        self.cycle = graph_cycle(config, data, True, launch.first_epoch)
        self.weights = [np.array(w, dtype=np.int64) for w in params.weights]
        self.biases = [np.array(b, dtype=np.int64) for b in params.biases]
        self.next_epoch = launch.first_epoch

    def _start_graph(self, epoch: int) -> None:
        """What a new Lava graph starts with: zero buffers (every synapse's next output),
        its clock at 0, the epoch's rule and the learning engine's random streams."""
        config = self.config
        hidden, n = config.hidden, config.n_layers
        self.engine = le.EngineParams(dw=fx.rule(config.scale_at(epoch)),
                                      x1=le.Trace(0.0, X1_TAU), three_factor=True,
                                      graded=le.GradedSpikeCfg.OVERWRITE,
                                      weight_exp=-fx.drive_shift(config.weight_exp),
                                      num_message_bits=fx.X_BITS)
        zeros = lambda: [np.zeros(size, np.int64) for size in hidden]  # noqa: E731
        self.drive, self.bias_drive, self.y_in, self.t_in = zeros(), zeros(), zeros(), zeros()
        self.summed = np.zeros(n, np.int64)
        # The weights as float64, exact for these integers, for dense_drive's BLAS product
        # (converted once per learning step, not once per step).
        self.float_weights = [w.astype(np.float64) for w in self.weights]
        # A synapse's output for the payload it last computed one for (a window holds its
        # input, so most steps repeat the product; recomputed after every learning step).
        self.drive_of, self.next_drive = [None] * n, [None] * n
        self.next_bias_drive = [self._bias_drive(l) for l in range(n)]
        self.time_step = 0
        self.streams = le.EngineStreams(engine_seed(self.launch.seed, epoch))

    def _step(self, slot: Slot, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Time step ``self.time_step + 1`` of a training period with input payload ``x``;
        returns (the goodness S the readout receives, the events of the input and every
        layer)."""
        self.time_step += 1
        t, config, shift = self.time_step, self.config, fx.drive_shift(self.config.weight_exp)
        outputs = [layer_step(self.drive[l] + self.bias_drive[l], self.y_in[l], self.t_in[l])
                   for l in range(config.n_layers)]
        y, factor, s = goodness_step(config, slot, self.summed)
        payloads = [x] + [out[0] for out in outputs]
        learns = bool(np.any([np.any(out[3]) or np.any(out[4]) for out in outputs]))
        draws = (self.streams.value("x_decay", 2 * t), self.streams.value("y_decay", 2 * t),
                 self.streams.value("conn", t)) if learns else None
        for l, (_, q, y1, y2, y3) in enumerate(outputs):
            if self.drive_of[l] is None or not np.array_equal(self.drive_of[l], payloads[l]):
                self.next_drive[l] = ep_fixed.dense_drive(self.float_weights[l], payloads[l],
                                                          shift)
                self.drive_of[l] = payloads[l]
            self.drive[l] = self.next_drive[l]
            self.bias_drive[l] = self.next_bias_drive[l]
            if learns:
                self.weights[l] = self._learn(self.weights[l], payloads[l], (y1, y2, y3), draws)
                self.float_weights[l] = self.weights[l].astype(np.float64)
                self.drive_of[l] = None
                self.biases[l] = self._learn(self.biases[l], BIAS_INPUT, (y1, y2, y3), draws)
                self.next_bias_drive[l] = self._bias_drive(l)
            self.y_in[l] = np.full(config.hidden[l], y[l])
            self.t_in[l] = np.full(config.hidden[l], factor[l])
        self.summed = np.array([out[1].sum() for out in outputs])
        return s, np.array([np.count_nonzero(p) for p in payloads])

    def _bias_drive(self, l: int) -> np.ndarray:
        """What layer ``l``'s bias synapse sends every step until it learns."""
        return ep_fixed.dense_drive(self.biases[l], BIAS_INPUT,
                                    fx.drive_shift(self.config.weight_exp))

    def _learn(self, w: np.ndarray, pre: np.ndarray, ys: tuple, draws: tuple) -> np.ndarray:
        """``w`` after the step's learning epoch. Only synapses with a spiking pre neuron
        and a post neuron with y1 > 0 and a third factor have a non-zero product; every
        other weight is an integer the engine's rounding leaves as it is, so the epoch runs
        on that block alone (the same integers as on the whole matrix, the draws being one
        scalar per epoch)."""
        y1, y2, y3 = ys
        rows = np.flatnonzero((y1 > 0) & ((y2 > 0) | (y3 > 0)))
        cols = np.flatnonzero(pre)
        if not len(rows) or not len(cols):
            return w
        block = np.ix_(rows, cols)
        out = w.copy()
        out[block] = le.three_factor_epoch(w[block], self.engine, pre[cols],
                                           (y1[rows], y2[rows], y3[rows]),
                                           np.zeros(len(rows), bool), *draws)
        return out

    # --- the runner protocol ----------------------------------------------------------------

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch of the graph: every training sample in the epoch's order, one period
        each (positive window, negative window), then the evaluation."""
        require_next_epoch(self.next_epoch, epoch)
        config, data, timing = self.config, self.data, self.config.timing
        self._start_graph(epoch)
        order = epoch_order(self.launch.seed, epoch, len(data.x_train), 1).ravel()
        events = np.zeros(config.n_layers + 1, dtype=np.int64)
        correct, cost = 0, 0.0
        for batch, row in enumerate(order):
            read = []
            for k in range(timing.train_period):
                slot = Slot(epoch, TRAIN, batch, k)
                window, within = timing.window_of(k)
                if within == 0:
                    label = window_label(config, slot, int(data.y_train[row]), self.launch.seed)
                    x = fixed_inputs(config, data.x_train[row:row + 1], np.array([label]))[0]
                s, sent = self._step(slot, x)
                events += sent
                if within == timing.read_step:
                    read.append(goodness_value(config, s, True))
            won, loss = pair_score(config, *read)
            correct, cost = correct + won, cost + loss
            if progress is not None and (batch + 1) % 100 == 0:
                progress(100, correct / (batch + 1))
        self.next_epoch += 1
        seen = max(len(order), 1)
        tables = training_activity(config, events, len(order)).tables(epoch)
        return EpochResult(correct / seen, cost / seen, self.predictions(VAL), float("nan"),
                           self.predictions(TEST), float("nan"), tables)

    def goodness(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """S of every layer (B, L) at the last step of a window whose input is sample ``x``
        (B, n_inputs) with ``labels`` (B,) embedded, on the current weights."""
        config, shift = self.config, fx.drive_shift(self.config.weight_exp)
        payload, out = fixed_inputs(config, x, labels), []
        bias = np.full((len(x), 1), fx.X_MAX)
        for w, b in zip(self.weights, self.biases):
            r = fx.activity(ep_fixed.dense_drive(w, payload, shift)
                            + ep_fixed.dense_drive(b, bias, shift))
            s = fx.goodness_sum(fx.square(r).sum(axis=1))
            payload = fx.normalised(r, fx.inv_sqrt(s)[:, None])
            out.append(s)
        return np.stack(out, axis=1)

    def label_goodness(self, split: str) -> np.ndarray:
        """The goodness summed over layers of every sample of ``split`` and every label
        (B, C), as the readout sums it."""
        x = np.asarray(getattr(self.data, f"x_{split}"), float)
        return np.stack([goodness_value(self.config, self.goodness(
            x, np.full(len(x), label)), True).sum(axis=1)
            for label in range(self.config.n_classes)], axis=1)

    def predictions(self, split: str) -> np.ndarray:
        """The label of most summed goodness of every sample of ``split``."""
        if not len(getattr(self.data, f"x_{split}")):
            return np.zeros(0, dtype=int)
        return np.argmax(self.label_goodness(split), axis=1)

    def evaluate(self, epoch: int) -> EpochResult:
        return EpochResult(float("nan"), float("nan"), self.predictions(VAL), float("nan"),
                           self.predictions(TEST), float("nan"))

    def parameters(self) -> FFLoihiParameters:
        return FFLoihiParameters([w.copy() for w in self.weights],
                                 [b.copy() for b in self.biases])

    def close(self) -> None:
        """Nothing to release."""
