"""Class-incremental learning on 8x8 digits: train on classes 0-4, then on classes 5-9
without replay; test accuracy on the old classes (0-4) before and after the second task,
and on all classes at the end, for forward-forward (numpy back end, `dynaxx train ff`
defaults) and for a backprop MLP of the same layers with the same epochs and batch.

Predictions are over all 10 classes throughout (FF: softmax readout and goodness argmax;
backprop: softmax output).

    python benchmarks/ff_incremental.py --epochs 20 --seeds 0 1 2
"""

import argparse
import dataclasses
import statistics

import numpy as np

from common import write_result

from dynaxx_neuro.baseline import MLPConfig, MLPTrainer
from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.networks.ff_numpy import FFNumpyRunner, predict
from dynaxx_neuro.registry import bind_data
from dynaxx_neuro.rules.ff import FFConfig, FFParameters

OLD, NEW = range(0, 5), range(5, 10)


def task(data, classes):
    """The training samples of ``classes`` only (no validation or test samples)."""
    keep = np.isin(data.y_train, list(classes))
    empty = data.x_val[:0], data.y_val[:0], data.x_test[:0], data.y_test[:0]
    return dataclasses.replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep],
                               x_val=empty[0], y_val=empty[1], x_test=empty[2], y_test=empty[3])


def accuracy_on(predicted: np.ndarray, labels: np.ndarray, classes) -> float:
    keep = np.isin(labels, list(classes))
    return float((predicted[keep] == labels[keep]).mean())


def ff_scores(params, config, data) -> dict:
    probs, goodness = predict(params, data.x_test, dataclasses.replace(
        config, batch_size=len(data.x_test)))
    out = {}
    for method, scores in (("softmax", probs), ("goodness", goodness)):
        predicted = scores.argmax(axis=1)
        out[method] = {"old": accuracy_on(predicted, data.y_test, OLD),
                       "new": accuracy_on(predicted, data.y_test, NEW),
                       "all": float((predicted == data.y_test).mean())}
    return out


def ff_run(seed: int, epochs: int) -> dict:
    data = prepare_splits("digits", None, 0.1, seed)
    config = bind_data(FFConfig(), data)  # the `dynaxx train ff` defaults
    params = FFParameters.initial(config, stream(seed, INIT))
    after = {}
    for name, classes, first in (("task1", OLD, 0), ("task2", NEW, epochs)):
        runner = FFNumpyRunner(config, task(data, classes), params, Launch(seed, first))
        for epoch in range(first, first + epochs):
            runner.run_epoch(epoch)
        params = runner.parameters()
        after[name] = ff_scores(params, config, data)
    return {"seed": seed, **after}


def backprop_run(seed: int, epochs: int) -> dict:
    data = prepare_splits("digits", None, 0.1, seed)
    trainer = MLPTrainer(MLPConfig(sizes=(64, 500, 500, 10), lr=0.05, momentum=0.9,
                                   batch_size=50, seed=seed))
    after = {}
    for name, classes, first in (("task1", OLD, 0), ("task2", NEW, epochs)):
        part = task(data, classes)
        for epoch in range(first, first + epochs):
            trainer.train_epoch(part.x_train, part.y_train, epoch)
        predicted = trainer.predict(data.x_test)
        after[name] = {"old": accuracy_on(predicted, data.y_test, OLD),
                       "new": accuracy_on(predicted, data.y_test, NEW),
                       "all": float((predicted == data.y_test).mean())}
    return {"seed": seed, **after}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20, help="epochs per task")
    args = parser.parse_args()
    ff = [ff_run(seed, args.epochs) for seed in args.seeds]
    backprop = [backprop_run(seed, args.epochs) for seed in args.seeds]

    def median(runs, *path):
        values = []
        for run in runs:
            for key in path:
                run = run[key]
            values.append(run)
        return statistics.median(values)

    summary = {"ff_softmax": {}, "ff_goodness": {}, "backprop": {}}
    for when in ("task1", "task2"):
        for part in ("old", "new", "all"):
            key = f"{part}_after_{when}"
            summary["ff_softmax"][key] = median(ff, when, "softmax", part)
            summary["ff_goodness"][key] = median(ff, when, "goodness", part)
            summary["backprop"][key] = median(backprop, when, part)
    write_result("ff_incremental", {
        "settings": {"hidden": [500, 500], "epochs_per_task": args.epochs, "batch": 50,
                     "tasks": "classes 0-4, then 5-9, no replay"},
        "ff": ff, "backprop": backprop, "median": summary})


if __name__ == "__main__":
    main()
