"""The `dynaxx` command and the example scripts, end to end with small settings."""

import runpy
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dynaxx_neuro.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = ["--backend", "numpy", "--epochs", "1", "--hidden", "16", "--t-free", "5",
         "--t-nudge", "2", "--no-progress"]


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_train_eval_plot_and_resume_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["train", "ep", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    assert "test_accuracy" in result.output
    assert (out / "plots" / "learning_curves.png").stat().st_size > 0
    result = _invoke(["eval", str(out)])
    assert result.exit_code == 0 and '"test_accuracy"' in result.output
    result = _invoke(["train", "ep", "--resume", str(out), "--epochs", "2", "--no-plots",
                      "--no-progress"])
    assert result.exit_code == 0, result.output
    assert '"epoch": 1' in result.output
    result = _invoke(["plot", str(out), "--format", "svg"])
    assert result.exit_code == 0 and "energy_settling.svg" in result.output


@pytest.mark.parametrize("args, words", [
    (["--data", "cifar"], "unknown dataset 'cifar'"),
    (["--data", "mnist", "--data-dir", "/nonexistent/mnist"], "/nonexistent/mnist"),
    (["--data", "mnist"], "--data-dir"),
    (["--beta", "0"], "beta must be"),
    (["--eps", "1.5"], "eps must be in (0, 1]"),
    (["--hidden", "0"], "hidden size"),
    (["--hidden", "a,b"], "hidden must be"),
    (["--epochs", "-1"], "epochs must be"),
    (["--lrs", "-0.1,0.1"], "learning rates"),
    (["--backend", "gpu"], "backend must be one of"),
    (["--resume", "/nonexistent/run"], "not a run folder"),
])
def test_bad_input_is_one_sentence_and_a_nonzero_exit(tmp_path, args, words):
    result = _invoke(["train", "ep", "--out", str(tmp_path / "run"), *SMALL, *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert "Traceback" not in result.output


def test_eval_and_plot_refuse_a_folder_that_is_not_a_run(tmp_path):
    for command in ("eval", "plot"):
        result = _invoke([command, str(tmp_path)])
        assert result.exit_code == 2 and "not a run folder" in result.output


def test_example_ep_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ep_digits.py", "--epochs", "1", "--backend", "numpy",
                                      "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "ep_digits.py"), run_name="__main__")
    assert "final metrics" in capsys.readouterr().out
    assert (tmp_path / "run" / "plots" / "energy_settling.png").exists()


@pytest.mark.lava
def test_train_on_the_lava_backend_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    lava_small = [arg if arg != "numpy" else "lava" for arg in SMALL]
    result = _invoke(["train", "ep", "--out", str(out), *lava_small, "--no-plots"])
    assert result.exit_code == 0, result.output
    from dynaxx_neuro.records import RunDir
    run = RunDir.open(out)
    assert run.info()["backend"] == "lava" and run.info()["tag"] == "floating_pt"
    assert run.read_table("energy")["F"].size > 0
    # The Lava-trained checkpoint evaluates to the same accuracy on the numpy back end.
    lava_eval = _invoke(["eval", str(out)]).output
    numpy_eval = _invoke(["eval", str(out), "--backend", "numpy"]).output
    assert lava_eval.replace('"lava"', '"numpy"') == numpy_eval
