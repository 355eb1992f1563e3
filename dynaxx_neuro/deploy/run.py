"""The flow of ``dynaxx deploy RUN --target loihi2``.

1. Refuse, with one sentence and before anything is written, a folder that is not a run,
   a target other than ``loihi2``, a run whose graph is not made of Loihi parts (naming the
   option that trains one), a run with no checkpoint, and, with ``require_hardware``, a
   machine without Intel's Loihi extension.
2. Run the last checkpoint's graph (``RuleSpec.chip.backend``, its ``fixed_pt`` models) on
   the target: ``Loihi2HwCfg`` where ``lava.utils.loihi.is_installed()``, else
   ``Loihi2SimCfg`` (the fallback says so); inference always, one epoch of on-chip learning
   with ``learn``.
3. Compare its predictions (and learned weights) with the bit-accurate simulation
   (``RuleSpec.chip.reference``), unless that is the very run of step 2.
4. Place the graph (``deploy.placement``), cost it per sample (``deploy.cost``: the run's
   own operation counters for training, the graph at the run's measured activity for
   inference), and write ``report.json`` into ``RUN/deploy-loihi2`` (or ``out``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from dynaxx_neuro.analysis.energy_cost import OP_COLUMNS
from dynaxx_neuro.backends import lava_available, loihi2_available
from dynaxx_neuro.deploy.cost import CostTable
from dynaxx_neuro.deploy.loihi2 import Loihi2Chip
from dynaxx_neuro.deploy.placement import GraphTotals, place, totals
from dynaxx_neuro.records import DEPLOY_REPORT, atomic_write, json_default, utc_now
from dynaxx_neuro.registry import graphs
from dynaxx_neuro.train import Run, evaluate_checkpoint, make_runner

TARGETS = ("loihi2",)


def fallback_message() -> str:
    """The one sentence a deployment without the extension prints."""
    return ("Intel's Loihi extension for Lava (lava-loihi) is not installed here "
            "(lava.utils.loihi.is_installed() is false), so no Loihi 2 can be reached: the "
            "graph runs on Loihi2SimCfg with its fixed_pt models instead.")


def check_deployable(run: Run, target: str) -> None:
    """One sentence unless ``run``'s graph can go on ``target``."""
    if target not in TARGETS:
        raise ValueError(f"--target must be one of {', '.join(TARGETS)}, got {target!r}.")
    spec = run.spec
    if spec.chip is not None:
        return
    chip_graphs = [g.graph for g in graphs(spec.name) if g.chip is not None]
    made = f"the {spec.graph} graph" if spec.graph else "the default graph"
    if chip_graphs:
        raise ValueError(f"run {str(run.dir.path)!r} trained {made} of {spec.name}, which is "
                         f"not made of Loihi parts; train one with `dynaxx train {spec.name} "
                         f"--graph {chip_graphs[0]}` and deploy that run.")
    raise ValueError(f"run {str(run.dir.path)!r} trained {spec.name}, which has no graph of "
                     "Loihi parts yet.")


