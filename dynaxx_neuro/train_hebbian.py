"""Training a Hebbian layer (Oja, BCM or competing hidden units) and its linear readout.

A run has two stages, numbered on one epoch axis so a run folder reads like any other:

1. epochs ``0 .. hebbian_epochs - 1``: unsupervised feature learning on the ``lava`` or
   ``numpy`` back end; each epoch writes one row of the ``hebbian`` table (learning rate,
   weight change and norms, BCM threshold, fraction of active units, time) and a checkpoint;
2. epochs ``hebbian_epochs .. epochs - 1``: the readouts (the only supervised part) on the
   learned features and on the baselines, raw pixels and random features of the same width
   and activation (and plain random ReLU features when the activation is not ReLU;
   ``networks.hebbian_readout``), driven by ``train.fit``: ``metrics`` holds the learned
   features' readout, ``baselines`` the others, and every epoch checkpoints.

The readouts run in NumPy on the host whatever the back end of stage 1: they are trained
separately on fixed features, as the issue asks. Optionally every input is ZCA-whitened
first (``zca_epsilon``), the same inputs for the Hebbian layer and every baseline. A
resumed run continues with the stage and epoch it was interrupted in.
"""

from __future__ import annotations

import dataclasses
import time

from tqdm import tqdm

from dynaxx_neuro.backends import require_backend
from dynaxx_neuro.checks import check_count
from dynaxx_neuro.datasets import Splits, prepare_splits
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.networks.hebbian_common import (HebbianConfig, HebbianState,
                                                  check_zca_epsilon, n_train_batches,
                                                  whiten_inputs)
from dynaxx_neuro.networks.hebbian_readout import (FeatureSplits, ReadoutConfig,
                                                   ReadoutRunner, feature_map)
from dynaxx_neuro.records import RunDir, peak_rss_mb, utc_now
from dynaxx_neuro.train import TrainingDiverged, fit, run_splits

HEBBIAN_BACKENDS = ("lava", "numpy")
# How the Hebbian rate changes over the epochs (``HebbianConfig``): lr * lr_decay^e, times
# (1 - e / epochs) for the linear fall of Krotov & Hopfield's code.
LR_SCHEDULES = ("exponential", "linear")
# Options that belong to one rule only; giving them to another rule is an error.
RULE_OPTIONS = {"tau_theta": "bcm", "p": "khu", "k": "khu", "delta": "khu"}


def make_learner(backend: str, config: HebbianConfig, data: Splits, state: HebbianState,
                 start_epoch: int):
    """The stage-1 learner of a back end (Lava is imported only when asked for)."""
    require_backend(backend, HEBBIAN_BACKENDS)
    if backend == "numpy":
        from dynaxx_neuro.networks.hebbian_numpy import HebbianNumpyLearner
        return HebbianNumpyLearner(config, data.x_train, state)
    from dynaxx_neuro.networks.hebbian_lava import HebbianLavaLearner
    return HebbianLavaLearner(config, data.x_train, state, start_epoch)


def _learn_features(learner, run: RunDir, first_epoch: int, epochs: int, n_batches: int,
                    batch_size: int, show_progress: bool) -> HebbianState:
    """Stage 1: unsupervised epochs, each writing its ``hebbian`` row, its graded-spike
    counts and operation counters (``spikes``, ``ops``) and a checkpoint."""
    for epoch in range(first_epoch, epochs):
        bar = tqdm(total=n_batches, desc=f"hebbian epoch {epoch + 1}/{epochs}", unit="batch",
                   disable=None if show_progress else True, leave=False, mininterval=0.5)
        start = time.perf_counter()
        try:
            row = learner.run_epoch(epoch, bar.update)
        finally:
            bar.close()
        seconds = time.perf_counter() - start
        if row is None:
            raise TrainingDiverged(
                f"Hebbian learning diverged in epoch {epoch + 1} (NaN or infinite weights); the "
                f"last good checkpoint in {run.path / 'checkpoints'} is kept; try a smaller lr.")
        row.update(time_s=[seconds], samples_per_s=[n_batches * batch_size / seconds],
                   peak_rss_mb=[peak_rss_mb()])
        run.write_table("hebbian", epoch, row)
        for table, columns in learner.activity.tables(epoch).items():
            run.write_table(table, epoch, columns)
        run.save_checkpoint(epoch, learner.parameters().to_arrays())
        if show_progress:
            tqdm.write(f"hebbian epoch {epoch + 1}/{epochs}  weight change "
                       f"{row['weight_change'][0]:.3g}  active units "
                       f"{row['active_fraction'][0]:.2f}  ({seconds:.1f} s)")
    return learner.parameters()


