"""Overlay plots of the cross-check: Lava (or our kernels) against Brian2.

Panels are ``(ax, record...) -> ax``; figures are ``matplotlib.figure.Figure`` objects (no
pyplot). :func:`write_figures` draws every figure its records allow into a folder:

- ``lif_traces.<fmt>`` / ``lif_fixed_traces.<fmt>``: v of two neurons, Lava as lines and
  Brian2 as dots, spike steps as ticks, and |v_lava - v_brian2| per step;
- ``stdp.<fmt>``: the STDP window of the pair protocol (Lava, Brian2, closed form) and
  weight trajectories under Poisson drive;
- ``continuous.<fmt>``: error against dt on log-log axes with a slope-1 guide, and v of the
  discrete map at the coarsest and finest step over the exact solution;
- ``ep_equilibrium.<fmt>``: our free-phase states against Brian2's equilibrium.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dynaxx_neuro.analysis.plots import OKABE_ITO, style
from dynaxx_neuro.crosscheck.record import CheckRecord

LAVA_COLOR = OKABE_ITO["blue"]
BRIAN_COLOR = OKABE_ITO["vermillion"]
EXACT_COLOR = OKABE_ITO["black"]
DPI = 120
PANEL_SIZE = (4.8, 3.6)


def _figure(n_panels: int) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(PANEL_SIZE[0] * n_panels, PANEL_SIZE[1]), dpi=DPI, layout="tight")
    return fig, list(fig.subplots(1, n_panels, squeeze=False)[0])


def _ready(record: CheckRecord | None, *keys: str) -> bool:
    return record is not None and all(k in record.data for k in keys)


def plot_lif_overlay(ax: Axes, record: CheckRecord, neurons=(0, 1)) -> Axes:
    """v per step of a few neurons: Lava as lines, Brian2 as dots, spikes as ticks on top."""
    lava, brian = record.data["lava"], record.data["brian2"]
    steps = np.arange(1, lava.v.shape[0] + 1)  # Lava counts steps from 1
    top = max(float(np.max(lava.v)), 1.0)
    for k, i in enumerate(neurons[: lava.v.shape[1]]):
        shade = 1.0 if k == 0 else 0.55
        ax.plot(steps, lava.v[:, i], color=LAVA_COLOR, alpha=shade, linewidth=1.2,
                label=f"Lava, neuron {i}")
        ax.plot(steps, brian.v[:, i], "o", color=BRIAN_COLOR, alpha=shade, markersize=2.2,
                label=f"Brian2, neuron {i}")
        fired = steps[lava.s[:, i]]
        ax.plot(fired, np.full(fired.shape, top * (1.05 + 0.07 * k)), "|", color=LAVA_COLOR,
                alpha=shade, markersize=6)
    unit = "integer units" if record.data.get("units") == "fixed" else "a.u."
    ax.legend(fontsize=7, loc="lower left")
    return style(ax, f"{record.name}: v, Lava vs Brian2 (ticks: spikes)", "Lava step",
                 f"v ({unit})")


def plot_lif_difference(ax: Axes, record: CheckRecord) -> Axes:
    """Largest |v_lava - v_brian2| over neurons at every step, with the threshold."""
    lava, brian = record.data["lava"], record.data["brian2"]
    diff = np.abs(lava.v - brian.v).max(axis=1)
    steps = np.arange(1, diff.size + 1)
    ax.plot(steps, diff, color=OKABE_ITO["bluish_green"], linewidth=1.2, label="max |dv|")
    ax.axhline(record.threshold, color=EXACT_COLOR, linestyle="--", linewidth=1,
               label=f"threshold {record.threshold:g}")
    if record.threshold > 0:
        ax.set_ylim(-0.05 * record.threshold, 1.2 * record.threshold)
    ax.legend(fontsize=7)
    return style(ax, f"{record.name}: |v_lava - v_brian2| per step", "Lava step",
                 "max over neurons")


def lif_figure(record: CheckRecord) -> Figure:
    fig, (traces, diff) = _figure(2)
    plot_lif_overlay(traces, record)
    plot_lif_difference(diff, record)
    return fig


def plot_stdp_window(ax: Axes, record: CheckRecord) -> Axes:
    """Final weight change of each isolated pair against t_post - t_pre."""
    offsets = record.data["offsets"]
    start = record.data["initial"]
    lava = np.diag(record.data["lava"][-1]) - np.diag(start)
    brian = np.diag(record.data["brian2"][-1]) - np.diag(start)
    dense = np.arange(offsets.min(), offsets.max() + 1)
    ax.plot(dense, [record.data["rule"].pair_dw(int(d)) for d in dense], color=EXACT_COLOR,
            linewidth=0.8, linestyle="--", label="closed form")
    ax.plot(offsets, lava, "o", color=LAVA_COLOR, markersize=5, label="Lava STDPLoihi")
    ax.plot(offsets, brian, "x", color=BRIAN_COLOR, markersize=5, label="Brian2")
    ax.axhline(0, color="0.6", linewidth=0.6)
    ax.legend(fontsize=7)
    return style(ax, "STDP window (one pre/post pair)", "t_post - t_pre (steps)", "dw")


def plot_weight_trajectories(ax: Axes, record: CheckRecord, n_show: int = 6) -> Axes:
    """A few weights over time: Lava as lines, Brian2 as dashes on top."""
    lava, brian = record.data["lava"], record.data["brian2"]
    flat_l = lava.reshape(lava.shape[0], -1)
    flat_b = brian.reshape(brian.shape[0], -1)
    steps = np.arange(1, lava.shape[0] + 1)
    for k in range(min(n_show, flat_l.shape[1])):
        ax.plot(steps, flat_l[:, k], color=LAVA_COLOR, linewidth=1.4,
                label="Lava" if k == 0 else None)
        ax.plot(steps, flat_b[:, k], color=BRIAN_COLOR, linewidth=1.0, linestyle="--",
                label="Brian2" if k == 0 else None)
    ax.legend(fontsize=7)
    return style(ax, f"{record.name}: weights under Poisson drive", "Lava step", "w")


def stdp_figure(pairs: CheckRecord | None, poisson: CheckRecord | None) -> Figure:
    panels = [r for r in (pairs, poisson) if _ready(r, "lava")]
    fig, axes = _figure(len(panels))
    for ax, record in zip(axes, panels):
        if "offsets" in record.data:
            plot_stdp_window(ax, record)
        else:
            plot_weight_trajectories(ax, record)
    return fig


def plot_error_vs_dt(ax: Axes, record: CheckRecord) -> Axes:
    """Max error against dt on log-log axes, with a slope-1 guide through the finest point."""
    dts, errors = record.data["dts"], record.data["errors"]
    ax.loglog(dts, errors, "o-", color=LAVA_COLOR, label=f"discrete LIF (order "
                                                         f"{record.data['order']:.3f})")
    guide = errors[-1] * dts / dts[-1]
    ax.loglog(dts, guide, "--", color=EXACT_COLOR, linewidth=0.8, label="slope 1")
    ax.legend(fontsize=7)
    return style(ax, "Continuous limit: error vs dt", "dt (ms)",
                 "max |v_discrete - v_exact|")


def plot_continuous_traces(ax: Axes, record: CheckRecord, neuron: int = 0) -> Axes:
    """v of one neuron: Brian2's exact solution and the discrete map at two steps."""
    times, reference = record.data["times"], record.data["reference"]
    ax.plot(times, reference[:, neuron], color=EXACT_COLOR, linewidth=1.6,
            label="Brian2 exact")
    traces = record.data["discrete"]
    for dt, color in zip((max(traces), min(traces)), (OKABE_ITO["orange"], LAVA_COLOR)):
        v = traces[dt]
        ax.plot(np.arange(1, v.shape[0] + 1) * dt, v[:, neuron], color=color, linewidth=1.0,
                drawstyle="steps-pre", label=f"discrete, dt {dt:g} ms")
    ax.legend(fontsize=7)
    return style(ax, f"Continuous LIF, neuron {neuron}", "time (ms)", "v (a.u.)")


