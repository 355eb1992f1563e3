"""Tests for dynaxx_neuro.analysis: panels drawn from synthetic run tables, the analyses of
a trained EP network (landscape, probes), the energy cost model, and the figure files
plot_run writes. Figures are matplotlib.figure.Figure objects, so no back end or pyplot
state is involved; everything is written under tmp_path.

The row helpers take the epoch *index* and put it in their epoch column, as runners do;
``RunDir.write_table`` stores it as the epoch number (from 1), and ``stored`` does the same
for tables handed to a panel directly. ``make_run``, ``make_full_run`` and ``train_tiny_ep``
are shared with test_report, test_compare and test_outputs."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from dynaxx_neuro.analysis.energy_cost import LoihiEnergyModel, energy_by_period
from dynaxx_neuro.analysis.ep_network import EPNetwork
from dynaxx_neuro.analysis.figures import (energy_settling_figure, image_shape, input_weights,
                                           learning_curves_figure, plot_run, run_figures,
                                           weight_matrices)
from dynaxx_neuro.analysis.landscape import energy_landscape, plane_directions
from dynaxx_neuro.analysis.plots import (
    GOODNESS_COLORS, PHASE_COLORS, QUANTITY_LABELS, confusion_counts, plot_confusion_matrix,
    plot_energy_landscape, plot_energy_per_sample, plot_energy_vs_step,
    plot_firing_rate_histogram, plot_free_phase_epochs, plot_goodness_histogram,
    plot_goodness_means, plot_layer_activity, plot_learning_curve_comparison,
    plot_learning_curves, plot_linear_probes, plot_population_rate, plot_receptive_fields,
    plot_settling_energy, plot_spike_raster, plot_weight_histograms, receptive_field_mosaic,
    settling_trajectories, style)
from dynaxx_neuro.analysis.probes import ep_layer_probes, probe_accuracy
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels.ep import PHASE_NAMES, EPSchedule
from dynaxx_neuro.networks.ep_numpy import settle_period
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.rules.ep import EPConfig
from dynaxx_neuro.train import RunSettings, train

SCHEDULE = EPSchedule(t_free=6, t_nudge=3, symmetric=True)
N_BATCHES, BATCH = 2, 5
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def stored(*parts):
    """The column dictionaries ``parts`` as one table the way a run folder stores them:
    concatenated, the epoch index as the epoch number (``RunDir.write_table``)."""
    table = {k: np.concatenate([np.asarray(part[k]) for part in parts]) for k in parts[0]}
    return {**table, "epoch": table["epoch"] + 1} if "epoch" in table else table


def metrics_rows(epoch):
    """One metrics row per split, accuracy rising and loss falling with the epoch."""
    splits = ["train", "val", "test"]
    return {"epoch": np.full(3, epoch), "split": np.array(splits),
            "accuracy": np.array([0.5, 0.45, 0.4]) + 0.1 * epoch,
            "loss": np.array([1.0, 1.1, 1.2]) / (epoch + 1),
            "time_s": np.full(3, 2.0), "samples_per_s": np.full(3, 100.0),
            "peak_rss_mb": np.full(3, 300.0)}


def energy_rows(epoch, seed):
    """Energy rows laid out like rules.ep.energy_table: every period step of every logged
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


LAYER_SIZES = {0: 12, 1: 5}
N_STEPS = 40


def goodness_rows(epoch, seed, n=50):
    """Forward-forward goodness of n positive and n negative samples for layers 0 and 1,
    separating more with every epoch."""
    rng = np.random.default_rng(seed)
    layer, kind, goodness = [], [], []
    for l in (0, 1):
        for name, centre in (("positive", 2.0 + epoch), ("negative", 2.0 - epoch)):
            layer += [l] * n
            kind += [name] * n
            goodness += list(rng.normal(centre, 0.5, n))
    return {"epoch": np.full(len(layer), epoch), "layer": np.array(layer),
            "kind": np.array(kind), "goodness": np.array(goodness)}


def spikes_rows(epoch, seed):
    """Bernoulli spikes of the LAYER_SIZES neurons over N_STEPS recorded training steps,
    neuron 0 of each layer silent; steps continue across epochs like a simulation clock."""
    rng = np.random.default_rng(seed)
    steps, layers, neurons = [], [], []
    for layer, n in LAYER_SIZES.items():
        fired = rng.random((N_STEPS, n)) < 0.2
        fired[:, 0] = False
        fired[0, n - 1] = True  # every layer's size is visible in its events
        t, i = np.nonzero(fired)
        steps += list(t + epoch * N_STEPS)
        layers += [layer] * t.size
        neurons += list(i)
    return {"epoch": np.full(len(steps), epoch), "phase": np.full(len(steps), "train"),
            "step": np.array(steps), "layer": np.array(layers), "neuron": np.array(neurons),
            "recorded_steps": np.full(len(steps), N_STEPS)}


