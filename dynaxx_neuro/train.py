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

import numpy as np
from tqdm import tqdm

from dynaxx_neuro import params as P
from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import DATASET_NAMES, Splits, prepare_splits
from dynaxx_neuro.interrupt import Interrupted, signal_name, signals_held
from dynaxx_neuro.memory import require_sizes
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.records import RunDir, peak_rss_mb, utc_now
from dynaxx_neuro.registry import RuleSpec, Stage, bind_data, rule_of

BASELINES = ("none", "backprop")


class TrainingDiverged(RuntimeError):
    """Training produced NaN or infinite values, or float parameters beyond
    DIVERGED_MAGNITUDE; the checkpoints of the epochs before are kept (``diverged``)."""


class RunInterrupted(Interrupted):
    """A signal stopped a run; ``message`` says what the run folder keeps and how to
    resume it."""

    def __init__(self, run: "Run", interrupt: KeyboardInterrupt):
        super().__init__(signal_name(interrupt))
        checkpoint = run.dir.last_epoch()
        kept = ("no epoch had finished" if checkpoint is None
                else f"epochs 1-{checkpoint + 1} of {run.total_epochs()} are kept")
        self.message = (f"{self.signal_name} stopped the run in {run.dir.path} ({kept}); "
                        f"resume it with: dynaxx train {run.spec.name} --resume {run.dir.path}")


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


# No float parameter of a healthy run of these rules comes near this magnitude (weights and
# thresholds are O(1) to O(10^2)); beyond it the run has diverged even where it is finite
# (e.g. EP at --lrs 1e300: weights at 1e299, accuracy at chance). Integer (fixed-point)
# arrays are bounded by their widths and saturate instead.
DIVERGED_MAGNITUDE = 1e6


def divergence(arrays: dict[str, np.ndarray]) -> str | None:
    """What shows that parameters ``arrays`` diverged (non-finite values, or float values
    beyond DIVERGED_MAGNITUDE), or None."""
    for name, array in arrays.items():
        if not np.issubdtype(array.dtype, np.floating) or not array.size:
            continue
        if not np.isfinite(array).all():
            return f"NaN or infinite values in {name}"
        peak = float(np.abs(array).max())
        if peak > DIVERGED_MAGNITUDE:
            return f"{name} reached {peak:.3g}, beyond {DIVERGED_MAGNITUDE:.0e}"
    return None


def diverged(run: RunDir, epoch: int, problem: str) -> TrainingDiverged:
    """The error of a run that diverged in epoch index ``epoch``, noted in run.json: what
    it keeps and how to go on."""
    last = run.last_epoch()
    kept = ("no epoch had finished, so there is no checkpoint" if last is None else
            f"the checkpoint of epoch {last + 1} in {run.path / 'checkpoints'} is kept")
    run.update_info(diverged={"epoch": epoch + 1, "problem": problem, "at": utc_now()})
    return TrainingDiverged(f"training diverged in epoch {epoch + 1} ({problem}); {kept}; "
                            "resume it with smaller learning rates, or start again with a "
                            "smaller step size or learning rates.")


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
        arrays = runner.parameters().to_arrays()
        problem = "NaN or infinite cost" if result.diverged else divergence(arrays)
        if problem:
            raise diverged(run, epoch, problem)
        summary = f"{seconds:.1f} s"
        if result.evaluates:
            rows = metric_rows(epoch, result, data, seconds,
                               runner.batches_per_epoch * runner.batch_size)
            run.write_table("metrics", epoch, rows)
            final = {f"{split}_accuracy": acc
                     for split, acc in zip(rows["split"], rows["accuracy"])}
            final.update(result.metrics, epoch=epoch + 1)  # epochs are numbered from 1
            summary = "  ".join(f"{s} {a:.4f}" for s, a in zip(rows["split"], rows["accuracy"])
                                ) + f"  ({summary})"
        for table, columns in result.tables.items():
            run.write_table(table, epoch, columns)
        run.save_checkpoint(epoch, arrays)
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

    def stage_of(self, epoch: int) -> tuple[Stage, int, int]:
        """(stage, first, end) of the stage epoch index ``epoch`` belongs to."""
        for bound in self.bounds():
            if bound[1] <= epoch < bound[2]:
                return bound
        raise ValueError(f"it is of epoch {epoch + 1}, beyond the run's "
                         f"{self.total_epochs()} epochs")

    def checkpoint(self) -> tuple[int, dict[str, np.ndarray]] | None:
        """(epoch index, arrays) of the newest checkpoint that loads and fits the run's
        network (``records.RunDir.last_checkpoint`` says which it skipped); the run's data
        is checked against its configuration first."""
        self.data()
        return self.dir.last_checkpoint(check=self._fits)

    def _fits(self, epoch: int, arrays: dict[str, np.ndarray]) -> None:
        """Refuse arrays that are not what the stage of ``epoch`` holds: its names and
        shapes (those of its initial parameters)."""
        stage = self.stage_of(epoch)[0]
        expected = stage.parameters.initial(self.config, stream(self.settings.seed, INIT)
                                            ).to_arrays()
        missing = sorted(set(expected) - set(arrays))
        if missing:
            raise ValueError(f"it lacks {', '.join(missing)}")
        for name, array in expected.items():
            if arrays[name].shape != array.shape:
                raise ValueError(f"it holds {name} of shape {arrays[name].shape} where this "
                                 f"run's network has {array.shape} (a checkpoint of another "
                                 "network)")

    def total_epochs(self) -> int:
        """Epochs of all stages (the run's one epoch axis)."""
        return self.bounds()[-1][2]