def continuous_figure(record: CheckRecord) -> Figure:
    fig, (errors, traces) = _figure(2)
    plot_error_vs_dt(errors, record)
    plot_continuous_traces(traces, record)
    return fig


def plot_ep_states(ax: Axes, record: CheckRecord) -> Axes:
    """Each unit's free-phase state, ours against Brian2's, with the identity line."""
    ours = np.concatenate([s.ravel() for s in record.data["ours"]])
    theirs = np.concatenate([s.ravel() for s in record.data["brian2"]])
    ax.plot([0, 1], [0, 1], color=EXACT_COLOR, linewidth=0.8, linestyle="--")
    ax.plot(theirs, ours, "o", color=LAVA_COLOR, markersize=3, alpha=0.7)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    return style(ax, f"{record.name}: max |ds| = {record.value:.1e}",
                 "Brian2 equilibrium s", "our free-phase s")


def ep_figure(records: list[CheckRecord]) -> Figure:
    fig, axes = _figure(len(records))
    for ax, record in zip(axes, records):
        plot_ep_states(ax, record)
    return fig


def write_figures(records: list[CheckRecord], folder, fmt: str = "png") -> list[Path]:
    """Draw every figure the records allow into ``folder``; returns the files written."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be png or svg, got {fmt!r}.")
    by_name = {r.name: r for r in records if r.passed is not None}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {}
    for name, file in (("lif", "lif_traces"), ("lif-fixed", "lif_fixed_traces")):
        if _ready(by_name.get(name), "lava", "brian2"):
            figures[file] = lif_figure(by_name[name])
    if _ready(by_name.get("stdp-pairs"), "lava") or _ready(by_name.get("stdp-poisson"), "lava"):
        figures["stdp"] = stdp_figure(by_name.get("stdp-pairs"), by_name.get("stdp-poisson"))
    if _ready(by_name.get("continuous"), "errors"):
        figures["continuous"] = continuous_figure(by_name["continuous"])
    ep_records = [r for r in by_name.values() if r.name.startswith("ep") and _ready(r, "ours")]
    if ep_records:
        figures["ep_equilibrium"] = ep_figure(ep_records)
    written = []
    for file, fig in figures.items():
        path = folder / f"{file}.{fmt}"
        fig.savefig(path)
        written.append(path)
    return written
