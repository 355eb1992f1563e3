"""Figure files of a training run, assembled from the panels of ``plots``.

``run_figures(run)`` builds every figure the run has data for, and ``plot_run(run_path)``
writes them into ``RUN/plots/``:

- ``learning_curves`` (``metrics`` table): accuracy and loss per epoch, with the backprop
  reference accuracy of ``run.json`` (``final_metrics.backprop_test_accuracy``) dashed;
- ``energy_settling`` (``energy`` table): F and E during settling in the last epoch and,
  when several epochs were logged, the free-phase F of the first and last epoch;
- ``goodness`` (``goodness`` table, forward-forward): positive vs negative goodness per
  layer (rows) in the first and last epoch (columns);
- ``goodness_means`` (``ff_layers`` table, forward-forward): mean positive and negative
  goodness of every layer per epoch;
- ``alignment`` (``alignment`` table, target propagation): the angle between each layer's
  update and the backprop gradient per epoch;
- ``evolution`` (``evolution`` table, evolution strategies): fitness and step size per
  generation;
- ``spikes`` (``spikes`` table of spike events, when it has any): raster with the population
  rate below it, and the firing-rate histogram of each layer, of the training phase;
- ``layer_activity`` (``spikes`` table of per-layer counts, rate runs): the fraction of
  neurons sending a graded spike per step, per layer and epoch;
- ``weights`` (last checkpoint): histograms of every weight matrix and receptive fields of
  the matrix the image feeds;
- ``energy_landscape``, ``linear_probes``, ``confusion_matrix`` (EP runs with a checkpoint):
  F around the free equilibrium of one test sample (``landscape``), linear probes of every
  layer (``probes``) and the confusion matrix of the test predictions;
- ``onchip_energy`` (``ops`` table): energy per sample under Loihi's cost model
  (``energy_cost``).

A figure whose data are missing is skipped. Figures are ``matplotlib.figure.Figure``
objects, so no pyplot state or GUI back end is involved.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from dynaxx_neuro.analysis.energy_cost import energy_by_period
from dynaxx_neuro.analysis.ep_network import EPNetwork
from dynaxx_neuro.analysis.landscape import energy_landscape
from dynaxx_neuro.analysis.plots import (plot_alignment, plot_confusion_matrix, plot_energy_landscape,
                                         plot_energy_per_sample, plot_evolution,
                                         plot_firing_rate_histogram,
                                         plot_free_phase_epochs, plot_goodness_histogram,
                                         plot_goodness_means, plot_layer_activity,
                                         plot_learning_curves, plot_linear_probes,
                                         plot_population_rate, plot_receptive_fields,
                                         plot_settling_energy, plot_spike_raster,
                                         plot_weight_histograms)
from dynaxx_neuro.analysis.probes import ep_layer_probes
from dynaxx_neuro.records import RunDir

PLOTS = "plots"
DPI = 120
PANEL_SIZE = (4.8, 3.6)
"""Inches per panel: at ``DPI`` a panel is 576 x 432 pixels, readable at 100% zoom."""

WEIGHT_NAME = re.compile(r"^(w\d+|weights|.+_w)$")
DATASET_IMAGE_SHAPES = {"digits": (8, 8), "fashion-mnist": (28, 28), "mnist": (28, 28)}
"""Image shapes of the data sets of ``datasets.load_dataset``, known without loading them."""

CAPTIONS = {
    "learning_curves": "Accuracy and loss per epoch on each split; a dashed line, when shown, "
                       "is the test accuracy of a backprop-trained network of the same "
                       "shape.",
    "energy_settling": "Energy during settling: mean over the logged samples with a 10-90% "
                       "band, free phase then the nudged phases.",
    "goodness": "Forward-forward goodness of positive and negative samples per layer.",
    "goodness_means": "Mean forward-forward goodness of positive (solid) and negative "
                      "(dashed) samples per layer and epoch.",
    "alignment": "Angle between each weight layer's target-propagation update and the "
                 "backprop gradient of the loss, per epoch (90 degrees: orthogonal).",
    "evolution": "Fitness of the population per generation (mean with a +/-1 std band, and "
                 "the best) and the step size sigma.",
    "spikes": "Spike raster with the population rate, and the distribution of firing rates "
              "(spikes per recorded step), of the logged training samples.",
    "layer_activity": "Fraction of each layer's neurons that send a graded spike (a non-zero "
                      "rate) per step during training.",
    "weights": "Distribution of every weight matrix and receptive fields of the first layer.",
    "energy_landscape": "F on a plane through the free equilibrium of one test sample, with "
                        "the settling trajectory projected onto it.",
    "linear_probes": "Test accuracy of a linear classifier on each layer's free-phase rates.",
    "confusion_matrix": "Predictions of the last checkpoint on the test split.",
    "onchip_energy": "Energy on Loihi estimated from the operation counters "
                     "(Davies et al. 2018, Table 2).",
}
"""One sentence per figure, used by the report."""


def _figure(n_rows: int, n_cols: int, size=PANEL_SIZE) -> tuple[Figure, np.ndarray]:
    """A figure of ``n_rows`` x ``n_cols`` panels with a constrained layout, and its axes."""
    fig = Figure(figsize=(size[0] * n_cols, size[1] * n_rows), dpi=DPI, layout="constrained")
    return fig, fig.subplots(n_rows, n_cols, squeeze=False)


def learning_curves_figure(metrics: dict, reference: float | None = None) -> Figure:
    """Accuracy and loss per epoch of the ``metrics`` table columns; ``reference`` is the
    backprop test accuracy drawn dashed on the accuracy panel."""
    fig, ((accuracy, loss),) = _figure(1, 2)
    plot_learning_curves(accuracy, metrics, "accuracy", reference)
    plot_learning_curves(loss, metrics, "loss")
    return fig


def energy_settling_figure(energy: dict) -> Figure:
    """F and E during settling in the last epoch of the ``energy`` table columns, plus the
    free-phase F of the first and last epoch when the table holds several epochs."""
    several = np.unique(np.asarray(energy["epoch"])).size > 1
    fig, (axes,) = _figure(1, 3 if several else 2)
    plot_settling_energy(axes[0], energy, "F")
    plot_settling_energy(axes[1], energy, "E")
    if several:
        plot_free_phase_epochs(axes[2], energy, "F")
    return fig


def goodness_figure(goodness: dict) -> Figure:
    """Positive vs negative goodness, one row per layer, one column per shown epoch (the
    first and the last)."""
    layers = np.unique(np.asarray(goodness["layer"]))
    present = np.unique(np.asarray(goodness["epoch"]))
    epochs = np.unique(present[[0, -1]])
    fig, axes = _figure(layers.size, epochs.size)
    for row, layer in enumerate(layers):
        for col, epoch in enumerate(epochs):
            plot_goodness_histogram(axes[row, col], goodness, layer, int(epoch))
    return fig


def goodness_means_figure(ff_layers: dict) -> Figure:
    fig, ((ax,),) = _figure(1, 1, (PANEL_SIZE[0] * 1.5, PANEL_SIZE[1]))
    plot_goodness_means(ax, ff_layers)
    return fig


def alignment_figure(alignment: dict) -> Figure:
    fig, ((ax,),) = _figure(1, 1, (PANEL_SIZE[0] * 1.3, PANEL_SIZE[1]))
    plot_alignment(ax, alignment)
    return fig


def evolution_figure(evolution: dict) -> Figure:
    fig, ((fitness, sigma),) = _figure(1, 2)
    plot_evolution(fitness, sigma, evolution)
    return fig


def spikes_figure(spikes: dict) -> Figure:
    """Raster (top left) over the population rate (bottom left) sharing the time axis, and
    the firing-rate histograms (right)."""
    fig = Figure(figsize=(PANEL_SIZE[0] * 2.4, PANEL_SIZE[1] * 1.4), dpi=DPI,
                 layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 1), width_ratios=(1.5, 1))
    raster = fig.add_subplot(grid[0, 0])
    rate = fig.add_subplot(grid[1, 0], sharex=raster)
    plot_spike_raster(raster, spikes)
    plot_population_rate(rate, spikes)
    plot_firing_rate_histogram(fig.add_subplot(grid[:, 1]), spikes)
    return fig


def layer_activity_figure(spikes: dict) -> Figure:
    fig, ((ax,),) = _figure(1, 1, (PANEL_SIZE[0] * 1.5, PANEL_SIZE[1]))
    plot_layer_activity(ax, spikes)
    return fig


def weight_matrices(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The weight matrices of a checkpoint, in its order: 2-D arrays named ``w<i>`` (EP),
    ``<part>_w`` (FF layers, Hebbian features, readouts) or ``weights`` (STDP); optimiser
    state such as ``vw`` or ``layer0_mw`` is left out."""
    return {name: array for name, array in arrays.items()
            if WEIGHT_NAME.match(name) and np.ndim(array) == 2}