def ops_rows(epoch):
    """Four steps of operation counters, 2 samples per step."""
    return {"epoch": np.full(4, epoch), "step": np.arange(4),
            "synaptic_ops": np.array([100, 200, 300, 400]) * (epoch + 1),
            "neuron_updates": np.full(4, 50), "learning_updates": np.array([0, 0, 0, 80]),
            "spikes": np.full(4, 10), "samples": np.full(4, 2)}


def make_full_run(path, epochs=2, rule="ff"):
    """A run with every table plots know and a checkpoint with 28x28 first-layer weights."""
    run = make_run(path, epochs=epochs, info={"rule": rule})
    for epoch in range(epochs):
        run.write_table("goodness", epoch, goodness_rows(epoch, seed=epoch))
        run.write_table("spikes", epoch, spikes_rows(epoch, seed=epoch))
        run.write_table("ops", epoch, ops_rows(epoch))
    rng = np.random.default_rng(5)
    run.save_checkpoint(epochs - 1, {"w0": rng.normal(size=(6, 784)),
                                     "w1": rng.normal(size=(10, 6)), "b0": np.zeros(6)})
    return run


def train_tiny_ep(path):
    """A real one-epoch EP run on digits (64-8-10, short settling), about a second."""
    return train(EPConfig(hidden=(8,), schedule=EPSchedule(t_free=5, t_nudge=2)),
                 RunSettings(dataset="digits", backend="numpy", epochs=1), out=path,
                 show_progress=False)


def labelled(ax):
    """Whether a panel has a title and both axis labels."""
    return bool(ax.get_title() and ax.get_xlabel() and ax.get_ylabel())


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

    last = energy["epoch"] == 3
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
    ax = plot_settling_energy(new_ax(), one_sided, "E", epoch=1, log=True)
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
    _, values = settling_trajectories(energy, "free", "F", epoch=1)
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
    with pytest.raises(ValueError, match="no tables or checkpoints"):
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
    first_epoch = {name: column[energy["epoch"] == 1] for name, column in energy.items()}
    assert len(energy_settling_figure(first_epoch).axes) == 2


