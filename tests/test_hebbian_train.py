"""Hebbian training end to end: the two-stage run folder, resume, evaluation, the
`dynaxx train hebbian` command with its bad-input sentences, the data-set defaults, and the
example script."""

import dataclasses
import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro import params as P
from dynaxx_neuro.cli import main
from dynaxx_neuro.cycle import INIT, stream
from dynaxx_neuro.datasets import Splits, prepare_splits
from dynaxx_neuro.kernels.hebbian import RULE_NAMES
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.rules.hebbian import (SPEC, HebbianConfig, HebbianParameters,
                                        ReadoutConfig, whiten_inputs)
from dynaxx_neuro.train import RunSettings, evaluate_run, resume, train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = ["--backend", "numpy", "--hidden", "20", "--epochs", "2", "--readout-epochs", "2",
         "--batch-size", "50", "--no-progress", "--no-plots"]


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _train(tmp_path, name="run", epochs=2, readout_epochs=2, backend="numpy", readout=None,
           **config):
    readout = ReadoutConfig(readout_epochs=readout_epochs, **(readout or {}))
    config = HebbianConfig(**{"batch_size": 50, **config}, readout=readout)
    return train(config, RunSettings(backend=backend, epochs=epochs), tmp_path / name,
                 show_progress=False)


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_a_run_learns_features_then_trains_three_readouts(tmp_path, rule):
    run = _train(tmp_path, rule=rule, hidden=30, readout_epochs=3)
    info = run.info()
    assert info["rule"] == "hebbian" and info["config"]["rule"] == rule
    assert SPEC.run_label(run_config(run)) == f"hebbian-{rule}"
    hebbian = run.read_table("hebbian")
    np.testing.assert_array_equal(hebbian["epoch"], [1, 2])
    assert np.all(hebbian["weight_change"] > 0) and np.all(hebbian["time_s"] > 0)
    assert set(run.read_table("ops")["epoch"]) == {1, 2}  # every features epoch counts
    metrics = run.read_table("metrics")
    assert sorted(set(metrics["epoch"])) == [3, 4, 5]  # readout epochs follow Hebbian ones
    assert info["final_metrics"]["epoch"] == 5
    baselines = run.read_table("baselines")
    assert set(baselines["features"]) == {"pixels", "random"}
    final = info["final_metrics"]
    for key in ("test_accuracy", "pixels_test_accuracy", "random_test_accuracy"):
        assert 0.5 < final[key] <= 1.0, key  # all three readouts learned the digits
    assert final["pixels_test_accuracy"] != final["random_test_accuracy"]


def run_config(run: RunDir) -> HebbianConfig:
    return P.from_dict(run.info()["config"])


def _interrupt_after(run: RunDir, epoch: int, copy: Path) -> RunDir:
    """A copy of ``run`` as if it had been stopped right after epoch ``epoch`` (numbered
    from 1, as in the file names)."""
    shutil.copytree(run.path, copy)
    for path in copy.glob("**/epoch-*"):
        if int(path.name.split("-")[1].split(".")[0]) > epoch:
            path.unlink()
    return RunDir.open(copy)


@pytest.mark.parametrize("stopped_after", [1, 4], ids=["in-hebbian-stage", "in-readout"])
def test_resume_gives_the_uninterrupted_run(tmp_path, stopped_after):
    whole = _train(tmp_path, "whole", epochs=3, rule="bcm", hidden=16, lr_schedule="linear")
    part = _interrupt_after(whole, stopped_after, tmp_path / "part")
    resume(part.path, show_progress=False)
    expected, got = whole.last_checkpoint(), part.last_checkpoint()
    assert got[0] == expected[0] == 4
    assert expected[1].keys() == got[1].keys()
    for name, value in expected[1].items():
        np.testing.assert_array_equal(got[1][name], value, err_msg=name)
    for table in ("hebbian", "metrics", "baselines"):
        for column, value in whole.read_table(table).items():
            if column not in ("time_s", "samples_per_s", "peak_rss_mb"):
                np.testing.assert_array_equal(part.read_table(table)[column], value)
    assert part.info()["final_metrics"] == whole.info()["final_metrics"]


