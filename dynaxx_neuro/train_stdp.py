"""Training the spiking STDP network (Diehl & Cook 2015 style) on Lava: its configuration
from options or run.json, its runner on the ``lava`` (floating_pt) and ``lava-fixed``
(fixed_pt) back ends, and evaluation of a checkpoint. The loop itself is ``train.fit``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dynaxx_neuro.backends import require_backend
from dynaxx_neuro.checks import check_count
from dynaxx_neuro.datasets import Splits, prepare_splits
from dynaxx_neuro.kernels.stdp import STDPRule
from dynaxx_neuro.networks.stdp_lava import (CONFIG_DEFAULTS, DEFAULT_PRESENTATION, AdaptiveLIF,
                                             LavaSTDPRunner, Presentation, STDPNetworkConfig,
                                             STDPParameters)
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.train import run_splits, train_from_last_checkpoint

STDP_BACKENDS = ("lava", "lava-fixed", "numpy")


def make_runner(backend: str, config: STDPNetworkConfig, data: Splits,
                params: STDPParameters, start_epoch: int):
    """The runner of a back end: Lava's float or fixed-point models, or the NumPy loop."""
    require_backend(backend, STDP_BACKENDS)
    if backend == "numpy":
        from dynaxx_neuro.networks.stdp_numpy import NumpySTDPRunner
        return NumpySTDPRunner(config, data, params, start_epoch)
    return LavaSTDPRunner(config, data, params, start_epoch)


def limit_splits(data: Splits, n_train: int, n_test: int, seed: int) -> Splits:
    """A random subset of ``n_train`` training and ``n_test`` test samples (0 keeps a split
    whole); the validation split is cut in proportion to the training one."""
    rng = np.random.default_rng([seed, 11])

    def subset(x, y, n):
        if n == 0 or n >= len(x):
            return x, y
        keep = np.sort(rng.permutation(len(x))[:n])
        return x[keep], y[keep]

    x_train, y_train = subset(data.x_train, data.y_train, n_train)
    n_val = 0 if n_train == 0 else max(1, round(n_train * len(data.x_val)
                                                 / max(len(data.x_train), 1)))
    x_val, y_val = subset(data.x_val, data.y_val, n_val if len(data.x_val) else 0)
    x_test, y_test = subset(data.x_test, data.y_test, n_test)
    return dataclasses.replace(data, x_train=x_train, y_train=y_train, x_val=x_val,
                               y_val=y_val, x_test=x_test, y_test=y_test)


def _run_data(info: dict, config: STDPNetworkConfig) -> Splits:
    """The data of a run as run.json describes it (its subsets), checked against the network."""
    return run_splits(info, config.seed, config.n_inputs, config.n_classes,
                      lambda data: limit_splits(data, info["n_train"], info["n_test"],
                                                config.seed))


def continue_run(run: RunDir, show_progress: bool, data: Splits | None = None) -> RunDir:
    """Train the run described by run.json from its last checkpoint (or from the start)."""
    info = run.info()
    config = STDPNetworkConfig.from_dict(info["config"])
    data = data or _run_data(info, config)
    # One sample per period: an epoch has len(x_train) batches of one.
    return train_from_last_checkpoint(
        run, data,
        lambda: STDPParameters.initial(config, np.random.default_rng([config.seed, 7])),
        STDPParameters.from_arrays,
        lambda params, first_epoch: make_runner(info["backend"], config, data, params,
                                                first_epoch),
        len(data.x_train), 1, show_progress)


def train_stdp(dataset: str = "digits", backend: str = "lava", epochs: int = 1, out=None,
               data_dir: str | None = None, validation: float = 0.1, n_train: int = 0,
               n_test: int = 0, neurons: AdaptiveLIF | None = None,
               presentation: Presentation | None = None, rule: STDPRule | None = None,
               w_sum: float = CONFIG_DEFAULTS["w_sum"],
               normalise_every: int = CONFIG_DEFAULTS["normalise_every"], n_label: int = 0,
               vote: str = CONFIG_DEFAULTS["vote"], n_logged: int = 1, seed: int = 0,
               show_progress: bool = True) -> RunDir:
    """Train the STDP network and write a run folder; returns it.

    ``n_train``/``n_test`` take random subsets (0: the whole split); ``n_label`` is how many
    training samples label the neurons after each epoch (0: all) and ``vote`` is the
    read-out (``networks.stdp_lava.VOTES``); ``presentation`` defaults to
    ``networks.stdp_lava.DEFAULT_PRESENTATION``; the other defaults are
    ``STDPNetworkConfig``'s.
    """
    check_count("epochs", epochs, 0)
    check_count("n_train", n_train, 0)
    check_count("n_test", n_test, 0)
    if not 0 <= validation < 1:
        raise ValueError(f"validation must be in [0, 1), got {validation!r}.")
    data = limit_splits(prepare_splits(dataset, data_dir, validation, seed), n_train, n_test,
                        seed)
    config = STDPNetworkConfig(
        n_inputs=data.x_train.shape[1], n_classes=data.n_classes,
        neurons=neurons or AdaptiveLIF(), presentation=presentation or DEFAULT_PRESENTATION,
        rule=rule or STDPRule(), w_sum=w_sum, normalise_every=normalise_every,
        n_label=n_label, vote=vote, n_logged=n_logged, fixed_point=backend == "lava-fixed",
        seed=seed)
    require_backend(backend, STDP_BACKENDS)  # after the configuration's checks
    run = RunDir.create(out, f"stdp-{dataset}-{backend}", {
        "rule": "stdp", "dataset": dataset, "data_dir": data_dir, "backend": backend,
        "tag": {"lava": "floating_pt", "lava-fixed": "fixed_pt", "numpy": "numpy"}[backend],
        "epochs": epochs,
        "validation": validation, "n_train": n_train, "n_test": n_test, "seed": seed,
        "config": dataclasses.asdict(config)})
    return continue_run(run, show_progress, data)


def evaluate_checkpoint(run: RunDir, backend: str | None = None) -> dict:
    """Label the neurons with the run's last checkpoint and report validation and test
    accuracy (``backend``: one of ``STDP_BACKENDS``, default the run's)."""
    info = run.info()
    checkpoint = run.last_checkpoint()
    if checkpoint is None:
        raise ValueError(f"run {str(run.path)!r} has no checkpoint yet; train at least one "
                         "epoch.")
    backend = backend or info["backend"]
    require_backend(backend, STDP_BACKENDS)
    config = dataclasses.replace(STDPNetworkConfig.from_dict(info["config"]),
                                 fixed_point=backend == "lava-fixed")
    data = _run_data(info, config)
    runner = make_runner(backend, config, data, STDPParameters.from_arrays(checkpoint[1]),
                         checkpoint[0] + 1)
    result = runner.evaluate(checkpoint[0])
    metrics = {"epoch": checkpoint[0], "backend": backend}
    for split, pred, labels in (("val", result.val_predictions, data.y_val),
                                ("test", result.test_predictions, data.y_test)):
        if len(labels):
            metrics[f"{split}_accuracy"] = float((pred == labels).mean())
    return metrics