def test_plot_run_reads_backprop_reference_from_run_json(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", energy=False)
    run.update_info(final_metrics={"epoch": 3, "backprop_test_accuracy": 0.87})
    drawn = {}

    def record(ax, metrics, metric="accuracy", reference=None):
        drawn[metric] = reference
        return ax

    monkeypatch.setattr("dynaxx_neuro.analysis.figures.plot_learning_curves", record)
    plot_run(tmp_path / "run")
    assert drawn == {"accuracy": 0.87, "loss": None}


# panels of the other tables and of checkpoints -------------------------------------------

def is_colorbar(ax):
    return hasattr(ax, "_colorbar")


def test_energy_landscape_panel_draws_map_and_trajectory():
    a, b = np.linspace(-1, 2, 7), np.linspace(-1, 1, 5)
    energy = (a[None, :] - 1) ** 2 + b[:, None] ** 2 - 3.0
    path = np.array([[-1.0, 0.8], [0.2, 0.3], [1.0, 0.0]])
    ax = plot_energy_landscape(new_ax(), a, b, energy, path, "Free phase")
    assert labelled(ax) and ax.get_title() == "Free phase"
    trajectory = line(ax, "settling trajectory")
    np.testing.assert_array_equal(trajectory.get_xydata(), path)
    np.testing.assert_array_equal(line(ax, "start").get_xydata(), path[:1])
    np.testing.assert_array_equal(line(ax, "end").get_xydata(), path[-1:])
    assert ax.get_xlim() == (a.min(), a.max()) and ax.get_ylim() == (b.min(), b.max())
    filled = ax.collections[0]
    assert np.isclose(filled.levels[0], 1e-3 * np.ptp(energy))  # F - min F + d starts at d
    assert np.isclose(filled.levels[-1], np.ptp(energy) * 1.001)
    colorbar = [other for other in ax.figure.axes if is_colorbar(other)]
    assert len(colorbar) == 1 and "min F = -3" in colorbar[0].get_ylabel()
    with pytest.raises(ValueError, match="energy must have shape"):
        plot_energy_landscape(new_ax(), a, b, energy.T, path, "t")
    with pytest.raises(ValueError, match="path must have shape"):
        plot_energy_landscape(new_ax(), a, b, energy, path[:, :1], "t")


def test_goodness_histogram_counts_and_range():
    table = stored(goodness_rows(epoch=1, seed=3))
    ax = plot_goodness_histogram(new_ax(), table, layer=1, epoch=2)
    assert labelled(ax) and ax.get_title() == "Goodness, layer 1, epoch 2"
    bars = {container.patches[0].get_label(): container for container in ax.containers}
    assert set(bars) == set(GOODNESS_COLORS)
    rows = table["layer"] == 1
    for kind, container in bars.items():
        assert sum(patch.get_height() for patch in container) == 50
        assert container.patches[0].get_facecolor()[:3] == pytest.approx(
            tuple(int(GOODNESS_COLORS[kind][i:i + 2], 16) / 255 for i in (1, 3, 5)))
    lefts = [patch.get_x() for c in bars.values() for patch in c]
    rights = [patch.get_x() + patch.get_width() for c in bars.values() for patch in c]
    assert min(lefts) == pytest.approx(table["goodness"][rows].min())
    assert max(rights) == pytest.approx(table["goodness"][rows].max())
    with pytest.raises(ValueError, match="layer 7"):
        plot_goodness_histogram(new_ax(), table, layer=7, epoch=2)


def test_spike_raster_stacks_layers_of_the_last_epoch():
    table = stored(spikes_rows(0, 0), spikes_rows(1, 1))
    ax = plot_spike_raster(new_ax(), table)
    assert labelled(ax) and ax.get_title() == "Spike raster (training, epoch 2)"
    last = table["epoch"] == 2
    layer0, layer1 = ax.collections
    rows = last & (table["layer"] == 1)
    np.testing.assert_array_equal(layer1.get_offsets(),
                                  np.column_stack([table["step"][rows],
                                                   table["neuron"][rows] + LAYER_SIZES[0]]))
    assert ax.get_ylim() == (-0.5, sum(LAYER_SIZES.values()) - 0.5)
    first = plot_spike_raster(new_ax(), table, epoch=1, max_steps=10)
    assert first.collections[0].get_offsets()[:, 0].max() <= 9
    with pytest.raises(ValueError, match="epoch 4"):
        plot_spike_raster(new_ax(), table, epoch=4)


def test_population_rate_per_layer():
    table = stored(spikes_rows(0, seed=2))
    ax = plot_population_rate(new_ax(), table, bin_steps=5)
    assert labelled(ax) and ax.get_ylabel() == "spikes / neuron / step"
    rows = table["layer"] == 1
    expected = [np.sum((table["step"][rows] >= t) & (table["step"][rows] < t + 5))
                / (LAYER_SIZES[1] * 5) for t in range(0, N_STEPS, 5)]
    rate = line(ax, "layer 1")
    np.testing.assert_allclose(rate.get_ydata(), expected)
    np.testing.assert_allclose(rate.get_xdata(), np.arange(2.5, N_STEPS, 5))


def test_firing_rate_histogram_covers_every_neuron():
    table = stored(spikes_rows(0, seed=4))
    ax = plot_firing_rate_histogram(new_ax(), table)
    assert labelled(ax) and ax.get_title() == "Firing rates per layer (training, epoch 1)"
    rates = [np.bincount(table["neuron"][table["layer"] == layer], minlength=n) / N_STEPS
             for layer, n in LAYER_SIZES.items()]
    outline = ax.patches[0].get_xy()
    all_rates = np.concatenate(rates)
    assert outline[:, 0].min() == pytest.approx(all_rates.min()) == 0.0  # the silent neuron
    assert outline[:, 0].max() == pytest.approx(all_rates.max())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["layer 0", "layer 1"]


def test_layer_activity_is_events_per_neuron_step_per_layer():
    table = {"epoch": np.array([1, 1, 2, 2]), "layer": np.array(["input", "output"] * 2),
             "neuron_steps": np.array([100, 40, 100, 40]), "events": np.array([50, 4, 50, 10])}
    ax = plot_layer_activity(new_ax(), table)
    assert labelled(ax)
    np.testing.assert_allclose(line(ax, "input").get_ydata(), [0.5, 0.5])
    np.testing.assert_allclose(line(ax, "output").get_ydata(), [0.1, 0.25])
    np.testing.assert_array_equal(line(ax, "output").get_xdata(), [1, 2])


def test_goodness_means_against_the_stored_epoch():
    table = stored(*({"epoch": [e, e], "layer": [0, 1], "g_pos": [2.0 + e, 3.0],
                      "g_neg": [1.0, 1.0 - e]} for e in range(2)))
    ax = plot_goodness_means(new_ax(), table)
    assert labelled(ax)
    positive = line(ax, "layer 0, positive")
    np.testing.assert_array_equal(positive.get_xdata(), [1, 2])
    np.testing.assert_allclose(positive.get_ydata(), [2.0, 3.0])
    np.testing.assert_allclose(line(ax, "layer 1, negative").get_ydata(), [1.0, 0.0])


def test_weight_histograms_span_each_matrix():
    rng = np.random.default_rng(1)
    weights = {"w0": rng.normal(size=(6, 16)), "w1": 5 + rng.normal(size=(3, 6))}
    ax = plot_weight_histograms(new_ax(), weights)
    assert labelled(ax)
    for patch, w in zip(ax.patches, weights.values()):
        xs = patch.get_xy()[:, 0]
        assert (xs.min(), xs.max()) == pytest.approx((w.min(), w.max()))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["w0 (6, 16)", "w1 (3, 6)"]


def test_receptive_field_mosaic_layout():
    w = np.arange(20, dtype=float).reshape(5, 4) - 7
    mosaic = receptive_field_mosaic(w, (2, 2), n_fields=5)
    assert mosaic.shape == (2 * 3 - 1, 3 * 3 - 1)  # 2 rows x 3 columns of 2x2 fields
    np.testing.assert_allclose(mosaic[3:5, 3:5], w[4].reshape(2, 2) / np.abs(w[4]).max())
    np.testing.assert_allclose(mosaic[0:2, 0:2], w[0].reshape(2, 2) / 7)
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[:, 2]).all()
    assert np.isnan(mosaic[3:5, 6:8]).all()  # the sixth cell has no unit
    with pytest.raises(ValueError, match="image_shape"):
        receptive_field_mosaic(w, (3, 3), 5)