def deploy(path, target: str = "loihi2", out=None, require_hardware: bool = False,
           learn: bool = False, cost: CostTable = CostTable(), chip: Loihi2Chip = Loihi2Chip(),
           echo=lambda text: None) -> tuple[Path, dict]:
    """Deploy run ``path`` (see the module docstring); returns the report's path and the
    report. ``echo`` receives the fallback sentence."""
    run = Run(path)
    check_deployable(run, target)
    if not lava_available():
        raise RuntimeError("deploying needs lava-nc, which installs only on Python 3.10; use "
                           "the environment made by `make test`.")
    hardware = loihi2_available()
    if not hardware and require_hardware:
        raise RuntimeError("--require-hardware: Intel's Loihi extension for Lava (lava-loihi) "
                           "is not installed here, so no Loihi 2 can be reached.")
    if not hardware:
        echo(fallback_message())
    spec = run.spec
    path = (run.dir.path / DEPLOY_REPORT if out is None else Path(out) / DEPLOY_REPORT.name)
    from dynaxx_neuro.networks.lava_graph import on_target
    with on_target(hardware) as on_chip:
        epoch, result = evaluate_checkpoint(run, spec.chip.backend)
    rows = place(on_chip.graphs[0].processes(), spec.chip.programs(run.config), chip)
    graph_totals = totals(rows, chip)
    report = {
        "run": str(run.dir.path), "rule": spec.name, "graph": spec.graph or spec.name,
        "target": target, "hardware": hardware,
        "run_config": "Loihi2HwCfg" if hardware else "Loihi2SimCfg",
        "backend": spec.chip.backend, "checkpoint_epoch": epoch + 1,  # numbered from 1
        "written": utc_now(),
        "processes": [row.to_dict() for row in rows],
        "totals": {**{k: v for k, v in dataclasses.asdict(graph_totals).items()
                      if not k.startswith("busiest")}, "fits": not graph_totals.problems},
        "cost_table": cost.to_dict(),
        "per_sample": per_sample_costs(run, graph_totals, cost),
        "predictions": compare_predictions(run, result, hardware),
    }
    if learn:
        report["learning"] = compare_learning(run, epoch, hardware)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=json_default)
    atomic_write(path, lambda tmp: tmp.write_text(text))
    return path, report


def _predictions(result) -> np.ndarray:
    return np.concatenate([result.val_predictions, result.test_predictions]).astype(int)


def compare_predictions(run: Run, result, hardware: bool) -> dict:
    """Accuracy of the target's predictions and their agreement with the reference's."""
    data, chip = run.data(), run.spec.chip
    labels = np.concatenate([data.y_val, data.y_test])
    predicted = _predictions(result)
    out = {"samples": int(len(labels)), "accuracy": float(np.mean(predicted == labels)),
           "reference": chip.reference}
    if hardware or chip.reference != chip.backend:
        reference = _predictions(evaluate_checkpoint(run, chip.reference)[1])
        out.update(reference_accuracy=float(np.mean(reference == labels)),
                   agreement=float(np.mean(reference == predicted)))
    else:
        out["agreement"] = None  # the target's run is the reference simulation itself
    return out


def compare_learning(run: Run, epoch: int, hardware: bool) -> dict:
    """One epoch of learning from the checkpoint of the epoch of index ``epoch`` on the
    target and on the reference: the epoch learned, by its number (the one after the
    checkpoint's: index ``epoch`` + 1, number ``epoch`` + 2), and the fraction of every
    checkpointed array's entries that agree."""
    chip = run.spec.chip
    from dynaxx_neuro.networks.lava_graph import on_target
    with on_target(hardware):
        learned = _learn_one_epoch(run, epoch, chip.backend)
    if not hardware and chip.reference == chip.backend:
        return {"epoch": epoch + 2, "agreement": None}
    reference = _learn_one_epoch(run, epoch, chip.reference)
    equal = sum(int(np.sum(learned[k] == reference[k])) for k in learned)
    return {"epoch": epoch + 2, "reference": chip.reference,
            "agreement": equal / sum(a.size for a in learned.values())}


def _learn_one_epoch(run: Run, epoch: int, backend: str) -> dict[str, np.ndarray]:
    _, arrays = run.checkpoint()
    stage, first, end = run.bounds()[-1]
    runner = make_runner(run.spec, stage, backend, run.config, run.data(),
                         stage.parameters.from_arrays(arrays, run.config), run.settings.seed,
                         epoch + 1, (first, max(end, epoch + 2)))
    try:
        runner.run_epoch(epoch + 1)
        return runner.parameters().to_arrays()
    finally:
        runner.close()


