"""The ``numpy`` back end of target propagation: the Lava graph's period as one plain loop.

Each training batch makes, in the order of the graph's steps (``rules.tp``), the calls the
graph's processes make: every forward layer's ``layer_forward`` with its own noise stream,
the readout's ``readout_delta``, every feedback layer's ``feedback_delta``, then every
layer's learning step from what it kept. The arrays have the shapes the graph's messages
have (stacked blocks), so the two back ends agree bit for bit
(``tests/test_conformance.py``).
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.cycle import Launch, n_eval_batches, n_train_batches, padded_batch
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import tp
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.tp import (TPConfig, TPParameters, alignment, alignment_rows,
                                   alignment_table, epoch_plan, feedback_delta, layer_forward,
                                   learn_feedback, learn_forward, noise_rng, readout_delta)


def train_batch(params: TPParameters, x: np.ndarray, targets: np.ndarray, config: TPConfig,
                seed: int, epoch: int, batch: int) -> tuple[TPParameters, np.ndarray]:
    """One training period: the passes, the differences, every layer's step. Returns the
    new parameters and the clean logits (before learning)."""
    inputs, outputs, probes, h = [], [], [], x
    for l, state in enumerate(params.forward):
        inputs.append(h)
        h, probe = layer_forward(state, h, l, config, noise_rng(seed, epoch, batch, l))
        outputs.append(h)
        probes.append(probe)
    top = config.n_layers - 1
    deltas = {top: readout_delta(outputs[top], targets, config)}
    for l in range(top, 0, -1):  # feedback layer l makes the difference at forward layer l-1
        above = deltas[top] if config.direct else deltas[l]
        deltas[l - 1] = feedback_delta(params.feedback[l - 1], outputs[l], above, config)
    forward = [learn_forward(state, inputs[l], outputs[l], deltas[l], l, config)
               for l, state in enumerate(params.forward)]
    feedback = [learn_feedback(state, probes[l], outputs[top] if config.direct else outputs[l],
                               l, config)
                for l, state in enumerate(params.feedback, start=1)]
    return TPParameters(forward, feedback), outputs[top][:config.batch_size]


def predict(params: TPParameters, x: np.ndarray, config: TPConfig) -> np.ndarray:
    """Clean logits of a batch (the evaluation period's forward pass)."""
    h = x
    for l, state in enumerate(params.forward):
        h, _ = layer_forward(state, h, l, config, None)
    return h[:config.batch_size]


def evaluate(params: TPParameters, x: np.ndarray, y: np.ndarray, config: TPConfig,
             n_classes: int) -> tuple[np.ndarray, float]:
    """Predicted labels and mean cross-entropy of a split, batch by batch."""
    predictions, losses = [], []
    targets = np.eye(n_classes)[y]
    for i in range(n_eval_batches(len(x), config.batch_size)):
        start = i * config.batch_size
        logits = predict(params, padded_batch(x, start, config.batch_size), config)
        n = min(config.batch_size, len(x) - start)
        predictions.append(logits[:n].argmax(axis=1))
        losses.append(tp.cross_entropy(logits[:n], targets[start:start + n]))
    if not predictions:
        return np.zeros(0, dtype=int), float("nan")
    return np.concatenate(predictions), float(np.concatenate(losses).mean())


def epoch_tables(params: TPParameters, data: Splits, config: TPConfig, epoch: int) -> dict:
    """The epoch's ``alignment`` table (none when ``angle_samples`` is 0)."""
    rows = alignment_rows(config, data)
    if not len(rows):
        return {}
    angles = alignment(params, data.x_train[rows], data.targets(data.y_train[rows]), config)
    return {"alignment": alignment_table(epoch, angles)}


class TPNumpyRunner:
    """Trains and evaluates a target-propagation network epoch by epoch in this process."""

    def __init__(self, config: TPConfig, data: Splits, params: TPParameters, launch: Launch):
        self.config, self.data, self.params, self.seed = config, data, params, launch.seed
        self.batch_size = config.batch_size
        self.batches_per_epoch = n_train_batches(len(data.x_train), config.batch_size)

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch: the training batches, then validation and test."""
        config, data = self.config, self.data
        targets = data.targets(data.y_train)
        correct, loss, seen = 0, 0.0, 0
        for batch, rows in enumerate(epoch_plan(config, self.seed, len(data.x_train), epoch)):
            self.params, logits = train_batch(self.params, data.x_train[rows], targets[rows],
                                              config, self.seed, epoch, batch)
            correct += int((logits.argmax(axis=1) == data.y_train[rows]).sum())
            loss += float(tp.cross_entropy(logits, targets[rows]).sum())
            seen += len(rows)
            if not np.isfinite(loss):
                return EpochResult.divergence(correct / seen)
            if progress is not None:
                progress(1, correct / seen)
        result = self.evaluate(epoch)
        result.train_accuracy, result.train_loss = correct / max(seen, 1), loss / max(seen, 1)
        result.tables = epoch_tables(self.params, data, config, epoch)
        return result

    def evaluate(self, epoch: int) -> EpochResult:
        """Predictions and mean loss on the validation and test splits."""
        data, config = self.data, self.config
        val_pred, val_loss = evaluate(self.params, data.x_val, data.y_val, config,
                                      data.n_classes)
        test_pred, test_loss = evaluate(self.params, data.x_test, data.y_test, config,
                                        data.n_classes)
        return EpochResult(float("nan"), float("nan"), val_pred, val_loss, test_pred,
                           test_loss)

    def parameters(self) -> TPParameters:
        return self.params

    def close(self) -> None:
        """Nothing to release; present so both back ends share one interface."""