def _train_stages(run: Run, show_progress: bool) -> RunDir:
    """Train ``run`` up to its last epoch (then its baseline, if asked for); a signal
    stops it with :class:`RunInterrupted`, noted in run.json, the checkpoints kept."""
    try:
        _train_epochs(run, show_progress)
    except KeyboardInterrupt as interrupt:  # SIGINT, or SIGTERM in the CLI (``interrupt``)
        with signals_held():
            run.dir.update_info(interrupted=utc_now())
        raise RunInterrupted(run, interrupt) from None
    if run.settings.baseline == "backprop":
        _train_baseline(run)
    return run.dir


def _train_epochs(run: Run, show_progress: bool) -> None:
    """Train ``run``'s stages from its last checkpoint or from the start. Each stage starts
    from the checkpoint the one before it wrote last (read back from disk, not from the
    runner: a Lava runner's parameters are a slow Var read)."""
    final: dict = {}
    data = run.data()
    for stage, first, end in run.bounds():
        checkpoint = run.checkpoint()
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
    require_sizes(spec, config, data, backend.tag)
    name = f"{spec.run_label(config)}-{settings.dataset}-{settings.backend}"
    directory = RunDir.create(out, name, {
        "rule": spec.name, "graph": spec.graph, "dataset": settings.dataset, "backend": settings.backend,
        "tag": backend.tag, "epochs": settings.epochs,
        "seed": settings.seed, "settings": P.to_dict(settings), "config": P.to_dict(config)})
    return _train_stages(Run(directory.path, data), show_progress)


# Options a resume may change besides the last stage's epoch count and the back end: the
# learning rates, and only for a run that diverged (a smaller step is the way on from there).
LEARNING_RATE_OPTIONS = ("lr", "lrs", "readout_lr", "lr_shift")
# Options that say where a rule's work runs, never what it computes (ES's fitness
# evaluations give the same results bit for bit on every executor, ``executor``), so any
# resume may change them.
EXECUTION_OPTIONS = ("workers",)


