"""EP on Fashion-MNIST (all 60k/10k; 10 % of the training set held out for validation),
784-500-10, with the default settings of `dynaxx train ep` otherwise.

Targets (issue 2): test accuracy >= 88.0 %; numpy epoch time <= 15 s; the lava epoch time
reported (one epoch by default: a Lava epoch takes minutes). A backprop MLP of the same
shape, data, epochs and batch size runs in the same script.

    python benchmarks/ep_fashion.py --epochs 30 --lava-epochs 1
    python benchmarks/ep_fashion.py --epochs 3 --lava-epochs 0 --name ep_fashion_timing
"""

import argparse
import statistics

from common import scratch_runs, write_result

from dynaxx_neuro.baseline import MLPConfig, train_mlp
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.registry import rule
from dynaxx_neuro.rules.ep import EPConfig
from dynaxx_neuro.train import RunSettings, train


def ep_run(backend: str, epochs: int, folder) -> dict:
    config = EPConfig(**rule("ep").defaults("fashion-mnist"))  # what `--data fashion-mnist` uses
    run = train(config, RunSettings(dataset="fashion-mnist", backend=backend, epochs=epochs),
                out=folder / backend, show_progress=False)
    metrics = run.read_table("metrics")
    epoch_seconds = [float(t) for t, split in zip(metrics["time_s"], metrics["split"])
                     if split == "train"]
    final = run.info()["final_metrics"]
    return {"epochs": epochs, "test_accuracy": final["test_accuracy"],
            "val_accuracy": final["val_accuracy"], "epoch_s": epoch_seconds,
            "median_epoch_s": statistics.median(epoch_seconds),
            "peak_rss_mb": float(max(metrics["peak_rss_mb"]))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lava-epochs", type=int, default=1)
    parser.add_argument("--name", default="ep_fashion",
                        help="result file name, e.g. ep_fashion_timing for a short timing run")
    args = parser.parse_args()
    with scratch_runs(args.name) as folder:
        numpy_run = ep_run("numpy", args.epochs, folder)
        lava_run = ep_run("lava", args.lava_epochs, folder) if args.lava_epochs else None
    data = prepare_splits("fashion-mnist", None, 0.1, 0)
    mlp = train_mlp(MLPConfig(sizes=(784, 500, 10), lr=0.05, momentum=0.9, batch_size=20),
                    data.x_train, data.y_train, data.x_test, data.y_test, args.epochs, 10)
    backprop = {"test_accuracy": mlp["test_accuracy"],
                "median_epoch_s": statistics.median(mlp["epoch_seconds"])}
    payload = {
        "settings": {"sizes": [784, 500, 10], "epochs": args.epochs, "cli_defaults": True,
                     "epoch_s_includes": "training plus validation and test evaluation"},
        "numpy": numpy_run, "lava": lava_run, "backprop": backprop,
        "ratio_to_backprop": numpy_run["test_accuracy"] / backprop["test_accuracy"],
        "lava_to_numpy_epoch_time": (lava_run["median_epoch_s"] / numpy_run["median_epoch_s"]
                                     if lava_run else None),
        "targets": {"test_accuracy>=0.880": numpy_run["test_accuracy"] >= 0.880,
                    "numpy_epoch_s<=15": numpy_run["median_epoch_s"] <= 15},
    }
    write_result(args.name, payload)


if __name__ == "__main__":
    main()