def _record_baselines(run: RunDir) -> None:
    """Add the baselines' final accuracies to run.json's final metrics."""
    table = run.read_table("baselines")
    last = table["epoch"] == table["epoch"].max()
    final = dict(run.info().get("final_metrics") or {})
    for name, split, accuracy in zip(table["features"][last], table["split"][last],
                                     table["accuracy"][last]):
        final[f"{name}_{split}_accuracy"] = float(accuracy)
    run.update_info(final_metrics=final, finished=utc_now())


def run_data(info: dict, config: HebbianConfig) -> Splits:
    """The inputs of the run run.json ``info`` describes: its splits, ZCA-whitened when the
    run has a ``zca_epsilon``."""
    return whiten_inputs(run_splits(info, config.seed, config.n_in, None),
                         info.get("zca_epsilon"))


def continue_run(run: RunDir, show_progress: bool, data: Splits | None = None) -> RunDir:
    """Train the run described by run.json from its last checkpoint (or from the start)."""
    info = run.info()
    config = HebbianConfig.from_dict(info["config"])
    readout = ReadoutConfig(**info["readout"])
    hebbian_epochs, epochs = info["hebbian_epochs"], info["epochs"]
    data = data or run_data(info, config)
    checkpoint = run.last_checkpoint()
    first_epoch = 0 if checkpoint is None else checkpoint[0] + 1
    state = (HebbianState.initial(config) if checkpoint is None
             else HebbianState.from_arrays(checkpoint[1]))
    if first_epoch < hebbian_epochs:
        learner = make_learner(info["backend"], config, data, state, first_epoch)
        try:
            state = _learn_features(learner, run, first_epoch, hebbian_epochs,
                                    n_train_batches(len(data.x_train), config.batch_size),
                                    config.batch_size, show_progress)
        finally:
            learner.close()
        first_epoch = hebbian_epochs
    if first_epoch < epochs:
        runner = ReadoutRunner(readout, config, state, data, hebbian_epochs,
                               checkpoint[1] if first_epoch > hebbian_epochs else None)
        fit(runner, run, data, first_epoch, epochs, len(data.x_train) // readout.batch_size,
            readout.batch_size, show_progress)
        _record_baselines(run)
    return run


def resume_total(path, readout_epochs: int) -> int:
    """The total number of epochs (``train.resume``'s ``epochs``) that gives the run at
    ``path`` ``readout_epochs`` readout epochs in all."""
    check_count("readout_epochs", readout_epochs, 1)
    return RunDir.open(path).info()["hebbian_epochs"] + readout_epochs


def _rule_params(rule: str, lr: float | None, tau_theta, p, k, delta) -> hb.HebbianParams:
    """The rule's dataclass from the options given (others keep the rule's defaults)."""
    given = {"tau_theta": tau_theta, "p": p, "k": k, "delta": delta}
    values = {} if lr is None else {"lr": lr}
    for name, value in given.items():
        if value is None:
            continue
        if RULE_OPTIONS[name] != rule:
            raise ValueError(f"{name} applies only to rule {RULE_OPTIONS[name]!r}, not to "
                             f"rule {rule!r}.")
        values[name] = value
    return hb.rule_params(rule, **values)