def test_a_linear_rate_falls_over_the_features_epochs(tmp_path):
    run = _train(tmp_path, epochs=4, readout_epochs=1, rule="khu", hidden=16,
                 lr_schedule="linear", lr_decay=0.5)
    lr = run.read_table("hebbian")["lr"]
    np.testing.assert_allclose(lr, [0.04 * 0.5 ** e * (1 - e / 4) for e in range(4)])


def test_zero_features_epochs_read_out_the_initial_layer(tmp_path):
    run = _train(tmp_path, epochs=0, readout_epochs=1, rule="oja", hidden=16)
    config = run_config(run)
    initial = HebbianParameters.initial(config, stream(0, INIT))
    np.testing.assert_array_equal(run.last_checkpoint()[1]["hebbian_w"], initial.weights)
    assert run.info()["final_metrics"]["epoch"] == 1  # the one readout epoch


def test_evaluation_reproduces_the_final_readout_accuracies(tmp_path):
    run = _train(tmp_path, epochs=1, rule="khu", hidden=20)
    metrics = evaluate_run(run.path)
    final = run.info()["final_metrics"]
    for key in ("test_accuracy", "val_accuracy", "pixels_test_accuracy",
                "random_test_accuracy", "random_val_accuracy"):
        assert metrics[key] == final[key], key


def test_evaluation_of_a_run_still_in_its_features_stage_is_refused(tmp_path):
    run = _train(tmp_path, epochs=2, rule="khu", hidden=20)
    part = _interrupt_after(run, 1, tmp_path / "part")
    with pytest.raises(ValueError, match="has not reached an epoch that evaluates"):
        evaluate_run(part.path)


def test_train_eval_and_resume_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "hebbian", "--rule", "khu", "--k", "3", "--out", str(out),
                      *SMALL])
    assert result.exit_code == 0, result.output
    assert "random_test_accuracy" in result.output
    assert "random_relu_test_accuracy" not in result.output  # ReLU already: no second set
    result = _invoke(["eval", str(out)])
    assert result.exit_code == 0 and '"pixels_test_accuracy"' in result.output
    assert run_config(RunDir.open(out)).k == 3
    assert RunDir.open(out).info()["backend"] == "numpy"


def test_the_default_back_end_is_numpy_the_first_registered():
    assert SPEC.backend_names == ("numpy", "lava")
    result = _invoke(["train", "hebbian", "--help"])
    assert "[numpy|lava|lava-fixed|numpy-fixed]" in result.output  # the Loihi graph's too
    assert "[default: numpy]" in result.output


