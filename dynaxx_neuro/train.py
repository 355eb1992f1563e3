"""One training loop, one resume and one checkpoint evaluation for every registered rule.

:func:`train` writes a new run folder for a rule configuration and trains it; :func:`resume`
continues a run folder from its last checkpoint; :func:`evaluate_run` runs the last
checkpoint over the validation and test splits. All three read the rule's ``RuleSpec``
(``registry``): its stages, back ends, parameters and data preparation.

Per epoch :func:`fit` writes, in this order, the metrics (for epochs that evaluate), the
rule's own log tables and then the checkpoint; a resumed run repeats at most the epoch
that was interrupted and replaces its rows (see ``records``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from tqdm import tqdm

from dynaxx_neuro import params as P
from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import DATASET_NAMES, Splits, prepare_splits
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.records import RunDir, peak_rss_mb, utc_now
from dynaxx_neuro.registry import RuleSpec, Stage, bind_data, rule_of

BASELINES = ("none", "backprop")


class TrainingDiverged(RuntimeError):
    """Training produced NaN or infinite values; the last good checkpoint is kept."""


@dataclass(frozen=True)
class RunSettings:
    """What a run trains on and where, apart from the rule's own configuration."""

    dataset: str = P.option("digits", f"Dataset: {', '.join(DATASET_NAMES)}.",
                            P.OneOf(DATASET_NAMES), cli="--data")
    data_dir: str | None = P.option(None, "Folder with the IDX files (fashion-mnist, mnist).")
    backend: str | None = P.option(None, "Back end; the first of the rule's (or of its "
                                   "--graph's) when not given.")
    epochs: int | None = P.option(None, "Training epochs; the rule's default when not given.",
                                  P.Optional(P.Int(0)))
    validation: float = P.option(0.1, "Fraction of the training data held out for tuning.",
                                 P.Real(0.0, 1.0, high_open=True))
    seed: int = P.option(0, "Seed of the validation split, the initial parameters and every "
                         "random stream of the run.", P.Int(0))
    baseline: str = P.option("none", "Also train the backprop MLP of the same shape on the "
                             "same splits and epochs (backprop) or not (none).",
                             P.OneOf(BASELINES))

    def __post_init__(self):
        P.validate(self)


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


def fit(runner, run: RunDir, data: Splits, stage: str, first_epoch: int, end_epoch: int,
        show_progress: bool = True) -> dict:
    """Train epochs ``first_epoch .. end_epoch - 1`` of one stage; returns the final metrics
    of the last epoch that evaluated (empty for stages that do not evaluate)."""
    final: dict = {}
    for epoch in range(first_epoch, end_epoch):
        bar = tqdm(total=runner.batches_per_epoch, desc=f"{stage} epoch {epoch + 1}/{end_epoch}",
                   unit="batch", disable=None if show_progress else True, leave=False,
                   mininterval=0.5)

        def progress(n_batches: int, accuracy: float | None = None) -> None:
            bar.update(n_batches)
            if accuracy is not None:
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
        summary = f"{seconds:.1f} s"
        if result.evaluates:
            rows = metric_rows(epoch, result, data, seconds,
                               runner.batches_per_epoch * runner.batch_size)
            run.write_table("metrics", epoch, rows)
            final = {f"{split}_accuracy": acc
                     for split, acc in zip(rows["split"], rows["accuracy"])}
            final.update(result.metrics, epoch=epoch)
            summary = "  ".join(f"{s} {a:.4f}" for s, a in zip(rows["split"], rows["accuracy"])
                                ) + f"  ({summary})"
        for table, columns in result.tables.items():
            run.write_table(table, epoch, columns)
        run.save_checkpoint(epoch, runner.parameters().to_arrays())
        if show_progress:
            tqdm.write(f"{stage} epoch {epoch + 1}/{end_epoch}  {summary}")
    return final


def stage_bounds(spec: RuleSpec, config, epochs: int) -> list[tuple[Stage, int, int]]:
    """(stage, first epoch, end epoch) of every stage of a run on the one epoch axis."""
    bounds, start = [], 0
    for stage in spec.stages:
        end = start + stage.epochs(config, epochs)
        bounds.append((stage, start, end))
        start = end
    return bounds


