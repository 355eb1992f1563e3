"""Drawing functions for training runs: each is ``(ax, data...) -> ax``.

They draw on an ``Axes`` they are given and never create figures, so panels can be combined
freely (see ``figures``). The data are the column dictionaries of a run's tables, as
``RunDir.read_table`` returns them:

- ``metrics``: epoch, split ("train"/"val"/"test"), accuracy, loss, ... (one row per split
  per epoch);
- ``energy``: epoch, batch, sample, phase ("free"/"nudged"/"nudged_neg"), step (index within
  the phase), E, C, F (every settling step of a few logged batches per epoch).

Epochs are stored 0-based and shown 1-based, as the training progress bar shows them.
All colours come from the Okabe-Ito palette, which stays distinguishable with the common
colour-vision deficiencies.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

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
SPLIT_COLORS = {"train": OKABE_ITO["blue"], "val": OKABE_ITO["orange"],
                "test": OKABE_ITO["vermillion"]}
REFERENCE_COLOR = OKABE_ITO["black"]
QUANTITY_LABELS = {"F": "F = E + beta C (a.u.)", "E": "E (a.u.)", "C": "C (a.u.)"}
METRIC_LABELS = {"accuracy": "accuracy", "loss": "loss"}

BAND_PERCENTILES = (10, 90)
BAND_ALPHA = 0.25


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
                        log: bool = False) -> Axes:
    """Draw the mean of ``values`` over trajectories against ``steps``, with a shaded band
    from the 10th to the 90th percentile.

    ``values`` has shape ``(n_traj, n_steps)``; ``color`` defaults to the next colour of
    :data:`COLOR_CYCLE` not yet used by a line on ``ax``; ``log`` makes the y axis
    logarithmic ("symlog" when values drawn on ``ax`` are not all positive).
    """
    steps = np.asarray(steps)
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != steps.size or values.shape[0] == 0:
        raise ValueError(f"values must have shape (n_traj >= 1, {steps.size}) to match steps, "
                         f"got {values.shape}.")
    if color is None:
        color = COLOR_CYCLE[len(ax.get_lines()) % len(COLOR_CYCLE)]
    low, high = np.percentile(values, BAND_PERCENTILES, axis=0)
    ax.fill_between(steps, low, high, color=color, alpha=BAND_ALPHA, linewidth=0)
    ax.plot(steps, values.mean(axis=0), color=color, label=label, linewidth=1.8)
    if log:
        _log_y(ax)
    return ax


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
        raise ValueError(f"epoch {epoch} is not in the energy table (0-based epochs present: "
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
    and 10-90% band per phase present (free, nudged, nudged_neg).

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
        plot_energy_vs_step(ax, steps, values, PHASE_LABELS[phase], PHASE_COLORS[phase])
    ax.axvline(t_free, color="0.5", linestyle=":", linewidth=1)
    if log:
        _log_y(ax)
    ax.legend(frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return style(ax, f"{quantity} during settling, epoch {epoch + 1}", "settling step",
                 QUANTITY_LABELS[quantity])


def plot_free_phase_epochs(ax: Axes, energy_columns: dict, quantity: str = "F",
                           epochs: tuple[int, ...] | None = None, log: bool = False) -> Axes:
    """Compare the free-phase settling of ``quantity`` across epochs (default: the first and
    the last), one mean curve and 10-90% band per epoch."""
    if epochs is None:
        present = _epochs(energy_columns)
        epochs = tuple(int(e) for e in np.unique(present[[0, -1]]))
    for epoch in epochs:
        steps, values = settling_trajectories(energy_columns, "free", quantity, epoch)
        plot_energy_vs_step(ax, steps, values, f"epoch {epoch + 1}")
    if log:
        _log_y(ax)
    ax.legend(frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    shown = " vs ".join(str(epoch + 1) for epoch in epochs)
    return style(ax, f"Free-phase {quantity}, epoch {shown}", "settling step",
                 QUANTITY_LABELS[quantity])


def plot_learning_curves(ax: Axes, metrics_columns: dict, metric: str = "accuracy",
                         reference: float | None = None) -> Axes:
    """Draw ``metric`` ("accuracy" or "loss") against the 1-based epoch, one line per split
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
            ax.plot(epoch[rows] + 1, values[rows], color=color, label=name, marker="o",
                    markersize=3, linewidth=1.8)
    if reference is not None:
        ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2,
                   label="backprop")
    ax.legend(frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return style(ax, f"{metric.capitalize()} per epoch", "epoch", METRIC_LABELS[metric])
