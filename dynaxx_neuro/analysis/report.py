"""One self-contained HTML page per run: ``RUN/report.html``.

The page holds the run's summary and final metrics (of a run that has not finished,
interrupted or still training, the metrics of its last finished epoch, saying so), its full
configuration (run.json, flattened to dotted keys), the metrics table per epoch, the last
Loihi 2 deployment's placement and costs (``dynaxx deploy``), and every figure of
``figures.run_figures`` embedded as a base64 PNG (``<img src="data:image/png;base64,...">``)
with inline CSS, so it opens in any browser from the file system, with no server, network
or other file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

import numpy as np

from dynaxx_neuro import params as P
from dynaxx_neuro.analysis.figures import CAPTIONS, DPI, run_figures
from dynaxx_neuro.records import DEPLOY_REPORT, RunDir, atomic_write
from dynaxx_neuro.registry import rule_of

REPORT = "report.html"
TITLES = {
    "learning_curves": "Learning curves", "energy_settling": "Energy during settling",
    "goodness": "Forward-forward goodness", "goodness_means": "Mean goodness per epoch",
    "spikes": "Spikes", "layer_activity": "Layer activity", "weights": "Weights",
    "energy_landscape": "Energy landscape", "linear_probes": "Linear probes",
    "confusion_matrix": "Confusion matrix", "onchip_energy": "On-chip energy",
}
SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}
METRIC_COLUMNS = ("epoch", "split", "accuracy", "loss", "time_s", "samples_per_s",
                  "peak_rss_mb")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #1a1a1a; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; }
details summary { cursor: pointer; color: #0072B2; }
"""


def flatten(values: dict, prefix: str = "") -> dict[str, object]:
    """Nested dictionaries as one level with dotted keys: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _cell(value) -> str:
    """A table cell: numbers right-aligned and rounded to 4 significant digits."""
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):,.0f}" if abs(value) >= 1e4 else f"{float(value):.4g}"
        return f'<td class="num">{text}</td>'
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f'<td class="num">{int(value)}</td>'
    if isinstance(value, (list, tuple)):
        value = json.dumps(value)
    return f"<td>{html.escape(str(value))}</td>"


def html_table(header: list[str], rows: list[list]) -> str:
    """An HTML table with escaped cells."""
    head = "".join(f"<th>{html.escape(str(name))}</th>" for name in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def png_base64(fig) -> str:
    """The figure as a base64-encoded PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _metrics_section(run: RunDir) -> str:
    if not run.has_table("metrics"):
        return "<p>No metrics table yet.</p>"
    metrics = run.read_table("metrics")
    columns = [name for name in METRIC_COLUMNS if name in metrics]
    split_rank = np.array([SPLIT_ORDER.get(split, len(SPLIT_ORDER))
                           for split in metrics["split"]])
    order = np.lexsort((split_rank, np.asarray(metrics["epoch"])))
    return html_table(columns, [[metrics[name][i] for name in columns] for i in order])


def planned_epochs(info: dict) -> int | None:
    """The epochs a run trains in all, on its one epoch axis: run.json's ``epochs`` over
    every stage of its rule (Hebbian's readout epochs follow its features epochs); just
    ``epochs`` for a run.json without a configuration."""
    epochs = info.get("epochs")
    if epochs is None or "config" not in info:
        return epochs
    config = P.from_dict(info["config"])
    return sum(stage.epochs(config, epochs) for stage in rule_of(config).stages)


def last_epoch_metrics(metrics: dict) -> dict[str, object]:
    """The metrics of the last epoch of a ``metrics`` table, named as in run.json's final
    metrics: {"epoch": k, "train_accuracy": ..., "train_loss": ..., "val_accuracy": ...}."""
    epoch = np.asarray(metrics["epoch"])
    last = int(epoch.max())
    values: dict[str, object] = {"epoch": last}
    for i in sorted(np.flatnonzero(epoch == last),
                    key=lambda i: SPLIT_ORDER.get(metrics["split"][i], len(SPLIT_ORDER))):
        for name in ("accuracy", "loss"):
            values[f"{metrics['split'][i]}_{name}"] = metrics[name][i]
    return values


def _metric_table(values: dict) -> str:
    return html_table(["metric", "value"], [[k, v] for k, v in flatten(values).items()])


