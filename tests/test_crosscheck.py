"""The Brian2 cross-check: every comparison on small inputs, its ability to fail, the run
folder and the command line. Brian2 runs with its numpy code-generation target (no
compiler). Comparisons with Lava are marked ``lava``; the Brian2 models are also checked
against our kernels, which needs no Lava."""

import dataclasses
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro.cli import main
from dynaxx_neuro.crosscheck import CheckRecord, CrosscheckSettings, format_table
from dynaxx_neuro.crosscheck import brian_models, checks, ep_fixed
from dynaxx_neuro.crosscheck.stdp import STDPLoihiRule, lava_literal
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels import neurons as lif

SMALL = CrosscheckSettings(lif_steps=60, stdp_steps=120, halvings=4)

# Brian2 2.9 calls pyparsing names that pyparsing 3.3 deprecates; not ours to fix.
pytestmark = [pytest.mark.brian2,
              pytest.mark.filterwarnings("ignore:.*deprecated.*use:DeprecationWarning")]


# --- Brian2 models against our kernels (no Lava) ------------------------------------------
def test_brian2_float_lif_equals_the_kernel_with_dense_delay():
    weights, spikes, params = checks.lif_inputs(seed=1, n_steps=80)
    brian = brian_models.lif_float(weights, spikes, params)
    ours = lif.lif_float_run(lif.dense_delayed(weights, spikes), params)
    np.testing.assert_array_equal(brian.s, ours.s)
    np.testing.assert_allclose(brian.v, ours.v, rtol=0, atol=1e-12)
    assert ours.s.any() and not ours.s.all()


def test_brian2_fixed_lif_equals_the_kernel_bit_for_bit():
    weights, spikes, params = checks.fixed_inputs(seed=1, n_steps=80)
    brian = brian_models.lif_fixed(weights, spikes, params)
    ours = lif.lif_fixed_run(lif.dense_delayed(weights, spikes), params)
    assert brian.v.dtype == np.int64
    np.testing.assert_array_equal(brian.u, ours.u)
    np.testing.assert_array_equal(brian.v, ours.v)
    np.testing.assert_array_equal(brian.s, ours.s)
    assert ours.s.any()


def test_brian2_stdp_pairs_give_the_closed_form_window():
    rule = STDPLoihiRule(learning_rate=2.0 ** -6, a_plus=1.0, a_minus=0.5, tau_plus=8.0,
                    tau_minus=15.0)
    offsets, weights, pre, post = checks.pair_inputs(offsets=range(-6, 7))
    trajectory, fired = brian_models.stdp(weights, pre, rule, post)
    np.testing.assert_array_equal(fired, post.astype(bool))
    measured = np.diag(trajectory[-1]) - np.diag(weights)
    expected = [rule.pair_dw(int(d)) for d in offsets]
    np.testing.assert_allclose(measured, expected, rtol=0, atol=1e-12)
    assert expected[0] < 0 < expected[-1]  # depression before, potentiation after


def test_stdp_rule_refuses_constants_lava_would_round():
    assert lava_literal(0.01) == 2.0 ** -7 and lava_literal(3.0) == 3.0
    with pytest.raises(ValueError, match="learning_rate must be an integer times a power"):
        STDPLoihiRule(learning_rate=0.01)
    with pytest.raises(ValueError, match=r"learning_rate \* a_plus must be m \* 2\^e"):
        STDPLoihiRule(learning_rate=2.0 ** -9)


# --- the continuous limit and EP (Brian2 only) ---------------------------------------------
def test_continuous_limit_is_first_order_and_brian2_is_exact():
    records = checks.continuous_checks(SMALL)
    exact, order = records
    assert exact.passed and exact.value <= 1e-9
    assert order.passed and 0.85 <= order.value <= 1.15
    assert np.all(np.diff(order.data["errors"]) < 0)


def test_continuous_order_fails_for_a_map_that_does_not_converge(monkeypatch):
    # A discrete map with the wrong input gain converges to the wrong limit: the error
    # stops shrinking and the check must say FAIL.
    setup = checks.continuous_inputs(seed=0, halvings=3)
    real = lif.discretise

    def wrong_gain(model, dt_ms):
        step = real(model, dt_ms)
        return lif.Discretised(step.params, 1.1 * step.input_gain, dt_ms)

    monkeypatch.setattr(lif, "discretise", wrong_gain)
    record = checks.compare_continuous_order(setup)
    assert record.status == "FAIL"


