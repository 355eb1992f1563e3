"""Hebbian features on Fashion-MNIST (all 60k/10k; 10 % of the training set held out for
validation): competing hidden units (KHU), Oja and BCM, each followed by the same linear
readout, beside the baselines every Hebbian run trains with that readout on the run's own
inputs (the inputs themselves, random features of the same width with the learned
features' activation, and plain random ReLU features). KHU reads ZCA-whitened pixels, Oja
and BCM raw pixels.

Targets (issue 4): KHU + readout >= 87 % test accuracy and at least 1 point above the best
random-feature readout of the benchmark (KHU's own baselines on whitened inputs and the
other rules' on raw pixels); Oja and BCM reported beside the baselines; the time of one
Hebbian epoch on both back ends (the Lava epoch includes reading W back, an element-wise
round trip in Lava 0.10.0), with the Lava and NumPy weights after that epoch compared.

    OMP_NUM_THREADS=1 python benchmarks/hebbian_fashion.py
    OMP_NUM_THREADS=1 python benchmarks/hebbian_fashion.py --rules khu --lava-epochs 0
    OMP_NUM_THREADS=1 python benchmarks/hebbian_fashion.py --times-only --name hebbian_fashion_times
"""

import argparse
import time

import numpy as np
from common import scratch_runs, write_result

from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.networks.hebbian_numpy import HebbianNumpyRunner
from dynaxx_neuro.registry import bind_data
from dynaxx_neuro.rules.hebbian import SPEC, HebbianConfig, HebbianParameters, ReadoutConfig
from dynaxx_neuro.train import RunSettings, train

# Per rule: the Hebbian settings of the run (the readout is the same for all). KHU: Krotov &
# Hopfield's eps0 0.04 with their linear fall; delta 0.4 lets a few all-positive "mean image"
# units win every Fashion-MNIST sample (the others are pushed negative and never fire),
# delta 0.1 keeps about 97 % of the units winning; 40 epochs beat 20 on validation (88.3 %
# against 87.9 %; 80 and 100 epochs gave 88.4 % and 87.7 %). The readout: lr 0.05 overshot
# (validation accuracy jumped by a point between epochs). Plain ReLU features of the learned
# prototypes (mostly positive rows, so W x > 0 and the ReLU is linear) were 3 points below
# random ones on validation; power 2 with lateral inhibition 0.75 (about 25 % of the units
# active per sample) was the best on validation for KHU (20 epochs) of (power, inhibition)
# in 1 x {none, 0, 0.5, 1, 1.5, 2}, 2 x {0, 0.75, 1}, 3 x {none, 1}, and still at 40 epochs
# of 1.5, 2, 3, 4.5 x inhibition 0-1. Validation accuracies of KHU (2000 units, 20 epochs,
# this readout) for other rule settings: p 2 85.9 %, p 4 86.9 %, k 2 87.6 %, delta 0.05
# 87.6 %, delta 0.2 87.3 %, against 87.9 % for p 3, k 7, delta 0.1. ZCA whitening of the
# inputs (eps 0.1, from the training split) lifted KHU's validation accuracy from 87.9 % to
# 88.3 % at 20 epochs and from 88.3 % to 88.6 % at 40, with every unit winning (eps 0.03 /
# 0.3: 87.5 % / 88.6 % at 20 epochs, 0.3: 88.6 % at 40, a tie, so 0.1 stays); it lowers
# plain random ReLU features (85.3 % against 87.7 % on raw pixels), which is why the targets
# also count the raw-pixel random features of the Oja and BCM runs (the same R, readout and
# seed). Oja and BCM keep raw pixels, the inputs their settings were chosen on.
SETTINGS = {
    "khu": dict(lr=0.04, lr_schedule="linear", p=3.0, k=7, delta=0.1, epochs=40,
                batch_size=100, zca_epsilon=0.1),
    "oja": dict(lr=0.0005, epochs=3, batch_size=100),
    "bcm": dict(lr=0.0005, tau_theta=10.0, epochs=5, batch_size=100),
}
READOUT = dict(readout_lr=0.01, readout_momentum=0.9, readout_batch_size=100,
               readout_lr_decay=0.92, feature_power=2.0, feature_inhibition=0.75)
# (The KHU settings and READOUT are also dynaxx train hebbian's fashion-mnist defaults,
# rules.hebbian.SPEC.dataset_defaults.)


def _config(rule: str, hidden: int, readout_epochs: int) -> tuple[HebbianConfig, int]:
    """The configuration of a rule's run and its Hebbian epochs."""
    settings = dict(SETTINGS[rule])
    epochs = settings.pop("epochs")
    return HebbianConfig(rule=rule, hidden=hidden, **settings,
                         readout=ReadoutConfig(readout_epochs=readout_epochs, **READOUT)), epochs


