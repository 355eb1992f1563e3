"""The ``numpy`` back end of forward-forward: the Lava graph's periods as one plain loop.

A period streams its passes (``FFConfig.passes``) through every layer with the weights of
the period's start; every layer length-normalises its input, so layer l sees
normalize(h_{l-1}). At the end of a training period every layer applies the update of its
own loss and the readout that of its cross-entropy, which is what the Lava processes do in
the learning phase of the period's last step. The Lava back end is tested against this
loop to 1e-9.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.networks.activity import sent_events
from dynaxx_neuro.networks.ep_common import padded_batch
from dynaxx_neuro.networks.ff_common import (NEGATIVE, POSITIVE, TEST, TRAIN, VAL, FFConfig,
                                             FFParameters, LayerMonitor, dropout_rng,
                                             epoch_order, eval_slots, evaluation_result,
                                             ff_activity, monitor_tables, negative_batch,
                                             negative_rng, neutral_input, pass_input)
from dynaxx_neuro.networks.result import EpochResult


def forward(params: FFParameters, x: np.ndarray, eps: float,
            events: np.ndarray | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One pass: the normalised input x_hat_l and the activity h_l of every layer.
    ``events``, when given, gains the graded spikes the pass sends (the input first, then
    every layer; ``ff_common.ff_activity``)."""
    inputs, acts = [], []
    if events is not None:
        events[0] += sent_events(x)
    for l, layer in enumerate(params.layers):
        x_hat = ff.normalize(x, eps)
        x = ff.layer_activity(layer.w, layer.b, x_hat)
        inputs.append(x_hat)
        acts.append(x)
        if events is not None:
            events[l + 1] += sent_events(x)
    return inputs, acts


def readout_features(acts: list[np.ndarray], eps: float) -> np.ndarray:
    """The readout's input: the normalised activities of all layers side by side."""
    return np.concatenate([ff.normalize(h, eps) for h in acts], axis=1)


def label_goodness(params: FFParameters, x: np.ndarray, config: FFConfig,
                   events: np.ndarray | None = None) -> np.ndarray:
    """Goodness summed over layers for every label embedded in turn; (B, C)."""
    out = np.zeros((len(x), config.n_classes))
    for label in range(config.n_classes):
        _, acts = forward(params, pass_input(config, x, np.full(len(x), label)),
                          config.goodness.norm_eps, events)
        out[:, label] = sum(ff.goodness(h, config.goodness) for h in acts)
    return out


def train_period(params: FFParameters, x: np.ndarray, y: np.ndarray, config: FFConfig,
                 epoch: int, batch: int, monitors: list[LayerMonitor] | None = None,
                 events: np.ndarray | None = None) -> tuple[FFParameters, np.ndarray]:
    """One training period; returns the new parameters and the readout's probabilities on
    the neutral pass (measured before the update). ``events`` gains what its passes send."""
    eps, good = config.goodness.norm_eps, config.goodness
    _, neutral_acts = forward(params, neutral_input(config, x), eps, events)
    mined = (label_goodness(params, x, config, events)
             if config.negatives.needs_label_goodness else None)
    x_neg = negative_batch(config, x, y, mined, negative_rng(config, epoch, batch))
    (pos_in, pos_h), (neg_in, neg_h) = (forward(params, pass_input(config, x, y), eps, events),
                                        forward(params, x_neg, eps, events))
    passes = config.passes(TRAIN)
    layers = []
    for l, state in enumerate(params.layers):
        masks = [ff.dropout_mask(pos_h[l].shape, good.dropout,
                                 dropout_rng(config, epoch, batch, l, passes.index(name)))
                 for name in (POSITIVE, NEGATIVE)]
        dw, db = ff.ff_layer_grads(pos_in[l], pos_h[l], neg_in[l], neg_h[l], good, *masks)
        new = state.updated(dw, db, config.layer_lr(epoch, l), config.optimizer)
        layers.append(new)
        if monitors is not None:
            monitors[l].add(ff.goodness(pos_h[l], good, masks[0]),
                            ff.goodness(neg_h[l], good, masks[1]), good.theta, pos_h[l],
                            neg_h[l], float(np.linalg.norm(new.w - state.w)))
    features = readout_features(neutral_acts, eps)
    probs = ff.readout_probs(params.readout.w, params.readout.b, features)
    dw, db = ff.readout_grads(features, probs, np.eye(config.n_classes)[y])
    readout = params.readout.updated(dw, db, config.readout_lr_at(epoch), config.optimizer)
    return FFParameters(layers, readout), probs


def predict(params: FFParameters, x: np.ndarray,
            config: FFConfig) -> tuple[np.ndarray, np.ndarray]:
    """(softmax readout probabilities (B, C), goodness of every label (B, C)) of a batch."""
    _, acts = forward(params, neutral_input(config, x), config.goodness.norm_eps)
    probs = ff.readout_probs(params.readout.w, params.readout.b,
                             readout_features(acts, config.goodness.norm_eps))
    return probs, label_goodness(params, x, config)


class FFNumpyRunner:
    """Trains and evaluates a forward-forward network epoch by epoch in this process."""

    def __init__(self, config: FFConfig, data: Splits, params: FFParameters):
        self.config, self.data, self.params = config, data, params

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch: the shuffled training periods, then validation and test."""
        config, data = self.config, self.data
        monitors = [LayerMonitor(n) for n in config.hidden]
        correct, loss, seen = 0, 0.0, 0
        events = np.zeros(len(config.sizes), dtype=np.int64)
        for batch, rows in enumerate(epoch_order(config, len(data.x_train), epoch)):
            y = data.y_train[rows]
            self.params, probs = train_period(self.params, data.x_train[rows], y, config,
                                              epoch, batch, monitors, events)
            correct += int((probs.argmax(axis=1) == y).sum())
            loss += float(ff.cross_entropy(probs, np.eye(config.n_classes)[y]).sum())
            seen += len(rows)
            if not self.params.is_finite():
                return EpochResult.divergence(correct / seen)
            if progress is not None:
                progress(1, correct / seen)
        outputs = self._evaluate()
        tables = monitor_tables(epoch, [m.row() for m in monitors] if seen else [])
        if seen:
            tables.update(ff_activity(config, events, seen).tables(epoch))
        return evaluation_result(config, data, epoch, correct / max(seen, 1),
                                 loss / max(seen, 1), outputs, tables)

    def _evaluate(self) -> dict:
        """(probabilities, label goodness) of every validation and test sample."""
        config, data = self.config, self.data
        parts = {VAL: ([], []), TEST: ([], [])}
        x_of = {VAL: data.x_val, TEST: data.x_test}
        for split, batch in eval_slots(len(data.x_val), len(data.x_test), config.batch_size):
            start = batch * config.batch_size
            n = min(config.batch_size, len(x_of[split]) - start)
            probs, label_good = predict(self.params, padded_batch(x_of[split], start,
                                                                  config.batch_size), config)
            parts[split][0].append(probs[:n])
            parts[split][1].append(label_good[:n])
        empty = np.zeros((0, config.n_classes))
        return {split: tuple(np.concatenate(p) if p else empty for p in pair)
                for split, pair in parts.items()}

    def parameters(self) -> FFParameters:
        return self.params

    def close(self) -> None:
        """Nothing to release; present so both back ends share one interface."""