def test_receptive_fields_panel():
    w = np.random.default_rng(0).normal(size=(10, 64))
    ax = plot_receptive_fields(new_ax(), w, (8, 8), n_fields=9)
    assert labelled(ax) and ax.get_title() == "Receptive fields, first 9 of 10 units"
    (image,) = ax.get_images()
    np.testing.assert_array_equal(image.get_array().filled(np.nan),
                                  receptive_field_mosaic(w, (8, 8), 9))
    assert image.get_clim() == (-1.0, 1.0)


def test_linear_probes_bars_and_chance():
    accuracies = {"input": 0.9, "hidden 1": 0.95, "output": 0.8}
    ax = plot_linear_probes(new_ax(), accuracies, chance=0.1)
    assert labelled(ax)
    assert [p.get_height() for p in ax.patches] == list(accuracies.values())
    assert [t.get_text() for t in ax.get_xticklabels()] == list(accuracies)
    np.testing.assert_allclose(line(ax, "chance").get_ydata(), [0.1, 0.1])
    assert ax.get_ylim()[0] == 0


def test_confusion_matrix_counts_and_cells():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 1, 2, 0, 2])
    counts = confusion_counts(labels, predictions, 3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    ax = plot_confusion_matrix(new_ax(), labels, predictions, 3)
    assert labelled(ax) and ax.get_title() == "Confusion matrix (accuracy 71.4%)"
    np.testing.assert_allclose(ax.get_images()[0].get_array(), counts / counts.sum(1)[:, None])
    assert [t.get_text() for t in ax.texts] == [str(c) for c in counts.ravel()]
    with pytest.raises(ValueError, match="same shape"):
        confusion_counts(labels, predictions[:3], 3)


def test_energy_cost_model_sums_counters_per_epoch():
    table = stored(ops_rows(0), ops_rows(1))
    period, keys, joules, samples = energy_by_period(table)
    assert period == "epoch" and list(keys) == [1, 2] and list(samples) == [8, 8]
    np.testing.assert_allclose(joules["synaptic_ops"], np.array([1000, 2000]) * 23.6e-12)
    np.testing.assert_allclose(joules["neuron_updates"], [200 * 81e-12] * 2)
    np.testing.assert_allclose(joules["learning_updates"], [80 * 120e-12] * 2)
    np.testing.assert_allclose(joules["spikes"], [40 * 1.7e-12] * 2)
    per_step = {k: v for k, v in ops_rows(0).items() if k not in ("epoch", "samples")}
    period, keys, joules, samples = energy_by_period(per_step, LoihiEnergyModel(spike_pj=0.0))
    assert period == "step" and list(keys) == [0, 1, 2, 3] and samples is None
    assert not joules["spikes"].any()
    with pytest.raises(ValueError, match="spikes"):
        energy_by_period({k: v for k, v in table.items() if k != "spikes"})
    with pytest.raises(ValueError, match="synaptic_op_pj"):
        LoihiEnergyModel(synaptic_op_pj=-1.0)


def test_energy_per_sample_stacked_bars():
    table = stored(ops_rows(0), ops_rows(1))
    ax = plot_energy_per_sample(new_ax(), *energy_by_period(table))
    assert labelled(ax) and ax.get_ylabel() == "energy per sample (nJ)"
    tops = {}
    for patch in ax.patches:
        tops[round(patch.get_x() + patch.get_width() / 2)] = patch.get_y() + patch.get_height()
    # epoch 2: (2000 * 23.6 + 200 * 81 + 80 * 120 + 40 * 1.7) pJ over 8 samples, in nJ
    assert tops[2] == pytest.approx((2000 * 23.6 + 200 * 81 + 80 * 120 + 40 * 1.7) / 8e3)
    assert sorted(tops) == [1, 2]


def test_learning_curve_comparison_one_line_per_run():
    runs = {"a": stored(metrics_rows(0)), "b": stored(metrics_rows(0), metrics_rows(1))}
    ax = plot_learning_curve_comparison(new_ax(), runs, "accuracy", "val")
    assert labelled(ax) and ax.get_title() == "Val accuracy per epoch"
    np.testing.assert_allclose(line(ax, "b").get_ydata(), [0.45, 0.55])
    np.testing.assert_array_equal(line(ax, "a").get_xdata(), [1])
    np.testing.assert_array_equal(line(ax, "b").get_xdata(), [1, 2])
    with pytest.raises(ValueError, match="metric"):
        plot_learning_curve_comparison(new_ax(), runs, "time_s")


# analyses of a trained EP network ------------------------------------------------------

def test_plane_directions():
    rng = np.random.default_rng(0)
    plane = np.linalg.qr(rng.normal(size=(9, 2)))[0].T  # (2, 9) orthonormal
    points = rng.normal(size=(30, 2)) * [3.0, 1.0] @ plane
    basis = plane_directions(points, "pca", rng)
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.linalg.det(basis @ plane.T)), 1.0)  # same plane
    random = plane_directions(points, "random", np.random.default_rng(1))
    np.testing.assert_allclose(random @ random.T, np.eye(2), atol=1e-12)
    with pytest.raises(ValueError, match="directions"):
        plane_directions(points, "ica", rng)