def make_runner(spec: RuleSpec, stage: Stage, backend: str, config, data: Splits, params,
                launch_seed: int, first_epoch: int, stage_epochs: tuple[int, int] | None = None):
    """The runner of ``stage`` (its (first, end) epochs ``stage_epochs``) on ``backend``
    (Lava is imported only when asked for)."""
    chosen = stage.runner or spec.backend(backend)
    return chosen.load()(config, data, params,
                         Launch(launch_seed, first_epoch, chosen.tag, stage_epochs))


class Run:
    """A run folder read back: its rule, configuration, settings and data."""

    def __init__(self, path, data: Splits | None = None):
        """``data``: the run's data when the caller already prepared it (a new run)."""
        self.dir = RunDir.open(path)
        info = self.dir.info()
        self.config = P.from_dict(info["config"])
        self.spec = rule_of(self.config)
        self.settings = P.from_dict(info["settings"])
        self._data = data

    def data(self) -> Splits:
        if self._data is None:
            s = self.settings
            self._data = self.spec.data(
                self.config, prepare_splits(s.dataset, s.data_dir, s.validation, s.seed))
            bind_data(self.config, self._data)  # refuses data of another shape
        return self._data

    def bounds(self):
        return stage_bounds(self.spec, self.config, self.settings.epochs)


def _train_stages(run: Run, show_progress: bool) -> RunDir:
    """Train ``run`` up to its last epoch, from its last checkpoint or from the start. Each
    stage starts from the checkpoint the one before it wrote last (read back from disk, not
    from the runner: a Lava runner's parameters are a slow Var read)."""
    final: dict = {}
    data = run.data()
    for stage, first, end in run.bounds():
        checkpoint = run.dir.last_checkpoint()
        next_epoch = 0 if checkpoint is None else checkpoint[0] + 1
        if next_epoch >= end:
            continue
        params = (stage.parameters.initial(run.config, stream(run.settings.seed, INIT))
                  if checkpoint is None else stage.parameters.from_arrays(checkpoint[1],
                                                                           run.config))
        runner = make_runner(run.spec, stage, run.settings.backend, run.config, data, params,
                             run.settings.seed, next_epoch, (first, end))
        try:
            final = fit(runner, run.dir, data, stage.name, next_epoch, end, show_progress) or final
        finally:
            runner.close()
    if final:
        run.dir.update_info(final_metrics={**run.dir.info().get("final_metrics", {}), **final},
                            finished=utc_now())
    if run.settings.baseline == "backprop":
        _train_baseline(run)
    return run.dir


def _train_baseline(run: Run) -> None:
    """The backprop MLP of the rule's shape on the run's splits and epochs, in the rule's
    batch size where it has one (``MLPConfig``'s otherwise, e.g. for STDP's batch 1); writes
    the ``baseline`` table, ``backprop_*_accuracy`` and the rule-to-backprop ratio
    ``test_accuracy_vs_backprop`` into the final metrics."""
    from dynaxx_neuro.baseline import MLPConfig, MLPTrainer
    data, config = run.data(), run.config  # the config was bound to this data by train()
    sizes = (data.x_train.shape[1], *run.spec.hidden_sizes(config), data.n_classes)
    batch = {"batch_size": config.batch_size} if hasattr(config, "batch_size") else {}
    trainer = MLPTrainer(MLPConfig(sizes, seed=run.settings.seed, **batch))
    epochs = max(run.settings.epochs, 1)
    rows = {"epoch": [], "split": [], "accuracy": []}
    for epoch in range(epochs):
        trainer.train_epoch(data.x_train, data.y_train, epoch)
        for split, x, y in (("val", data.x_val, data.y_val), ("test", data.x_test, data.y_test)):
            if len(y):
                rows["epoch"].append(epoch)
                rows["split"].append(split)
                rows["accuracy"].append(trainer.evaluate(x, y)[0])
    run.dir.write_table("baseline", 0, rows)
    last = [(s, a) for e, s, a in zip(*rows.values()) if e == epochs - 1]
    final = dict(run.dir.info().get("final_metrics", {}))
    final.update({f"backprop_{split}_accuracy": float(acc) for split, acc in last})
    if final.get("test_accuracy") is not None and final.get("backprop_test_accuracy"):
        final["test_accuracy_vs_backprop"] = final["test_accuracy"] / final["backprop_test_accuracy"]
    run.dir.update_info(final_metrics=final)