def test_ep_free_phase_equals_brian2_equilibrium_on_random_and_trained_weights(tmp_path):
    records = checks.ep_checks(SMALL, tmp_path)
    assert [r.name for r in records] == ["ep-random", "ep-trained"]
    for record in records:
        assert record.passed, record.note
        assert record.value <= 1e-3
    assert (tmp_path / "ep-training" / "run.json").exists()
    # The comparison can fail: states that are not the equilibrium are told apart.
    params, x = checks.random_ep_network(seed=0)
    shifted = checks.compare_ep("ep-shifted", params, x, t_free=1)
    assert shifted.status == "FAIL"


def test_random_ep_network_has_a_unique_fixed_point():
    params, _ = checks.random_ep_network(seed=5)
    assert checks.smallest_curvature(params) >= 0.2 - 1e-9


# --- EP's Loihi graph in Brian2 against the numpy-fixed twin (no Lava) ----------------------
def _twin_epochs(config, data, params, seed, epochs):
    """The numpy-fixed twin's epochs as ``GraphEpoch``s (it records no per-step states and
    no per-sample training predictions)."""
    from dynaxx_neuro.cycle import Launch
    from dynaxx_neuro.networks.ep_loihi_numpy import EPLoihiNumpyRunner
    from dynaxx_neuro.rules.ep_loihi import EPLoihiParameters
    runner = EPLoihiNumpyRunner(config, data,
                                EPLoihiParameters.from_arrays(params.to_arrays(), config),
                                Launch(seed, 0, "numpy"))
    out = []
    for epoch in range(epochs):
        result = runner.run_epoch(epoch)
        out.append(ep_fixed.GraphEpoch(
            runner.parameters(), [s.copy() for s in runner.last_states], None, None,
            np.concatenate([result.val_predictions, result.test_predictions]),
            result.train_accuracy, 0.0))
    return out


@pytest.fixture(scope="module")
def ep_fixed_twin():
    """Two hidden layers (so backward copies between hidden layers too), two epochs."""
    config, data, params = checks.ep_fixed_problem(seed=1, hidden=(12, 8), n_train=12,
                                                   n_eval=4)
    return config, data, params, _twin_epochs(config, data, params, 1, 2)


def test_brian2_ep_fixed_graph_equals_the_numpy_twin_bit_for_bit(ep_fixed_twin):
    config, data, params, twin = ep_fixed_twin
    brian = ep_fixed.train(config, data, params, seed=1, epochs=2)
    records = checks.compare_ep_fixed(twin, brian, params, name="numpy-fixed")
    status = {r.name: r.status for r in records}
    assert status.pop("ep-fixed-steps") == "SKIP"         # the twin keeps no trajectories
    assert status.pop("ep-fixed-train-pred") == "SKIP"
    assert sorted(status) == sorted(["ep-fixed-w0", "ep-fixed-w1", "ep-fixed-w2", "ep-fixed-wt1",
                                     "ep-fixed-wt2", "ep-fixed-b0", "ep-fixed-b1", "ep-fixed-b2",
                                     "ep-fixed-states", "ep-fixed-eval-pred"])
    assert set(status.values()) == {"PASS"}, format_table(records)
    assert [e.train_accuracy for e in brian] == [e.train_accuracy for e in twin]
    for record in records[:8]:                               # every matrix learned
        assert (record.data["brian2"] != record.data["initial"]).any(), record.name
    period = config.timing.period
    assert brian[0].step_states[0].shape == (12 * period + 8 * (config.schedule.free_end + 1),
                                             12)
    assert brian[0].step_states[0].dtype == np.int64 and brian[0].train_predictions.shape == (12,)