def test_ep_network_landscape_and_probes(tmp_path):
    network = EPNetwork.from_run(train_tiny_ep(tmp_path / "run"))
    assert network.epoch == 1  # the one epoch trained, numbered from 1
    config, params = network.config, network.params
    x, y = network.data.x_test[:4], network.data.y_test[:4]
    target = network.data.targets(y)
    free, nudged = network.settling_trajectories(x, target)
    assert free.shape == (6, 4, 18) and nudged.shape == (3, 4, 18)
    rates = settle_period(params, x, target, config.dynamics.beta, config).phases.rates
    trace_free, trace_nudged = rates[config.schedule.free_end], rates[config.schedule.nudged_end]
    np.testing.assert_allclose(free[-1], np.concatenate(trace_free, axis=1), atol=1e-12)
    np.testing.assert_allclose(nudged[-1], np.concatenate(trace_nudged, axis=1), atol=1e-12)
    assert len(network.free_layer_rates(x)) == 2
    for got, expected in zip(network.free_layer_rates(x), trace_free):
        np.testing.assert_allclose(got, expected)

    landscape = energy_landscape(network, sample=2, resolution=9)
    assert landscape.free_energy.shape == landscape.nudged_energy.shape == (9, 9)
    assert landscape.label == y[2] and 0 < landscape.explained <= 1
    np.testing.assert_allclose(landscape.free_path[-1], 0, atol=1e-12)  # centre = s*
    np.testing.assert_allclose(landscape.nudged_path[0], 0, atol=1e-12)
    i, j = 3, 7
    point = landscape.centre + landscape.a[j] * landscape.basis[0] \
        + landscape.b[i] * landscape.basis[1]
    hidden, output = point[None, :8], point[None, 8:]
    e = ep.network_energy([hidden, output], x[2:3], params.weights, params.biases)
    c = ep.cost(output, target[2:3])
    assert landscape.free_energy[i, j] == pytest.approx(e[0])
    assert landscape.nudged_energy[i, j] == pytest.approx(e[0] + config.dynamics.beta * c[0])
    both = np.concatenate([landscape.free_path, landscape.nudged_path])
    assert landscape.a.min() < both[:, 0].min() and landscape.a.max() > both[:, 0].max()
    with pytest.raises(ValueError, match="sample must be in"):
        energy_landscape(network, sample=len(network.data.x_test))

    probes = ep_layer_probes(network, max_train=400, max_test=200)
    assert list(probes) == ["input", "hidden 1", "output"]
    assert probes["input"] > 0.8 and all(0 <= v <= 1 for v in probes.values())
    predictions = network.test_predictions()
    assert predictions.shape == network.data.y_test.shape