def image_shape(dataset: str | None, n_inputs: int) -> tuple[int, int] | None:
    """The image shape of a run's inputs: 8x8 for ``digits``, 28x28 for the other data sets
    of ``datasets``, and for runs without a known data set ``(side, side)`` when
    ``n_inputs`` is a perfect square (else None)."""
    if dataset in DATASET_IMAGE_SHAPES:
        return DATASET_IMAGE_SHAPES[dataset]
    side = math.isqrt(n_inputs)
    return (side, side) if side * side == n_inputs else None


def input_weights(weights: dict[str, np.ndarray], n_pixels: int) -> str | None:
    """Name of the first matrix fed by the image: the first non-readout matrix with at
    least ``n_pixels`` inputs (the pixels come first; FF appends the label after them)."""
    return next((name for name, w in weights.items()
                 if not name.startswith("readout") and w.shape[1] >= n_pixels), None)


def weights_figure(arrays: dict[str, np.ndarray], dataset: str | None = None) -> Figure:
    """Histograms of the weight matrices of a checkpoint and, when the input is an image,
    the receptive fields of the matrix it feeds (its pixel columns)."""
    weights = weight_matrices(arrays)
    first = next(iter(weights.values()))
    shape = image_shape(dataset, first.shape[1])
    fed = input_weights(weights, math.prod(shape)) if shape else None
    fig, (axes,) = _figure(1, 2 if fed else 1)
    plot_weight_histograms(axes[0], weights)
    if fed:
        plot_receptive_fields(axes[1], weights[fed][:, :math.prod(shape)], shape)
    return fig