def _final_section(run: RunDir) -> list[str]:
    """The final metrics of a finished run. A run without final metrics (they are written
    when it finishes) or whose metrics table goes past their epoch (resumed for more
    epochs) is unfinished, interrupted or still training: it shows the metrics of its last
    finished epoch and says so."""
    info = run.info()
    final = info.get("final_metrics") or {}
    last = (last_epoch_metrics(run.read_table("metrics")) if run.has_table("metrics")
            else None)
    if final and (last is None or final.get("epoch") == last["epoch"]):
        return ["<h2>Final metrics</h2>", _metric_table(final)]
    if last is None:
        return ["<h2>Final metrics</h2>", "<p>No epoch has finished yet.</p>"]
    planned = planned_epochs(info)
    of = "" if planned is None else f" of {planned}"
    return ["<h2>Metrics of the last finished epoch</h2>",
            f"<p>Unfinished (interrupted, or still training) after epoch {last['epoch']}{of}: "
            "that epoch's metrics from the metrics table (the final metrics are written when "
            "the run finishes).</p>", _metric_table(last)]


def _deployment_section(run: RunDir) -> list[str]:
    """The last ``dynaxx deploy``'s placement and costs, when the run has one."""
    path = run.path / DEPLOY_REPORT
    if not path.is_file():
        return []
    report = json.loads(path.read_text())
    rows = [[r["name"], r["lava_class"], r["maps_to"],
             " ".join(f"{k} {u}/{c}" for k, (u, c) in r["widths"].items()) or "-",
             r["neurons"], r["synapses"], r["fan_in"], r["fan_out"], r["cores"]]
            for r in report["processes"]]
    costs = [[phase, c["steps"], c["time_s"] * 1e6, c["dynamic_j"] * 1e6, c["static_j"] * 1e6,
              c["messages"]] for phase, c in report["per_sample"].items() if phase != "activity"]
    pred, totals = report["predictions"], report["totals"]
    summary = (f"{report['run_config']}, {totals['cores']} cores on {totals['chips']} chip(s)"
               f"{'' if totals['fits'] else ' (does not fit)'}; accuracy {pred['accuracy']:.4f}"
               + ("" if pred["agreement"] is None else
                  f", agreement with {pred['reference']} {pred['agreement']:.4f}")
               + f"; cost table {report['cost_table']['name']}.")
    return ['<h2 id="deployment">Loihi 2 deployment</h2>', f"<p>{html.escape(summary)}</p>",
            html_table(["process", "Lava class", "maps to", "widths used/chip", "neurons",
                        "synapses", "fan-in", "fan-out", "cores"], rows),
            html_table(["per sample", "steps", "time (us)", "dynamic (uJ)", "static (uJ)",
                        "messages"], costs)]


def report_html(run: RunDir, sample: int = 0, directions: str = "pca") -> str:
    """The report page of a run as one HTML string."""
    info = run.info()
    config = {key: value for key, value in info.items() if key != "final_metrics"}
    figures = run_figures(run, sample, directions)
    title = f"{info.get('rule', 'run').upper()} run {run.path.resolve().name}"
    subtitle = ", ".join(f"{key} {info[key]}" for key in ("dataset", "backend", "tag", "epochs")
                         if key in info)
    subtitle += (f"; started {info.get('started', '?')}, "
                 f"finished {info.get('finished', 'not yet')}")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="subtitle">{html.escape(subtitle)}</p>',
        *_final_section(run),
        "<h2>Metrics per epoch</h2>", _metrics_section(run),
    ]
    for name, fig in figures.items():
        parts += [f'<h2 id="{name}">{html.escape(TITLES.get(name, name))}</h2>',
                  f'<figure><img alt="{html.escape(TITLES.get(name, name))}" '
                  f'src="data:image/png;base64,{png_base64(fig)}">',
                  f"<figcaption>{html.escape(CAPTIONS.get(name, ''))}</figcaption></figure>"]
    parts += _deployment_section(run)
    parts += ["<h2>Configuration</h2>", "<details open><summary>run.json</summary>",
              html_table(["key", "value"], [[k, v] for k, v in flatten(config).items()]),
              "</details>", f"<p>Run folder: {html.escape(str(run.path.resolve()))}</p>",
              "</body></html>"]
    return "\n".join(parts)


def write_report(run_path: str | os.PathLike, sample: int = 0, directions: str = "pca"
                 ) -> Path:
    """Write ``RUN/report.html`` for the run folder ``run_path`` and return its path."""
    run = RunDir.open(run_path)
    text = report_html(run, sample, directions)
    path = run.path / REPORT
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
