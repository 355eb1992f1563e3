"""Hebbian training end to end: the two-stage run folder, resume, evaluation, the
`dynaxx train hebbian` command with its bad-input sentences, and the example script."""

import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro.cli import main
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.train import evaluate_run, resume
from dynaxx_neuro.train_hebbian import train_hebbian

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = ["--backend", "numpy", "--hidden", "20", "--epochs", "2", "--readout-epochs", "2",
         "--batch-size", "50", "--no-progress", "--no-plots"]


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.mark.parametrize("rule", ["oja", "bcm", "khu"])
def test_a_run_learns_features_then_trains_three_readouts(tmp_path, rule):
    run = train_hebbian(rule=rule, hidden=30, backend="numpy", epochs=2, readout_epochs=3,
                        batch_size=50, out=tmp_path / "run", show_progress=False)
    info = run.info()
    assert info["rule"] == "hebbian" and info["hebbian_rule"] == rule
    hebbian = run.read_table("hebbian")
    np.testing.assert_array_equal(hebbian["epoch"], [0, 1])
    assert np.all(hebbian["weight_change"] > 0) and np.all(hebbian["time_s"] > 0)
    metrics = run.read_table("metrics")
    assert sorted(set(metrics["epoch"])) == [2, 3, 4]  # readout epochs follow Hebbian ones
    baselines = run.read_table("baselines")
    assert set(baselines["features"]) == {"pixels", "random"}
    final = info["final_metrics"]
    for key in ("test_accuracy", "pixels_test_accuracy", "random_test_accuracy"):
        assert 0.5 < final[key] <= 1.0, key  # all three readouts learned the digits
    assert final["pixels_test_accuracy"] != final["random_test_accuracy"]


def _interrupt_after(run: RunDir, epoch: int, copy: Path) -> RunDir:
    """A copy of ``run`` as if it had been stopped right after ``epoch``."""
    shutil.copytree(run.path, copy)
    for path in copy.glob("**/epoch-*"):
        if int(path.name.split("-")[1].split(".")[0]) > epoch:
            path.unlink()
    return RunDir.open(copy)


@pytest.mark.parametrize("stopped_after", [0, 3], ids=["in-hebbian-stage", "in-readout"])
def test_resume_gives_the_uninterrupted_run(tmp_path, stopped_after):
    whole = train_hebbian(rule="bcm", hidden=16, backend="numpy", epochs=3, readout_epochs=2,
                          batch_size=50, lr_schedule="linear", out=tmp_path / "whole",
                          show_progress=False)
    part = _interrupt_after(whole, stopped_after, tmp_path / "part")
    resume(part.path, show_progress=False)
    expected, got = whole.last_checkpoint(), part.last_checkpoint()
    assert got[0] == expected[0] == 4
    for name, value in expected[1].items():
        np.testing.assert_allclose(got[1][name], value, rtol=0, atol=1e-12, err_msg=name)
    for table in ("hebbian", "metrics", "baselines"):
        for column, value in whole.read_table(table).items():
            if column not in ("time_s", "samples_per_s", "peak_rss_mb"):
                np.testing.assert_array_equal(part.read_table(table)[column], value)


def test_resume_extends_the_readout_stage(tmp_path):
    run = train_hebbian(rule="oja", hidden=16, backend="numpy", epochs=1, readout_epochs=1,
                        batch_size=50, out=tmp_path / "run", show_progress=False)
    resume(run.path, epochs=3, show_progress=False)
    assert sorted(set(run.read_table("metrics")["epoch"])) == [1, 2]
    assert run.info()["final_metrics"]["epoch"] == 2


def test_evaluation_reproduces_the_final_readout_accuracies(tmp_path):
    run = train_hebbian(rule="khu", hidden=20, backend="numpy", epochs=1, readout_epochs=2,
                        batch_size=50, out=tmp_path / "run", show_progress=False)
    metrics = evaluate_run(run.path)
    final = run.info()["final_metrics"]
    for key in ("test_accuracy", "val_accuracy", "pixels_test_accuracy",
                "random_test_accuracy"):
        assert metrics[key] == pytest.approx(final[key], abs=1e-12), key