def test_ep_fixed_comparison_fails_when_brian2_differs(ep_fixed_twin, monkeypatch):
    # Brian2's synapses learn without the rule's floor correction: the weights, and with
    # them the states, drift from the twin's, and the records must say FAIL.
    config, data, params, twin = ep_fixed_twin
    real = ep_fixed.engine_params
    monkeypatch.setattr(ep_fixed, "engine_params", lambda c: dataclasses.replace(
        real(c), dw=fx.rule(c.scale, floor_correction=False)))
    brian = ep_fixed.train(config, data, params, seed=1, epochs=1)
    records = checks.compare_ep_fixed(twin[:1], brian, params, name="numpy-fixed")
    failed = [r for r in records if r.status == "FAIL"]
    assert any(r.name == "ep-fixed-w0" for r in failed), format_table(records)
    assert all(r.value > 0 and "entries differ" in r.note for r in failed
               if r.name.startswith("ep-fixed-w"))


# --- Lava against Brian2 ------------------------------------------------------------------
@pytest.mark.lava
def test_lif_float_lava_and_brian2_agree():
    (record,) = checks.lif_checks(SMALL)
    assert record.passed, record.note
    assert record.value <= 1e-9 and "identical" in record.note


@pytest.mark.lava
def test_lif_fixed_lava_and_brian2_agree_bit_for_bit():
    (record,) = checks.lif_fixed_checks(SMALL)
    assert record.passed and record.value == 0, record.note


@pytest.mark.lava
def test_lif_comparison_fails_when_brian2_differs(monkeypatch):
    # Brian2 run with a slightly different threshold: the record must say FAIL.
    weights, spikes, params = checks.lif_inputs(seed=0, n_steps=60)
    real = brian_models.lif_float
    monkeypatch.setattr(brian_models, "lif_float", lambda w, s, p, target="numpy": real(
        w, s, lif.LIFFloat(p.du, p.dv, 0.9 * p.vth, p.bias), target))
    record = checks.compare_lif_float(weights, spikes, params)
    assert record.status == "FAIL" and "differ" in record.note


@pytest.mark.lava
def test_stdp_lava_and_brian2_weight_trajectories_agree():
    pairs, poisson = checks.stdp_checks(SMALL)
    assert pairs.passed, pairs.note
    assert poisson.passed, poisson.note
    assert pairs.data["lava"].shape == (pairs.data["pre"].shape[0], 41, 41)
    assert float(np.abs(poisson.data["lava"][-1] - poisson.data["initial"]).max()) > 0.01


@pytest.mark.lava
def test_ep_fixed_lava_and_brian2_agree_bit_for_bit():
    records = checks.ep_fixed_checks(SMALL)
    assert [r.name for r in records] == [
        "ep-fixed-w0", "ep-fixed-w1", "ep-fixed-wt1", "ep-fixed-b0", "ep-fixed-b1",
        "ep-fixed-states", "ep-fixed-steps", "ep-fixed-train-pred", "ep-fixed-eval-pred"]
    for record in records:
        assert record.passed and record.value == 0, f"{record.name}: {record.note}"
    for record in records[:5]:                               # every matrix learned on Lava
        assert (record.data["lava"] != record.data["initial"]).any(), record.name
    assert "identical" in records[6].note and "seconds per training sample" in records[7].note


@pytest.mark.lava
def test_lava_refuses_fixed_weights_its_dense_would_change():
    from dynaxx_neuro.crosscheck.lava_runs import lava_lif
    with pytest.raises(ValueError, match="weights must be even integers"):
        lava_lif(np.array([[3, -2]]), np.zeros((4, 2), int), lif.LIFFixed())


def test_lava_comparisons_skip_with_a_reason_where_lava_is_missing(monkeypatch):
    monkeypatch.setattr(checks, "lava_available", lambda: False)
    records = [*checks.lif_checks(SMALL), *checks.lif_fixed_checks(SMALL),
               *checks.stdp_checks(SMALL), *checks.ep_fixed_checks(SMALL)]
    assert [r.status for r in records] == ["SKIP"] * 5
    assert "lava-nc" in records[0].note and "SKIP 5" in format_table(records)


# --- records, bad input, run folder and command line --------------------------------------
def test_table_has_a_row_per_record_and_counts():
    records = [CheckRecord("a", "m", 1e-12, 1e-9, True),
               CheckRecord("b", "order", 0.5, 0.85, False, ">=", note="why")]
    table = format_table(records)
    assert "PASS" in table and "FAIL" in table and "    why" in table
    assert table.splitlines()[-1] == "comparisons: PASS 1, FAIL 1, SKIP 0"
    assert records[1].row()["relation"] == ">="