@pytest.mark.parametrize("args, words", [
    (["--rule", "hebb"], ("--rule", "'hebb'", "oja", "bcm", "khu")),
    (["--p", "1.5"], ("--p must be a finite number >= 2",)),
    (["--k", "1"], ("--k must be an integer >= 2",)),
    (["--k", "50"], ("--k must be at most --hidden (20), got 50.",)),
    (["--delta", "2"], ("--delta must be a finite number in [0, 1]",)),
    (["--lr", "-0.1"], ("--lr must be a finite number > 0",)),
    (["--lr-decay", "0"], ("--lr-decay must be a finite number in (0, 1]",)),
    (["--lr-schedule", "cosine"], ("--lr-schedule", "'cosine'", "exponential", "linear")),
    (["--rule", "bcm", "--tau-theta", "0.2"], ("--tau-theta must be a finite number >= 1",)),
    (["--rule", "oja", "--delta", "0.3"], ("--delta applies only to rule khu, not to rule oja.",)),
    (["--rule", "khu", "--tau-theta", "3"], ("--tau-theta applies only to rule bcm",)),
    (["--readout-lr", "0"], ("--readout-lr must be a finite number > 0",)),
    (["--feature-power", "0.5"], ("--feature-power must be a finite number >= 1",)),
    (["--feature-inhibition", "-1"], ("--feature-inhibition must be a finite number >= 0",)),
    (["--hidden", "0"], ("--hidden must be an integer >= 1",)),
    (["--batch-size", "5000"], ("--batch-size must be at most the",)),
    (["--readout-batch-size", "5000"], ("--readout-batch-size must be at most the",)),
    (["--backend", "gpu"], ("--backend", "'gpu'", "numpy", "lava")),
    (["--zca-epsilon", "0"], ("--zca-epsilon must be a finite number > 0",)),
])
def test_bad_input_is_one_sentence_and_a_nonzero_exit(tmp_path, args, words):
    out = tmp_path / "run"
    result = _invoke(["train", "hebbian", "--out", str(out), *SMALL, *args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert all(word in lines[0] for word in words), lines
    assert not out.exists()  # refused before a run folder is made


def test_the_command_line_whitens_the_inputs_when_given_zca_epsilon(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "hebbian", "--zca-epsilon", "0.5", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    assert run_config(RunDir.open(out)).zca_epsilon == 0.5


def test_fashion_defaults_are_the_benchmarked_khu_command_and_fit_every_rule():
    # README.md / BENCHMARKS.md "Hebbian features": --hidden 2000 --lr 0.04 --lr-schedule
    # linear --delta 0.1 --epochs 40 --zca-epsilon 0.1 --feature-power 2
    # --feature-inhibition 0.75 --readout-lr 0.01 --readout-lr-decay 0.92 --readout-epochs 30
    defaults = SPEC.defaults("fashion-mnist")
    assert defaults.pop("epochs") == 40
    groups = {path[-1]: path[0] for _, path in P.cli_fields(HebbianConfig) if len(path) > 1}
    assert set(groups.values()) == {"readout"}
    config = HebbianConfig(
        **{name: value for name, value in defaults.items() if name not in groups},
        readout=ReadoutConfig(**{name: value for name, value in defaults.items()
                                 if name in groups}))
    khu = config.rule_params
    assert (config.hidden, config.lr_schedule, config.zca_epsilon) == (2000, "linear", 0.1)
    assert (khu.lr, khu.p, khu.k, khu.delta, config.batch_size) == (0.04, 3.0, 7, 0.1, 100)
    readout = config.readout
    assert (readout.feature_power, readout.feature_inhibition, readout.readout_lr,
            readout.readout_lr_decay, readout.readout_epochs) == (2.0, 0.75, 0.01, 0.92, 30)
    for rule in RULE_NAMES:  # no rule-only option among them: every rule accepts them
        dataclasses.replace(config, rule=rule)


def test_example_hebbian_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["hebbian_digits.py", "--epochs", "1", "--hidden", "20",
                                      "--readout-epochs", "1", "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "hebbian_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "random ReLU features: test accuracy" in out and "raw pixels" in out


@pytest.mark.lava
def test_train_on_the_lava_backend_matches_numpy_from_the_command_line(tmp_path):
    outputs = {}
    for backend in ("lava", "numpy"):
        out = tmp_path / backend
        args = [a if a != "numpy" else backend for a in SMALL]
        result = _invoke(["train", "hebbian", "--rule", "bcm", "--lr-schedule", "linear",
                          "--out", str(out), *args])
        assert result.exit_code == 0, result.output
        outputs[backend] = RunDir.open(out).last_checkpoint()[1]
    assert RunDir.open(tmp_path / "lava").info()["tag"] == "floating_pt"
    assert outputs["lava"].keys() == outputs["numpy"].keys()
    for name, value in outputs["numpy"].items():
        np.testing.assert_array_equal(outputs["lava"][name], value, err_msg=name)


def test_feature_sets_are_standardised_and_the_random_ones_have_the_learned_width():
    from dynaxx_neuro.networks.hebbian_readout import FeatureSplits, feature_map
    data = prepare_splits("digits", None, 0.1, 0)

    def features(name, power):
        config = HebbianConfig(rule="khu", k=3, n_inputs=64, hidden=30,
                               readout=ReadoutConfig(feature_power=power))
        layer = HebbianParameters.initial(config, stream(4, INIT))
        return FeatureSplits.of(feature_map(name, config, layer, seed=4), data)

    for name, width in (("hebbian", 30), ("pixels", 64), ("random", 30)):
        found = features(name, 2.0)
        assert found.train.shape == (len(data.x_train), width)
        assert found.test.shape == (len(data.x_test), width)
        np.testing.assert_allclose(found.train.mean(axis=0), 0.0, atol=1e-9)
        spread = found.train.std(axis=0)
        np.testing.assert_allclose(spread[spread > 0], 1.0, atol=1e-9)  # constant pixels stay 0
    random_a, random_b = features("random", 1.0).train, features("random", 1.0).train
    np.testing.assert_array_equal(random_a, random_b)  # fixed by the seed
    assert not np.allclose(features("hebbian", 1.0).train, random_a)


def test_an_activation_other_than_relu_adds_the_plain_random_relu_baseline(tmp_path):
    run = _train(tmp_path, epochs=1, readout_epochs=1, rule="khu", hidden=20,
                 readout=dict(feature_power=2.0, feature_inhibition=0.5))
    assert set(run.read_table("baselines")["features"]) == {"pixels", "random", "random_relu"}
    final = run.info()["final_metrics"]
    assert final["random_relu_test_accuracy"] != final["random_test_accuracy"]
    metrics = evaluate_run(run.path)
    for key in ("test_accuracy", "random_test_accuracy", "random_relu_test_accuracy"):
        assert metrics[key] == final[key], key


def test_zca_whitening_uses_the_training_statistics_and_has_the_closed_form_covariance():
    rng = np.random.default_rng(3)
    mixing = rng.standard_normal((5, 5)) * [3.0, 1.0, 0.5, 0.2, 0.1]  # unequal variances
    x = rng.standard_normal((400, 5)) @ mixing + 2.0
    data = Splits(x[:300], np.zeros(300, int), x[300:350], np.zeros(50, int), x[350:],
                  np.zeros(50, int), 2, (1, 5))
    eps = 0.05
    white = whiten_inputs(data, eps)
    variances, directions = np.linalg.eigh(np.cov(x[:300], rowvar=False))
    expected = (directions * (variances / (variances + eps))) @ directions.T  # U S/(S+eps) U^T
    np.testing.assert_allclose(np.cov(white.x_train, rowvar=False), expected, atol=1e-10)
    np.testing.assert_allclose(white.x_train.mean(axis=0), 0.0, atol=1e-12)
    # val and test go through the same affine map as the training split: x -> (x - m) Z
    m, z = x[:300].mean(axis=0), np.linalg.lstsq(x[:300] - x[:300].mean(axis=0),
                                                  white.x_train, rcond=None)[0]
    np.testing.assert_allclose(white.x_test, (x[350:] - m) @ z, atol=1e-9)
    np.testing.assert_array_equal(white.x_val, whiten_inputs(data, eps).x_val)
    assert whiten_inputs(data, None) is data


def test_a_whitened_run_whitens_every_feature_set_and_evaluates_and_resumes_alike(tmp_path):
    inhibited = dict(feature_power=2.0, feature_inhibition=0.5)
    whole = _train(tmp_path, "whole", rule="khu", hidden=20, zca_epsilon=0.1,
                   readout=inhibited)
    raw = _train(tmp_path, "raw", rule="khu", hidden=20, readout=inhibited)
    assert run_config(whole).zca_epsilon == 0.1 and run_config(raw).zca_epsilon is None
    assert np.all(whole.read_table("metrics")["loss"] != raw.read_table("metrics")["loss"])
    baselines, raw_baselines = whole.read_table("baselines"), raw.read_table("baselines")
    np.testing.assert_array_equal(baselines["features"], raw_baselines["features"])
    assert np.all(baselines["loss"] != raw_baselines["loss"])  # every set reads whitened x
    final = whole.info()["final_metrics"]
    metrics = evaluate_run(whole.path)
    for key in ("test_accuracy", "pixels_test_accuracy", "random_relu_test_accuracy"):
        assert metrics[key] == final[key], key
    part = _interrupt_after(whole, 1, tmp_path / "part")
    resume(part.path, show_progress=False)
    for name, value in whole.last_checkpoint()[1].items():
        np.testing.assert_array_equal(part.last_checkpoint()[1][name], value, err_msg=name)