def train_hebbian(rule: str = "khu", dataset: str = "digits", hidden: int = 100,
                  backend: str = "lava", epochs: int = 20, readout_epochs: int = 20, out=None,
                  data_dir: str | None = None, validation: float = 0.1,
                  batch_size: int = 100, lr: float | None = None, lr_decay: float = 1.0,
                  lr_schedule: str = "exponential",
                  tau_theta: float | None = None, p: float | None = None,
                  k: int | None = None, delta: float | None = None,
                  readout_lr: float = 0.01, readout_momentum: float = 0.9,
                  readout_batch_size: int = 100, readout_lr_decay: float = 0.9,
                  feature_power: float = 1.0, feature_inhibition: float | None = None,
                  zca_epsilon: float | None = None, seed: int = 0,
                  show_progress: bool = True) -> RunDir:
    """Learn ``hidden`` features with a Hebbian ``rule`` for ``epochs`` epochs, then train
    the readouts for ``readout_epochs`` epochs; write a run folder and return it.

    ``lr`` defaults to the rule's own default; ``tau_theta`` (BCM) and ``p``, ``k``,
    ``delta`` (KHU) to the values of ``kernels.hebbian``. The rate of epoch e is
    lr * lr_decay^e, times (1 - e / epochs) when ``lr_schedule`` is ``"linear"``. With
    ``zca_epsilon`` = eps > 0 every input, for the Hebbian layer and for all readouts, is
    ZCA-whitened by the training split (``hebbian_common.whiten_inputs``).
    """
    check_count("epochs", epochs, 0)
    check_count("readout_epochs", readout_epochs, 1)
    check_count("hidden", hidden, 1)
    check_count("seed", seed, 0)
    if not 0 <= validation < 1:
        raise ValueError(f"validation must be in [0, 1), got {validation!r}.")
    require_backend(backend, HEBBIAN_BACKENDS)
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, "
                         f"got {lr_schedule!r}.")
    check_zca_epsilon(zca_epsilon)
    params = _rule_params(rule, lr, tau_theta, p, k, delta)
    readout = ReadoutConfig(readout_lr, readout_momentum, readout_batch_size,
                            readout_lr_decay, feature_power, feature_inhibition)
    data = whiten_inputs(prepare_splits(dataset, data_dir, validation, seed), zca_epsilon)
    config = HebbianConfig(params, data.x_train.shape[1], hidden, batch_size, lr_decay, seed,
                           epochs if lr_schedule == "linear" else 0)
    if n_train_batches(len(data.x_train), batch_size) == 0:
        raise ValueError(f"batch_size must be at most the {len(data.x_train)} training "
                         f"samples, got {batch_size}.")
    run = RunDir.create(out, f"hebbian-{rule}-{dataset}-{backend}", {
        "rule": "hebbian", "hebbian_rule": rule, "dataset": dataset, "data_dir": data_dir,
        "backend": backend, "tag": "numpy" if backend == "numpy" else "floating_pt",
        "hebbian_epochs": epochs, "epochs": epochs + readout_epochs,
        "validation": validation, "seed": seed, "zca_epsilon": zca_epsilon,
        "config": config.to_dict(),
        "readout": dataclasses.asdict(readout)})
    return continue_run(run, show_progress, data)


def evaluate_checkpoint(run: RunDir, backend: str | None = None) -> dict:
    """Accuracy and loss of the readouts of the run's last checkpoint on its validation and
    test splits. The readouts run in NumPy whatever the run's back end, so ``backend`` only
    has to be one the rule knows."""
    info = run.info()
    if backend is not None:
        require_backend(backend, HEBBIAN_BACKENDS)
    checkpoint = run.last_checkpoint()
    if checkpoint is None or checkpoint[0] < info["hebbian_epochs"]:
        raise ValueError(f"run {str(run.path)!r} has no trained readout yet; let it finish "
                         "at least one readout epoch (dynaxx train hebbian --resume).")
    config = HebbianConfig.from_dict(info["config"])
    readout = ReadoutConfig(**info["readout"])
    data = run_data(info, config)
    state = HebbianState.from_arrays(checkpoint[1])
    eval_only = Splits(data.x_train[:0], data.y_train[:0], data.x_val, data.y_val,
                       data.x_test, data.y_test, data.n_classes, data.image_shape)
    metrics = {"epoch": checkpoint[0], "backend": backend or info["backend"]}
    for name in readout.feature_sets:
        features = FeatureSplits.of(feature_map(name, config, state, readout.feature_power,
                                                readout.inhibition), data)
        runner = ReadoutRunner(readout, config, state, eval_only, info["hebbian_epochs"],
                               checkpoint[1], {name: features})
        prefix = "" if name == "hebbian" else f"{name}_"
        for split, x, y in (("val", features.val, data.y_val),
                            ("test", features.test, data.y_test)):
            if len(y):
                pred, loss = runner.evaluate(name, x, y)
                metrics[f"{prefix}{split}_accuracy"] = float((pred == y).mean())
                metrics[f"{prefix}{split}_loss"] = loss
    return metrics

