"""Drawing functions for training runs: each is ``(ax, data...) -> ax``.

They draw on an ``Axes`` they are given and never create figures, so panels can be combined
freely (see ``figures``). The data are the column dictionaries of a run's tables, as
``RunDir.read_table`` returns them:

- ``metrics``: epoch, split ("train"/"val"/"test"), accuracy, loss, ... (one row per split
  per epoch);
- ``energy``: epoch, batch, sample, phase ("free"/"nudged"/"nudged_neg"), step (index within
  the phase), E, C, F (every settling step of a few logged batches per epoch);
- ``goodness`` (forward-forward): epoch, layer, kind ("positive"/"negative"), goodness (one
  row per sample and layer);
- ``ff_layers`` (forward-forward): epoch, layer, g_pos, g_neg, ... (epoch means per layer);
- ``spikes``: step, layer, neuron (one row per spike event), optionally epoch and phase
  ("train"/"eval"), and recorded_steps (the steps of that epoch and phase the table records:
  only a few logged samples are, so the span of their steps is no measure of time); for
  rate runs (EP) the per-layer counts epoch, layer, neurons, neuron_steps, events (graded
  spikes).

Other panels take arrays computed from a checkpoint (weights, probe accuracies, predictions)
or from the operation counters (``energy_cost``).

Epochs are numbered from 1 in every table (``records``), as the training progress bar shows
them, and are taken and shown as stored.
All colours come from the Okabe-Ito palette, which stays distinguishable with the common
colour-vision deficiencies.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, TwoSlopeNorm
from matplotlib.ticker import (LogFormatterSciNotation, LogLocator, MaxNLocator,
                               PercentFormatter)

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008), by name."""

COLOR_CYCLE = tuple(OKABE_ITO[name] for name in (
    "blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "yellow",
    "black"))
"""Colours for curves that have no fixed role, in the order they are handed out."""

PHASE_COLORS = {"free": OKABE_ITO["blue"], "nudged": OKABE_ITO["vermillion"],
                "nudged_neg": OKABE_ITO["bluish_green"]}
PHASE_LABELS = {"free": "free", "nudged": "nudged (+beta)", "nudged_neg": "nudged (-beta)"}
PHASE_HATCHES = {"free": "//", "nudged": "\\\\", "nudged_neg": "//"}
"""The +beta and -beta bands cover the same steps: hatched across each other, each keeps its
own colour where they overlap (translucent fills would mix into a colour of neither)."""
SPIKE_PHASE_LABELS = {"train": "training", "eval": "labelling and evaluation"}
SPLIT_COLORS = {"train": OKABE_ITO["blue"], "val": OKABE_ITO["orange"],
                "test": OKABE_ITO["vermillion"]}
REFERENCE_COLOR = OKABE_ITO["black"]
QUANTITY_LABELS = {"F": "F = E + beta C (a.u.)", "E": "E (a.u.)", "C": "C (a.u.)"}
METRIC_LABELS = {"accuracy": "accuracy", "loss": "loss"}

GOODNESS_COLORS = {"positive": OKABE_ITO["blue"], "negative": OKABE_ITO["vermillion"]}
OPS_COLORS = {"synaptic_ops": OKABE_ITO["blue"], "neuron_updates": OKABE_ITO["orange"],
              "learning_updates": OKABE_ITO["bluish_green"], "spikes": OKABE_ITO["reddish_purple"]}
OPS_LABELS = {"synaptic_ops": "synaptic ops", "neuron_updates": "neuron updates",
              "learning_updates": "learning updates", "spikes": "spikes"}
SEQUENTIAL_CMAP = "viridis"
"""Perceptually uniform and colour-blind safe, for maps of one quantity."""
DIVERGING_CMAP = "PuOr_r"
"""ColorBrewer's colour-blind-safe diverging map, for signed weights."""

