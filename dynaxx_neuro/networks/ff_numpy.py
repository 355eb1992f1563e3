"""The ``numpy`` back end of forward-forward: the Lava graph's periods as one plain loop.

A period streams its passes (``FFConfig.passes``) through every layer with the weights of
the period's start, each input made by ``rules.ff.source_input`` and each layer computed
by ``rules.ff.layer_pass``; at the end of a training period every layer learns by
``rules.ff.learn_layer`` and the readout by ``rules.ff.learn_readout``, which is what the
Lava processes do in the learning phase of the period's last step. The Lava back end is
tested against this loop to 1e-9.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.activity import sent_events
from dynaxx_neuro.cycle import (TEST, TRAIN, VAL, Launch, epoch_order, n_train_batches,
                                padded_batch)
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.networks.ff_common import evaluation_result
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.ff import (NEGATIVE, NEUTRAL, POSITIVE, FFConfig, FFParameters,
                                   LayerMonitor, epoch_cycle, ff_activity, layer_goodness,
                                   layer_pass, learn_layer, learn_readout, monitor_tables,
                                   readout_features, score, source_input)


def run_passes(params: FFParameters, x: np.ndarray, y: np.ndarray, config: FFConfig,
               split: str, seed: int, epoch: int, batch: int,
               events: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """Every pass of a period of ``split`` in order: {pass name: (x_hat per layer, h per
    layer, pass index)} and the goodness of every label pass summed over layers (B, C).
    ``events``, when given, gains the graded spikes the passes send (the input first, then
    every layer; ``rules.ff.ff_activity``)."""
    label_good = np.zeros((len(x), config.n_classes))
    passes = {}
    for j, name in enumerate(config.passes(split)):
        h = source_input(config, name, x, y, label_good, seed, epoch, batch)
        if events is not None:
            events[0] += sent_events(h)
        inputs, acts = [], []
        for l, state in enumerate(params.layers):
            x_hat, h = layer_pass(state, h, config)
            inputs.append(x_hat)
            acts.append(h)
            if events is not None:
                events[l + 1] += sent_events(h)
        if name not in (NEUTRAL, POSITIVE, NEGATIVE):
            label_good[:, name] = sum(layer_goodness(h, config) for h in acts)
        passes[name] = (inputs, acts, j)
    return passes, label_good


def train_period(params: FFParameters, x: np.ndarray, y: np.ndarray, config: FFConfig,
                 seed: int, epoch: int, batch: int, monitors: list[LayerMonitor] | None = None,
                 events: np.ndarray | None = None) -> tuple[FFParameters, np.ndarray]:
    """One training period; returns the new parameters and the readout's probabilities on
    the neutral pass (measured before the update). ``events`` gains what its passes send."""
    passes, _ = run_passes(params, x, y, config, TRAIN, seed, epoch, batch, events)
    (pos_in, pos_h, j_pos), (neg_in, neg_h, j_neg) = passes[POSITIVE], passes[NEGATIVE]
    layers = [learn_layer(state, (pos_in[l], pos_h[l], j_pos), (neg_in[l], neg_h[l], j_neg),
                          config, seed, epoch, batch, l,
                          None if monitors is None else monitors[l])
              for l, state in enumerate(params.layers)]
    features = readout_features(passes[NEUTRAL][1], config)
    probs = ff.readout_probs(params.readout.w, params.readout.b, features)
    readout = learn_readout(params.readout, features, probs, np.eye(config.n_classes)[y],
                            config, epoch)
    return FFParameters(layers, readout), probs


def predict(params: FFParameters, x: np.ndarray,
            config: FFConfig) -> tuple[np.ndarray, np.ndarray]:
    """(softmax readout probabilities (B, C), goodness of every label (B, C)) of a batch."""
    passes, label_good = run_passes(params, x, np.zeros(len(x), dtype=int), config, VAL,
                                    0, 0, 0)
    features = readout_features(passes[NEUTRAL][1], config)
    return ff.readout_probs(params.readout.w, params.readout.b, features), label_good


class FFNumpyRunner:
    """Trains and evaluates a forward-forward network epoch by epoch in this process."""

    def __init__(self, config: FFConfig, data: Splits, params: FFParameters, launch: Launch):
        self.config, self.data, self.params, self.seed = config, data, params, launch.seed
        self.batch_size = config.batch_size
        self.batches_per_epoch = n_train_batches(len(data.x_train), config.batch_size)

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch: the shuffled training periods, then validation and test."""
        config, data = self.config, self.data
        monitors = [LayerMonitor(n, config.batch_size) for n in config.hidden]
        correct, loss, seen = 0, 0.0, 0
        events = np.zeros(len(config.sizes), dtype=np.int64)
        order = epoch_order(self.seed, epoch, len(data.x_train), config.batch_size)
        for batch, rows in enumerate(order):
            y = data.y_train[rows]
            self.params, probs = train_period(self.params, data.x_train[rows], y, config,
                                              self.seed, epoch, batch, monitors, events)
            batch_correct, batch_loss = score(probs, np.eye(config.n_classes)[y])
            correct, loss, seen = correct + batch_correct, loss + batch_loss, seen + len(rows)
            if not self.params.is_finite():
                return EpochResult.divergence(correct / seen)
            if progress is not None:
                progress(1, correct / seen)
        tables = monitor_tables(epoch, monitors)
        if seen:
            tables.update(ff_activity(config, events, seen).tables(epoch))
        return evaluation_result(config, data, epoch, correct / max(seen, 1),
                                 loss / max(seen, 1), self._outputs(), tables)

    def evaluate(self, epoch: int) -> EpochResult:
        """Validation and test of the current parameters (no learning)."""
        return evaluation_result(self.config, self.data, epoch, float("nan"), float("nan"),
                                 self._outputs(), {})

    def _outputs(self) -> dict:
        """(probabilities, label goodness) of every validation and test sample, batch by
        batch in the evaluation periods' order (the last batch of a split padded)."""
        config, data = self.config, self.data
        cycle = epoch_cycle(config, 0, len(data.x_val), len(data.x_test), 0)
        parts = {VAL: ([], []), TEST: ([], [])}
        x_of = {VAL: data.x_val, TEST: data.x_test}
        for split, batch in cycle.eval_batches:
            _, n = cycle.eval_rows(split, batch)
            probs, label_good = predict(self.params, padded_batch(
                x_of[split], batch * config.batch_size, config.batch_size), config)
            parts[split][0].append(probs[:n])
            parts[split][1].append(label_good[:n])
        empty = np.zeros((0, config.n_classes))
        return {split: tuple(np.concatenate(p) if p else empty for p in pair)
                for split, pair in parts.items()}

    def parameters(self) -> FFParameters:
        return self.params

    def close(self) -> None:
        """Nothing to release; present so both back ends share one interface."""