def test_probe_accuracy_separable_and_random():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    features = np.eye(3)[labels] + 0.05 * rng.normal(size=(300, 3))
    assert probe_accuracy(features[:200], labels[:200], features[200:], labels[200:]) == 1.0
    noise = rng.normal(size=(300, 3))
    assert probe_accuracy(noise[:200], labels[:200], noise[200:], labels[200:]) < 0.6


def test_ep_network_refuses_other_rules_and_untrained_runs(tmp_path):
    with pytest.raises(ValueError, match="only 'ep' runs"):
        EPNetwork.from_run(make_full_run(tmp_path / "ff"))
    with pytest.raises(ValueError, match="no checkpoint"):
        EPNetwork.from_run(make_run(tmp_path / "ep"))


# every figure of a run -------------------------------------------------------------------

def test_image_shapes_and_weight_matrices():
    assert image_shape("digits", 74) == (8, 8) and image_shape("mnist", 794) == (28, 28)
    assert image_shape(None, 784) == (28, 28) and image_shape(None, 10) is None
    arrays = {"w0": np.zeros((4, 74)), "vw0": np.zeros((4, 74)), "b0": np.zeros(4),
              "layer1_w": np.zeros((3, 4)), "layer1_mw": np.zeros((3, 4)),
              "readout_w": np.zeros((10, 64)), "weights": np.zeros((2, 64))}
    weights = weight_matrices(arrays)
    assert list(weights) == ["w0", "layer1_w", "readout_w", "weights"]
    assert input_weights(weights, 64) == "w0"
    assert input_weights({"readout_w": np.zeros((10, 64)), "hebbian_w": np.zeros((5, 64))},
                         64) == "hebbian_w"


def test_plot_run_draws_every_table_of_a_run(tmp_path):
    make_full_run(tmp_path / "run")
    paths = plot_run(tmp_path / "run")
    assert [p.name for p in paths] == ["learning_curves.png", "energy_settling.png",
                                       "goodness.png", "spikes.png", "weights.png",
                                       "onchip_energy.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC
    figures = run_figures(RunDir.open(tmp_path / "run"))
    for name, fig in figures.items():
        panels = [ax for ax in fig.axes if not is_colorbar(ax)]
        assert panels and all(labelled(ax) for ax in panels), name
    assert len(figures["goodness"].axes) == 4  # 2 layers x (first, last epoch)


def test_plot_run_draws_the_checkpoint_analyses_of_an_ep_run(tmp_path):
    train_tiny_ep(tmp_path / "run")
    names = [p.name for p in plot_run(tmp_path / "run", directions="random", fmt="svg")]
    assert names == ["learning_curves.svg", "energy_settling.svg", "layer_activity.svg",
                     "weights.svg", "energy_landscape.svg", "linear_probes.svg",
                     "confusion_matrix.svg", "onchip_energy.svg"]
    figures = run_figures(RunDir.open(tmp_path / "run"), sample=1)
    assert figures["energy_landscape"].get_suptitle().endswith("epoch 1")
    free, nudged = [ax for ax in figures["energy_landscape"].axes if not is_colorbar(ax)]
    assert free.get_title().startswith("Free phase, test sample 1")
    beta = RunDir.open(tmp_path / "run").info()["config"]["dynamics"]["beta"]
    assert nudged.get_title() == f"Nudged phase (beta = {beta:g})"
    for fig in figures.values():
        assert all(labelled(ax) for ax in fig.axes if not is_colorbar(ax))
