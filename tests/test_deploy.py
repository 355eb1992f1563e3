"""``dynaxx deploy``: the cost table on known counts, the placement of EP's and STDP's Loihi
graphs checked by hand, the fallback to Loihi2SimCfg (no Loihi extension here),
``--require-hardware``, the hardware path with ``is_installed`` and ``Loihi2HwCfg`` replaced
by test doubles, and bad input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro.analysis.report import write_report
from dynaxx_neuro.cli import main
from dynaxx_neuro.deploy.cost import CostTable, LoihiTimeModel
from dynaxx_neuro.deploy.placement import signed_bits
from dynaxx_neuro.registry import graphs, rule
from dynaxx_neuro.train import RunSettings, train

# EP's Loihi graph on digits: 64 inputs, 12 hidden, 10 outputs.
N_IN, N_HID, N_OUT = 64, 12, 10


def test_cost_table_charges_known_counts():
    ops = {"synaptic_ops": 1000, "neuron_updates": 100, "learning_updates": 10, "spikes": 50}
    cost = CostTable().sample_cost(ops, steps=20, busiest_core_ns=500.0,
                                   busiest_core_learning=4, chips=2)
    # 1000 x 23.6 + 100 x 81 + 10 x 120 + 50 x 1.7 = 32985 pJ
    assert cost["dynamic_j"] == pytest.approx(32985e-12)
    # 20 steps of (500 + 465) ns, plus 4 learning updates of 6.1 ns on the busiest core
    assert cost["time_s"] == pytest.approx(20 * 965e-9 + 4 * 6.1e-9)
    assert cost["static_j"] == pytest.approx(0.25 * 2 * cost["time_s"])
    assert cost["energy_j"] == pytest.approx(cost["dynamic_j"] + cost["static_j"])


def test_a_cost_table_file_replaces_fields_and_refuses_unknown_ones(tmp_path):
    path = tmp_path / "loihi2-guess.json"
    path.write_text(json.dumps({"energy": {"synaptic_op_pj": 2.0}, "time": {"barrier_ns": 100},
                                "static_w_per_chip": 0.1}))
    table = CostTable.from_json(path)
    assert (table.name, table.energy.synaptic_op_pj, table.energy.spike_pj) == (
        "loihi2-guess", 2.0, 1.7)
    assert (table.time, table.static_w_per_chip) == (LoihiTimeModel(barrier_ns=100), 0.1)
    path.write_text(json.dumps({"watts": 1}))
    with pytest.raises(ValueError, match="unknown fields watts"):
        CostTable.from_json(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="not a readable JSON file"):
        CostTable.from_json(path)
    path.write_text(json.dumps({"time": {"barrier_ns": -1}}))
    with pytest.raises(ValueError, match="barrier_ns must be a finite number >= 0"):
        CostTable.from_json(path)


def test_signed_bits_is_the_twos_complement_width():
    assert [signed_bits(np.array(v)) for v in ([0], [255], [-256, 255], [-1], [3, -4])] == [
        1, 8, 9, 1, 3]


def _files(folder):
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def ep_run(tmp_path_factory):
    """A small EP Loihi run trained on numpy-fixed (validation 2 %: 29 samples)."""
    spec = graphs("ep")[1]
    config = spec.configure("digits", {"hidden": (N_HID,), "t_free": 4, "t_nudge": 2,
                                       "train_samples": 40})
    out = tmp_path_factory.mktemp("deploy") / "ep-loihi"
    train(config, RunSettings(backend="numpy-fixed", epochs=1, validation=0.02), out,
          show_progress=False)
    return out


@pytest.mark.lava
def test_deploy_without_the_extension_simulates_reports_and_exits_0(ep_run):
    before = _files(ep_run)
    result = CliRunner().invoke(main, ["deploy", str(ep_run)])
    assert result.exit_code == 0, result.output
    assert "lava-loihi) is not installed here" in result.output
    assert "runs on Loihi2SimCfg with its fixed_pt models instead" in result.output
    report = json.loads((ep_run / "deploy-loihi2" / "report.json").read_text())
    assert {p for p in _files(ep_run) if p not in before} == {
        p.relative_to(ep_run) for p in (ep_run / "deploy-loihi2").rglob("*")} | {
        (ep_run / "deploy-loihi2").relative_to(ep_run)}
    assert (report["hardware"], report["run_config"]) == (False, "Loihi2SimCfg")
    assert report["checkpoint_epoch"] == 1  # the one epoch trained, numbered from 1
    rows = {row["name"]: row for row in report["processes"]}
    assert set(rows) == {"stream", "readout", "layer1", "layer2", "W1", "W2", "B2", "bias1",
                         "bias2"}
    assert {rows[n]["maps_to"] for n in ("stream", "readout")} == {"host"}
    assert {rows[n]["maps_to"] for n in ("W1", "W2", "B2", "bias1", "bias2")} == {
        "learning engine (3-factor rule: announced, no public model)"}
    # the hidden layer holds W1 (12 x 64), B2 (12 x 10) and bias1 (12 x 1)
    hidden, output = rows["layer1"], rows["layer2"]
    assert (hidden["neurons"], hidden["synapses"], hidden["fan_in"]) == (
        N_HID, N_HID * (N_IN + N_OUT + 1), N_IN + N_OUT + 1)
    assert (output["neurons"], output["synapses"], output["fan_in"]) == (
        N_OUT, N_OUT * (N_HID + 1), N_HID + 1)
    # layer1 sends to W2; layer2 to B2 and to the host's readout
    assert (hidden["fan_out"], output["fan_out"]) == (N_HID, 2 * N_OUT)
    assert hidden["widths"] == {"state": [24, 24], "payload": [8, 24], "post factors": [7, 7]}
    assert rows["W1"]["widths"]["payload"] == [8, 24]
    assert rows["W1"]["widths"]["weights"][0] <= 9
    assert (report["totals"]["cores"], report["totals"]["chips"], report["totals"]["fits"]) == (
        2, 1, True)
    # inference: 13 steps (reset + free phase) of the whole graph at the measured activity
    config = graphs("ep")[1].configure("digits", {"t_free": 4, "t_nudge": 2})
    steps = config.schedule.free_end + 1
    inference, a = report["per_sample"]["inference"], report["per_sample"]["activity"]
    synaptic = N_HID * (N_IN + N_OUT + 1) + N_OUT * (N_HID + 1)
    dynamic = (synaptic * a * 23.6 + (N_HID + N_OUT) * 81 + (N_HID + 2 * N_OUT) * a * 1.7
               ) * steps * 1e-12
    assert inference["steps"] == steps
    assert inference["dynamic_j"] == pytest.approx(dynamic)
    busiest_ns = N_HID * (N_IN + N_OUT + 1) * a * 3.5 + N_HID * 8.4 + N_HID * a * 2.1
    assert inference["time_s"] == pytest.approx(steps * (busiest_ns + 465) * 1e-9)
    assert inference["static_j"] == pytest.approx(0.25 * inference["time_s"])
    assert 0 < a <= 1 and report["per_sample"]["training"]["dynamic_j"] > 0
    predictions = report["predictions"]
    assert predictions["reference"] == "numpy-fixed" and predictions["agreement"] == 1.0
    assert predictions["accuracy"] == predictions["reference_accuracy"]
    page = (write_report(ep_run)).read_text()
    assert '<h2 id="deployment">Loihi 2 deployment</h2>' in page
    assert "agreement with numpy-fixed 1.0000" in page and "<td>layer1</td>" in page


@pytest.mark.lava
def test_require_hardware_exits_2_and_writes_nothing(ep_run, tmp_path):
    before = _files(ep_run)
    result = CliRunner().invoke(main, ["deploy", str(ep_run), "--require-hardware",
                                       "--out", str(tmp_path / "report")])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: --require-hardware: Intel's Loihi extension for Lava (lava-loihi) is not "
        "installed here, so no Loihi 2 can be reached.")
    assert _files(ep_run) == before and not (tmp_path / "report").exists()


@pytest.mark.lava
def test_with_the_extension_the_graph_runs_on_loihi2hwcfg(ep_run, tmp_path, monkeypatch):
    """``is_installed`` and ``Loihi2HwCfg`` are test doubles; the double records what it was
    given and runs like the CPU simulator, so the predictions can be compared."""
    from lava.magma.core import run_configs
    from lava.utils import loihi

    given = []

    class RecordingHwCfg(run_configs.Loihi2SimCfg):
        def __init__(self, **kwargs):
            given.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(loihi, "is_installed", lambda *args: True)
    monkeypatch.setattr(run_configs, "Loihi2HwCfg", RecordingHwCfg)
    result = CliRunner().invoke(main, ["deploy", str(ep_run), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "not installed" not in result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["hardware"], report["run_config"]) == (True, "Loihi2HwCfg")
    assert len(given) == 1 and given[0]["select_tag"] == "fixed_pt"
    mapped = {type(p).__name__: m.__name__ for p, m in
              given[0]["exception_proc_model_map"].items()}
    assert mapped["EPFixedLayer"].endswith("Fixed") and "LearningDense" not in mapped
    assert report["predictions"]["agreement"] == 1.0


@pytest.mark.lava
@pytest.mark.slow
def test_on_chip_learning_equals_the_bit_accurate_simulation(ep_run, tmp_path):
    """``--learn``: one epoch from the checkpoint on the target (Loihi2SimCfg here) and on
    numpy-fixed; every weight agrees."""
    result = CliRunner().invoke(main, ["deploy", str(ep_run), "--out", str(tmp_path),
                                       "--learn"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    # the epoch learned is the one after the checkpoint's: epoch 2 of a one-epoch run
    assert report["learning"] == {"epoch": 2, "reference": "numpy-fixed", "agreement": 1.0}
    assert "one epoch of learning: 1.0000 of the weights equal numpy-fixed's" in result.output


@pytest.mark.lava
def test_stdp_graph_report(tmp_path):
    spec = rule("stdp")
    values = {k: v for k, v in spec.small.items() if k != "epochs"}
    out = tmp_path / "stdp"
    train(spec.configure("digits", values), RunSettings(backend="numpy", epochs=1), out,
          show_progress=False)
    result = CliRunner().invoke(main, ["deploy", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "deploy-loihi2" / "report.json").read_text())
    rows = {row["name"]: row for row in report["processes"]}
    n, n_in = values["n_neurons"], N_IN
    assert rows["excitatory"]["maps_to"] == "neuron program (microcode)"
    assert (rows["excitatory"]["synapses"], rows["excitatory"]["fan_in"]) == (
        n * n_in + n * n, n_in + n)
    assert rows["W"]["maps_to"] == rows["inhibition"]["maps_to"] == "stock hardware model"
    assert rows["W"]["widths"]["payload"] == [1, 24]       # binary spikes
    assert report["predictions"]["agreement"] is None       # lava-fixed is the reference
    assert "lava-fixed on the CPU is the reference itself" in result.output


def test_bad_input_gets_one_sentence_and_changes_nothing(tmp_path):
    spec = rule("ep")
    out = tmp_path / "ep-rate"
    train(spec.configure("digits", {"hidden": (8,)}), RunSettings(backend="numpy", epochs=1),
          out, show_progress=False)
    before = _files(out)
    cases = [
        ([str(tmp_path)], f"error: run {str(tmp_path)!r} is not a run folder"),
        ([str(out)], "which is not made of Loihi parts; train one with `dynaxx train ep "
                     "--graph loihi`"),
        ([str(out), "--target", "loihi3"], "error: --target must be one of loihi2, got "
                                           "'loihi3'."),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, ["deploy", *args])
        assert result.exit_code == 2, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert _files(out) == before