def train(config, settings: RunSettings = RunSettings(), out=None,
          show_progress: bool = True) -> RunDir:
    """Train a rule configuration (its class names the rule) under ``settings``; write a new
    run folder (``out``, default ``runs/<time>-<rule>-<data>-<backend>``) and return it."""
    spec = rule_of(config)
    settings = dataclasses.replace(
        settings, backend=settings.backend or spec.backend_names[0],
        epochs=spec.default_epochs if settings.epochs is None else settings.epochs)
    backend = spec.backend(settings.backend)
    backend.validate(config)
    data = spec.data(config, prepare_splits(settings.dataset, settings.data_dir,
                                            settings.validation, settings.seed))
    config = bind_data(config, data)
    name = f"{spec.run_label(config)}-{settings.dataset}-{settings.backend}"
    directory = RunDir.create(out, name, {
        "rule": spec.name, "graph": spec.graph, "dataset": settings.dataset, "backend": settings.backend,
        "tag": backend.tag, "epochs": settings.epochs,
        "seed": settings.seed, "settings": P.to_dict(settings), "config": P.to_dict(config)})
    return _train_stages(Run(directory.path, data), show_progress)


def resume(path, epochs: int | None = None, show_progress: bool = True) -> RunDir:
    """Continue a run from its last checkpoint; ``epochs``, when given, is the new epoch
    count of the run's last stage (its ``Stage.epochs_option``: ``--epochs`` for single-stage
    rules, ``--readout-epochs`` for the Hebbian readouts)."""
    run = Run(path)
    option = run.spec.stages[-1].epochs_option
    if epochs is not None and option == "epochs":
        run.settings = dataclasses.replace(run.settings, epochs=epochs)
    elif epochs is not None:
        run.config = P.replace_leaf(run.config, option, epochs)
    if epochs is not None:
        run.dir.update_info(epochs=run.settings.epochs, settings=P.to_dict(run.settings),
                            config=P.to_dict(run.config))
    return _train_stages(run, show_progress)


def evaluate_checkpoint(run: Run, backend: str) -> tuple[int, EpochResult]:
    """The epoch of ``run``'s last checkpoint and that checkpoint's evaluation on
    ``backend`` (its validation and test predictions)."""
    checkpoint = run.dir.last_checkpoint()
    if checkpoint is None:
        raise ValueError(f"run {str(run.dir.path)!r} has no checkpoint yet; train at least one "
                         "epoch.")
    epoch, arrays = checkpoint
    stage, first, end = next(bound for bound in run.bounds() if bound[1] <= epoch < bound[2])
    runner = make_runner(run.spec, stage, backend, run.config, run.data(),
                         stage.parameters.from_arrays(arrays, run.config), run.settings.seed,
                         epoch + 1, (first, end))
    try:
        result = runner.evaluate(epoch)
    finally:
        runner.close()
    if not result.evaluates:
        raise ValueError(f"run {str(run.dir.path)!r} has not reached an epoch that evaluates "
                         f"(its last checkpoint is of the {stage.name} stage); resume it.")
    return epoch, result


def evaluate_run(path, backend: str | None = None) -> dict:
    """Accuracy and loss of a run's last checkpoint on its validation and test splits, on
    ``backend`` (default: the run's)."""
    run = Run(path)
    backend = backend or run.settings.backend
    epoch, result = evaluate_checkpoint(run, backend)
    metrics = {"epoch": epoch, "backend": backend}
    for split, accuracy, loss in eval_scores(result, run.data()):
        metrics[f"{split}_accuracy"] = accuracy
        metrics[f"{split}_loss"] = loss
    metrics.update(result.metrics)
    return metrics
