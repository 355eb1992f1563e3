"""Forward-forward on 8x8 digits with the default settings of `dynaxx train ff`
(74-500-500 with the label appended, sum-of-squares goodness, theta 5, wrong-label and
hard negatives 50/50, Adam 0.003, joint schedule, batch 50, 20 epochs).

Targets (issue 3): test accuracy >= 96 % as the median of 3 seeds; the numpy back end under
60 s wall per training run. Also measured: the goodness-argmax prediction beside the
softmax readout, the lava back end's time for --lava-epochs epochs, and a backprop MLP
64-500-500-10 on the same data, epochs and batch size.

    python benchmarks/ff_digits.py                  # 3 numpy seeds, 1 lava epoch
    python benchmarks/ff_digits.py --lava-epochs 0  # numpy and backprop only
"""

import argparse
import statistics
import time

from common import backprop_digits, scratch_runs, write_result

from dynaxx_neuro.rules.ff import FFConfig
from dynaxx_neuro.train import RunSettings, train


def ff_run(backend: str, seed: int, epochs: int, folder) -> dict:
    start, cpu_start = time.perf_counter(), time.process_time()
    run = train(FFConfig(), RunSettings(dataset="digits", backend=backend, epochs=epochs,
                                        seed=seed),
                out=folder / f"{backend}-{seed}", show_progress=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    final = run.info()["final_metrics"]
    return {"seed": seed, "epochs": epochs, "test_accuracy": final["test_accuracy"],
            "val_accuracy": final["val_accuracy"],
            "test_accuracy_goodness": final["test_accuracy_goodness"],
            "wall_s": round(seconds, 2),
            # CPU time of this process: the wall time on a machine shared with other jobs
            # is inflated by waiting (Lava's worker processes are not included).
            "cpu_s": round(cpu_seconds, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lava-epochs", type=int, default=1)
    args = parser.parse_args()
    with scratch_runs() as folder:
        numpy_runs = [ff_run("numpy", seed, args.epochs, folder) for seed in args.seeds]
        lava_runs = ([ff_run("lava", args.seeds[0], args.lava_epochs, folder)]
                     if args.lava_epochs else [])
        numpy_short = ([ff_run("numpy", args.seeds[0], args.lava_epochs, folder / "short")]
                       if args.lava_epochs else [])
    backprop = [backprop_digits((64, 500, 500, 10), 50, seed, args.epochs)
                for seed in args.seeds]
    median = statistics.median(r["test_accuracy"] for r in numpy_runs)
    backprop_median = statistics.median(r["test_accuracy"] for r in backprop)
    payload = {
        "settings": {"hidden": [500, 500], "epochs": args.epochs, "cli_defaults": True},
        "numpy": numpy_runs, "lava": lava_runs, "numpy_same_epochs_as_lava": numpy_short,
        "backprop": backprop,
        "numpy_median_test_accuracy": median,
        "numpy_median_test_accuracy_goodness": statistics.median(
            r["test_accuracy_goodness"] for r in numpy_runs),
        "backprop_median_test_accuracy": backprop_median,
        "ratio_to_backprop": median / backprop_median,
        "lava_to_numpy_time": [lava["wall_s"] / short["wall_s"]
                               for lava, short in zip(lava_runs, numpy_short)],
        "targets": {"median_test_accuracy>=0.96": median >= 0.96,
                    "numpy_wall_s<60": max(r["wall_s"] for r in numpy_runs) < 60,
                    "numpy_cpu_s<60": max(r["cpu_s"] for r in numpy_runs) < 60},
    }
    write_result("ff_digits", payload)


if __name__ == "__main__":
    main()
