"""`dynaxx train stdp`, its bad input, and examples/stdp_digits.py, with small settings."""

import runpy
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dynaxx_neuro.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = ["--epochs", "1", "--neurons", "8", "--n-train", "20", "--n-test", "10",
         "--t-present", "8", "--t-rest", "2", "--t-present-eval", "8", "--t-rest-eval", "2",
         "--input-rate", "8", "--normalise-every", "10", "--no-progress"]


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.mark.parametrize("args, words", [
    (["--tau-pre", "0"], "--tau-pre must be"),
    (["--tau-post", "-3"], "--tau-post must be"),
    (["--a-plus", "-0.1"], "--a-plus must be"),
    (["--w-max", "0"], "--w-max must be"),
    (["--w-sum", "1000"], "--w-sum must be at most"),
    (["--input-rate", "0"], "--input-rate must be"),
    (["--t-present-eval", "0"], "--t-present-eval must be"),
    (["--input-rate-eval", "-1"], "--input-rate-eval must be"),
    (["--delta-v", "2"], "--delta-v must be a finite number in (0, 1]"),
    (["--theta-0", "-1"], "--theta-0 must be"),
    (["--neurons", "1"], "--neurons must be"),
    (["--n-train", "-5"], "--n-train must be"),
])
def test_bad_input_is_one_sentence_and_a_nonzero_exit(tmp_path, args, words):
    # numpy, so the bad option (not a missing lava-nc on Python 3.12) is what is refused.
    result = _invoke(["train", "stdp", "--out", str(tmp_path / "run"), "--backend", "numpy",
                      *SMALL, *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args", [["--backend", "brian2"], ["--vote", "best"]])
def test_a_choice_outside_the_rule_is_refused(tmp_path, args):
    result = _invoke(["train", "stdp", "--out", str(tmp_path / "run"), *SMALL, *args])
    assert result.exit_code == 2 and f"Invalid value for '{args[0]}'" in result.output
    assert not (tmp_path / "run").exists()


def test_fashion_mnist_defaults_are_the_benchmarked_subset():
    result = CliRunner().invoke(main, ["train", "stdp", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "fashion-mnist: 1000" in result.output and "fashion-mnist: 50.0" in result.output


@pytest.mark.lava
def test_train_resume_and_eval_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "stdp", "--out", str(out), *SMALL, "--backend", "lava-fixed"])
    assert result.exit_code == 0, result.output
    assert "test_accuracy" in result.output
    for plot in ("learning_curves", "spikes", "onchip_energy", "weights"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 0
    from dynaxx_neuro.records import RunDir
    run = RunDir.open(out)
    assert run.info()["tag"] == "fixed_pt"
    assert set(run.read_table("spikes")["layer"]) == {"input", "excitatory"}
    assert run.read_table("ops")["synaptic_ops"].sum() > 0
    result = _invoke(["train", "stdp", "--resume", str(out), "--epochs", "2", "--no-plots",
                      "--no-progress"])
    assert result.exit_code == 0 and '"epoch": 2' in result.output  # numbered from 1
    result = _invoke(["eval", str(out), "--backend", "lava"])
    assert result.exit_code == 0 and '"backend": "lava"' in result.output


@pytest.mark.lava
def test_example_stdp_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["stdp_digits.py", "--n-train", "20", "--n-test", "10",
                                      "--neurons", "8", "--t-present", "8",
                                      "--t-present-eval", "8",
                                      "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "stdp_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "final metrics" in out and "ms per sample" in out
    assert (tmp_path / "run" / "plots" / "spikes.png").exists()


def test_numpy_back_end_trains_and_evaluates_without_lava(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "stdp", "--out", str(out), *SMALL, "--backend", "numpy",
                      "--no-plots"])
    assert result.exit_code == 0, result.output
    from dynaxx_neuro.records import RunDir
    info = RunDir.open(out).info()
    assert info["tag"] == "numpy"
    result = _invoke(["eval", str(out)])
    assert result.exit_code == 0 and '"backend": "numpy"' in result.output
    # The read-out pass draws the same input spikes again: the same test accuracy.
    assert f'"test_accuracy": {info["final_metrics"]["test_accuracy"]}' in result.output