def energy_landscape_figure(network: EPNetwork, sample: int = 0,
                            directions: str = "pca") -> Figure:
    """Free (beta = 0) and nudged (+beta) landscapes of one test sample, side by side on the
    same plane."""
    landscape = energy_landscape(network, sample, directions)
    fig, ((free, nudged),) = _figure(1, 2, (PANEL_SIZE[0] * 1.15, PANEL_SIZE[1] * 1.1))
    where = f"test sample {landscape.sample} (label {landscape.label})"
    plot_energy_landscape(free, landscape.a, landscape.b, landscape.free_energy,
                          landscape.free_path, f"Free phase, {where}")
    plot_energy_landscape(nudged, landscape.a, landscape.b, landscape.nudged_energy,
                          landscape.nudged_path, f"Nudged phase (beta = {landscape.beta:g})")
    plane = "top two principal components" if directions == "pca" else "two random directions"
    fig.suptitle(f"F on the plane of the {plane} ({landscape.explained:.1%} of the "
                 f"trajectory variance), epoch {network.epoch}", fontsize="medium")
    return fig


def linear_probes_figure(network: EPNetwork) -> Figure:
    fig, ((ax,),) = _figure(1, 1)
    plot_linear_probes(ax, ep_layer_probes(network), chance=1.0 / network.data.n_classes)
    return fig


