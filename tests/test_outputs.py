"""Tests that the outputs say what happened (issue "Reliability", "What the outputs say"):
the report of an unfinished run, the firing rates of the STDP spike table, and the EP
settling plot's bands. Run folders are built by hand with RunDir; no Lava."""

import dataclasses

import numpy as np
import pytest
from matplotlib.figure import Figure

from dynaxx_neuro import params as P
from dynaxx_neuro.analysis.figures import run_figures
from dynaxx_neuro.analysis.plots import (PHASE_COLORS, PHASE_HATCHES, firing_rates,
                                         plot_firing_rate_histogram, plot_settling_energy)
from dynaxx_neuro.analysis.report import planned_epochs, write_report
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.rules.hebbian import HebbianConfig, ReadoutConfig
from dynaxx_neuro.rules.stdp import (AdaptiveLIF, PassRecord, Presentation, STDPConfig,
                                     pass_tables)
from test_plots import make_run


def new_ax():
    return Figure().subplots()


# the report of a run that has not finished ------------------------------------------------

def final_section(text):
    """The report's text from its first heading after the title to the per-epoch table."""
    return text[text.index("<h2>"):text.index("<h2>Metrics per epoch</h2>")]


def test_an_interrupted_run_reports_its_last_finished_epoch(tmp_path):
    make_run(tmp_path / "run", epochs=3, energy=False, info={"epochs": 6})
    section = final_section(write_report(tmp_path / "run").read_text())
    assert "No epoch has finished yet" not in section
    assert "Unfinished (interrupted, or still training) after epoch 3 of 6" in section
    # the metrics of epoch 3 (index 2): test accuracy 0.4 + 0.1 per epoch
    assert '<td>epoch</td><td class="num">3</td>' in section
    assert '<td>test_accuracy</td><td class="num">0.6</td>' in section
    assert '<td>train_loss</td><td class="num">0.3333</td>' in section


def test_a_run_resumed_past_its_final_metrics_is_unfinished(tmp_path):
    run = make_run(tmp_path / "run", epochs=4, energy=False, info={"epochs": 5})
    run.update_info(final_metrics={"epoch": 3, "test_accuracy": 0.6})  # the first 3 epochs
    section = final_section(write_report(tmp_path / "run").read_text())
    assert "after epoch 4 of 5" in section and '<td class="num">0.7</td>' in section


def test_a_finished_run_reports_its_final_metrics(tmp_path):
    run = make_run(tmp_path / "run", epochs=3, energy=False, info={"epochs": 3})
    run.update_info(final_metrics={"epoch": 3, "test_accuracy": 0.6, "backprop_x": 0.9})
    section = final_section(write_report(tmp_path / "run").read_text())
    assert section.startswith("<h2>Final metrics</h2>") and "Unfinished" not in section
    assert "<td>backprop_x</td>" in section


def test_only_a_run_without_metrics_rows_has_no_finished_epoch(tmp_path):
    RunDir.create(tmp_path / "run", "test", {"rule": "ep", "epochs": 6})
    section = final_section(write_report(tmp_path / "run").read_text())
    assert "No epoch has finished yet." in section and "Unfinished" not in section


def test_planned_epochs_count_every_stage():
    hebbian = HebbianConfig(readout=ReadoutConfig(readout_epochs=3))
    assert planned_epochs({"epochs": 2, "config": P.to_dict(hebbian)}) == 5  # 2 + 3 readout
    assert planned_epochs({"epochs": 6}) == 6 and planned_epochs({}) is None


# the firing rates of STDP's spike table ---------------------------------------------------

N_IN, N_OUT, N_LOGGED = 16, 3, 2
TRAIN_PERIOD, EVAL_PERIOD, N_TRAIN = 8, 10, 30


def stdp_config():
    return STDPConfig(n_inputs=N_IN, n_classes=2, neurons=AdaptiveLIF(n_neurons=N_OUT),
                      n_logged=N_LOGGED,
                      presentation=Presentation(t_present=6, t_rest=2, t_present_eval=8,
                                                t_rest_eval=2))


def stdp_record(n_samples, period, input_every):
    """A pass of ``n_samples`` whose first N_LOGGED are recorded: input neuron 0 fires every
    ``input_every`` steps, neuron 1 at every step; excitatory neuron 2 at every 4th step."""
    steps = N_LOGGED * period
    in_raster = np.zeros((steps, N_IN), dtype=bool)
    out_raster = np.zeros((steps, N_OUT), dtype=bool)
    in_raster[::input_every, 0] = in_raster[:, 1] = True
    out_raster[::4, 2] = True
    return PassRecord(np.zeros((n_samples, N_OUT), dtype=int), np.zeros(n_samples, dtype=int),
                      in_raster, out_raster)