def test_train_eval_and_resume_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "hebbian", "--rule", "khu", "--k", "3", "--out", str(out),
                      *SMALL])
    assert result.exit_code == 0, result.output
    assert "random_test_accuracy" in result.output
    assert "random_relu_test_accuracy" not in result.output  # ReLU already: no second set
    result = _invoke(["eval", str(out)])
    assert result.exit_code == 0 and '"pixels_test_accuracy"' in result.output
    result = _invoke(["train", "hebbian", "--resume", str(out), "--readout-epochs", "3",
                      "--no-progress", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert '"epoch": 4' in result.output
    assert RunDir.open(out).info()["config"]["params"]["k"] == 3


@pytest.mark.parametrize("args, words", [
    (["--rule", "hebb"], "rule must be one of oja, bcm, khu"),
    (["--p", "1.5"], "p must be a finite number >= 2"),
    (["--k", "1"], "k must be an integer >= 2"),
    (["--k", "50"], "k must be at most the number of hidden units (20)"),
    (["--delta", "2"], "delta must be a number in [0, 1]"),
    (["--lr", "-0.1"], "lr must be a finite number > 0"),
    (["--lr-decay", "0"], "lr_decay must be in (0, 1]"),
    (["--lr-schedule", "cosine"], "lr_schedule must be one of exponential, linear"),
    (["--rule", "bcm", "--tau-theta", "0.2"], "tau_theta must be"),
    (["--rule", "oja", "--delta", "0.3"], "delta applies only to rule 'khu'"),
    (["--readout-lr", "0"], "readout lr must be a finite number > 0"),
    (["--feature-power", "0.5"], "readout feature_power must be"),
    (["--feature-inhibition", "-1"], "readout inhibition must be None or a finite number >= 0"),
    (["--hidden", "0"], "hidden must be an integer >= 1"),
    (["--batch-size", "5000"], "batch_size must be at most"),
    (["--backend", "gpu"], "backend must be one of lava, numpy"),
    (["--zca-epsilon", "0"], "zca_epsilon must be None (raw inputs) or a finite number > 0"),
])
def test_bad_input_is_one_sentence_and_a_nonzero_exit(tmp_path, args, words):
    result = _invoke(["train", "hebbian", "--out", str(tmp_path / "run"), *SMALL, *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert "Traceback" not in result.output


def test_the_command_line_whitens_the_inputs_when_given_zca_epsilon(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "hebbian", "--zca-epsilon", "0.5", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    assert RunDir.open(out).info()["zca_epsilon"] == 0.5


def test_resume_refuses_a_folder_that_is_not_a_run_and_a_new_hebbian_epoch_count(tmp_path):
    result = _invoke(["train", "hebbian", "--resume", "/nonexistent/run"])
    assert result.exit_code == 2 and "not a run folder" in result.output
    out = tmp_path / "run"
    assert _invoke(["train", "hebbian", "--out", str(out), *SMALL]).exit_code == 0
    result = _invoke(["train", "hebbian", "--resume", str(out), "--epochs", "5"])
    assert result.exit_code == 2 and "--readout-epochs" in result.output


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
        result = _invoke(["train", "hebbian", "--rule", "bcm", "--out", str(out), *args])
        assert result.exit_code == 0, result.output
        outputs[backend] = RunDir.open(out).last_checkpoint()[1]
    assert RunDir.open(tmp_path / "lava").info()["tag"] == "floating_pt"
    for name, value in outputs["numpy"].items():
        np.testing.assert_allclose(outputs["lava"][name], value, rtol=0, atol=1e-9, err_msg=name)


def test_feature_sets_are_standardised_and_the_random_ones_have_the_learned_width():
    from dynaxx_neuro.datasets import prepare_splits
    from dynaxx_neuro.kernels import hebbian as hb
    from dynaxx_neuro.networks.hebbian_common import HebbianConfig, HebbianState
    from dynaxx_neuro.networks.hebbian_readout import FeatureSplits, feature_map
    data = prepare_splits("digits", None, 0.1, 0)
    config = HebbianConfig(hb.KHUParams(k=3), n_in=64, n_hidden=30, seed=4)
    state = HebbianState.initial(config)
    for name, width in (("hebbian", 30), ("pixels", 64), ("random", 30)):
        features = FeatureSplits.of(feature_map(name, config, state, 2.0), data)
        assert features.train.shape == (len(data.x_train), width)
        assert features.test.shape == (len(data.x_test), width)
        np.testing.assert_allclose(features.train.mean(axis=0), 0.0, atol=1e-9)
        spread = features.train.std(axis=0)
        np.testing.assert_allclose(spread[spread > 0], 1.0, atol=1e-9)  # constant pixels stay 0
    random_a = FeatureSplits.of(feature_map("random", config, state, 1.0), data).train
    random_b = FeatureSplits.of(feature_map("random", config, state, 1.0), data).train
    np.testing.assert_array_equal(random_a, random_b)  # fixed by the seed
    learned = FeatureSplits.of(feature_map("hebbian", config, state, 1.0), data).train
    assert not np.allclose(learned, random_a)


def test_an_activation_other_than_relu_adds_the_plain_random_relu_baseline(tmp_path):
    run = train_hebbian(rule="khu", hidden=20, backend="numpy", epochs=1, readout_epochs=1,
                        batch_size=50, feature_power=2.0, feature_inhibition=0.5,
                        out=tmp_path / "run", show_progress=False)
    assert set(run.read_table("baselines")["features"]) == {"pixels", "random", "random_relu"}
    final = run.info()["final_metrics"]
    assert final["random_relu_test_accuracy"] != final["random_test_accuracy"]
    metrics = evaluate_run(run.path)
    for key in ("test_accuracy", "random_test_accuracy", "random_relu_test_accuracy"):
        assert metrics[key] == pytest.approx(final[key], abs=1e-12), key


def test_zca_whitening_uses_the_training_statistics_and_has_the_closed_form_covariance():
    from dynaxx_neuro.datasets import Splits
    from dynaxx_neuro.networks.hebbian_common import whiten_inputs
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


def test_a_whitened_run_whitens_every_feature_set_and_evaluates_and_resumes_alike(tmp_path):
    whole = train_hebbian(rule="khu", hidden=20, backend="numpy", epochs=2, readout_epochs=2,
                          batch_size=50, feature_power=2.0, feature_inhibition=0.5,
                          zca_epsilon=0.1, out=tmp_path / "whole", show_progress=False)
    raw = train_hebbian(rule="khu", hidden=20, backend="numpy", epochs=2, readout_epochs=2,
                        batch_size=50, feature_power=2.0, feature_inhibition=0.5,
                        out=tmp_path / "raw", show_progress=False)
    assert whole.info()["zca_epsilon"] == 0.1 and raw.info()["zca_epsilon"] is None
    assert np.all(whole.read_table("metrics")["loss"] != raw.read_table("metrics")["loss"])
    baselines, raw_baselines = whole.read_table("baselines"), raw.read_table("baselines")
    np.testing.assert_array_equal(baselines["features"], raw_baselines["features"])
    assert np.all(baselines["loss"] != raw_baselines["loss"])  # every set reads whitened x
    final = whole.info()["final_metrics"]
    metrics = evaluate_run(whole.path)
    for key in ("test_accuracy", "pixels_test_accuracy", "random_relu_test_accuracy"):
        assert metrics[key] == pytest.approx(final[key], abs=1e-12), key
    part = _interrupt_after(whole, 0, tmp_path / "part")
    resume(part.path, show_progress=False)
    for name, value in whole.last_checkpoint()[1].items():
        np.testing.assert_allclose(part.last_checkpoint()[1][name], value, rtol=0, atol=1e-12,
                                   err_msg=name)
