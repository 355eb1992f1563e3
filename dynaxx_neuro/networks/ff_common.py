"""What both forward-forward back ends hand back after an epoch: the epoch result of both
predictions (the softmax readout and the label of most goodness)."""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.cycle import TEST, VAL
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.ff import FFConfig


def prediction_table(epoch: int, accuracies: dict[tuple[str, str], float]) -> dict:
    """``ff_predictions``: accuracy of both predictions on each evaluated split."""
    keys = sorted(accuracies)
    return {"epoch": np.full(len(keys), epoch), "split": np.array([k[0] for k in keys]),
            "method": np.array([k[1] for k in keys]),
            "accuracy": np.array([accuracies[k] for k in keys])}


def evaluation_result(config: FFConfig, data: Splits, epoch: int, train_accuracy: float,
                      train_loss: float, outputs: dict, tables: dict) -> EpochResult:
    """The epoch result from each split's (probabilities, label goodness) of every sample.
    The configured prediction (``--predict``) is the reported one; both predictions'
    accuracies go to the ``ff_predictions`` table and to the metrics
    (``test_accuracy_goodness``, ``test_accuracy_softmax``, ...)."""
    accuracies, chosen, losses = {}, {}, {}
    for split, labels in ((VAL, data.y_val), (TEST, data.y_test)):
        probs, label_good = outputs[split]
        scores = {"softmax": probs, "goodness": label_good}
        chosen[split] = scores[config.predict].argmax(axis=1)
        losses[split] = (float(ff.cross_entropy(probs, np.eye(config.n_classes)[labels]).mean())
                         if len(labels) else float("nan"))
        if len(labels):
            for method, values in scores.items():
                accuracies[(split, method)] = float((values.argmax(axis=1) == labels).mean())
    if accuracies:
        tables = {**tables, "ff_predictions": prediction_table(epoch, accuracies)}
    metrics = {f"{split}_accuracy_{method}": accuracy
               for (split, method), accuracy in sorted(accuracies.items())}
    return EpochResult(train_accuracy, train_loss, chosen[VAL], losses[VAL], chosen[TEST],
                       losses[TEST], tables, metrics=metrics)
