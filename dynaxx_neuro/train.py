"""One training loop for every rule and back end: epochs, evaluation every epoch, a
progress bar with live accuracy, a checkpoint every epoch, resume, divergence stop.

A *runner* (``EPNumpyRunner``, ``EPLavaRunner``, ...) owns the network on its back end and
offers ``run_epoch(epoch, progress) -> EpochResult``, ``parameters()`` and ``close()``. The
loop writes, per epoch and in this order, the metrics and logs of the epoch and then its
checkpoint; a resumed run repeats at most the epoch that was interrupted and replaces its
rows (see ``records``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np
from tqdm import tqdm

from dynaxx_neuro.backends import require_backend
from dynaxx_neuro.datasets import check_arrays, load_dataset, validation_split
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.ep_common import (TRAIN, VAL, TEST, EPConfig, EPData, EPParameters,
                                             EpochResult, n_train_batches)
from dynaxx_neuro.records import RunDir, peak_rss_mb, utc_now

EP_BACKENDS = ("lava", "numpy")


class TrainingDiverged(RuntimeError):
    """Training produced NaN or infinite values; the last good checkpoint is kept."""


def _check_count(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


# ---------------------------------------------------------------------------------------
# Configuration <-> run.json


def ep_config_to_dict(config: EPConfig) -> dict:
    return dataclasses.asdict(config)


def ep_config_from_dict(values: dict) -> EPConfig:
    """Rebuild an EPConfig from its run.json form."""
    learning = dict(values["learning"], lrs=tuple(values["learning"]["lrs"]))
    return EPConfig(sizes=tuple(values["sizes"]),
                    schedule=ep.EPSchedule(**values["schedule"]),
                    dynamics=ep.EPDynamics(**values["dynamics"]),
                    learning=ep.EPLearning(**learning),
                    batch_size=values["batch_size"], seed=values["seed"],
                    log_batches=values["log_batches"])


# ---------------------------------------------------------------------------------------
# Data


def prepare_ep_data(dataset: str, data_dir: str | None, validation: float,
                    seed: int) -> EPData:
    """Load a dataset and hold out a stratified validation split of its training data."""
    data = load_dataset(dataset, data_dir)
    x_train, y_train = check_arrays(data.x_train, data.y_train, name="x_train", y_name="y_train")
    x_test, y_test = check_arrays(data.x_test, data.y_test, n_features=x_train.shape[1],
                                  name="x_test", y_name="y_test")
    if validation == 0:
        x_val, y_val = x_train[:0], y_train[:0]
    else:
        x_train, y_train, x_val, y_val = validation_split(x_train, y_train, validation, seed)
    return EPData(x_train, y_train, x_val, y_val, x_test, y_test, data.n_classes)


# ---------------------------------------------------------------------------------------
# Logs of one epoch


def metric_rows(epoch: int, result: EpochResult, data: EPData, seconds: float,
                n_trained: int) -> dict[str, list]:
    """One metrics row per split: accuracy, loss, wall time, samples/s, peak RSS."""
    rows = {"epoch": [], "split": [], "accuracy": [], "loss": [], "time_s": [],
            "samples_per_s": [], "peak_rss_mb": []}
    splits = [(TRAIN, result.train_accuracy, result.train_loss)]
    for split, pred, labels, loss in ((VAL, result.val_predictions, data.y_val, result.val_loss),
                                      (TEST, result.test_predictions, data.y_test,
                                       result.test_loss)):
        if len(labels):
            splits.append((split, float((pred == labels).mean()), loss))
    for split, accuracy, loss in splits:
        rows["epoch"].append(epoch)
        rows["split"].append(split)
        rows["accuracy"].append(float(accuracy))
        rows["loss"].append(float(loss))
        rows["time_s"].append(seconds)
        rows["samples_per_s"].append(n_trained / seconds if seconds > 0 else float("nan"))
        rows["peak_rss_mb"].append(peak_rss_mb())
    return rows


def energy_rows(epoch: int, result: EpochResult, schedule: ep.EPSchedule) -> dict[str, list]:
    """Long-form settling energies of the logged batches: one row per (batch, step, sample)."""
    n_batches, period, batch = result.energy.shape
    grid = np.indices((n_batches, period, batch)).reshape(3, -1)
    steps = grid[1]
    return {"epoch": np.full(steps.size, epoch), "batch": grid[0], "sample": grid[2],
            "period_step": steps,
            "phase": np.array([ep.PHASE_NAMES[schedule.phase(k)] for k in range(period)])[steps],
            "step": np.array([schedule.phase_step(k) for k in range(period)])[steps],
            "E": result.energy.ravel(), "C": result.cost.ravel(), "F": result.total.ravel()}


# ---------------------------------------------------------------------------------------
# The loop


def fit(runner, run: RunDir, data: EPData, schedule: ep.EPSchedule, first_epoch: int,
        epochs: int, batch_size: int, show_progress: bool = True,
        on_epoch: Callable[[int, dict], None] | None = None) -> dict:
    """Train epochs ``first_epoch .. epochs - 1``; returns the final metrics."""
    batches = n_train_batches(len(data.x_train), batch_size)
    final: dict = {}
    for epoch in range(first_epoch, epochs):
        bar = tqdm(total=batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
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
                f"the last good checkpoint in {run.path / 'checkpoints'} is kept; try a smaller "
                "eps or smaller learning rates.")
        rows = metric_rows(epoch, result, data, seconds, batches * batch_size)
        run.write_table("metrics", epoch, rows)
        if result.energy.size:
            run.write_table("energy", epoch, energy_rows(epoch, result, schedule))
        run.save_checkpoint(epoch, runner.parameters().to_arrays())
        final = {f"{split}_accuracy": acc for split, acc in zip(rows["split"], rows["accuracy"])}
        final["epoch"] = epoch
        if on_epoch is not None:
            on_epoch(epoch, final)
        elif show_progress:
            tqdm.write(f"epoch {epoch + 1}/{epochs}  " + "  ".join(
                f"{s} {a:.4f}" for s, a in zip(rows["split"], rows["accuracy"]))
                + f"  ({seconds:.1f} s)")
    return final


def make_ep_runner(backend: str, config: EPConfig, data: EPData, params: EPParameters,
                   start_epoch: int):
    """The runner of a back end (Lava is imported only when asked for)."""
    require_backend(backend, EP_BACKENDS)
    if backend == "numpy":
        from dynaxx_neuro.networks.ep_numpy import EPNumpyRunner
        return EPNumpyRunner(config, data, params)
    from dynaxx_neuro.networks.ep_lava import EPLavaRunner
    return EPLavaRunner(config, data, params, start_epoch)


def _run_data(info: dict, config: EPConfig) -> EPData:
    """The data of a run as run.json describes it, checked against the network's sizes."""
    data = prepare_ep_data(info["dataset"], info.get("data_dir"), info["validation"],
                           config.seed)
    if data.x_train.shape[1] != config.sizes[0] or data.n_classes != config.sizes[-1]:
        raise ValueError(f"dataset {info['dataset']!r} has {data.x_train.shape[1]} features and "
                         f"{data.n_classes} classes but the network has sizes {config.sizes}.")
    return data


