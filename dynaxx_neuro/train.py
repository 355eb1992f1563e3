"""One training loop for every rule and back end: epochs, evaluation every epoch, a
progress bar with live accuracy, a checkpoint every epoch, resume, divergence stop.

A *runner* (``EPNumpyRunner``, ``EPLavaRunner``, ...) owns a network on its back end and
offers ``run_epoch(epoch, progress) -> EpochResult``, ``parameters()`` (an object with
``to_arrays()``) and ``close()``. :func:`fit` writes, per epoch and in this order, the
metrics and the rule's log tables and then the checkpoint; a resumed run repeats at most
the epoch that was interrupted and replaces its rows (see ``records``).

Each rule has a module (``train_ep``, ...) that builds its runner from run.json;
:func:`resume` and :func:`evaluate_run` pick it by the run's ``rule``.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from typing import Callable

from tqdm import tqdm

from dynaxx_neuro.checks import check_count
from dynaxx_neuro.datasets import Splits, prepare_splits
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.records import RunDir, peak_rss_mb, utc_now

RULE_MODULES = {"ep": "dynaxx_neuro.train_ep", "ff": "dynaxx_neuro.train_ff",
                "stdp": "dynaxx_neuro.train_stdp", "hebbian": "dynaxx_neuro.train_hebbian"}


class TrainingDiverged(RuntimeError):
    """Training produced NaN or infinite values; the last good checkpoint is kept."""


def run_splits(info: dict, seed: int, n_inputs: int, n_classes: int | None,
               subset: Callable[[Splits], Splits] = lambda data: data) -> Splits:
    """The data of a run as its run.json ``info`` describes it (``subset`` picks the part a
    run trains on), checked against the network's input and class counts (``n_classes``
    None: any, for a network whose classes come from the data)."""
    data = subset(prepare_splits(info["dataset"], info.get("data_dir"), info["validation"],
                                 seed))
    if data.x_train.shape[1] != n_inputs or n_classes not in (None, data.n_classes):
        expects = f"{n_inputs} features" + ("" if n_classes is None
                                            else f" and {n_classes} classes")
        raise ValueError(f"dataset {info['dataset']!r} has {data.x_train.shape[1]} features and "
                         f"{data.n_classes} classes but the network expects {expects}.")
    return data


def eval_scores(result: EpochResult, data: Splits) -> list[tuple[str, float, float]]:
    """(split, accuracy, mean loss) of the validation and test splits that have samples."""
    return [(split, float((pred == labels).mean()), loss)
            for split, pred, labels, loss in (
                ("val", result.val_predictions, data.y_val, result.val_loss),
                ("test", result.test_predictions, data.y_test, result.test_loss))
            if len(labels)]


def metric_rows(epoch: int, result: EpochResult, data: Splits, seconds: float,
                n_trained: int) -> dict[str, list]:
    """One metrics row per split: accuracy, loss, wall time, samples/s, peak RSS."""
    splits = [("train", result.train_accuracy, result.train_loss), *eval_scores(result, data)]
    rss = peak_rss_mb()
    rate = n_trained / seconds if seconds > 0 else float("nan")
    return {"epoch": [epoch] * len(splits), "split": [s[0] for s in splits],
            "accuracy": [float(s[1]) for s in splits], "loss": [float(s[2]) for s in splits],
            "time_s": [seconds] * len(splits), "samples_per_s": [rate] * len(splits),
            "peak_rss_mb": [rss] * len(splits)}


def fit(runner, run: RunDir, data: Splits, first_epoch: int, epochs: int,
        train_batches: int, batch_size: int, show_progress: bool = True) -> dict:
    """Train epochs ``first_epoch .. epochs - 1``; returns the final metrics."""
    final: dict = {}
    for epoch in range(first_epoch, epochs):
        bar = tqdm(total=train_batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                   disable=None if show_progress else True, leave=False, mininterval=0.5)

        def progress(n_batches: int, accuracy: float) -> None:
            bar.update(n_batches)
            bar.set_postfix(train_acc=f"{accuracy:.3f}")

        start = time.perf_counter()
        try:
            result = runner.run_epoch(epoch, progress)
        finally:
            bar.close()
        seconds = time.perf_counter() - start
        if result.diverged:
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1} (NaN or infinite weights or cost); "
                f"the last good checkpoint in {run.path / 'checkpoints'} is kept; try a "
                "smaller step size or smaller learning rates.")
        rows = metric_rows(epoch, result, data, seconds, train_batches * batch_size)
        run.write_table("metrics", epoch, rows)
        for table, columns in result.tables.items():
            run.write_table(table, epoch, columns)
        run.save_checkpoint(epoch, runner.parameters().to_arrays())
        final = {f"{split}_accuracy": acc for split, acc in zip(rows["split"], rows["accuracy"])}
        final["epoch"] = epoch
        if show_progress:
            tqdm.write(f"epoch {epoch + 1}/{epochs}  " + "  ".join(
                f"{s} {a:.4f}" for s, a in zip(rows["split"], rows["accuracy"]))
                + f"  ({seconds:.1f} s)")
    if final:
        run.update_info(final_metrics=final, finished=utc_now())
    return final


def train_from_last_checkpoint(run: RunDir, data: Splits, initial: Callable,
                               from_arrays: Callable, make_runner: Callable, train_batches: int,
                               batch_size: int, show_progress: bool) -> RunDir:
    """Train ``run`` up to its run.json ``epochs``, from its last checkpoint or from the start.

    ``initial()`` gives the parameters of epoch 0, ``from_arrays(arrays)`` those of a
    checkpoint, ``make_runner(params, first_epoch)`` the rule's runner.
    """
    checkpoint = run.last_checkpoint()
    if checkpoint is None:
        first_epoch, params = 0, initial()
    else:
        first_epoch, params = checkpoint[0] + 1, from_arrays(checkpoint[1])
    runner = make_runner(params, first_epoch)
    try:
        fit(runner, run, data, first_epoch, run.info()["epochs"], train_batches, batch_size,
            show_progress)
    finally:
        runner.close()
    return run


def evaluate_last_checkpoint(run: RunDir, backend: str | None, data: Splits,
                             make_runner: Callable) -> tuple[dict, EpochResult]:
    """Run the last checkpoint of ``run`` once over its validation and test splits.

    ``make_runner(backend, eval_only_data, checkpoint_arrays, epoch)`` builds the rule's
    runner; returns the metrics (epoch, backend, accuracy and loss per split) and the result.
    """
    checkpoint = run.last_checkpoint()
    if checkpoint is None:
        raise ValueError(f"run {str(run.path)!r} has no checkpoint yet; train at least one "
                         "epoch.")
    epoch, arrays = checkpoint
    backend = backend or run.info()["backend"]
    eval_only = dataclasses.replace(data, x_train=data.x_train[:0], y_train=data.y_train[:0])
    runner = make_runner(backend, eval_only, arrays, epoch)
    try:
        result = runner.run_epoch(epoch)
    finally:
        runner.close()
    metrics = {"epoch": epoch, "backend": backend}
    for split, accuracy, loss in eval_scores(result, data):
        metrics[f"{split}_accuracy"] = accuracy
        metrics[f"{split}_loss"] = loss
    return metrics, result


def _rule_module(run: RunDir):
    rule = run.info().get("rule")
    if rule not in RULE_MODULES:
        raise ValueError(f"run {str(run.path)!r} has rule {rule!r}; this version knows "
                         f"{', '.join(RULE_MODULES)}.")
    return importlib.import_module(RULE_MODULES[rule])


def resume(path, epochs: int | None = None, show_progress: bool = True) -> RunDir:
    """Continue a run from its last checkpoint, optionally to a new total of ``epochs``."""
    run = RunDir.open(path)
    module = _rule_module(run)
    if epochs is not None:
        check_count("epochs", epochs, 0)
        run.update_info(epochs=epochs)
    return module.continue_run(run, show_progress)


def evaluate_run(path, backend: str | None = None) -> dict:
    """Accuracy and loss of a run's last checkpoint on its validation and test splits."""
    run = RunDir.open(path)
    return _rule_module(run).evaluate_checkpoint(run, backend)
