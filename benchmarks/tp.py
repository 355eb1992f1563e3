"""Target propagation with what `dynaxx train tp --data DATA` uses (the CLI defaults and the
data set's chosen values, ``rules.tp.SPEC``), beside the same-shape backprop baseline of
the same run (``--baseline backprop``), and the Lava back end's epoch time on a few epochs.

Targets (issue 15): digits >= 95 %, Fashion-MNIST >= 87 % test accuracy (64 or 784 -
256x3 - 10, tanh). Also: seconds per epoch (training plus validation and test evaluation
and the alignment measurement) and the angle between each layer's TP update and the
backprop gradient in the first and last epoch.

    python benchmarks/tp.py --data digits --variant dtp ddtp-linear --lava-epochs 2
    python benchmarks/tp.py --data fashion-mnist --variant dtp ddtp-linear --lava-epochs 0
"""

import argparse

import numpy as np
from common import scratch_runs, write_result

from dynaxx_neuro.registry import rule
from dynaxx_neuro.train import RunSettings, train

TARGETS = {"digits": 0.95, "fashion-mnist": 0.87}


def angles(run, epoch: int) -> list[float]:
    table = run.read_table("alignment")
    rows = table["epoch"] == epoch
    return np.round(table["angle_deg"][rows], 1).tolist()


def tp_run(dataset: str, variant: str, backend: str, epochs: int, baseline: bool,
           folder) -> dict:
    spec = rule("tp")
    config = spec.configure(dataset, {"variant": variant})
    settings = RunSettings(dataset=dataset, backend=backend, epochs=epochs,
                           baseline="backprop" if baseline else "none")
    run = train(config, settings, out=folder / f"{variant}-{backend}", show_progress=False)
    metrics = run.read_table("metrics")
    train_rows = metrics["split"] == "train"
    final = run.info()["final_metrics"]
    return {"epochs": epochs, "sizes": list(config.sizes), "final": final,
            "epoch_time_s": metrics["time_s"][train_rows].round(2).tolist(),
            "test_accuracy_per_epoch": metrics["accuracy"][metrics["split"] == "test"].tolist(),
            "angle_deg_first_epoch": angles(run, 1), "angle_deg_last_epoch": angles(run, epochs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits", choices=tuple(TARGETS))
    parser.add_argument("--variant", nargs="+", default=["dtp"])
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: the CLI's epochs for the data set")
    parser.add_argument("--lava-epochs", type=int, default=0)
    args = parser.parse_args()
    spec = rule("tp")
    epochs = args.epochs or spec.defaults(args.data).get("epochs", spec.default_epochs)
    results = {}
    with scratch_runs("tp") as folder:
        for variant in args.variant:
            result = {"numpy": tp_run(args.data, variant, "numpy", epochs, True, folder)}
            if args.lava_epochs:
                result["lava"] = tp_run(args.data, variant, "lava", args.lava_epochs, False,
                                        folder)
                result["lava_vs_numpy_epoch_time"] = round(
                    float(np.mean(result["lava"]["epoch_time_s"])
                          / np.mean(result["numpy"]["epoch_time_s"][:args.lava_epochs])), 2)
            accuracy = result["numpy"]["final"]["test_accuracy"]
            result["target"] = {f"test_accuracy>={TARGETS[args.data]}":
                                accuracy >= TARGETS[args.data]}
            results[variant] = result
    write_result(f"tp_{args.data.replace('-', '_')}", {"data": args.data, "epochs": epochs,
                                                        **results})


if __name__ == "__main__":
    main()