def per_sample_costs(run: Run, graph: GraphTotals, cost: CostTable) -> dict:
    """Energy and time of one training and one inference sample on the chip.

    Training counts what the run counted (its last epoch's ``ops`` row per sample, when the
    rule logs one); inference, the graph's operations at full activity (``GraphTotals``)
    scaled by the fraction of synaptic operations the training samples actually did
    (``activity``; 1 without an ``ops`` table: an upper bound)."""
    train_steps, infer_steps = run.spec.chip.steps(run.config)
    measured = _measured_ops(run)
    full_syn = graph.synaptic_ops * train_steps
    activity = min(measured["synaptic_ops"] / full_syn, 1.0) if measured and full_syn else 1.0
    infer_ops = {"synaptic_ops": graph.synaptic_ops * infer_steps * activity,
                 "neuron_updates": graph.neuron_updates * infer_steps,
                 "spikes": graph.spikes * infer_steps * activity, "learning_updates": 0.0}
    busiest_ns = cost.time.core_step_ns(graph.busiest_core_synaptic_ops * activity,
                                        graph.busiest_core_neurons,
                                        graph.busiest_core_spikes * activity)
    out = {"activity": activity,
           "inference": {**cost.sample_cost(infer_ops, infer_steps, busiest_ns, 0.0,
                                            graph.chips), "messages": infer_ops["spikes"]}}
    if measured:
        learning_share = (measured["learning_updates"] / graph.learning_synapses
                          if graph.learning_synapses else 0.0)
        out["training"] = {**cost.sample_cost(measured, train_steps, busiest_ns,
                                              graph.busiest_core_learning_synapses
                                              * learning_share, graph.chips),
                           "messages": measured["spikes"]}
    return out


def _measured_ops(run: Run) -> dict[str, float] | None:
    """The run's last epoch's operation counters per training sample, or None."""
    if not run.dir.has_table("ops"):
        return None
    ops = run.dir.read_table("ops")
    last = np.asarray(ops["epoch"]) == np.max(ops["epoch"])
    samples = float(np.sum(np.asarray(ops["samples"])[last]))
    if samples <= 0:
        return None
    return {name: float(np.sum(np.asarray(ops[name])[last])) / samples for name in OP_COLUMNS}


def format_report(report: dict) -> str:
    """The report as a table of processes, then the totals and the per-sample costs."""
    head = ("process", "Lava class", "maps to", "widths used/chip", "neurons", "synapses",
            "fan-in", "fan-out", "cores")
    lines = []
    for row in report["processes"]:
        widths = " ".join(f"{k} {u}/{c}" for k, (u, c) in row["widths"].items()) or "-"
        lines.append((row["name"], row["lava_class"], row["maps_to"], widths,
                      str(row["neurons"]), str(row["synapses"]), str(row["fan_in"]),
                      str(row["fan_out"]), str(row["cores"])))
    sizes = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    table = ["  ".join(c.ljust(n) for c, n in zip(line, sizes)) for line in [head, *lines]]
    t, costs, pred = report["totals"], report["per_sample"], report["predictions"]
    table.append(f"totals: {t['cores']} cores on {t['chips']} chip(s); "
                 f"{'fits' if t['fits'] else 'does not fit: ' + ' '.join(t['problems'])}")
    for phase in ("inference", "training"):
        if phase in costs:
            c = costs[phase]
            table.append(f"{phase} per sample: {c['energy_j'] * 1e6:.2f} uJ "
                         f"({c['dynamic_j'] * 1e6:.2f} dynamic + {c['static_j'] * 1e6:.2f} "
                         f"static), {c['time_s'] * 1e6:.1f} us over {c['steps']} steps, "
                         f"{c['messages']:.0f} messages")
    agreement = pred["agreement"]
    table.append(f"{report['run_config']}: accuracy {pred['accuracy']:.4f} on "
                 f"{pred['samples']} samples; " + (
                     f"agreement with {pred['reference']} {agreement:.4f}"
                     if agreement is not None else
                     f"{pred['reference']} on the CPU is the reference itself"))
    if "learning" in report and report["learning"]["agreement"] is not None:
        table.append(f"one epoch of learning: {report['learning']['agreement']:.4f} of the "
                     f"weights equal {report['learning']['reference']}'s")
    table.append(f"cost table: {report['cost_table']['name']}")
    return "\n".join(table)