def _train(run: RunDir, show_progress: bool, data: EPData | None = None) -> RunDir:
    """Continue (or start) the run described by run.json from its last checkpoint."""
    info = run.info()
    config = ep_config_from_dict(info["config"])
    data = data or _run_data(info, config)
    checkpoint = run.last_checkpoint()
    if checkpoint is None:
        first_epoch = 0
        params = EPParameters.initial(config.sizes, np.random.default_rng([config.seed, 7]))
    else:
        first_epoch = checkpoint[0] + 1
        params = EPParameters.from_arrays(checkpoint[1], config.n_weight_layers)
    runner = make_ep_runner(info["backend"], config, data, params, first_epoch)
    try:
        final = fit(runner, run, data, config.schedule, first_epoch, info["epochs"],
                    config.batch_size, show_progress)
    finally:
        runner.close()
    if final:
        run.update_info(final_metrics=final, finished=utc_now())
    return run


def train_ep(dataset: str = "digits", hidden: tuple[int, ...] = (256,), backend: str = "lava",
             epochs: int = 30, out: str | None = None, data_dir: str | None = None,
             validation: float = 0.1, beta: float = 1.0, eps: float = 0.5, t_free: int = 20,
             t_nudge: int = 4, symmetric: bool = True, random_sign: bool = False,
             beta_warmup_epochs: int = 0, lrs: tuple[float, ...] | None = None,
             lr_decay: float = 0.93, momentum: float = 0.0, batch_size: int = 20,
             seed: int = 0, log_batches: int = 2, show_progress: bool = True) -> RunDir:
    """Train a layered EP network and write a run folder; returns it.

    ``lrs`` defaults to 0.1 for the first weight layer, halved for each layer above
    (Scellier & Bengio's 0.1, 0.05 for one hidden layer).
    """
    _check_count("epochs", epochs, 0)
    for size in hidden:
        _check_count("hidden size", size, 1)
    if not 0 <= validation < 1:
        raise ValueError(f"validation must be in [0, 1), got {validation!r}.")
    require_backend(backend, EP_BACKENDS)
    data = prepare_ep_data(dataset, data_dir, validation, seed)
    sizes = (data.x_train.shape[1], *hidden, data.n_classes)
    if lrs is None:
        lrs = tuple(0.1 * 0.5 ** i for i in range(len(sizes) - 1))
    config = EPConfig(sizes=sizes, schedule=ep.EPSchedule(t_free, t_nudge, symmetric),
                      dynamics=ep.EPDynamics(beta, eps),
                      learning=ep.EPLearning(tuple(lrs), lr_decay, momentum, random_sign,
                                             beta_warmup_epochs),
                      batch_size=batch_size, seed=seed, log_batches=log_batches)
    run = RunDir.create(out, f"ep-{dataset}-{backend}", {
        "rule": "ep", "dataset": dataset, "data_dir": data_dir, "backend": backend,
        "tag": "numpy" if backend == "numpy" else "floating_pt", "epochs": epochs,
        "validation": validation, "seed": seed, "config": ep_config_to_dict(config)})
    return _train(run, show_progress, data)


