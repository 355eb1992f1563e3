"""Figure files of a training run, assembled from the panels of ``plots``.

``plot_run(run_path)`` writes into ``RUN/plots/``:

- ``learning_curves.<fmt>`` (from the ``metrics`` table): accuracy and loss per epoch, with
  the backprop reference accuracy of ``run.json`` (``final_metrics.backprop_test_accuracy``)
  as a dashed line when the run holds one;
- ``energy_settling.<fmt>`` (from the ``energy`` table): F and E during settling in the last
  epoch and, when several epochs were logged, the free-phase F of the first and last epoch.

A figure whose table is missing is skipped. Figures are ``matplotlib.figure.Figure``
objects, so no pyplot state or GUI back end is involved.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from dynaxx_neuro.analysis.plots import (plot_free_phase_epochs, plot_learning_curves,
                                         plot_settling_energy)
from dynaxx_neuro.records import RunDir

PLOTS = "plots"
DPI = 120
PANEL_SIZE = (4.8, 3.6)
"""Inches per panel: at ``DPI`` a panel is 576 x 432 pixels, readable at 100% zoom."""


def _figure(n_panels: int) -> tuple[Figure, list]:
    """A figure of ``n_panels`` side-by-side panels with tight layout, and its axes."""
    fig = Figure(figsize=(PANEL_SIZE[0] * n_panels, PANEL_SIZE[1]), dpi=DPI, layout="tight")
    return fig, list(fig.subplots(1, n_panels, squeeze=False)[0])


def learning_curves_figure(metrics: dict, reference: float | None = None) -> Figure:
    """Accuracy and loss per epoch of the ``metrics`` table columns; ``reference`` is the
    backprop test accuracy drawn dashed on the accuracy panel."""
    fig, (accuracy, loss) = _figure(2)
    plot_learning_curves(accuracy, metrics, "accuracy", reference)
    plot_learning_curves(loss, metrics, "loss")
    return fig


def energy_settling_figure(energy: dict) -> Figure:
    """F and E during settling in the last epoch of the ``energy`` table columns, plus the
    free-phase F of the first and last epoch when the table holds several epochs."""
    several = np.unique(np.asarray(energy["epoch"])).size > 1
    fig, axes = _figure(3 if several else 2)
    plot_settling_energy(axes[0], energy, "F")
    plot_settling_energy(axes[1], energy, "E")
    if several:
        plot_free_phase_epochs(axes[2], energy, "F")
    return fig


def plot_run(run_path: str | os.PathLike, fmt: str = "png") -> list[Path]:
    """Write the figures of the run folder ``run_path`` into ``RUN/plots/`` as ``fmt`` files
    (any format Matplotlib saves: png, svg, pdf, ...) and return their paths."""
    formats = FigureCanvasBase.get_supported_filetypes()
    if fmt not in formats:
        raise ValueError(f"fmt must be one of {', '.join(sorted(formats))}, got {fmt!r}.")
    run = RunDir.open(run_path)
    figures = {}
    if run.has_table("metrics"):
        reference = (run.info().get("final_metrics") or {}).get("backprop_test_accuracy")
        figures["learning_curves"] = learning_curves_figure(run.read_table("metrics"),
                                                            reference)
    if run.has_table("energy"):
        figures["energy_settling"] = energy_settling_figure(run.read_table("energy"))
    if not figures:
        raise ValueError(f"run {str(run_path)!r} has no metrics or energy table to plot; "
                         "train at least one epoch first.")
    folder = run.path / PLOTS
    folder.mkdir(exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = folder / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, dpi=DPI)
        paths.append(path)
    return paths
