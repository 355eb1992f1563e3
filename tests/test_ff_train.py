"""Forward-forward training end to end on the numpy back end: the run folder and its
monitoring tables, resume, schedules, warnings, the command line and the example."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro import train
from dynaxx_neuro.cli import main
from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.networks.ff_numpy import FFNumpyRunner
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.registry import bind_data
from dynaxx_neuro.rules.ff import FFConfig, FFParameters
from dynaxx_neuro.train import RunSettings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = dict(hidden=(24, 16), batch_size=100)
SMALL_CLI = ["--backend", "numpy", "--epochs", "1", "--hidden", "24,16", "--no-progress"]


def _train(tmp_path, name: str, epochs: int, **config):
    return train.train(FFConfig(**{**SMALL, **config}),
                       RunSettings(dataset="digits", backend="numpy", epochs=epochs),
                       tmp_path / name, show_progress=False)


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_a_run_folder_holds_metrics_monitors_predictions_and_checkpoints(tmp_path):
    run = _train(tmp_path, "run", 2, negatives=ff.FFNegatives(("wrong-label",)))
    info = run.info()
    assert info["rule"] == "ff" and info["config"]["hidden"] == [24, 16]
    final = info["final_metrics"]
    assert 0.3 < final["test_accuracy"] <= 1.0  # chance is 0.1
    # The reported prediction is the softmax readout's (digits); both are in the metrics.
    assert final["test_accuracy"] == final["test_accuracy_softmax"]
    layers = run.read_table("ff_layers")
    assert list(layers["epoch"]) == [1, 1, 2, 2] and list(layers["layer"]) == [0, 1, 0, 1]
    for name in ("g_pos", "g_neg", "p_pos", "p_neg", "g_ratio", "update_norm", "act_var",
                 "dead_fraction"):
        assert np.isfinite(layers[name]).all(), name
    np.testing.assert_allclose(layers["g_ratio"], layers["g_pos"] / layers["g_neg"])
    assert np.all(layers["update_norm"] > 0)
    assert np.all((layers["p_pos"] > 0) & (layers["p_pos"] < 1))
    # Every layer's own loss falls from the first epoch to the second.
    assert np.all(layers["loss"][2:] < layers["loss"][:2])
    predictions = run.read_table("ff_predictions")
    assert set(zip(predictions["split"], predictions["method"])) == {
        ("val", "softmax"), ("val", "goodness"), ("test", "softmax"), ("test", "goodness")}
    metrics = run.read_table("metrics")
    test_softmax = predictions["accuracy"][(predictions["split"] == "test")
                                           & (predictions["method"] == "softmax")]
    np.testing.assert_allclose(metrics["accuracy"][metrics["split"] == "test"], test_softmax)
    for split in ("val", "test"):
        for method in ("softmax", "goodness"):
            last = ((predictions["epoch"] == 2) & (predictions["split"] == split)
                    & (predictions["method"] == method))
            assert final[f"{split}_accuracy_{method}"] == predictions["accuracy"][last][0]
    # The goodness table: every sample of the last training batch, per layer, epoch, kind.
    goodness = run.read_table("goodness")
    for epoch in (1, 2):
        for layer in (0, 1):
            for kind in ("positive", "negative"):
                rows = ((goodness["epoch"] == epoch) & (goodness["layer"] == layer)
                        & (goodness["kind"] == kind))
                assert rows.sum() == 100
    assert np.all(goodness["goodness"] >= 0)
    # After two epochs the positives of the top layer have more goodness than the negatives.
    top = (goodness["epoch"] == 2) & (goodness["layer"] == 1)
    assert (goodness["goodness"][top & (goodness["kind"] == "positive")].mean()
            > goodness["goodness"][top & (goodness["kind"] == "negative")].mean())
    assert run.last_checkpoint()[0] == 1  # the index of epoch 2
    assert info["final_metrics"]["epoch"] == 2


def test_the_goodness_prediction_is_reported_when_asked(tmp_path):
    final = _train(tmp_path, "run", 1, predict="goodness").info()["final_metrics"]
    assert final["test_accuracy"] == final["test_accuracy_goodness"]
    assert "test_accuracy_softmax" in final


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    whole = _train(tmp_path, "whole", 2)
    part = _train(tmp_path, "part", 1)
    train.resume(part.path, {"epochs": 2}, show_progress=False)
    epoch_whole, arrays_whole = whole.last_checkpoint()
    epoch_part, arrays_part = RunDir.open(part.path).last_checkpoint()
    assert epoch_whole == epoch_part == 1
    for name, value in arrays_whole.items():
        np.testing.assert_array_equal(arrays_part[name], value)


def test_the_sequential_schedule_trains_one_layer_at_a_time():
    data = prepare_splits("digits", None, 0.1, 0)
    config = bind_data(FFConfig(hidden=(12, 8), lrs=(0.01, 0.01),
                                schedule=ff.FFSchedule("sequential", epochs_per_layer=1),
                                negatives=ff.FFNegatives(("wrong-label",)), batch_size=100),
                       data)
    runner = FFNumpyRunner(config, data, FFParameters.initial(config, np.random.default_rng(0)),
                           Launch(0))
    before = runner.parameters().to_arrays()
    runner.run_epoch(0)
    after_first = runner.parameters().to_arrays()
    assert not np.allclose(after_first["layer0_w"], before["layer0_w"])
    np.testing.assert_array_equal(after_first["layer1_w"], before["layer1_w"])
    runner.run_epoch(1)
    after_second = runner.parameters().to_arrays()
    np.testing.assert_array_equal(after_second["layer0_w"], after_first["layer0_w"])
    assert not np.allclose(after_second["layer1_w"], after_first["layer1_w"])


@pytest.mark.parametrize("negatives", ["noise", "permutation", "hybrid", "hybrid,wrong-label"])
def test_every_negative_strategy_trains(tmp_path, negatives):
    run = _train(tmp_path, "run", 1, negatives=ff.FFNegatives(tuple(negatives.split(","))))
    assert run.info()["final_metrics"]["test_accuracy"] > 0.1


def test_train_eval_and_resume_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "ff", "--out", str(out), *SMALL_CLI, "--schedule", "hybrid",
                      "--epochs-per-layer", "1", "--optimizer", "sgd", "--lrs", "0.05,0.05",
                      "--predict", "goodness", "--dropout", "0.1", "--goodness", "mean",
                      "--theta", "0.5"])
    assert result.exit_code == 0, result.output
    assert "test_accuracy" in result.output
    assert (out / "plots" / "learning_curves.png").stat().st_size > 0
    assert (out / "plots" / "goodness.png").stat().st_size > 0
    config = RunDir.open(out).info()["config"]
    assert config["goodness"]["measure"] == "mean" and config["optimizer"]["method"] == "sgd"
    result = _invoke(["eval", str(out)])
    assert result.exit_code == 0 and '"test_accuracy_softmax"' in result.output
    result = _invoke(["train", "ff", "--resume", str(out), "--epochs", "2", "--no-plots",
                      "--no-progress"])
    assert result.exit_code == 0, result.output
    assert '"epoch": 2' in result.output  # the second epoch, numbered from 1


def test_help_shows_the_fashion_mnist_settings():
    # One line per option however click wraps the help (it breaks lines after hyphens).
    text = " ".join(_invoke(["train", "ff", "--help"]).output.split()).replace("- ", "-")
    # benchmarks/ff_fashion.py: batch 100, 10 epochs, the goodness prediction is the better.
    assert "[fashion-mnist: goodness]" in text and "[fashion-mnist: 100]" in text
    assert "[fashion-mnist: 10]" in text
    assert "--backend [lava|numpy|lava-fixed|numpy-fixed]" in text  # the Loihi graph's too


def test_collapsed_goodness_is_logged(tmp_path):
    out = tmp_path / "run"
    # Frozen layers (rate 0) never tell a wrong label from the right one.
    result = _invoke(["train", "ff", "--out", str(out), *SMALL_CLI, "--lrs", "0,0",
                      "--negatives", "wrong-label", "--no-plots"])
    assert result.exit_code == 0, result.output
    warnings = RunDir.open(out).read_table("ff_warnings")
    assert warnings["layer"].tolist() == [0, 1]
    assert str(warnings["message"][0]).startswith(
        "epoch 1, layer 0: positive and negative goodness collapse")
    assert "warning: epoch 1, layer 0: positive and negative goodness collapse" in result.output


@pytest.mark.parametrize("args, words", [
    (["--theta", "0"], "--theta must be a finite number > 0, got 0.0."),
    (["--negative-ratio", "1.5"], "--negative-ratio must be a finite number in [0, 1]"),
    (["--negatives", "shuffle"], "--negatives must be a comma-separated list of 1 to 2"),
    (["--negatives", "noise,hard,hybrid"], "got 'noise,hard,hybrid'."),
    (["--dropout", "1"], "--dropout must be a finite number in [0, 1)"),
    (["--lrs", "0.1"], "--lrs must hold 2 rates (one per layer), got 1."),
    (["--hidden", "24,x"], "--hidden must be a comma-separated list"),
    (["--label-scale", "-1"], "--label-scale must be a finite number > 0, got -1.0."),
])
def test_bad_input_is_one_sentence_and_a_nonzero_exit(tmp_path, args, words):
    result = _invoke(["train", "ff", "--out", str(tmp_path / "run"), *SMALL_CLI, *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args", [["--schedule", "greedy"], ["--optimizer", "rmsprop"],
                                  ["--predict", "vote"], ["--goodness", "max"],
                                  ["--backend", "loihi2"]])
def test_a_choice_outside_the_rule_is_refused(tmp_path, args):
    result = _invoke(["train", "ff", "--out", str(tmp_path / "run"), *SMALL_CLI, *args])
    assert result.exit_code == 2 and f"Invalid value for '{args[0]}'" in result.output
    assert not (tmp_path / "run").exists()


def test_example_ff_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ff_digits.py", "--epochs", "1", "--hidden", "32",
                                      "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "ff_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "final metrics" in out and "goodness" in out
    assert (tmp_path / "run" / "plots" / "learning_curves.png").exists()


@pytest.mark.lava
def test_train_on_the_lava_backend_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "ff", "--out", str(out), "--backend", "lava", "--epochs", "1",
                      "--hidden", "8", "--negatives", "wrong-label", "--validation", "0.05",
                      "--batch-size", "200", "--no-plots", "--no-progress"])
    assert result.exit_code == 0, result.output
    run = RunDir.open(out)
    assert run.info()["backend"] == "lava" and run.info()["tag"] == "floating_pt"
    assert set(run.read_table("goodness")["kind"]) == {"positive", "negative"}
    # The Lava-trained checkpoint evaluates to the same accuracy on the numpy back end.
    lava_eval = _invoke(["eval", str(out)]).output
    numpy_eval = _invoke(["eval", str(out), "--backend", "numpy"]).output
    assert lava_eval.replace('"lava"', '"numpy"') == numpy_eval