def resume(path: str, epochs: int | None = None, show_progress: bool = True) -> RunDir:
    """Continue a run from its last checkpoint, optionally to a new total of ``epochs``."""
    run = RunDir.open(path)
    if epochs is not None:
        _check_count("epochs", epochs, 0)
        run.update_info(epochs=epochs)
    return _train(run, show_progress)


def evaluate_run(path: str, backend: str | None = None) -> dict:
    """Accuracy and loss of a run's last checkpoint on its validation and test splits."""
    run = RunDir.open(path)
    info = run.info()
    checkpoint = run.last_checkpoint()
    if checkpoint is None:
        raise ValueError(f"run {path!r} has no checkpoint yet; train at least one epoch.")
    config = ep_config_from_dict(info["config"])
    data = _run_data(info, config)
    eval_only = dataclasses.replace(data, x_train=data.x_train[:0], y_train=data.y_train[:0])
    params = EPParameters.from_arrays(checkpoint[1], config.n_weight_layers)
    runner = make_ep_runner(backend or info["backend"], config, eval_only, params, checkpoint[0])
    try:
        result = runner.run_epoch(checkpoint[0])
    finally:
        runner.close()
    metrics = {"epoch": checkpoint[0], "backend": backend or info["backend"]}
    for split, pred, labels, loss in ((VAL, result.val_predictions, data.y_val, result.val_loss),
                                      (TEST, result.test_predictions, data.y_test,
                                       result.test_loss)):
        if len(labels):
            metrics[f"{split}_accuracy"] = float((pred == labels).mean())
            metrics[f"{split}_loss"] = loss
    return metrics
