"""Training forward-forward: the FF configuration from options or run.json, its runners on
the ``lava`` and ``numpy`` back ends, and evaluation of a checkpoint. The loop itself is
``train.fit``; besides ``metrics`` each epoch writes ``ff_layers`` (goodness, p(positive),
their ratio, update norms, activation variance, dead units per layer), ``ff_predictions``
(softmax-readout and goodness-argmax accuracy) and, when goodness separates by more than 10x
or collapses, ``ff_warnings``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dynaxx_neuro.backends import require_backend
from dynaxx_neuro.checks import check_count
from dynaxx_neuro.datasets import Splits, prepare_splits
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.networks.ep_common import n_train_batches
from dynaxx_neuro.networks.ff_common import FFConfig, FFParameters
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.train import evaluate_last_checkpoint, run_splits, train_from_last_checkpoint

FF_BACKENDS = ("lava", "numpy")


def config_from_dict(values: dict) -> FFConfig:
    """Rebuild an FFConfig from its run.json form (``dataclasses.asdict``)."""
    negatives = dict(values["negatives"], strategies=tuple(values["negatives"]["strategies"]))
    plain = {k: v for k, v in values.items()
             if k not in ("goodness", "negatives", "optimizer", "schedule")}
    return FFConfig(**{**plain, "hidden": tuple(values["hidden"]), "lrs": tuple(values["lrs"]),
                       "image_shape": tuple(values["image_shape"])},
                    goodness=ff.FFGoodness(**values["goodness"]),
                    negatives=ff.FFNegatives(**negatives),
                    optimizer=ff.FFOptimizer(**values["optimizer"]),
                    schedule=ff.FFSchedule(**values["schedule"]))


def make_runner(backend: str, config: FFConfig, data: Splits, params: FFParameters,
                start_epoch: int):
    """The runner of a back end (Lava is imported only when asked for)."""
    require_backend(backend, FF_BACKENDS)
    if backend == "numpy":
        from dynaxx_neuro.networks.ff_numpy import FFNumpyRunner
        return FFNumpyRunner(config, data, params)
    from dynaxx_neuro.networks.ff_lava import FFLavaRunner
    return FFLavaRunner(config, data, params, start_epoch)


def continue_run(run: RunDir, show_progress: bool, data: Splits | None = None) -> RunDir:
    """Train the run described by run.json from its last checkpoint (or from the start)."""
    info = run.info()
    config = config_from_dict(info["config"])
    data = data or run_splits(info, config.seed, config.n_features, config.n_classes)
    return train_from_last_checkpoint(
        run, data,
        lambda: FFParameters.initial(config, np.random.default_rng([config.seed, 7])),
        lambda arrays: FFParameters.from_arrays(arrays, config.n_layers),
        lambda params, first_epoch: make_runner(info["backend"], config, data, params,
                                                first_epoch),
        n_train_batches(len(data.x_train), config.batch_size), config.batch_size,
        show_progress)


def train_ff(dataset: str = "digits", hidden: tuple[int, ...] = (500, 500),
             backend: str = "lava", epochs: int = 20, out=None, data_dir: str | None = None,
             validation: float = 0.1, theta: float = 5.0, mean_goodness: bool = False,
             dropout: float = 0.0, label_mode: str = "append", label_scale: float = 1.0,
             negatives: tuple[str, ...] = ("wrong-label", "hard"), negative_ratio: float = 0.5,
             noise_std: float = 0.5, mask_blurs: int = 4, optimizer: str = "adam",
             lrs: tuple[float, ...] | None = None, readout_lr: float = 0.01,
             lr_decay: float = 1.0, momentum: float = 0.9, weight_decay: float = 0.0,
             schedule: str = "joint", epochs_per_layer: int = 5, finetune_scale: float = 0.1,
             predict: str = "softmax", batch_size: int = 50, seed: int = 0,
             show_progress: bool = True) -> RunDir:
    """Train a supervised forward-forward network and write a run folder; returns it.

    ``lrs`` defaults to 0.003 for every layer (Adam; the settings of ``benchmarks/ff_digits.py``).
    """
    check_count("epochs", epochs, 0)
    check_count("batch_size", batch_size, 1)
    for size in hidden:
        check_count("hidden size", size, 1)
    if not 0 <= validation < 1:
        raise ValueError(f"validation must be in [0, 1), got {validation!r}.")
    require_backend(backend, FF_BACKENDS)
    # Every rule parameter is checked before the (possibly slow) data load.
    rule = dict(goodness=ff.FFGoodness(theta, mean_goodness, dropout),
                negatives=ff.FFNegatives(tuple(negatives), negative_ratio, noise_std,
                                         mask_blurs),
                optimizer=ff.FFOptimizer(optimizer, momentum, weight_decay=weight_decay),
                schedule=ff.FFSchedule(schedule, epochs_per_layer, finetune_scale))
    data = prepare_splits(dataset, data_dir, validation, seed)
    config = FFConfig(n_features=data.x_train.shape[1], hidden=tuple(hidden),
                      n_classes=data.n_classes, label_mode=label_mode, label_scale=label_scale,
                      lrs=tuple(lrs) if lrs is not None else (0.003,) * len(hidden),
                      readout_lr=readout_lr, lr_decay=lr_decay, predict=predict,
                      batch_size=batch_size, seed=seed, image_shape=data.image_shape, **rule)
    run = RunDir.create(out, f"ff-{dataset}-{backend}", {
        "rule": "ff", "dataset": dataset, "data_dir": data_dir, "backend": backend,
        "tag": "numpy" if backend == "numpy" else "floating_pt", "epochs": epochs,
        "validation": validation, "seed": seed, "config": dataclasses.asdict(config)})
    return continue_run(run, show_progress, data)


def evaluate_checkpoint(run: RunDir, backend: str | None = None) -> dict:
    """Accuracy and loss of the run's last checkpoint on its validation and test splits."""
    info = run.info()
    config = config_from_dict(info["config"])
    metrics, result = evaluate_last_checkpoint(
        run, backend, run_splits(info, config.seed, config.n_features, config.n_classes),
        lambda name, data, arrays, epoch: make_runner(
            name, config, data, FFParameters.from_arrays(arrays, config.n_layers), epoch))
    predictions = result.tables.get("ff_predictions")
    if predictions is not None:
        for split, method, accuracy in zip(predictions["split"], predictions["method"],
                                           predictions["accuracy"]):
            metrics[f"{split}_accuracy_{method}"] = float(accuracy)
    return metrics


def goodness_warnings(run: RunDir) -> list[str]:
    """The warnings the run logged (goodness separating by > 10x or collapsing)."""
    if not run.has_table("ff_warnings"):
        return []
    return [str(message) for message in run.read_table("ff_warnings")["message"]]