def stdp_run(path):
    """An epoch of STDP's spike table as the runner writes it: the training pass, then the
    read-out pass after all N_TRAIN training samples, where every input fires."""
    config = stdp_config()
    train = pass_tables("train", stdp_record(N_TRAIN, TRAIN_PERIOD, 2), config, True, 0)
    evaluated = pass_tables("eval", stdp_record(12, EVAL_PERIOD, 1), config, False, 0,
                            N_TRAIN * TRAIN_PERIOD)
    run = RunDir.create(path, "test", {"rule": "stdp"})
    run.write_table("spikes", 0, {k: np.concatenate([train["spikes"][k],
                                                     evaluated["spikes"][k]])
                                  for k in train["spikes"]})
    return run


def test_stdp_spike_table_records_the_steps_it_logged():
    spikes = pass_tables("train", stdp_record(N_TRAIN, TRAIN_PERIOD, 2), stdp_config(), True,
                         0)["spikes"]
    assert set(spikes["recorded_steps"]) == {N_LOGGED * TRAIN_PERIOD}
    assert spikes["step"].max() == N_LOGGED * TRAIN_PERIOD - 1


def test_firing_rates_are_spikes_per_recorded_step_of_training(tmp_path):
    spikes = stdp_run(tmp_path / "run").read_table("spikes")
    assert spikes["step"].max() - spikes["step"].min() + 1 > 10 * N_LOGGED * TRAIN_PERIOD
    rates = firing_rates(spikes, sizes={"input": N_IN, "excitatory": N_OUT})
    np.testing.assert_allclose(rates["input"], [0.5, 1.0] + [0.0] * (N_IN - 2))
    np.testing.assert_allclose(rates["excitatory"], [0.0, 0.0, 0.25])
    # the table holds the layer sizes: silent neurons after the last that spiked count too
    assert {layer: len(r) for layer, r in firing_rates(spikes).items()} == {
        "input": N_IN, "excitatory": N_OUT}
    evaluation = firing_rates(spikes, phase="eval")
    np.testing.assert_allclose(evaluation["input"], [1.0, 1.0] + [0.0] * (N_IN - 2))
    ax = plot_firing_rate_histogram(new_ax(), spikes)
    assert ax.get_title() == "Firing rates per layer (training, epoch 1)"
    outline = np.concatenate([patch.get_xy()[:, 0] for patch in ax.patches])
    assert (outline.min(), outline.max()) == pytest.approx((0.0, 1.0))


def test_a_run_that_logged_no_spikes_has_no_spikes_figure(tmp_path):
    config = dataclasses.replace(stdp_config(), n_logged=0)
    record = stdp_record(N_TRAIN, TRAIN_PERIOD, 2)
    empty = dataclasses.replace(record, in_raster=record.in_raster[:0],
                                out_raster=record.out_raster[:0])
    run = RunDir.create(tmp_path / "run", "test", {"rule": "stdp"})
    run.write_table("spikes", 0, pass_tables("train", empty, config, True, 0)["spikes"])
    assert "spikes" not in run_figures(run)


def test_firing_rates_need_the_recorded_steps():
    spikes = {"step": np.arange(3), "layer": np.zeros(3, int), "neuron": np.zeros(3, int)}
    with pytest.raises(ValueError, match="recorded_steps"):
        firing_rates(spikes)


# the EP settling plot's bands --------------------------------------------------------------

def hex_rgb(color):
    return [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]


def test_settling_bands_are_hatched_outlines_the_legend_shows(tmp_path):
    """Translucent fills of +beta over -beta mixed into a colour the legend lacked; hatched,
    unfilled bands keep their own colours where they overlap, and each legend entry draws
    the band's hatching under the mean's line."""
    energy = make_run(tmp_path / "run").read_table("energy")
    ax = plot_settling_energy(new_ax(), energy, "F")
    phases = ["free", "nudged", "nudged_neg"]
    assert [band.get_gid() for band in ax.collections] == [
        "free", "nudged (+beta)", "nudged (-beta)"]
    for band, phase in zip(ax.collections, phases):
        assert not band.get_facecolor()[:, 3].any()  # not filled: nothing to mix
        assert band.get_hatch() == PHASE_HATCHES[phase]
        np.testing.assert_allclose(band.get_edgecolor()[0, :3], hex_rgb(PHASE_COLORS[phase]))
    assert PHASE_HATCHES["nudged"] != PHASE_HATCHES["nudged_neg"]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "free", "nudged (+beta)", "nudged (-beta)"]
    for handle, phase in zip(legend.legend_handles, phases):
        assert handle.get_hatch() == PHASE_HATCHES[phase]
        np.testing.assert_allclose(handle.get_edgecolor()[:3], hex_rgb(PHASE_COLORS[phase]))
    assert legend.get_title().get_text() == "mean, 10-90% band"