ENERGY_UNITS = (("J", 1.0), ("mJ", 1e-3), ("µJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12))

BAND_PERCENTILES = (10, 90)
BAND_HATCHES = ("//", "\\\\")
"""Hatchings of bands that have no fixed role, alternating in the order they are drawn."""
BAND_LEGEND_TITLE = "mean, 10-90% band"


def style(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    """Give ``ax`` the house style: title, axis labels, a light grid, no top/right spines."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    return ax


def _log_y(ax: Axes) -> None:
    """Make the y axis logarithmic: "log" when all data drawn so far are positive, else
    "symlog" (linear within 1e-3 of the largest magnitude), since energies can be negative."""
    low, high = ax.dataLim.y0, ax.dataLim.y1
    if low > 0:
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=1e-3 * max(abs(low), abs(high)) or 1.0)


def plot_energy_vs_step(ax: Axes, steps, values, label: str, color: str | None = None,
                        hatch: str | None = None, log: bool = False) -> Axes:
    """Draw the mean of ``values`` over trajectories against ``steps``, over a band from the
    10th to the 90th percentile that is outlined and hatched in the same colour, not filled,
    so that overlapping bands stay told apart (:func:`mean_band_legend` shows both).

    ``values`` has shape ``(n_traj, n_steps)``; ``color`` and ``hatch`` default to the next
    of :data:`COLOR_CYCLE` and :data:`BAND_HATCHES` not yet used by a curve on ``ax``;
    ``log`` makes the y axis logarithmic ("symlog" when values drawn on ``ax`` are not all
    positive).
    """
    steps = np.asarray(steps)
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != steps.size or values.shape[0] == 0:
        raise ValueError(f"values must have shape (n_traj >= 1, {steps.size}) to match steps, "
                         f"got {values.shape}.")
    drawn = len(ax.get_lines())
    if color is None:
        color = COLOR_CYCLE[drawn % len(COLOR_CYCLE)]
    if hatch is None:
        hatch = BAND_HATCHES[drawn % len(BAND_HATCHES)]
    low, high = np.percentile(values, BAND_PERCENTILES, axis=0)
    ax.fill_between(steps, low, high, facecolor="none", edgecolor=color, linewidth=0.6,
                    hatch=hatch, gid=label)
    ax.plot(steps, values.mean(axis=0), color=color, label=label, linewidth=1.8)
    if log:
        _log_y(ax)
    return ax


def mean_band_legend(ax: Axes) -> None:
    """A legend of the curves of :func:`plot_energy_vs_step` on ``ax`` in which each entry is
    drawn as on the axes: the mean's line over its band's hatching."""
    bands = {band.get_gid(): band for band in ax.collections}
    means = [mean for mean in ax.get_lines() if mean.get_label() in bands]
    ax.legend([(bands[mean.get_label()], mean) for mean in means],
              [mean.get_label() for mean in means], title=BAND_LEGEND_TITLE,
              framealpha=0.9, edgecolor="none")  # opaque: the bands leave no free corner


def _epochs(columns: dict) -> np.ndarray:
    return np.unique(np.asarray(columns["epoch"]))


def _check_epoch(columns: dict, epoch: int | None) -> int:
    """``epoch``, or the last epoch of the table when None; an absent epoch is refused."""
    epochs = _epochs(columns)
    if epochs.size == 0:
        raise ValueError("the energy table has no rows to plot.")
    if epoch is None:
        return int(epochs[-1])
    if epoch not in epochs:
        raise ValueError(f"epoch {epoch} is not in the energy table (epochs present: "
                         f"{', '.join(str(int(e)) for e in epochs)}).")
    return int(epoch)


def settling_trajectories(energy_columns: dict, phase: str, quantity: str = "F",
                          epoch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of one phase of one epoch (default: the last) of the energy table.

    ``values[i, j]`` is ``quantity`` ("F", "E" or "C") of trajectory ``i`` (one logged sample
    of one logged batch) at phase step ``steps[j]``.
    """
    if quantity not in QUANTITY_LABELS:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITY_LABELS)}, "
                         f"got {quantity!r}.")
    epoch = _check_epoch(energy_columns, epoch)
    mask = (np.asarray(energy_columns["epoch"]) == epoch) & (
        np.asarray(energy_columns["phase"]) == phase)
    if not mask.any():
        raise ValueError(f"the energy table has no {phase!r} rows in epoch {epoch}.")
    batch, sample, step, value = (np.asarray(energy_columns[name])[mask]
                                  for name in ("batch", "sample", "step", quantity))
    order = np.lexsort((step, sample, batch))
    steps = np.unique(step)
    if order.size % steps.size or not (
            step[order].reshape(-1, steps.size) == steps).all():
        raise ValueError(f"the {phase!r} rows of epoch {epoch} do not hold every step "
                         "exactly once for every logged sample.")
    return steps, value[order].reshape(-1, steps.size).astype(float)