def rule_run(rule: str, hidden: int, readout_epochs: int, folder) -> dict:
    config, epochs = _config(rule, hidden, readout_epochs)
    run = train(config, RunSettings(dataset="fashion-mnist", backend="numpy", epochs=epochs),
                folder / rule, show_progress=False)
    final = run.info()["final_metrics"]
    hebbian = run.read_table("hebbian")
    metrics = run.read_table("metrics")
    train_rows = metrics["split"] == "train"
    accuracies = {key: value for key, value in final.items()
                  if key.endswith(("val_accuracy", "test_accuracy"))}
    return {"settings": {**SETTINGS[rule], "hidden": hidden, "readout_epochs": readout_epochs},
            **accuracies,
            "hebbian_epoch_s": [float(t) for t in hebbian["time_s"]],
            "hebbian_total_s": float(hebbian["time_s"].sum()),
            "readout_total_s": float(metrics["time_s"][train_rows].sum()),
            "active_fraction_last_epoch": float(hebbian["active_fraction"][-1]),
            "peak_rss_mb": float(max(metrics["peak_rss_mb"]))}


def backend_times(rule: str, hidden: int, epochs: int) -> dict:
    """Seconds per Hebbian epoch of the same layer on both back ends, and how far apart
    their weights are afterwards."""
    from dynaxx_neuro.networks.hebbian_lava import HebbianLavaRunner
    config, run_epochs = _config(rule, hidden, 1)
    data = SPEC.data(config, prepare_splits("fashion-mnist", None, 0.1, 0))
    config = bind_data(config, data)
    initial = HebbianParameters.initial(config, stream(0, INIT))
    stage = (0, run_epochs)  # the rates of the benchmarked run's first epochs
    runners = {"numpy": HebbianNumpyRunner(config, data, initial,
                                           Launch(0, 0, "numpy", stage)),
               "lava": HebbianLavaRunner(config, data, initial,
                                         Launch(0, 0, "floating_pt", stage))}
    seconds = {name: [] for name in runners}
    try:
        for epoch in range(epochs):
            for name, runner in runners.items():
                start = time.perf_counter()
                runner.run_epoch(epoch)
                seconds[name].append(time.perf_counter() - start)
    finally:
        runners["lava"].close()
    difference = np.abs(runners["lava"].parameters().weights
                        - runners["numpy"].parameters().weights).max()
    return {"epochs": epochs, "numpy_epoch_s": seconds["numpy"],
            "lava_epoch_s": seconds["lava"],
            "lava_to_numpy": float(np.mean(seconds["lava"]) / np.mean(seconds["numpy"])),
            "max_abs_weight_difference": float(difference)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="khu,oja,bcm")
    parser.add_argument("--hidden", type=int, default=2000)
    parser.add_argument("--readout-epochs", type=int, default=30)
    parser.add_argument("--lava-epochs", type=int, default=1,
                        help="Hebbian epochs timed on both back ends per rule (0: none).")
    parser.add_argument("--times-only", action="store_true",
                        help="Only time the back ends (no runs, no readouts).")
    parser.add_argument("--name", default="hebbian_fashion")
    args = parser.parse_args()
    rules = args.rules.split(",")
    if args.times_only:
        write_result(args.name, {"backend_times": {
            rule: backend_times(rule, args.hidden, max(args.lava_epochs, 1)) for rule in rules}})
        return
    results = {}
    with scratch_runs() as folder:
        for rule in rules:
            results[rule] = rule_run(rule, args.hidden, args.readout_epochs, folder)
            print(rule, results[rule], flush=True)
    payload = {"data": "fashion-mnist, 54k train / 6k validation / 10k test",
               "readout": READOUT, "rules": results, "backend_times": None}
    if "khu" in results:
        # The bar is the best random-feature readout of the whole benchmark: KHU's own
        # baselines (on its inputs) and those of the other rules' runs (on theirs).
        khu = results["khu"]
        random = max(result.get(f"{name}_test_accuracy", 0.0) for result in results.values()
                     for name in ("random", "random_relu"))
        payload["targets"] = {
            "best_random_test_accuracy": random,
            "khu_minus_best_random": khu["test_accuracy"] - random,
            "khu_test_accuracy>=0.87": khu["test_accuracy"] >= 0.87,
            "khu_minus_best_random>=0.01": khu["test_accuracy"] - random >= 0.01}
    write_result(args.name, payload)  # the accuracies are kept even if the timing fails
    if args.lava_epochs:
        payload["backend_times"] = {rule: backend_times(rule, args.hidden, args.lava_epochs)
                                    for rule in rules}
        write_result(args.name, payload)


if __name__ == "__main__":
    main()
