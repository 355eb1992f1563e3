"""Several runs side by side: their learning curves overlaid in one figure and their final
metrics in one table (``dynaxx compare RUN1 RUN2 ...``).

Final metrics are read from each run's ``metrics`` table (its last epoch), not from
run.json, so a run that is still training shows where it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from dynaxx_neuro.analysis.figures import DPI, PANEL_SIZE
from dynaxx_neuro.analysis.plots import plot_learning_curve_comparison
from dynaxx_neuro.records import RunDir

SPLITS = ("train", "val", "test")
TABLE_COLUMNS = ("run", "rule", "dataset", "backend", "epochs", "train_accuracy",
                 "val_accuracy", "test_accuracy", "test_loss", "backprop_test_accuracy",
                 "vs_backprop", "samples_per_s", "peak_rss_mb")


def run_labels(paths: list[Path]) -> list[str]:
    """Short distinct labels: each folder's name, or its last two path parts where names
    repeat."""
    names = [path.resolve().name for path in paths]
    return [f"{path.resolve().parent.name}/{name}" if names.count(name) > 1 else name
            for path, name in zip(paths, names)]


def final_row(label: str, run: RunDir, metrics: dict) -> dict:
    """The table row of one run: identity from run.json, metrics of its last epoch."""
    info = run.info()
    epoch = np.asarray(metrics["epoch"])
    last = epoch == epoch.max()
    split = np.asarray(metrics["split"])
    row = {"run": label, "rule": info.get("rule", "?"), "dataset": info.get("dataset", "?"),
           "backend": info.get("backend", "?"), "epochs": int(epoch.max())}
    for name in SPLITS:
        rows = last & (split == name)
        row[f"{name}_accuracy"] = float(metrics["accuracy"][rows][0]) if rows.any() else None
    test = last & (split == "test")
    row["test_loss"] = float(metrics["loss"][test][0]) if test.any() else None
    # Written by `--baseline backprop` (train._train_baseline): the same-shape MLP's accuracy.
    backprop = (info.get("final_metrics") or {}).get("backprop_test_accuracy")
    row["backprop_test_accuracy"] = backprop
    row["vs_backprop"] = (row["test_accuracy"] / backprop
                          if backprop and row["test_accuracy"] is not None else None)
    for column in ("samples_per_s", "peak_rss_mb"):
        row[column] = float(np.asarray(metrics[column])[last][0]) if column in metrics else None
    return row


def format_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (numbers to 4 significant digits, "-" where absent)."""
    def text(value):
        if value is None:
            return "-"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |",
             "|" + "|".join("---" for _ in TABLE_COLUMNS) + "|"]
    lines += ["| " + " | ".join(text(row[c]) for c in TABLE_COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def compare_runs(run_paths: list[str | os.PathLike], out: str | os.PathLike,
                 split: str = "test") -> tuple[Path, list[dict]]:
    """Overlay the accuracy and loss curves on ``split`` of the runs ``run_paths`` in the
    figure file ``out`` (format from its suffix) and return its path and the final-metrics
    rows of the runs."""
    if not run_paths:
        raise ValueError("run_paths must name at least one run folder.")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}.")
    out = Path(out)
    formats = FigureCanvasBase.get_supported_filetypes()
    fmt = out.suffix.lstrip(".")
    if fmt not in formats:
        raise ValueError(f"out must end in a figure format ({', '.join(sorted(formats))}), "
                         f"got {str(out)!r}.")
    paths = [Path(path) for path in run_paths]
    curves, rows = {}, []
    for label, path in zip(run_labels(paths), paths):
        run = RunDir.open(path)
        if not run.has_table("metrics"):
            raise ValueError(f"run {str(path)!r} has no metrics table yet; train at least one "
                             "epoch.")
        curves[label] = run.read_table("metrics")
        rows.append(final_row(label, run, curves[label]))
    fig = Figure(figsize=(PANEL_SIZE[0] * 2, PANEL_SIZE[1]), dpi=DPI, layout="constrained")
    accuracy, loss = fig.subplots(1, 2)
    plot_learning_curve_comparison(accuracy, curves, "accuracy", split)
    plot_learning_curve_comparison(loss, curves, "loss", split)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=fmt, dpi=DPI)
    return out, rows