def confusion_matrix_figure(network: EPNetwork) -> Figure:
    fig, ((ax,),) = _figure(1, 1, (PANEL_SIZE[0] * 1.2, PANEL_SIZE[1] * 1.3))
    plot_confusion_matrix(ax, network.data.y_test, network.test_predictions(),
                          network.data.n_classes)
    return fig


def onchip_energy_figure(ops: dict) -> Figure:
    fig, ((ax,),) = _figure(1, 1, (PANEL_SIZE[0] * 1.5, PANEL_SIZE[1]))
    plot_energy_per_sample(ax, *energy_by_period(ops))
    return fig


def run_figures(run: RunDir, sample: int = 0, directions: str = "pca") -> dict[str, Figure]:
    """Every figure the run has data for, by name (see the module docstring); ``sample``
    and ``directions`` choose the energy landscape's test sample and plane."""
    figures = {}
    if run.has_table("metrics"):
        reference = (run.info().get("final_metrics") or {}).get("backprop_test_accuracy")
        figures["learning_curves"] = learning_curves_figure(run.read_table("metrics"),
                                                            reference)
    if run.has_table("energy"):
        figures["energy_settling"] = energy_settling_figure(run.read_table("energy"))
    if run.has_table("goodness"):
        figures["goodness"] = goodness_figure(run.read_table("goodness"))
    if run.has_table("ff_layers"):
        figures["goodness_means"] = goodness_means_figure(run.read_table("ff_layers"))
    if run.has_table("alignment"):
        figures["alignment"] = alignment_figure(run.read_table("alignment"))
    if run.has_table("evolution"):
        figures["evolution"] = evolution_figure(run.read_table("evolution"))
    if run.has_table("spikes"):
        spikes = run.read_table("spikes")
        if "events" in spikes:
            figures["layer_activity"] = layer_activity_figure(spikes)
        elif spikes["step"].size:  # none when no sample was logged (STDP's --n-logged 0)
            figures["spikes"] = spikes_figure(spikes)
    checkpoint = run.last_checkpoint()
    if checkpoint is not None and weight_matrices(checkpoint[1]):
        figures["weights"] = weights_figure(checkpoint[1], run.info().get("dataset"))
    if checkpoint is not None and run.info().get("rule") == "ep" and \
            run.info().get("graph", "rate") == "rate":  # the rate network's analysis
        network = EPNetwork.from_run(run)
        figures["energy_landscape"] = energy_landscape_figure(network, sample, directions)
        figures["linear_probes"] = linear_probes_figure(network)
        figures["confusion_matrix"] = confusion_matrix_figure(network)
    if run.has_table("ops"):
        figures["onchip_energy"] = onchip_energy_figure(run.read_table("ops"))
    return figures


def plot_run(run_path: str | os.PathLike, fmt: str = "png", sample: int = 0,
             directions: str = "pca") -> list[Path]:
    """Write the figures of the run folder ``run_path`` into ``RUN/plots/`` as ``fmt`` files
    (any format Matplotlib saves: png, svg, pdf, ...) and return their paths."""
    formats = FigureCanvasBase.get_supported_filetypes()
    if fmt not in formats:
        raise ValueError(f"fmt must be one of {', '.join(sorted(formats))}, got {fmt!r}.")
    run = RunDir.open(run_path)
    figures = run_figures(run, sample, directions)
    if not figures:
        raise ValueError(f"run {str(run_path)!r} has no tables or checkpoints to plot; "
                         "train at least one epoch first.")
    folder = run.path / PLOTS
    folder.mkdir(exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = folder / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, dpi=DPI)
        paths.append(path)
    return paths
