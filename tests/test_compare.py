"""Tests for dynaxx_neuro.analysis.compare and `dynaxx compare`: overlaid learning curves
and the final-metrics table of several runs, all written under tmp_path."""

import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from dynaxx_neuro.analysis.compare import compare_runs, format_table, run_labels
from dynaxx_neuro.cli import main
from dynaxx_neuro.records import RunDir
from test_plots import PNG_MAGIC, make_run


def test_compare_runs_overlays_and_tabulates(tmp_path):
    make_run(tmp_path / "short", epochs=1, energy=False, info={"dataset": "digits"})
    make_run(tmp_path / "long", epochs=3, energy=False, info={"dataset": "digits"})
    path, rows = compare_runs([tmp_path / "short", tmp_path / "long"],
                              tmp_path / "out" / "cmp.png")
    assert path.read_bytes()[:8] == PNG_MAGIC and imread(path).shape[1] > 1000
    assert [row["run"] for row in rows] == ["short", "long"]
    assert [row["epochs"] for row in rows] == [1, 3]
    assert rows[1]["test_accuracy"] == pytest.approx(0.6)  # 0.4 + 0.1 per epoch
    assert rows[1]["train_accuracy"] == pytest.approx(0.7)
    assert rows[1]["test_loss"] == pytest.approx(1.2 / 3)
    assert rows[0]["rule"] == "ep" and rows[0]["dataset"] == "digits"
    table = format_table(rows).splitlines()
    assert table[0].startswith("| run | rule | dataset |") and len(table) == 4
    assert "| long | ep | digits | ? | 3 | 0.7 | 0.65 | 0.6 |" in table[3]


def test_run_labels_tell_same_names_apart(tmp_path):
    paths = [tmp_path / "a" / "run", tmp_path / "b" / "run", tmp_path / "c" / "other"]
    assert run_labels(paths) == ["a/run", "b/run", "other"]


def test_compare_runs_refuses_bad_input(tmp_path):
    make_run(tmp_path / "run", epochs=1, energy=False)
    with pytest.raises(ValueError, match="at least one run"):
        compare_runs([], tmp_path / "c.png")
    with pytest.raises(ValueError, match="split must be one of"):
        compare_runs([tmp_path / "run"], tmp_path / "c.png", split="dev")
    with pytest.raises(ValueError, match="out must end in a figure format"):
        compare_runs([tmp_path / "run"], tmp_path / "c.txt")
    RunDir.create(tmp_path / "empty", "t", {"rule": "ep"})
    with pytest.raises(ValueError, match="no metrics table"):
        compare_runs([tmp_path / "run", tmp_path / "empty"], tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_compare_command(tmp_path):
    for name, epochs in (("one", 1), ("two", 2)):
        make_run(tmp_path / name, epochs=epochs, energy=False)
    out = tmp_path / "cmp.svg"
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "one"), str(tmp_path / "two"),
                                       "--out", str(out), "--split", "val"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[2].startswith("| one |") and lines[3].startswith("| two |")
    assert lines[-1] == f"wrote {out}" and "<svg" in out.read_text()
    bad = CliRunner().invoke(main, ["compare", str(tmp_path / "one"), str(tmp_path / "x")])
    assert bad.exit_code == 2 and bad.output.startswith("error: ")
    assert "not a run folder" in bad.output
