"""Tests for dynaxx_neuro.analysis.report: the self-contained report.html of a run, its
tables and embedded figures, the `dynaxx report` command, and (where Debian's chromium is
installed) the page as a headless browser renders it."""

import base64
import io
import re
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from dynaxx_neuro.analysis.report import REPORT, flatten, html_table, write_report
from dynaxx_neuro.cli import main
from test_plots import PNG_MAGIC, make_full_run, make_run, train_tiny_ep

IMG = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')
CHROMIUM = shutil.which("chromium")
VERMILLION = np.array([0xD5, 0x5E, 0x00]) / 255
"""Okabe-Ito vermillion: the test-split curve of the first figure; the page's CSS has none."""


def embedded_images(text):
    """(alt, decoded PNG bytes) of every embedded figure of a report."""
    return [(alt, base64.b64decode(data)) for alt, data in IMG.findall(text)]


def test_flatten_and_html_table_escape():
    assert flatten({"a": {"b": 1, "c": {"d": [2, 3]}}, "e": "x"}) == {
        "a.b": 1, "a.c.d": [2, 3], "e": "x"}
    table = html_table(["key", "value"], [["<b>", 0.123456], ["n", 7], ["l", [1, 2]]])
    assert "&lt;b&gt;" in table and "<b>" not in table
    assert '<td class="num">0.1235</td>' in table and '<td class="num">7</td>' in table
    assert "<td>[1, 2]</td>" in table


def test_report_embeds_every_figure_as_a_valid_png(tmp_path):
    run = make_full_run(tmp_path / "run")
    run.update_info(final_metrics={"test_accuracy": 0.6, "epoch": 2},
                    note="<script>alert(1)</script>")
    path = write_report(tmp_path / "run")
    assert path == tmp_path / "run" / REPORT
    text = path.read_text(encoding="utf-8")
    images = embedded_images(text)
    assert [alt for alt, _ in images] == ["Learning curves", "Energy during settling",
                                          "Forward-forward goodness", "Spikes", "Weights",
                                          "On-chip energy"]
    for _, png in images:
        assert png[:8] == PNG_MAGIC
        pixels = imread(io.BytesIO(png))
        assert pixels.shape[0] > 300 and pixels.shape[1] > 500
        assert pixels[..., :3].std() > 0.05  # not a blank image
    # self-contained: no file, network or script is fetched
    assert not re.search(r'(src|href)="(?!data:)', text) and "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<td>final_metrics.test_accuracy</td>" not in text  # final metrics have their table
    assert "<h2>Final metrics</h2>" in text and "Unfinished" not in text  # epoch 2 of 2
    assert "<td>test_accuracy</td><td class=\"num\">0.6</td>" in text
    assert "<td>rule</td><td>ff</td>" in text  # the configuration table
    assert text.count("<tr>") >= 2 * 3 + 1  # metrics per epoch: 2 epochs x 3 splits


def test_report_metrics_rows_in_epoch_and_split_order(tmp_path):
    make_run(tmp_path / "run", epochs=2, energy=False)
    text = write_report(tmp_path / "run").read_text()
    assert "<th>epoch</th><th>split</th>" in text  # the stored epoch numbers, from 1
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>(\w+)</td><td class="num">([\d.]+)',
                      text)
    assert rows == [("1", "train", "0.5"), ("1", "val", "0.45"), ("1", "test", "0.4"),
                    ("2", "train", "0.6"), ("2", "val", "0.55"), ("2", "test", "0.5")]


def test_report_command(tmp_path):
    train_tiny_ep(tmp_path / "run")
    result = CliRunner().invoke(main, ["report", str(tmp_path / "run"), "--sample", "2"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {tmp_path / 'run' / REPORT}"
    text = (tmp_path / "run" / REPORT).read_text()
    alts = [alt for alt, _ in embedded_images(text)]
    assert alts == ["Learning curves", "Energy during settling", "Layer activity", "Weights",
                    "Energy landscape", "Linear probes", "Confusion matrix", "On-chip energy"]
    assert "<td>config.schedule.t_free</td><td class=\"num\">5</td>" in text
    bad = CliRunner().invoke(main, ["report", str(tmp_path / "nothing")])
    assert bad.exit_code == 2 and "not a run folder" in bad.output


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                             "(apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    make_full_run(tmp_path / "run")
    page = write_report(tmp_path / "run")
    shot = tmp_path / "shot.png"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
               "--window-size=1200,2000", page.resolve().as_uri()]
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1200)
    not_white = np.any(pixels < 0.95, axis=-1).mean()
    assert not_white > 0.05, f"only {not_white:.1%} of the screenshot is not white"
    # the learning curves, the first figure, near the top of the page
    curve = np.all(np.abs(pixels - VERMILLION) < 0.08, axis=-1).sum()
    assert curve > 300, f"only {curve} pixels of the test curve's colour rendered"
