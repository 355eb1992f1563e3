"""The `dynaxx` command and the example scripts, end to end with small settings."""

import re
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
    assert '"epoch": 2' in result.output
    result = _invoke(["plot", str(out), "--format", "svg"])
    assert result.exit_code == 0 and "energy_settling.svg" in result.output


def _one_error_line(result) -> str:
    """The one line of a refused command (exit status 2, no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--data", "mnist", "--data-dir", "/nonexistent/mnist"], "mnist data folder "
     "/nonexistent/mnist does not exist; download the four IDX files of MNIST into DIR and "
     "pass --data-dir DIR."),
    (["--data", "mnist"], "mnist has no default data folder; download the four IDX files of "
     "MNIST into DIR and pass --data-dir DIR."),
    (["--beta", "0"], "--beta must be a finite number > 0, got 0.0."),
    (["--eps", "1.5"], "--eps must be a finite number in (0, 1], got 1.5."),
    (["--t-free", "0"], "--t-free must be an integer >= 1, got 0."),
    (["--hidden", "0"], "--hidden must be a comma-separated list of 1 or more item*, each an "
     "integer >= 1, got '0'."),
    (["--hidden", "a,b"], "--hidden must be a comma-separated list of 1 or more item*, each "
     "an integer >= 1, got 'a,b'."),
    (["--epochs", "-1"], "--epochs must be an integer >= 0 (or unset), got -1."),
    (["--lrs", "-0.1,0.1"], "--lrs must be a comma-separated list of 1 or more item*, each a "
     "finite number >= 0 (or unset), got '-0.1,0.1'."),
    (["--lrs", "0.1"], "--lrs must hold 2 rates (one per weight layer), got 1."),
    (["--validation", "1"], "--validation must be a finite number in [0, 1), got 1.0."),
])
def test_bad_input_is_one_sentence_and_a_nonzero_exit(tmp_path, args, message):
    result = _invoke(["train", "ep", "--out", str(tmp_path / "run"), *SMALL, *args])
    line = _one_error_line(result)
    # "item*" stands for "item" or "items".
    assert re.fullmatch(re.escape("error: " + message).replace("item\\*", "items?"), line), line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, words", [
    (["--data", "cifar"], ("--data", "'cifar'", "digits", "fashion-mnist", "mnist")),
    (["--backend", "gpu"], ("--backend", "'gpu'", "lava", "numpy")),
])
def test_a_value_outside_an_options_choices_is_one_sentence(tmp_path, args, words):
    result = _invoke(["train", "ep", "--out", str(tmp_path / "run"), *SMALL, *args])
    line = _one_error_line(result)
    assert all(word in line for word in words), line
    assert not (tmp_path / "run").exists()


def test_resume_refuses_a_folder_that_is_not_a_run():
    line = _one_error_line(_invoke(["train", "ep", "--resume", "/nonexistent/run",
                                    "--no-progress"]))
    assert line == ("error: run '/nonexistent/run' is not a run folder (it has no run.json); "
                    "pass a folder written by `dynaxx train`.")


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


def test_example_ep_loihi_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ep_loihi_digits.py", "--epochs", "1", "--backend",
                                      "numpy-fixed", "--train-samples", "40",
                                      "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "ep_loihi_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "final metrics" in out and "energy per training sample" in out
    assert (tmp_path / "run" / "plots" / "onchip_energy.png").exists()


def test_example_hebbian_loihi_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["hebbian_loihi_digits.py", "--epochs", "1",
                                      "--train-samples", "40", "--readout-epochs", "2",
                                      "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "hebbian_loihi_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "readout on hebbian features" in out and "readout on random features" in out
    assert (tmp_path / "run" / "plots" / "weights.png").exists()


def test_example_ff_loihi_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ff_loihi_digits.py", "--epochs", "1", "--train-samples",
                                      "30", "--hidden", "12,8", "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "ff_loihi_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "final metrics" in out and "energy per training sample" in out
    assert (tmp_path / "run" / "plots" / "onchip_energy.png").exists()


def test_the_backend_or_graph_option_picks_eps_graph_and_foreign_options_are_refused(tmp_path):
    out = tmp_path / "run"
    small = ["--epochs", "1", "--hidden", "8", "--t-free", "3", "--t-nudge", "1",
             "--train-samples", "20", "--no-plots", "--no-progress"]
    result = _invoke(["train", "ep", "--backend", "numpy-fixed", "--out", str(out), *small])
    assert result.exit_code == 0, result.output
    from dynaxx_neuro.records import RunDir
    assert RunDir.open(out).info()["graph"] == "loihi"
    from dynaxx_neuro.backends import lava_available
    refusals = [
            (["--graph", "rate", "--backend", "numpy-fixed"],
             "--backend numpy-fixed is not a back end of the rate graph; it has lava, numpy."),
            (["--backend", "numpy-fixed", "--momentum", "0.5"],
             "--momentum is not an option of the loihi graph of ep."),
            (["--graph", "loihi", "--backend", "numpy-fixed", "--lr-shift", "20"],
             "it can scale by 2^0 .. 2^13")]
    if lava_available():   # elsewhere lava-fixed is refused for the missing Lava first
        refusals.append((["--backend", "lava-fixed", "--weight-bits", "6"],
                         "--weight-bits 6 runs on numpy-fixed only; Lava's learning engine "
                         "holds 8-bit weights."))
    for argv, words in refusals:
        result = _invoke(["train", "ep", "--out", str(tmp_path / "refused"), *argv])
        assert result.exit_code == 2, (argv, result.output)
        assert words in result.output and "Traceback" not in result.output
        assert not (tmp_path / "refused").exists()
    help_text = _invoke(["train", "ep", "--help"]).output
    assert "rate: lava, numpy; loihi: lava-fixed, numpy-fixed, lava" in " ".join(help_text.split())
