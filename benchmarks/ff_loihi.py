"""FF's Loihi graph (``dynaxx train ff --graph loihi``) with the CLI defaults of a data set
on one back end: accuracy, seconds per training sample and on-chip energy per training
sample, beside the float rate network (``results/ff_digits.json``: Adam, batch 50, hard and
wrong-label negatives) and, with ``--float-sgd``, the float rate network trained as the
graph learns (plain SGD at the graph's rate, batch 1, wrong-label negatives, goodness
prediction, the same layers and epochs).

Target (issue "forward-forward as a graph of Loihi parts"): digits test accuracy within 3
points of the float rate network's; Fashion-MNIST reported.

    OPENBLAS_NUM_THREADS=1 python benchmarks/ff_loihi.py --backend numpy-fixed --float-sgd
    python benchmarks/ff_loihi.py --backend lava-fixed --epochs 1 --train-samples 100
    OPENBLAS_NUM_THREADS=1 python benchmarks/ff_loihi.py --data fashion-mnist \
        --backend numpy-fixed --epochs 2 --train-samples 10000

(One BLAS thread: the twin's products are small, and on a machine shared with other jobs
OpenBLAS's threads mostly wait for each other.)
"""

import argparse
import json

import numpy as np
from common import RESULTS, scratch_runs, write_result

from dynaxx_neuro.analysis.energy_cost import ASSUMED_STEP_S, energy_by_period, static_energy_j
from dynaxx_neuro.registry import graphs
from dynaxx_neuro.train import Run, RunSettings, train


def dynamic_uj(ops: dict) -> float:
    """Dynamic energy per sample of the last row of an ``ops`` table, in microjoules."""
    _, _, joules, samples = energy_by_period(ops)
    return sum(j[-1] for j in joules.values()) / samples[-1] * 1e6


def curves(run) -> dict:
    metrics = run.read_table("metrics")
    return {split: [round(float(a), 4) for a, s in zip(metrics["accuracy"], metrics["split"])
                    if s == split] for split in ("train", "val", "test")}


def summarize(run, config, n_train: int) -> dict:
    """Accuracy, speed and energy of a finished run folder of the Loihi graph."""
    final = run.info()["final_metrics"]
    metrics = run.read_table("metrics")
    seconds = np.asarray(metrics["time_s"])[np.asarray(metrics["split"]) == "train"]
    timing = config.timing
    return {
        "final": {k: final[k] for k in ("train_accuracy", "val_accuracy", "test_accuracy")},
        "curve": curves(run), "epoch_seconds": [round(float(s), 2) for s in seconds],
        "seconds_per_training_sample": float(np.mean(seconds)) / n_train,
        "energy": {"assumed_step_s": ASSUMED_STEP_S,
                   "dynamic_uj_per_training_sample": round(dynamic_uj(run.read_table("ops")),
                                                           3),
                   "static_uj_per_training_sample": static_energy_j(timing.train_period) * 1e6,
                   "static_uj_per_inference": static_energy_j(timing.eval_period) * 1e6,
                   "steps_per_training_sample": timing.train_period,
                   "steps_per_inference": timing.eval_period},
    }


def float_sgd(config, data: str, epochs: int, seed: int, folder) -> dict:
    """The float rate network trained as the graph learns (module docstring); a halving of
    the graph's rate every N epochs becomes the float rule's per-epoch decay 2^(-1/N)."""
    values = {"hidden": config.hidden, "theta": config.theta, "batch_size": 1,
              "method": "sgd", "momentum": 0.0, "strategies": ("wrong-label",),
              "predict": "goodness", "lrs": (2.0 ** -config.lr_shift,) * config.n_layers,
              "lr_decay": 2.0 ** (-1 / config.halve_epochs) if config.halve_epochs else 1.0}
    spec = graphs("ff")[0]
    run = train(spec.configure(data, values), RunSettings(dataset=data, backend="numpy",
                                                          epochs=epochs, seed=seed),
                folder / "float-sgd", show_progress=False)
    final = run.info()["final_metrics"]
    return {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
            "final": {k: final[k] for k in ("val_accuracy", "test_accuracy",
                                            "test_accuracy_softmax")},
            "curve": curves(run)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--backend", default="numpy-fixed",
                        choices=["numpy-fixed", "lava-fixed", "lava"])
    parser.add_argument("--epochs", type=int, default=None, help="[the graph's default]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train on the first N training samples per epoch [all]")
    parser.add_argument("--lr-shift", type=int, default=None, help="[the graph's default]")
    parser.add_argument("--halve-epochs", type=int, default=None,
                        help="[the graph's default]")
    parser.add_argument("--weight-exp", type=int, default=None, help="[the graph's default]")
    parser.add_argument("--float-sgd", action="store_true",
                        help="also train the float rate network with the graph's SGD")
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    spec = graphs("ff")[1]
    chosen = {"lr_shift": args.lr_shift, "halve_epochs": args.halve_epochs,
              "weight_exp": args.weight_exp}
    config = spec.configure(args.data, {"train_samples": args.train_samples,
                                        **{k: v for k, v in chosen.items() if v is not None}})
    epochs = args.epochs or spec.defaults(args.data).get("epochs", spec.default_epochs)
    with scratch_runs("ff_loihi") as folder:
        run = train(config, RunSettings(dataset=args.data, backend=args.backend, epochs=epochs,
                                        seed=args.seed), folder / "run", show_progress=False)
        bound = Run(run.path)
        payload = {"settings": {"data": args.data, "backend": args.backend, "epochs": epochs,
                                "seed": args.seed, "train_samples": args.train_samples,
                                "config": run.info()["config"]},
                   **summarize(run, bound.config, len(bound.data().x_train))}
        if args.float_sgd:
            payload["float_rate_network_sgd"] = float_sgd(bound.config, args.data, epochs,
                                                          args.seed, folder)
    reference = RESULTS / "ff_digits.json"
    test = payload["final"]["test_accuracy"]
    if args.data == "digits" and reference.exists():
        rate = json.loads(reference.read_text())
        payload["float_rate_network"] = {
            "median_test_accuracy": rate["numpy_median_test_accuracy"],
            "median_test_accuracy_goodness": rate["numpy_median_test_accuracy_goodness"]}
        payload["targets"] = {"test_accuracy>=float_rate_network-0.03":
                              test >= rate["numpy_median_test_accuracy"] - 0.03}
    write_result(args.name or f"ff_loihi_{args.data.replace('-', '_')}_"
                              f"{args.backend.replace('-', '_')}", payload)


if __name__ == "__main__":
    main()
