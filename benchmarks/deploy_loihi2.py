"""``dynaxx deploy --target loihi2`` on a graph of Loihi parts trained with the CLI defaults
of digits: the compatibility report's totals (cores, chips, whether it fits), the on-chip
energy and time per sample under the default cost table (dynamic and static), the deployed
graph's accuracy and its agreement with the bit-accurate simulation, and the wall time of
the deployment. Without Intel's Loihi extension (this machine) the graph runs on
``Loihi2SimCfg`` with its ``fixed_pt`` models.

The run trains on the graph's host back end (``RuleSpec.fast_backend``: ``numpy-fixed``,
bit-exact with ``lava-fixed``, for EP; ``numpy`` for STDP, whose weights the ``lava-fixed``
graph quantises).

    python benchmarks/deploy_loihi2.py --rule ep
    python benchmarks/deploy_loihi2.py --rule stdp --set n_label=200 --set n_test=100

``--set name=value`` changes a configuration field from the data set's default (STDP's
read-out pass over every training sample takes about 15 minutes on Lava's CPU simulator).
"""

import argparse
import time

from common import scratch_runs, write_result

from dynaxx_neuro.deploy.run import deploy
from dynaxx_neuro.registry import graphs
from dynaxx_neuro.train import RunSettings, train


def chip_graph(rule: str):
    """The graph of ``rule`` that is made of Loihi parts."""
    return next(spec for spec in graphs(rule) if spec.chip is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", default="ep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="A configuration field and its value (an integer).")
    args = parser.parse_args()
    spec = chip_graph(args.rule)
    changes = {name: int(value) for name, value in (item.split("=", 1) for item in args.set)}
    settings = RunSettings(dataset="digits", backend=spec.fast_backend, seed=args.seed)
    with scratch_runs("deploy") as folder:
        run = train(spec.configure("digits", changes), settings, folder / "run",
                    show_progress=False)
        start = time.perf_counter()
        _, report = deploy(run.path, echo=print)
        seconds = time.perf_counter() - start
        final = run.info()["final_metrics"]
    write_result(f"deploy_loihi2_{args.rule}", {
        "rule": args.rule, "graph": spec.graph or spec.name, "trained_on": spec.fast_backend,
        "seed": args.seed, "changes": changes, "trained_test_accuracy": final["test_accuracy"],
        "run_config": report["run_config"], "deploy_s": round(seconds, 1),
        "totals": report["totals"], "per_sample": report["per_sample"],
        "predictions": report["predictions"], "cost_table": report["cost_table"]["name"],
        "processes": [{k: row[k] for k in ("name", "lava_class", "maps_to", "neurons",
                                           "synapses", "fan_in", "fan_out", "cores")}
                      for row in report["processes"]]})


if __name__ == "__main__":
    main()
