"""Stale folders, resumes, damaged files and diverging runs through the CLI (issue
"Reliability"): each case fails with one sentence or goes on saying what it did, never a
traceback. EP on the numpy back end with small settings; the conformance suite runs the
cases that apply to every rule over the registry, the Lava signal cases are in
tests/test_interrupts.py."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro.cli import main

SMALL = ["--data", "digits", "--backend", "numpy", "--hidden", "16", "--t-free", "5",
         "--t-nudge", "2", "--no-progress", "--no-plots"]


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _refused(result, *words) -> str:
    """The one error line of a refused command (exit 2, nothing on stdout)."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    """A finished two-epoch EP run (copied by the tests that change it)."""
    out = tmp_path_factory.mktemp("runs") / "ep"
    result = _invoke(["train", "ep", *SMALL, "--epochs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def _copy(run, tmp_path):
    import shutil
    return shutil.copytree(run, tmp_path / "copy")


# stale --out folders -----------------------------------------------------------------------

def test_a_new_run_refuses_a_folder_with_a_stray_checkpoint(two_epochs, tmp_path):
    out = tmp_path / "stale"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "epoch-00004.npz").write_bytes(
        (two_epochs / "checkpoints" / "epoch-00002.npz").read_bytes())
    _refused(_invoke(["train", "ep", *SMALL, "--epochs", "6", "--seed", "5", "--out", str(out)]),
             str(out), "not empty", "checkpoints")
    assert sorted(p.name for p in out.rglob("*")) == ["checkpoints", "epoch-00004.npz"]


def test_a_new_run_refuses_a_folder_with_other_files_and_starts_in_an_empty_one(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    _refused(_invoke(["train", "ep", *SMALL, "--epochs", "1", "--out", str(tmp_path / "busy")]),
             "notes.txt", "new or empty folder")
    (tmp_path / "empty").mkdir()
    result = _invoke(["train", "ep", *SMALL, "--epochs", "1", "--out", str(tmp_path / "empty")])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout[result.stdout.index("{"):])["epoch"] == 1


# resume -------------------------------------------------------------------------------------

def test_resume_refuses_options_that_cannot_change_naming_them(two_epochs):
    before = (two_epochs / "run.json").read_text()
    _refused(_invoke(["train", "ep", "--resume", str(two_epochs), "--out", "/proc/zzz"]),
             "--out", "--resume")
    line = _refused(_invoke(["train", "ep", "--resume", str(two_epochs), "--hidden", "100",
                             "--lrs", "99"]), "--hidden", "--lrs", "cannot change")
    assert "--epochs" in line and "divergence" in line  # says what can change
    _refused(_invoke(["train", "ep", "--resume", str(two_epochs), "--epochs", "1"]),
             "--epochs", "2 epochs")
    assert (two_epochs / "run.json").read_text() == before  # nothing rewritten


def test_resume_refuses_a_back_end_the_state_does_not_transfer_to(tmp_path):
    out = tmp_path / "fixed"
    result = _invoke(["train", "ep", "--graph", "loihi", "--backend", "numpy-fixed",
                      "--data", "digits", "--hidden", "8", "--train-samples", "20",
                      "--epochs", "1", "--no-progress", "--no-plots", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    _refused(_invoke(["train", "ep", "--resume", str(out), "--backend", "lava"]),
             "--backend", "lava-fixed")


def test_resume_applies_the_epochs_and_records_its_history(two_epochs, tmp_path):
    run = _copy(two_epochs, tmp_path)
    result = _invoke(["train", "ep", "--resume", str(run), "--epochs", "3", "--no-plots",
                      "--no-progress"])
    assert result.exit_code == 0, result.stderr
    info = json.loads((run / "run.json").read_text())
    assert info["epochs"] == 3 and info["final_metrics"]["epoch"] == 3
    (entry,) = info["resumes"]
    assert entry["from_epoch"] == 2 and entry["changed"] == {"--epochs": [2, 3]}


def test_a_diverged_run_resumes_with_a_smaller_learning_rate(tmp_path):
    out = tmp_path / "wild"
    result = _invoke(["train", "ep", *SMALL, "--epochs", "2", "--lrs", "1e300,1e300",
                      "--out", str(out)])
    assert result.exit_code == 1, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "diverged in epoch 1" in line and "beyond 1e+06" in line
    assert "no epoch had finished, so there is no checkpoint" in line
    result = _invoke(["train", "ep", "--resume", str(out), "--lrs", "0.1,0.05", "--no-plots",
                      "--no-progress"])
    assert result.exit_code == 0, result.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["final_metrics"]["test_accuracy"] > 0.3 and "diverged" not in info
    (entry,) = info["resumes"]
    assert entry["changed"] == {"--lrs": [[1e300, 1e300], [0.1, 0.05]]}
    assert entry["diverged"]["epoch"] == 1


# damaged files --------------------------------------------------------------------------

def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif how == "pickled":
        np.savez(path.with_suffix(""), w0=np.array([object()], dtype=object))
    elif how == "missing key":
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files if k != "w0"}
        np.savez(path.with_suffix(""), **arrays)
    elif how == "other network":
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["w0"] = np.zeros((32, 64))
        np.savez(path.with_suffix(""), **arrays)


DAMAGE = {"truncated": "damaged (truncated", "empty": "empty (0 bytes)",
          "random": "not an npz archive", "pickled": "pickled objects",
          "missing key": "lacks w0", "other network": "another network"}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_damaged_last_checkpoint_is_named_and_eval_falls_back(two_epochs, tmp_path, how):
    run = _copy(two_epochs, tmp_path)
    _damage(run / "checkpoints" / "epoch-00002.npz", how)
    result = _invoke(["eval", str(run)])
    assert result.exit_code == 0, result.stderr
    (warning,) = result.stderr.strip().splitlines()
    assert warning.startswith("warning: ") and "epoch-00002.npz" in warning, warning
    assert DAMAGE[how] in warning and "using epoch-00001.npz" in warning, warning
    assert json.loads(result.stdout)["epoch"] == 1


def test_resume_falls_back_to_the_last_good_checkpoint(two_epochs, tmp_path):
    run = _copy(two_epochs, tmp_path)
    _damage(run / "checkpoints" / "epoch-00002.npz", "truncated")
    result = _invoke(["train", "ep", "--resume", str(run), "--no-plots", "--no-progress"])
    assert result.exit_code == 0, result.stderr
    assert "using epoch-00001.npz" in result.stderr
    with np.load(run / "checkpoints" / "epoch-00002.npz") as npz:  # epoch 2 trained again
        assert "w0" in npz.files


def test_when_no_checkpoint_loads_eval_and_plot_say_which_and_why(two_epochs, tmp_path):
    run = _copy(two_epochs, tmp_path)
    for name in ("epoch-00001.npz", "epoch-00002.npz"):
        _damage(run / "checkpoints" / name, "empty")
    _refused(_invoke(["eval", str(run)]), "epoch-00002.npz", "empty", "none of the 1 older")
    _refused(_invoke(["plot", str(run)]), "epoch-00002.npz", "empty")


def test_plot_warns_about_a_damaged_checkpoint_and_draws_from_the_one_before(two_epochs,
                                                                              tmp_path):
    run = _copy(two_epochs, tmp_path)
    _damage(run / "checkpoints" / "epoch-00002.npz", "random")
    result = _invoke(["plot", str(run)])
    assert result.exit_code == 0, result.stderr
    assert "epoch-00002.npz" in result.stderr and "using epoch-00001.npz" in result.stderr


def test_a_truncated_run_json_is_named(two_epochs, tmp_path):
    run = _copy(two_epochs, tmp_path)
    text = (run / "run.json").read_text()
    (run / "run.json").write_text(text[:len(text) // 2])
    for command in (["eval", str(run)], ["plot", str(run)], ["report", str(run)],
                    ["train", "ep", "--resume", str(run)]):
        _refused(_invoke(command), "run.json", "damaged")


# what the outputs say ------------------------------------------------------------------------

def test_epochs_are_numbered_from_one_in_progress_metrics_eval_and_files(two_epochs):
    info = json.loads((two_epochs / "run.json").read_text())
    assert info["final_metrics"]["epoch"] == 2
    assert json.loads(_invoke(["eval", str(two_epochs)]).stdout)["epoch"] == 2
    assert sorted(p.name for p in (two_epochs / "checkpoints").iterdir()) == [
        "epoch-00001.npz", "epoch-00002.npz"]
    from dynaxx_neuro.records import RunDir
    assert sorted(set(RunDir.open(two_epochs).read_table("metrics")["epoch"])) == [1, 2]
