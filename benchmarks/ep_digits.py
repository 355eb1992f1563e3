"""EP on 8x8 digits with the default settings of `dynaxx train ep` (64-512-10).

Targets (issue 2): test accuracy >= 97.0 % as the median of 3 seeds; the numpy back end
under 60 s wall per training run; the lava back end's accuracy, time and ratio to numpy.
A backprop MLP of the same shape, data, epochs and batch size runs in the same script.
Each run also reports the energy one training sample of its last epoch would cost on Loihi
(``analysis.energy_cost`` on the run's operation counters).

    python benchmarks/ep_digits.py                 # 3 numpy seeds, 1 lava seed
    python benchmarks/ep_digits.py --lava-seeds 0 1 2
"""

import argparse
import statistics
import time

from common import backprop_digits, scratch_runs, write_result

from dynaxx_neuro.analysis.energy_cost import energy_by_period
from dynaxx_neuro.rules.ep import EPConfig
from dynaxx_neuro.train import RunSettings, train


def ep_run(backend: str, seed: int, epochs: int, folder) -> dict:
    start = time.perf_counter()
    run = train(EPConfig(), RunSettings(dataset="digits", backend=backend, epochs=epochs,
                                        seed=seed),
                out=folder / f"{backend}-{seed}", show_progress=False)
    seconds = time.perf_counter() - start
    final = run.info()["final_metrics"]
    _, _, joules, samples = energy_by_period(run.read_table("ops"))
    last_epoch_uj = sum(j[-1] for j in joules.values()) / samples[-1] * 1e6
    return {"seed": seed, "test_accuracy": final["test_accuracy"],
            "val_accuracy": final["val_accuracy"], "wall_s": round(seconds, 2),
            "loihi_uj_per_training_sample": round(last_epoch_uj, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--lava-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    with scratch_runs("ep_digits") as folder:
        numpy_runs = [ep_run("numpy", seed, args.epochs, folder) for seed in args.seeds]
        lava_runs = [ep_run("lava", seed, args.epochs, folder) for seed in args.lava_seeds]
    backprop = [backprop_digits((64, 512, 10), 20, seed, args.epochs) for seed in args.seeds]
    median = statistics.median(r["test_accuracy"] for r in numpy_runs)
    backprop_median = statistics.median(r["test_accuracy"] for r in backprop)
    numpy_wall = {r["seed"]: r["wall_s"] for r in numpy_runs}
    payload = {
        "settings": {"sizes": [64, 512, 10], "epochs": args.epochs, "cli_defaults": True},
        "numpy": numpy_runs, "lava": lava_runs, "backprop": backprop,
        "numpy_median_test_accuracy": median,
        "backprop_median_test_accuracy": backprop_median,
        "ratio_to_backprop": median / backprop_median,
        "lava_to_numpy_time": [r["wall_s"] / numpy_wall[r["seed"]] for r in lava_runs
                               if r["seed"] in numpy_wall],
        "targets": {"median_test_accuracy>=0.970": median >= 0.970,
                    "numpy_wall_s<60": max(numpy_wall.values()) < 60},
    }
    write_result("ep_digits", payload)


if __name__ == "__main__":
    main()
