"""Tests for dynaxx_neuro.analysis: panels drawn from synthetic run tables, and the figure
files plot_run writes. Figures are matplotlib.figure.Figure objects, so no back end or
pyplot state is involved; everything is written under tmp_path."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from dynaxx_neuro.analysis.figures import (energy_settling_figure, learning_curves_figure,
                                           plot_run)
from dynaxx_neuro.analysis.plots import (PHASE_COLORS, QUANTITY_LABELS, plot_energy_vs_step,
                                         plot_free_phase_epochs, plot_learning_curves,
                                         plot_settling_energy, settling_trajectories, style)
from dynaxx_neuro.kernels.ep import PHASE_NAMES, EPSchedule
from dynaxx_neuro.records import RunDir

SCHEDULE = EPSchedule(t_free=6, t_nudge=3, symmetric=True)
N_BATCHES, BATCH = 2, 5
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def metrics_rows(epoch):
    """One metrics row per split, accuracy rising and loss falling with the epoch."""
    splits = ["train", "val", "test"]
    return {"epoch": np.full(3, epoch), "split": np.array(splits),
            "accuracy": np.array([0.5, 0.45, 0.4]) + 0.1 * epoch,
            "loss": np.array([1.0, 1.1, 1.2]) / (epoch + 1),
            "time_s": np.full(3, 2.0), "samples_per_s": np.full(3, 100.0),
            "peak_rss_mb": np.full(3, 300.0)}


def energy_rows(epoch, seed):
    """Energy rows laid out like ep_common.energy_table: every period step of every logged
    sample, with random E and C."""
    rng = np.random.default_rng(seed)
    period = SCHEDULE.period
    grid = np.indices((N_BATCHES, period, BATCH)).reshape(3, -1)
    steps = grid[1]
    energy = rng.normal(-epoch, 1.0, steps.size)
    cost = rng.uniform(0.0, 1.0, steps.size)
    return {"epoch": np.full(steps.size, epoch), "batch": grid[0], "sample": grid[2],
            "period_step": steps,
            "phase": np.array([PHASE_NAMES[SCHEDULE.phase(k)] for k in range(period)])[steps],
            "step": np.array([SCHEDULE.phase_step(k) for k in range(period)])[steps],
            "E": energy, "C": cost, "F": energy + 0.5 * cost}


def make_run(path, epochs=3, metrics=True, energy=True, info=None):
    run = RunDir.create(path, "test", {"rule": "ep", **(info or {})})
    for epoch in range(epochs):
        if metrics:
            run.write_table("metrics", epoch, metrics_rows(epoch))
        if energy:
            run.write_table("energy", epoch, energy_rows(epoch, seed=epoch))
    return run


def line(ax, label):
    (found,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return found


def band_limits(collection, xs):
    """(low, high) of a fill_between band at each x of ``xs``."""
    vertices = collection.get_paths()[0].vertices
    low = [vertices[np.isclose(vertices[:, 0], x), 1].min() for x in xs]
    high = [vertices[np.isclose(vertices[:, 0], x), 1].max() for x in xs]
    return np.array(low), np.array(high)


def new_ax():
    return Figure().subplots()


# plots -----------------------------------------------------------------------------------

def test_style_sets_labels_grid_and_spines():
    ax = style(new_ax(), "title", "x", "y")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("title", "x", "y")
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
    assert ax.xaxis.get_gridlines()[0].get_visible()


def test_energy_vs_step_mean_line_and_percentile_band():
    rng = np.random.default_rng(0)
    steps = np.arange(8)
    values = rng.normal(size=(40, steps.size)).cumsum(axis=1)
    ax = plot_energy_vs_step(new_ax(), steps, values, "free", color="#0072B2")
    mean = line(ax, "free")
    np.testing.assert_array_equal(mean.get_xdata(), steps)
    np.testing.assert_allclose(mean.get_ydata(), values.mean(axis=0))
    assert mean.get_color() == "#0072B2"
    (band,) = ax.collections
    low, high = band_limits(band, steps)
    np.testing.assert_allclose(low, np.percentile(values, 10, axis=0))
    np.testing.assert_allclose(high, np.percentile(values, 90, axis=0))


def test_energy_vs_step_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        plot_energy_vs_step(new_ax(), np.arange(4), np.zeros((3, 5)), "free")


def test_energy_vs_step_log_axis():
    steps = np.arange(4)
    positive = plot_energy_vs_step(new_ax(), steps, np.ones((2, 4)) + steps, "a", log=True)
    assert positive.get_yscale() == "log"
    signed = plot_energy_vs_step(new_ax(), steps, -np.ones((2, 4)) + steps, "a", log=True)
    assert signed.get_yscale() == "symlog"


def test_settling_trajectories_pivot_one_phase(tmp_path):
    energy = make_run(tmp_path / "run").read_table("energy")
    steps, values = settling_trajectories(energy, "nudged", "E", epoch=1)
    np.testing.assert_array_equal(steps, np.arange(1, SCHEDULE.t_nudge + 1))
    assert values.shape == (N_BATCHES * BATCH, SCHEDULE.t_nudge)
    rows = (energy["epoch"] == 1) & (energy["phase"] == "nudged") & (energy["batch"] == 1)
    rows &= (energy["sample"] == 2)
    np.testing.assert_allclose(values[BATCH + 2], energy["E"][rows])


def test_settling_trajectories_refuses_bad_arguments(tmp_path):
    energy = make_run(tmp_path / "run").read_table("energy")
    with pytest.raises(ValueError, match="quantity"):
        settling_trajectories(energy, "free", "G")
    with pytest.raises(ValueError, match="epoch 7"):
        settling_trajectories(energy, "free", "F", epoch=7)
    with pytest.raises(ValueError, match="'sideways'"):
        settling_trajectories(energy, "sideways", "F")


def test_settling_energy_curves_per_phase(tmp_path):
    energy = make_run(tmp_path / "run").read_table("energy")
    ax = plot_settling_energy(new_ax(), energy, "F")
    assert ax.get_title() == "F during settling, epoch 3"
    assert ax.get_xlabel() == "settling step"
    assert ax.get_ylabel() == QUANTITY_LABELS["F"] == "F = E + beta C (a.u.)"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["free", "nudged (+beta)", "nudged (-beta)"]
    assert len(ax.collections) == 3

    last = energy["epoch"] == 2
    free_rows = last & (energy["phase"] == "free")
    free = energy["F"][free_rows].reshape(N_BATCHES, SCHEDULE.t_free + 1, BATCH)
    free = free.transpose(0, 2, 1).reshape(-1, SCHEDULE.t_free + 1)
    free_line = line(ax, "free")
    np.testing.assert_array_equal(free_line.get_xdata(), np.arange(SCHEDULE.t_free + 1))
    np.testing.assert_allclose(free_line.get_ydata(), free.mean(axis=0))
    assert free_line.get_color() == PHASE_COLORS["free"]
    low, high = band_limits(ax.collections[0], np.arange(SCHEDULE.t_free + 1))
    np.testing.assert_allclose(low, np.percentile(free, 10, axis=0))
    np.testing.assert_allclose(high, np.percentile(free, 90, axis=0))

    nudged = line(ax, "nudged (+beta)")
    np.testing.assert_array_equal(nudged.get_xdata(),
                                  SCHEDULE.t_free + np.arange(1, SCHEDULE.t_nudge + 1))
    negative = line(ax, "nudged (-beta)")
    np.testing.assert_array_equal(negative.get_xdata(),
                                  SCHEDULE.t_free + np.arange(0, SCHEDULE.t_nudge + 1))


def test_settling_energy_chosen_epoch_and_one_sided_nudging(tmp_path):
    energy = make_run(tmp_path / "run").read_table("energy")
    one_sided = {name: column[energy["phase"] != "nudged_neg"]
                 for name, column in energy.items()}
    ax = plot_settling_energy(new_ax(), one_sided, "E", epoch=0, log=True)
    assert ax.get_title() == "E during settling, epoch 1"
    assert ax.get_ylabel() == "E (a.u.)"
    assert [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")] \
        == ["free", "nudged (+beta)"]
    assert ax.get_yscale() == "symlog"


def test_free_phase_epochs_first_and_last(tmp_path):
    energy = make_run(tmp_path / "run").read_table("energy")
    ax = plot_free_phase_epochs(new_ax(), energy, "F")
    assert ax.get_title() == "Free-phase F, epoch 1 vs 3"
    assert ax.get_xlabel() == "settling step" and ax.get_ylabel() == QUANTITY_LABELS["F"]
    first, last = line(ax, "epoch 1"), line(ax, "epoch 3")
    assert first.get_color() != last.get_color()
    _, values = settling_trajectories(energy, "free", "F", epoch=0)
    np.testing.assert_allclose(first.get_ydata(), values.mean(axis=0))


def test_learning_curves_lines_per_split_and_reference(tmp_path):
    metrics = make_run(tmp_path / "run", energy=False).read_table("metrics")
    ax = plot_learning_curves(new_ax(), metrics, "accuracy", reference=0.88)
    assert ax.get_title() == "Accuracy per epoch"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "accuracy")
    for split, first in (("train", 0.5), ("val", 0.45), ("test", 0.4)):
        curve = line(ax, split)
        np.testing.assert_array_equal(curve.get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(curve.get_ydata(), first + 0.1 * np.arange(3))
    backprop = line(ax, "backprop")
    assert backprop.get_linestyle() == "--"
    np.testing.assert_allclose(backprop.get_ydata(), [0.88, 0.88])
    loss = plot_learning_curves(new_ax(), metrics, "loss")
    assert loss.get_ylabel() == "loss"
    assert "backprop" not in [ln.get_label() for ln in loss.get_lines()]
    with pytest.raises(ValueError, match="metric"):
        plot_learning_curves(new_ax(), metrics, "time_s")


# figures ---------------------------------------------------------------------------------

def test_plot_run_writes_png_files(tmp_path):
    make_run(tmp_path / "run")
    paths = plot_run(tmp_path / "run")
    assert paths == [tmp_path / "run" / "plots" / "learning_curves.png",
                     tmp_path / "run" / "plots" / "energy_settling.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC


def test_plot_run_svg(tmp_path):
    make_run(tmp_path / "run", epochs=1)
    paths = plot_run(str(tmp_path / "run"), fmt="svg")
    assert [path.name for path in paths] == ["learning_curves.svg", "energy_settling.svg"]
    for path in paths:
        assert "<svg" in path.read_text()


def test_plot_run_skips_missing_tables(tmp_path):
    make_run(tmp_path / "run", energy=False)
    assert [path.name for path in plot_run(tmp_path / "run")] == ["learning_curves.png"]
    make_run(tmp_path / "run2", metrics=False)
    assert [path.name for path in plot_run(tmp_path / "run2")] == ["energy_settling.png"]


def test_plot_run_refuses_empty_run_and_bad_format(tmp_path):
    RunDir.create(tmp_path / "run", "test", {"rule": "ep"})
    with pytest.raises(ValueError, match="no metrics or energy table"):
        plot_run(tmp_path / "run")
    assert not (tmp_path / "run" / "plots").exists()
    with pytest.raises(ValueError, match="fmt"):
        plot_run(tmp_path / "run", fmt="bmpx")
    with pytest.raises(ValueError, match="not a run folder"):
        plot_run(tmp_path / "nothing")


def test_figures_panels(tmp_path):
    run = make_run(tmp_path / "run")
    curves = learning_curves_figure(run.read_table("metrics"), reference=0.9)
    accuracy, loss = curves.axes
    assert accuracy.get_ylabel() == "accuracy" and loss.get_ylabel() == "loss"
    assert "backprop" in [ln.get_label() for ln in accuracy.get_lines()]
    assert curves.get_dpi() == 120

    energy = run.read_table("energy")
    titles = [ax.get_title() for ax in energy_settling_figure(energy).axes]
    assert titles == ["F during settling, epoch 3", "E during settling, epoch 3",
                      "Free-phase F, epoch 1 vs 3"]
    first_epoch = {name: column[energy["epoch"] == 0] for name, column in energy.items()}
    assert len(energy_settling_figure(first_epoch).axes) == 2


def test_plot_run_reads_backprop_reference_from_run_json(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", energy=False)
    run.update_info(final_metrics={"epoch": 2, "backprop_test_accuracy": 0.87})
    drawn = {}

    def record(ax, metrics, metric="accuracy", reference=None):
        drawn[metric] = reference
        return ax

    monkeypatch.setattr("dynaxx_neuro.analysis.figures.plot_learning_curves", record)
    plot_run(tmp_path / "run")
    assert drawn == {"accuracy": 0.87, "loss": None}
