"""Evolution strategies on 8x8 digits with the default settings of `dynaxx train es`
(64-32-10 tanh, population 100, 20 epochs of 50 generations), both strategies.

Targets (issue 15): test accuracy >= 90 % with the defaults; the wall time and the fitness
evaluations of each run; the wall time of the fitness evaluations in one worker process
against two (``--workers 1`` vs ``--workers 2``, which must give the same results bit for
bit). A backprop MLP of the same shape and epochs runs in the same script.

    python benchmarks/es_digits.py                       # openai and cma, seed 0
    python benchmarks/es_digits.py --seeds 0 1 2 --workers-strategy cma
"""

import argparse
import time

from common import backprop_digits, scratch_runs, write_result

from dynaxx_neuro.params import from_dict
from dynaxx_neuro.registry import rule
from dynaxx_neuro.train import RunSettings, train

SPEC = rule("es")


def es_run(strategy: str, seed: int, workers: int, folder) -> dict:
    config = SPEC.configure("digits", {"strategy": strategy, "workers": workers})
    start = time.perf_counter()
    run = train(config, RunSettings(dataset="digits", seed=seed),
                out=folder / f"{strategy}-{seed}-w{workers}", show_progress=False)
    seconds = time.perf_counter() - start
    final = run.info()["final_metrics"]
    return {"strategy": strategy, "seed": seed, "workers": workers,
            "test_accuracy": final["test_accuracy"], "val_accuracy": final["val_accuracy"],
            "wall_s": round(seconds, 2), "fitness_evaluations": final["fitness_evaluations"],
            "generations": final["generations"],
            "parameters": from_dict(run.info()["config"]).n_parameters}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--strategies", nargs="+", default=["openai", "cma"],
                        choices=("openai", "cma"))
    parser.add_argument("--workers-strategy", default="openai", choices=("openai", "cma"),
                        help="the strategy whose default run is repeated on 1 and 2 workers")
    args = parser.parse_args()
    defaults = SPEC.config()
    with scratch_runs("es_digits") as folder:
        runs = [es_run(strategy, seed, 0, folder) for strategy in args.strategies
                for seed in args.seeds]
        timing = [es_run(args.workers_strategy, args.seeds[0], workers, folder)
                  for workers in (1, 2)]
    sizes = (64, *defaults.hidden, 10)
    backprop = [backprop_digits(sizes, 20, seed, SPEC.default_epochs) for seed in args.seeds]
    one, two = timing
    same = all(one[key] == two[key] for key in ("test_accuracy", "val_accuracy"))
    in_process = next(r for r in runs if r["strategy"] == args.workers_strategy
                      and r["seed"] == args.seeds[0])
    payload = {
        "settings": {"sizes": list(sizes), "activation": defaults.activation,
                     "population": defaults.population, "batch_size": defaults.batch_size,
                     "generations_per_epoch": defaults.generations,
                     "epochs": SPEC.default_epochs, "cli_defaults": True},
        "runs": runs, "workers": timing, "backprop": backprop,
        "workers_2_to_1_wall_time": round(two["wall_s"] / one["wall_s"], 3),
        "workers_1_to_in_process_wall_time": round(one["wall_s"] / in_process["wall_s"], 3),
        "same_results_on_1_and_2_workers": same,
        "targets": {f"{r['strategy']}_seed{r['seed']}_test_accuracy>=0.90":
                    r["test_accuracy"] >= 0.90 for r in runs},
    }
    write_result("es_digits", payload)


if __name__ == "__main__":
    main()