@pytest.mark.parametrize("make, words", [
    (lambda: brian_models.lif_float(np.ones((2, 3)), np.ones((5, 2)), lif.LIFFloat()),
     "spikes must be (T, 3)"),
    (lambda: brian_models.lif_fixed(np.ones((2, 3)), np.ones((5, 3)), lif.LIFFixed()),
     "weights must be integers"),
    (lambda: brian_models.lif_continuous(np.ones((1, 1)), [1.0], [0], lif.LIFContinuous(),
                                         0.0, 10.0), "dt_ms must be a finite number > 0"),
    (lambda: brian_models.lif_continuous(np.ones((1, 1)), [0.25], [0], lif.LIFContinuous(),
                                         0.1, 10.0), "spike_times_ms must be multiples"),
    (lambda: brian_models.ep_equilibrium(checks.random_ep_network(0)[0], np.ones((2, 3))),
     "x must be (B, 20)"),
    (lambda: brian_models.ep_equilibrium(*checks.random_ep_network(0), dt_ms=-1.0),
     "dt_ms must be a finite number > 0"),
    (lambda: brian_models.codegen_target("cpp").__enter__(), "target must be one of"),
    (lambda: checks.compare_ep("e", checks.random_ep_network(0)[0], np.ones((2, 7))),
     "x must be (B, 20)"),
    (lambda: CrosscheckSettings(dt_ms=0), "dt_ms must be a number in (0, 5] ms"),
    (lambda: CrosscheckSettings(halvings=1), "halvings must be an integer >= 2"),
    (lambda: checks.pair_inputs(offsets=[]), "offsets must be non-empty"),
    (lambda: CrosscheckSettings(ep_fixed_hidden=()), "ep_fixed_hidden must list hidden sizes"),
    (lambda: CrosscheckSettings(ep_fixed_epochs=0), "ep_fixed_epochs must be an integer >= 1"),
])
def test_bad_input_is_one_sentence_naming_the_argument(make, words):
    with pytest.raises(ValueError) as error:
        make()
    assert words in str(error.value)


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_command_line_writes_the_run_folder_with_table_and_plots(tmp_path):
    out = tmp_path / "cc"
    result = _invoke(["crosscheck", "continuous", "--out", str(out), "--dt-ms", "1.6"])
    assert result.exit_code == 0, result.output
    assert "continuous-exact" in result.output and "PASS" in result.output
    info = json.loads((out / "run.json").read_text())
    assert info["rule"] == "crosscheck" and info["check"] == "continuous"
    assert [row["name"] for row in info["results"]] == ["continuous-exact", "continuous"]
    assert all(row["status"] == "PASS" for row in info["results"])
    assert (out / "plots" / "continuous.png").stat().st_size > 0


@pytest.mark.parametrize("args, words", [
    (["crosscheck", "spikes"],
     "check must be one of lif, lif-fixed, stdp, continuous, ep, ep-fixed, all"),
    (["crosscheck", "continuous", "--dt-ms", "0"], "dt_ms must be a number in (0, 5] ms"),
    (["crosscheck", "continuous", "--dt-ms", "-0.5"], "dt_ms must be"),
    (["crosscheck", "lif", "--target", "cpp"], "target must be one of numpy, cython"),
])
def test_command_line_bad_input_is_one_line_and_exit_2(tmp_path, args, words):
    result = _invoke([*args, "--out", str(tmp_path / "never")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert not (tmp_path / "never").exists()


def test_example_crosscheck_lif_runs(tmp_path, monkeypatch, capsys):
    example = Path(__file__).resolve().parents[1] / "examples" / "crosscheck_lif.py"
    monkeypatch.setattr(sys, "argv", [str(example), "--out", str(tmp_path), "--steps", "40",
                                      "--halvings", "3"])
    runpy.run_path(str(example), run_name="__main__")
    output = capsys.readouterr().out
    assert "continuous" in output and "FAIL 0" in output
    assert (tmp_path / "continuous.png").exists()