def plot_settling_energy(ax: Axes, energy_columns: dict, quantity: str = "F",
                         epoch: int | None = None, log: bool = False) -> Axes:
    """Draw ``quantity`` during settling in one epoch (default: the last), one mean curve
    and hatched 10-90% band per phase present (free, nudged, nudged_neg).

    The x axis counts settling steps: the free phase at its own steps ``0 .. t_free`` and
    both nudged phases after it, at ``t_free + step``; a dotted line marks ``t_free``.
    """
    epoch = _check_epoch(energy_columns, epoch)
    in_epoch = np.asarray(energy_columns["phase"])[np.asarray(energy_columns["epoch"]) == epoch]
    phases = [phase for phase in PHASE_COLORS if phase in set(in_epoch)]
    if "free" not in phases:
        raise ValueError(f"the energy table has no free-phase rows in epoch {epoch}.")
    t_free = None
    for phase in phases:
        steps, values = settling_trajectories(energy_columns, phase, quantity, epoch)
        if phase == "free":
            t_free = int(steps.max())
        else:
            steps = t_free + steps
        plot_energy_vs_step(ax, steps, values, PHASE_LABELS[phase], PHASE_COLORS[phase],
                            PHASE_HATCHES[phase])
    ax.axvline(t_free, color="0.5", linestyle=":", linewidth=1)
    if log:
        _log_y(ax)
    mean_band_legend(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return style(ax, f"{quantity} during settling, epoch {epoch}", "settling step",
                 QUANTITY_LABELS[quantity])


def plot_free_phase_epochs(ax: Axes, energy_columns: dict, quantity: str = "F",
                           epochs: tuple[int, ...] | None = None, log: bool = False) -> Axes:
    """Compare the free-phase settling of ``quantity`` across epochs (default: the first and
    the last), one mean curve and hatched 10-90% band per epoch."""
    if epochs is None:
        present = _epochs(energy_columns)
        epochs = tuple(int(e) for e in np.unique(present[[0, -1]]))
    for epoch in epochs:
        steps, values = settling_trajectories(energy_columns, "free", quantity, epoch)
        plot_energy_vs_step(ax, steps, values, f"epoch {epoch}")
    if log:
        _log_y(ax)
    mean_band_legend(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    shown = " vs ".join(str(epoch) for epoch in epochs)
    return style(ax, f"Free-phase {quantity}, epoch {shown}", "settling step",
                 QUANTITY_LABELS[quantity])


def plot_learning_curves(ax: Axes, metrics_columns: dict, metric: str = "accuracy",
                         reference: float | None = None) -> Axes:
    """Draw ``metric`` ("accuracy" or "loss") against the epoch, one line per split
    present (train, val, test); ``reference`` adds a dashed horizontal line labelled
    "backprop" (the accuracy a backprop-trained network reaches)."""
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_LABELS)}, got {metric!r}.")
    epoch = np.asarray(metrics_columns["epoch"])
    split = np.asarray(metrics_columns["split"])
    values = np.asarray(metrics_columns[metric], dtype=float)
    for name, color in SPLIT_COLORS.items():
        rows = np.flatnonzero(split == name)
        if rows.size:
            rows = rows[np.argsort(epoch[rows], kind="stable")]
            ax.plot(epoch[rows], values[rows], color=color, label=name, marker="o",
                    markersize=3, linewidth=1.8)
    if reference is not None:
        ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2,
                   label="backprop")
    ax.legend(frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return style(ax, f"{metric.capitalize()} per epoch", "epoch", METRIC_LABELS[metric])


def _legend(ax: Axes, **kwargs) -> None:
    ax.legend(frameon=False, **kwargs)


def plot_energy_landscape(ax: Axes, a, b, energy, path, title: str, levels: int = 24) -> Axes:
    """Draw the map ``energy`` (n_b, n_a) of F over the plane coordinates ``a`` (n_a,) and
    ``b`` (n_b,) as filled contours, with the projected settling trajectory ``path``
    (T, 2) on top: a circle at its start, a star at its end.

    The colour shows ``F - min F + d`` on a logarithmic scale (``d`` = 1e-3 of the range of
    F), so the basin around the minimum is resolved as well as the steep walls.
    """
    a, b, energy, path = (np.asarray(v, dtype=float) for v in (a, b, energy, path))
    if energy.shape != (b.size, a.size):
        raise ValueError(f"energy must have shape (len(b), len(a)) = ({b.size}, {a.size}), "
                         f"got {energy.shape}.")
    if path.ndim != 2 or path.shape[1] != 2:
        raise ValueError(f"path must have shape (T, 2), got {path.shape}.")
    low, span = energy.min(), max(float(np.ptp(energy)), 1e-12)
    offset = 1e-3 * span
    above = energy - low + offset
    bounds = np.geomspace(offset, span + offset, levels + 1)
    norm = LogNorm(bounds[0], bounds[-1])
    filled = ax.contourf(a, b, above, levels=bounds, cmap=SEQUENTIAL_CMAP, norm=norm)
    ax.contour(a, b, above, levels=bounds[::3], colors="white", linewidths=0.4, alpha=0.5)
    colorbar = ax.figure.colorbar(filled, ax=ax, ticks=LogLocator(),
                                  format=LogFormatterSciNotation())
    colorbar.set_label(f"F - min F (a.u., log scale; min F = {low:.3g})")
    ax.plot(path[:, 0], path[:, 1], color="white", linewidth=2.6)
    ax.plot(path[:, 0], path[:, 1], color=OKABE_ITO["orange"], linewidth=1.4, marker=".",
            markersize=4, label="settling trajectory")
    ax.plot(*path[0], marker="o", color=OKABE_ITO["orange"], markeredgecolor="white",
            markersize=7, linestyle="none", label="start")
    ax.plot(*path[-1], marker="*", color=OKABE_ITO["yellow"], markeredgecolor="black",
            markersize=13, linestyle="none", label="end")
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    style(ax, title, "direction 1 (state units)", "direction 2 (state units)")
    ax.grid(False)
    return ax


def plot_goodness_histogram(ax: Axes, goodness_columns: dict, layer, epoch: int,
                            bins: int = 40) -> Axes:
    """Histograms of forward-forward goodness of positive and negative samples of one
    ``layer`` in one ``epoch``, on shared bins."""
    goodness = np.asarray(goodness_columns["goodness"], dtype=float)
    rows = (np.asarray(goodness_columns["layer"]) == layer) & (
        np.asarray(goodness_columns["epoch"]) == epoch)
    if not rows.any():
        raise ValueError(f"the goodness table has no rows for layer {layer!r} in epoch {epoch}.")
    kind = np.asarray(goodness_columns["kind"])
    edges = np.histogram_bin_edges(goodness[rows], bins=bins)
    for name, color in GOODNESS_COLORS.items():
        values = goodness[rows & (kind == name)]
        if values.size:
            ax.hist(values, bins=edges, color=color, alpha=0.45, label=name)
            ax.hist(values, bins=edges, color=color, histtype="step", linewidth=1.4)
    _legend(ax)
    return style(ax, f"Goodness, layer {layer}, epoch {epoch}", "goodness (a.u.)",
                 "samples")


def plot_goodness_means(ax: Axes, ff_layers_columns: dict) -> Axes:
    """Mean goodness of positive (solid) and negative (dashed) samples against the epoch,
    one colour per layer (the ``ff_layers`` table)."""
    epoch = np.asarray(ff_layers_columns["epoch"])
    layer = np.asarray(ff_layers_columns["layer"])
    for i, name in enumerate(np.unique(layer)):
        rows = np.flatnonzero(layer == name)
        rows = rows[np.argsort(epoch[rows], kind="stable")]
        color = COLOR_CYCLE[i % len(COLOR_CYCLE)]
        for column, kind, dashes in (("g_pos", "positive", "-"), ("g_neg", "negative", "--")):
            ax.plot(epoch[rows], np.asarray(ff_layers_columns[column], dtype=float)[rows],
                    color=color, linestyle=dashes, marker="o", markersize=3, linewidth=1.6,
                    label=f"layer {name}, {kind}")
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return style(ax, "Mean goodness per epoch", "epoch", "mean goodness (a.u.)")


def plot_alignment(ax: Axes, alignment_columns: dict) -> Axes:
    """The angle between each layer's target-propagation update and the backprop gradient
    against the epoch (the ``alignment`` table), one colour per weight layer; 90 degrees
    (dotted) is an update orthogonal to the gradient, below it the update descends the
    loss."""
    epoch = np.asarray(alignment_columns["epoch"])
    layer = np.asarray(alignment_columns["layer"])
    angle = np.asarray(alignment_columns["angle_deg"], dtype=float)
    for i, name in enumerate(np.unique(layer)):
        rows = np.flatnonzero(layer == name)
        rows = rows[np.argsort(epoch[rows], kind="stable")]
        ax.plot(epoch[rows], angle[rows], color=COLOR_CYCLE[i % len(COLOR_CYCLE)], marker="o",
                markersize=3, linewidth=1.6, label=f"weight layer {name}")
    ax.axhline(90.0, color="0.5", linestyle=":", linewidth=1.0)
    ax.set_ylim(0.0, max(95.0, float(angle.max()) + 5.0) if angle.size else 95.0)
    _legend(ax, fontsize="small")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return style(ax, "Angle to the backprop gradient", "epoch", "angle (degrees)")


def plot_evolution(fitness_ax: Axes, sigma_ax: Axes, evolution_columns: dict) -> Axes:
    """Fitness per generation (the population's mean with a +/-1 std band, and its best)
    and the step size sigma per generation (log scale), from the ``evolution`` table."""
    generation = np.asarray(evolution_columns["generation"])
    order = np.argsort(generation, kind="stable")
    generation = generation[order]
    mean, std, best, sigma = (np.asarray(evolution_columns[c], dtype=float)[order]
                              for c in ("fitness_mean", "fitness_std", "fitness_best", "sigma"))
    color = COLOR_CYCLE[0]
    fitness_ax.fill_between(generation, mean - std, mean + std, color=color, alpha=0.2,
                            linewidth=0, label="mean +/- 1 std")
    fitness_ax.plot(generation, mean, color=color, linewidth=1.4, label="mean")
    fitness_ax.plot(generation, best, color=COLOR_CYCLE[1], linewidth=1.2, label="best")
    _legend(fitness_ax, fontsize="small")
    style(fitness_ax, "Fitness per generation", "generation", "fitness")
    sigma_ax.plot(generation, sigma, color=COLOR_CYCLE[2], linewidth=1.4)
    _log_y(sigma_ax)
    return style(sigma_ax, "Step size per generation", "generation", "sigma")


def _rows(columns: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[keep] for name, values in columns.items()}


def _spike_window(spikes_columns: dict, epoch: int | None, phase: str, max_steps: int | None
                  ) -> tuple[dict[str, np.ndarray], str]:
    """The spike events of one epoch (default: the last) and ``phase`` whose step lies in
    the first ``max_steps`` steps of that phase, and where they are from ("training, epoch
    2"); a table without an epoch or a phase column is one recording in that respect."""
    columns = {name: np.asarray(values) for name, values in spikes_columns.items()}
    where = []
    if "epoch" in columns and columns["epoch"].size:
        epochs = np.unique(columns["epoch"])
        epoch = int(epochs[-1]) if epoch is None else epoch
        if epoch not in epochs:
            raise ValueError(f"epoch {epoch} is not in the spikes table (epochs present: "
                             f"{', '.join(str(int(e)) for e in epochs)}).")
        columns = _rows(columns, columns["epoch"] == epoch)
        where.append(f"epoch {epoch}")
    if "phase" in columns:
        if phase not in set(columns["phase"]):
            raise ValueError(f"the spikes table has no {phase!r} events to plot (phases "
                             f"present: {', '.join(sorted(set(columns['phase'])))}).")
        columns = _rows(columns, columns["phase"] == phase)
        where.insert(0, SPIKE_PHASE_LABELS.get(phase, phase))
    if not columns["step"].size:
        raise ValueError("the spikes table has no events to plot.")
    if max_steps is not None:
        columns = _rows(columns, columns["step"] < columns["step"].min() + max_steps)
    return columns, ", ".join(where)


def _titled(title: str, where: str) -> str:
    return f"{title} ({where})" if where else title


def _recorded_steps(window: dict[str, np.ndarray]) -> int:
    """The steps the events of ``window`` (one epoch and phase) were recorded over, from its
    ``recorded_steps`` column: the span of their steps is no measure, since it holds the
    samples between the logged ones that were not recorded."""
    if "recorded_steps" not in window:
        raise ValueError("the spikes table has no recorded_steps column (the steps of each "
                         "epoch and phase it records), so its firing rates are unknown.")
    counts = np.unique(window["recorded_steps"])
    if counts.size != 1:
        raise ValueError("the spike events of one epoch and phase give different numbers of "
                         f"recorded steps ({', '.join(str(int(n)) for n in counts)}).")
    return int(counts[0])


def layer_sizes(spikes_columns: dict, sizes: dict | None = None) -> dict:
    """Neurons per layer: ``sizes`` where given, else the table's ``layer_size`` column, else
    (tables written before it) the largest neuron index seen + 1."""
    layers = np.asarray(spikes_columns["layer"])
    known = np.asarray(spikes_columns.get("layer_size", spikes_columns["neuron"] + 1))
    found = {layer: int(known[layers == layer].max()) for layer in np.unique(layers)}
    return {layer: (sizes or {}).get(layer, n) for layer, n in found.items()}


def plot_spike_raster(ax: Axes, spikes_columns: dict, epoch: int | None = None,
                      max_steps: int | None = 500, sizes: dict | None = None,
                      phase: str = "train") -> Axes:
    """One dot per spike (step, neuron), layers stacked bottom-up in their own colour, for
    the first ``max_steps`` steps of ``phase`` in ``epoch`` (default: the last)."""
    window, where = _spike_window(spikes_columns, epoch, phase, max_steps)
    offset = 0
    for i, (layer, n) in enumerate(layer_sizes(window, sizes).items()):
        rows = window["layer"] == layer
        ax.scatter(window["step"][rows], window["neuron"][rows] + offset, s=2, marker="|",
                   linewidths=0.8, color=COLOR_CYCLE[i % len(COLOR_CYCLE)],
                   label=f"layer {layer}")
        offset += n
        ax.axhline(offset - 0.5, color="0.8", linewidth=0.6)
    ax.set_ylim(-0.5, offset - 0.5)
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=6)
    return style(ax, _titled("Spike raster", where), "time step", "neuron (stacked by layer)")