def resume(path, changes: dict | None = None, show_progress: bool = True) -> RunDir:
    """Continue a run from its last checkpoint, with ``changes`` (field name -> value):

    - the last stage's epoch count (its ``Stage.epochs_option``: ``epochs`` for single-stage
      rules, ``readout_epochs`` for the Hebbian readouts), not below the epochs trained;
    - ``backend``, to one that trains bit for bit like the run's (``equal_backends``: the
      checkpoint means the same there);
    - learning rates (``LEARNING_RATE_OPTIONS``), for a run that diverged;
    - where the work runs (``EXECUTION_OPTIONS``: ES's ``workers``).

    Anything else is refused in one sentence naming the options. run.json keeps a history
    of resumes (``resumes``: when, from which epoch, what changed from what)."""
    run = Run(path)
    changes = {key: value for key, value in (changes or {}).items()
               if _current(run, key) != value}  # an option typed as it already is
    _refuse_unchangeable(run, changes)
    changed = {_option_names(run.spec)[key]: [_current(run, key), value]
               for key, value in changes.items()}
    for key, value in changes.items():
        if key in RUN_SETTING_NAMES:
            run.settings = dataclasses.replace(run.settings, **{key: value})
        else:
            run.config = P.replace_leaf(run.config, key, value)
    run.spec.backend(run.settings.backend).validate(run.config)
    done = run.dir.last_epoch()
    if done is not None and run.total_epochs() < done + 1:
        raise ValueError(f"{', '.join(changed)} would end the run before the {done + 1} epochs "
                         "it has already trained; give at least that many.")
    info = run.dir.info()
    entry = {"at": utc_now(), "from_epoch": 0 if done is None else done + 1, "changed": changed}
    entry.update({event: info.pop(event) for event in ("diverged", "interrupted")
                  if event in info})  # what the run had stopped on
    run.dir.write_info({**info, "epochs": run.settings.epochs,
                        "settings": P.to_dict(run.settings), "config": P.to_dict(run.config),
                        "resumes": [*info.get("resumes", []), entry]})
    return _train_stages(run, show_progress)


RUN_SETTING_NAMES = tuple(f.name for f in dataclasses.fields(RunSettings))


def _current(run: Run, key: str):
    """The value of run setting or configuration field ``key`` in ``run`` (None if it has
    none by that name)."""
    if key in RUN_SETTING_NAMES:
        return getattr(run.settings, key)
    try:
        return P.get_leaf(run.config, key)
    except (KeyError, ValueError, AttributeError):
        return None


def _option_names(spec: RuleSpec) -> dict[str, str]:
    """Field name -> command-line option of the run settings and of ``spec``'s
    configuration."""
    names = {f.name: P.option_name(f) for f, _ in P.cli_fields(RunSettings)}
    names.update({path[-1]: P.option_name(f) for f, path in P.cli_fields(spec.config)})
    return names


def _refuse_unchangeable(run: Run, changes: dict) -> None:
    """One sentence naming the ``changes`` a resume of ``run`` cannot apply, and why."""
    names = _option_names(run.spec)
    allowed = {run.spec.stages[-1].epochs_option}
    allowed.update(key for key in EXECUTION_OPTIONS if key in names)
    if {changes.get("backend"), run.settings.backend} in map(set, run.spec.equal_backends):
        allowed.add("backend")
    diverged = "diverged" in run.dir.info()
    if diverged:
        allowed.update(LEARNING_RATE_OPTIONS)
    refused = [key for key in changes if key not in allowed]
    if not refused:
        return
    shown = ", ".join(names.get(key, f"--{key.replace('_', '-')}") for key in refused)
    can = [names[run.spec.stages[-1].epochs_option]]
    partners = [b for pair in run.spec.equal_backends if run.settings.backend in pair
                for b in pair if b != run.settings.backend]
    if partners:
        can.append(f"--backend (to {' or '.join(partners)})")
    can += [names[key] for key in EXECUTION_OPTIONS if key in names]
    rates = [names[key] for key in LEARNING_RATE_OPTIONS if key in names]
    if rates:
        can.append(f"{'/'.join(rates)} ({'this run diverged' if diverged else 'after divergence'})")
    raise ValueError(f"{shown} cannot change when resuming {str(run.dir.path)!r}; what can: "
                     f"{', '.join(can)}.")


def evaluate_checkpoint(run: Run, backend: str) -> tuple[int, EpochResult]:
    """The epoch of ``run``'s last checkpoint and that checkpoint's evaluation on
    ``backend`` (its validation and test predictions)."""
    checkpoint = run.checkpoint()
    if checkpoint is None:
        raise ValueError(f"run {str(run.dir.path)!r} has no checkpoint yet; train at least one "
                         "epoch.")
    epoch, arrays = checkpoint
    stage, first, end = run.stage_of(epoch)
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
    metrics = {"epoch": epoch + 1, "backend": backend}
    for split, accuracy, loss in eval_scores(result, run.data()):
        metrics[f"{split}_accuracy"] = accuracy
        metrics[f"{split}_loss"] = loss
    metrics.update(result.metrics)
    return metrics
