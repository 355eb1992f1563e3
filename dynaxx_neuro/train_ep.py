"""Training equilibrium propagation: the EP configuration from options or run.json, its
runners on the ``lava`` and ``numpy`` back ends, and evaluation of a checkpoint. The loop
itself is ``train.fit``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dynaxx_neuro.backends import require_backend
from dynaxx_neuro.checks import check_count
from dynaxx_neuro.datasets import Splits, prepare_splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.ep_common import EPConfig, EPParameters, n_train_batches
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.train import evaluate_last_checkpoint, run_splits, train_from_last_checkpoint

EP_BACKENDS = ("lava", "numpy")


def config_from_dict(values: dict) -> EPConfig:
    """Rebuild an EPConfig from its run.json form (``dataclasses.asdict``)."""
    learning = dict(values["learning"], lrs=tuple(values["learning"]["lrs"]))
    return EPConfig(sizes=tuple(values["sizes"]),
                    schedule=ep.EPSchedule(**values["schedule"]),
                    dynamics=ep.EPDynamics(**values["dynamics"]),
                    learning=ep.EPLearning(**learning),
                    batch_size=values["batch_size"], seed=values["seed"],
                    log_batches=values["log_batches"])


def make_runner(backend: str, config: EPConfig, data: Splits, params: EPParameters,
                start_epoch: int):
    """The runner of a back end (Lava is imported only when asked for)."""
    require_backend(backend, EP_BACKENDS)
    if backend == "numpy":
        from dynaxx_neuro.networks.ep_numpy import EPNumpyRunner
        return EPNumpyRunner(config, data, params)
    from dynaxx_neuro.networks.ep_lava import EPLavaRunner
    return EPLavaRunner(config, data, params, start_epoch)


def continue_run(run: RunDir, show_progress: bool, data: Splits | None = None) -> RunDir:
    """Train the run described by run.json from its last checkpoint (or from the start)."""
    info = run.info()
    config = config_from_dict(info["config"])
    data = data or run_splits(info, config.seed, config.sizes[0], config.sizes[-1])
    return train_from_last_checkpoint(
        run, data,
        lambda: EPParameters.initial(config.sizes, np.random.default_rng([config.seed, 7])),
        lambda arrays: EPParameters.from_arrays(arrays, config.n_weight_layers),
        lambda params, first_epoch: make_runner(info["backend"], config, data, params,
                                                first_epoch),
        n_train_batches(len(data.x_train), config.batch_size), config.batch_size,
        show_progress)


def train_ep(dataset: str = "digits", hidden: tuple[int, ...] = (512,), backend: str = "lava",
             epochs: int = 30, out=None, data_dir: str | None = None,
             validation: float = 0.1, beta: float = 0.5, eps: float = 1.0, t_free: int = 12,
             t_nudge: int = 4, symmetric: bool = True, random_sign: bool = False,
             beta_warmup_epochs: int = 0, lrs: tuple[float, ...] | None = None,
             lr_decay: float = 0.9, momentum: float = 0.0, batch_size: int = 20,
             seed: int = 0, log_batches: int = 2, show_progress: bool = True) -> RunDir:
    """Train a layered EP network and write a run folder; returns it.

    The defaults were chosen on the validation split of digits (BENCHMARKS.md). ``eps = 1``
    makes each settling step the fixed-point iteration s <- clip(W rho + W^T rho + b), which
    settles a one-hidden-layer network in about 10 steps. ``lrs`` defaults to 0.2 for the
    first weight layer, halved for each layer above.
    """
    check_count("epochs", epochs, 0)
    for size in hidden:
        check_count("hidden size", size, 1)
    if not 0 <= validation < 1:
        raise ValueError(f"validation must be in [0, 1), got {validation!r}.")
    require_backend(backend, EP_BACKENDS)
    data = prepare_splits(dataset, data_dir, validation, seed)
    sizes = (data.x_train.shape[1], *hidden, data.n_classes)
    if lrs is None:
        lrs = tuple(0.2 * 0.5 ** i for i in range(len(sizes) - 1))
    config = EPConfig(sizes=sizes, schedule=ep.EPSchedule(t_free, t_nudge, symmetric),
                      dynamics=ep.EPDynamics(beta, eps),
                      learning=ep.EPLearning(tuple(lrs), lr_decay, momentum, random_sign,
                                             beta_warmup_epochs),
                      batch_size=batch_size, seed=seed, log_batches=log_batches)
    run = RunDir.create(out, f"ep-{dataset}-{backend}", {
        "rule": "ep", "dataset": dataset, "data_dir": data_dir, "backend": backend,
        "tag": "numpy" if backend == "numpy" else "floating_pt", "epochs": epochs,
        "validation": validation, "seed": seed, "config": dataclasses.asdict(config)})
    return continue_run(run, show_progress, data)


def evaluate_checkpoint(run: RunDir, backend: str | None = None) -> dict:
    """Accuracy and loss of the run's last checkpoint on its validation and test splits."""
    info = run.info()
    config = config_from_dict(info["config"])
    metrics, _ = evaluate_last_checkpoint(
        run, backend, run_splits(info, config.seed, config.sizes[0], config.sizes[-1]),
        lambda name, data, arrays, epoch: make_runner(
            name, config, data, EPParameters.from_arrays(arrays, config.n_weight_layers), epoch))
    return metrics