def plot_population_rate(ax: Axes, spikes_columns: dict, epoch: int | None = None,
                         max_steps: int | None = 500, bin_steps: int = 5,
                         sizes: dict | None = None, phase: str = "train") -> Axes:
    """Population rate of each layer, spikes per neuron per step, in bins of ``bin_steps``
    steps, over the same window as :func:`plot_spike_raster`."""
    window, _ = _spike_window(spikes_columns, epoch, phase, max_steps)
    start = window["step"].min()
    n_bins = int((window["step"].max() - start) // bin_steps) + 1
    centres = start + bin_steps * (np.arange(n_bins) + 0.5)
    for i, (layer, n) in enumerate(layer_sizes(window, sizes).items()):
        rows = window["layer"] == layer
        counts = np.bincount((window["step"][rows] - start) // bin_steps, minlength=n_bins)
        ax.plot(centres, counts / (n * bin_steps), color=COLOR_CYCLE[i % len(COLOR_CYCLE)],
                label=f"layer {layer}", linewidth=1.4)
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return style(ax, f"Population rate ({bin_steps}-step bins)", "time step",
                 "spikes / neuron / step")


def _rates(window: dict[str, np.ndarray], sizes: dict | None) -> dict:
    n_steps = _recorded_steps(window)
    return {layer: np.bincount(window["neuron"][window["layer"] == layer], minlength=n)
            / n_steps for layer, n in layer_sizes(window, sizes).items()}


def firing_rates(spikes_columns: dict, epoch: int | None = None, phase: str = "train",
                 sizes: dict | None = None) -> dict:
    """Each neuron's firing rate, per layer, in ``phase`` of ``epoch`` (default: the last):
    its spikes over the steps recorded (``recorded_steps``), so spikes per step while it
    was recorded; silent neurons at rate 0 (layer sizes as :func:`layer_sizes` gives)."""
    return _rates(_spike_window(spikes_columns, epoch, phase, None)[0], sizes)


def plot_firing_rate_histogram(ax: Axes, spikes_columns: dict, epoch: int | None = None,
                               sizes: dict | None = None, bins: int = 30,
                               phase: str = "train") -> Axes:
    """Histogram over neurons of the :func:`firing_rates` in ``phase`` of ``epoch``
    (default: the last), one outline per layer."""
    window, where = _spike_window(spikes_columns, epoch, phase, None)
    rates = _rates(window, sizes)
    edges = np.histogram_bin_edges(np.concatenate(list(rates.values())), bins=bins)
    for i, (layer, values) in enumerate(rates.items()):
        ax.hist(values, bins=edges, histtype="step", linewidth=1.6,
                color=COLOR_CYCLE[i % len(COLOR_CYCLE)], label=f"layer {layer}")
    _legend(ax)
    return style(ax, _titled("Firing rates per layer", where), "rate (spikes / step)",
                 "neurons")


def plot_layer_activity(ax: Axes, spikes_columns: dict) -> Axes:
    """Graded spikes per neuron per step of every layer against the epoch, from the
    per-layer counts of a rate run's ``spikes`` table (events / neuron_steps)."""
    epoch = np.asarray(spikes_columns["epoch"])
    layer = np.asarray(spikes_columns["layer"])
    rate = (np.asarray(spikes_columns["events"], dtype=float)
            / np.asarray(spikes_columns["neuron_steps"], dtype=float))
    for i, name in enumerate(dict.fromkeys(layer)):  # layers in table order
        rows = np.flatnonzero(layer == name)
        rows = rows[np.argsort(epoch[rows], kind="stable")]
        ax.plot(epoch[rows], rate[rows], color=COLOR_CYCLE[i % len(COLOR_CYCLE)],
                marker="o", markersize=3, linewidth=1.6, label=str(name))
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1)
    return style(ax, "Active fraction per layer (training)", "epoch",
                 "graded spikes / neuron / step")


def plot_weight_histograms(ax: Axes, weights: dict[str, np.ndarray], bins: int = 60) -> Axes:
    """Density histogram of the entries of each weight matrix in ``weights`` (name ->
    array), one outline per matrix."""
    for i, (name, w) in enumerate(weights.items()):
        ax.hist(np.ravel(w), bins=bins, density=True, histtype="step", linewidth=1.6,
                color=COLOR_CYCLE[i % len(COLOR_CYCLE)], label=f"{name} {np.shape(w)}")
    _legend(ax, fontsize="small")
    return style(ax, "Weight distributions", "weight (a.u.)", "density")


def receptive_field_mosaic(w: np.ndarray, image_shape: tuple[int, int], n_fields: int
                           ) -> np.ndarray:
    """The first ``n_fields`` rows of ``w`` (n_hidden, n_in), each reshaped to
    ``image_shape`` and divided by its largest magnitude, tiled on a near-square grid with
    one-pixel NaN gaps; returns the mosaic (rows, cols)."""
    w = np.asarray(w, dtype=float)
    rows_img, cols_img = image_shape
    if w.ndim != 2 or w.shape[1] != rows_img * cols_img:
        raise ValueError(f"w must have shape (n_hidden, {rows_img * cols_img}) to match "
                         f"image_shape {image_shape}, got {w.shape}.")
    fields = w[:n_fields]
    n = len(fields)
    grid_cols = int(np.ceil(np.sqrt(n)))
    grid_rows = int(np.ceil(n / grid_cols))
    mosaic = np.full((grid_rows * (rows_img + 1) - 1, grid_cols * (cols_img + 1) - 1), np.nan)
    scale = np.abs(fields).max(axis=1, keepdims=True)
    fields = fields / np.where(scale > 0, scale, 1.0)
    for i, field in enumerate(fields):
        r, c = divmod(i, grid_cols)
        mosaic[r * (rows_img + 1): r * (rows_img + 1) + rows_img,
               c * (cols_img + 1): c * (cols_img + 1) + cols_img] = field.reshape(image_shape)
    return mosaic


def plot_receptive_fields(ax: Axes, w: np.ndarray, image_shape: tuple[int, int],
                          n_fields: int = 64) -> Axes:
    """Receptive fields of the first ``n_fields`` units of the first layer: each row of
    ``w`` (n_hidden, n_in) as an image, scaled to its own largest magnitude, on a
    colour-blind-safe diverging map (purple negative, orange positive)."""
    mosaic = receptive_field_mosaic(w, image_shape, n_fields)
    cmap = colormaps[DIVERGING_CMAP].with_extremes(bad="white")  # the gaps between fields
    image = ax.imshow(mosaic, cmap=cmap, norm=TwoSlopeNorm(0.0, -1.0, 1.0),
                      interpolation="nearest")
    colorbar = ax.figure.colorbar(image, ax=ax, shrink=0.8)
    colorbar.set_label("weight / max |weight| of the unit")
    ax.set_xticks([])
    ax.set_yticks([])
    n = min(n_fields, len(w))
    style(ax, f"Receptive fields, first {n} of {len(w)} units",
          f"input pixel column ({image_shape[1]} per field)",
          f"input pixel row ({image_shape[0]} per field)")
    ax.grid(False)
    return ax


def plot_linear_probes(ax: Axes, accuracies: dict[str, float], chance: float | None = None
                       ) -> Axes:
    """Bar per layer of the linear-probe test accuracy (``accuracies``: layer name ->
    accuracy, in network order), with the chance level dashed."""
    names, values = list(accuracies), np.array(list(accuracies.values()), dtype=float)
    bars = ax.bar(names, values, color=OKABE_ITO["blue"], width=0.6, label="probe")
    ax.bar_label(bars, labels=[f"{v:.1%}" for v in values], padding=2, fontsize="small")
    if chance is not None:
        ax.axhline(chance, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, label="chance")
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, 1.08)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    style(ax, "Linear probes per layer", "layer", "probe test accuracy")
    ax.grid(False, axis="x")
    return ax


def confusion_counts(labels, predictions, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true label, column = predicted label."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(f"labels and predictions must have the same shape, got {labels.shape} "
                         f"and {predictions.shape}.")
    return np.bincount(labels * n_classes + predictions,
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def plot_confusion_matrix(ax: Axes, labels, predictions, n_classes: int,
                          class_names: list[str] | None = None) -> Axes:
    """Confusion matrix of ``predictions`` against true ``labels``, each row normalised to
    the fraction of its class (colour), with the counts written in the cells."""
    counts = confusion_counts(labels, predictions, n_classes)
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(fractions, cmap=SEQUENTIAL_CMAP, vmin=0.0, vmax=1.0)
    colorbar = ax.figure.colorbar(image, ax=ax, format=PercentFormatter(1.0))
    colorbar.set_label("fraction of the true class")
    if n_classes <= 20:
        for (row, col), count in np.ndenumerate(counts):
            ax.text(col, row, str(count), ha="center", va="center", fontsize="x-small",
                    color="black" if fractions[row, col] > 0.6 else "white")
    names = class_names or [str(k) for k in range(n_classes)]
    ax.set_xticks(range(n_classes), names, rotation=90 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(n_classes), names)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    style(ax, f"Confusion matrix (accuracy {accuracy:.1%})", "predicted label", "true label")
    ax.grid(False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return ax


def plot_energy_per_sample(ax: Axes, period: str, keys, joules: dict[str, np.ndarray],
                           samples: np.ndarray | None = None) -> Axes:
    """Stacked bars of the on-chip energy of each counter per ``period`` ("epoch" or
    "step") ``keys``, per sample when ``samples`` is given, else per period (``joules`` as
    ``energy_cost.energy_by_period`` returns it), in the SI unit that suits the largest
    bar (pJ to J)."""
    keys = np.asarray(keys)
    per = np.maximum(np.asarray(samples, dtype=float), 1) if samples is not None else 1.0
    energies = {name: np.asarray(values, dtype=float) / per for name, values in joules.items()}
    largest = max(float(np.sum(list(energies.values()), axis=0).max()), 1e-12)
    unit, scale = next((unit, scale) for unit, scale in ENERGY_UNITS if largest >= scale)
    bottom = np.zeros(keys.size)
    for name, values in energies.items():
        ax.bar(keys, values / scale, bottom=bottom, color=OPS_COLORS[name],
               label=OPS_LABELS[name], width=0.8)
        bottom = bottom + values / scale
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    per_what = "per sample" if samples is not None else f"per {period}"
    style(ax, f"On-chip energy {per_what} (Loihi cost model)", period,
          f"energy {per_what} ({unit})")
    ax.grid(False, axis="x")
    return ax


def plot_learning_curve_comparison(ax: Axes, runs: dict[str, dict], metric: str = "accuracy",
                                   split: str = "test") -> Axes:
    """One curve per run of ``metric`` on ``split`` against the epoch (``runs``:
    label -> metrics table columns)."""
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_LABELS)}, got {metric!r}.")
    for i, (label, columns) in enumerate(runs.items()):
        rows = np.flatnonzero(np.asarray(columns["split"]) == split)
        if not rows.size:
            continue
        epoch = np.asarray(columns["epoch"])[rows]
        order = np.argsort(epoch, kind="stable")
        ax.plot(epoch[order], np.asarray(columns[metric], dtype=float)[rows][order],
                color=COLOR_CYCLE[i % len(COLOR_CYCLE)], marker="o", markersize=3,
                linewidth=1.8, label=label)
    _legend(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return style(ax, f"{split.capitalize()} {metric} per epoch", "epoch", METRIC_LABELS[metric])
