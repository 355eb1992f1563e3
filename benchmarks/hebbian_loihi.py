"""The Hebbian rule's Loihi graph (``dynaxx train hebbian --graph loihi``, Oja's subspace rule
or BCM on LearningDense synapses and integer neurons, batch 1) on ``numpy-fixed``, beside
the float rate network (``rules/hebbian.py``, the same ``--rule``) with the same settings:
the same units, the same initial weights (before quantisation), batch 1, the same rate 2^-l
per sample (BCM: tau_theta 2^k samples), the same epochs, samples and readout; and the
float network with its own CLI defaults. Seconds
per features epoch for both, and per training sample on ``lava-fixed`` from one short
epoch.

Targets (issue 13): Oja + readout on digits within 3 points of float; Fashion-MNIST figures
reported.

    python benchmarks/hebbian_loihi.py
    python benchmarks/hebbian_loihi.py --rule bcm --lava-samples 0
    python benchmarks/hebbian_loihi.py --data fashion-mnist --train-samples 10000 --epochs 3 \
        --lava-samples 0
"""

import argparse
import dataclasses
import time

import numpy as np
from common import scratch_runs, write_result

from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.networks.hebbian_numpy import HebbianNumpyRunner
from dynaxx_neuro.networks.hebbian_readout import ReadoutRunner
from dynaxx_neuro.registry import bind_data, graphs
from dynaxx_neuro.rules import hebbian
from dynaxx_neuro.rules.hebbian_loihi import HebbianLoihiParameters
from dynaxx_neuro.train import RunSettings, train


def accuracy(result, data) -> dict:
    return {"val": float(np.mean(result.val_predictions == data.y_val)),
            "test": float(np.mean(result.test_predictions == data.y_test))}


def reconstruction_error(weights: np.ndarray, x: np.ndarray) -> float:
    """Oja's objective on validation inputs: E||x - W^T W x||^2 / E||x||^2 (0 when the rows
    of W span the data; about 8 for the initial N(0, 1 / n_in) weights of 200 units on
    digits)."""
    residual = x - (x @ weights.T) @ weights  # (N, n) x (n, n_in)
    return round(float(np.sum(residual ** 2) / np.sum(x ** 2)), 4)


def loihi_run(config, data, args, folder) -> dict:
    """The graph's run on ``numpy-fixed`` through the training loop (both stages)."""
    run = train(config, RunSettings(dataset=args.data, backend="numpy-fixed",
                                    epochs=args.epochs, seed=args.seed), folder / "loihi",
                show_progress=False)
    final, table = run.info()["final_metrics"], run.read_table("hebbian")
    weights = run.last_checkpoint()[1]["hebbian_w"] / 2.0 ** config.weight_exp
    return {"val": final["val_accuracy"], "test": final["test_accuracy"],
            "val_reconstruction_error": reconstruction_error(weights, data.x_val),
            "baselines_test": {name: final[f"{name}_test_accuracy"]
                               for name in ("pixels", "random")},
            "epoch_seconds": [round(float(s), 2) for s in table["time_s"]],
            "weight_norm_mean": [round(float(v), 4) for v in table["weight_norm_mean"]],
            "backward_drift_max": [None if np.isnan(v) else int(v)
                                   for v in table["backward_drift_max"]],
            "theta_mean": [round(float(v), 3) for v in table["theta_mean"]]}


def float_same_settings(config, data, args) -> dict:
    """The float rate network's two stages with the graph's settings: Oja at batch 1 and
    rate 2^-l on the same streamed samples, then the same readouts on all of them."""
    bcm = {"tau_theta": 2.0 ** config.theta_shift} if config.bcm else {}
    float_config = bind_data(hebbian.HebbianConfig(rule=config.rule, hidden=config.hidden,
                                                   batch_size=1, lr=config.lr,
                                                   readout=config.readout, **bcm), data)
    subset = data.first_train(config.train_samples)
    layer = hebbian.HebbianParameters.initial(float_config, stream(args.seed, INIT))
    runner = HebbianNumpyRunner(float_config, subset, layer,
                                Launch(args.seed, 0, "numpy", (0, args.epochs)))
    seconds = []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        runner.run_epoch(epoch)
        seconds.append(round(time.perf_counter() - start, 2))
    end = args.epochs + config.readout.readout_epochs
    readout = ReadoutRunner(float_config, data,
                            hebbian.ReadoutParameters(runner.parameters(), {}),
                            Launch(args.seed, args.epochs, "numpy", (args.epochs, end)))
    for epoch in range(args.epochs, end):
        result = readout.run_epoch(epoch)
    return {**accuracy(result, data), "epoch_seconds": seconds,
            "val_reconstruction_error": reconstruction_error(runner.parameters().weights,
                                                             data.x_val)}


def float_defaults(args, data, folder) -> dict:
    """The float rate network with its own CLI defaults for the data set (``--rule``)."""
    spec = hebbian.SPEC
    config = spec.configure(args.data, {"rule": args.rule})
    epochs = spec.defaults(args.data).get("epochs", spec.default_epochs)
    run = train(config, RunSettings(dataset=args.data, backend="numpy", epochs=epochs,
                                    seed=args.seed), folder / "float", show_progress=False)
    final = run.info()["final_metrics"]
    weights = run.last_checkpoint()[1]["hebbian_w"]
    return {"val": final["val_accuracy"], "test": final["test_accuracy"], "epochs": epochs,
            "hidden": config.hidden, "batch_size": config.batch_size,
            "val_reconstruction_error": reconstruction_error(weights, data.x_val)}


def lava_seconds_per_sample(spec, config, data, args) -> dict:
    """One features epoch of ``args.lava_samples`` samples on ``lava-fixed``, and the same
    samples on ``numpy-fixed``: wall seconds per training sample."""
    config = dataclasses.replace(config, train_samples=args.lava_samples)
    out = {}
    for backend in ("numpy-fixed", "lava-fixed"):
        chosen = spec.backend(backend)
        params = HebbianLoihiParameters.initial(config, stream(args.seed, INIT))
        runner = chosen.load()(config, data, params, Launch(args.seed, 0, chosen.tag))
        try:
            start = time.perf_counter()
            runner.run_epoch(0)
            out[backend] = (time.perf_counter() - start) / args.lava_samples
        finally:
            runner.close()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--rule", default="oja", choices=("oja", "bcm"))
    parser.add_argument("--epochs", type=int, default=None, help="[the graph's default]")
    parser.add_argument("--hidden", type=int, default=None, help="[the graph's default]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-samples", type=int, default=None,
                        help="samples the features stage streams per epoch [all]")
    parser.add_argument("--lava-samples", type=int, default=100,
                        help="samples of the lava-fixed speed epoch [0: none]")
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    spec = next(s for s in graphs("hebbian") if s.graph == "loihi")
    values = {"train_samples": args.train_samples, "rule": args.rule}
    if args.hidden is not None:
        values["hidden"] = args.hidden
    config = spec.configure(args.data, values)
    args.epochs = args.epochs or spec.defaults(args.data).get("epochs", spec.default_epochs)
    data = prepare_splits(args.data, None, 0.1, args.seed)
    config = bind_data(config, data)
    with scratch_runs("hebbian_loihi") as folder:
        fixed = loihi_run(config, data, args, folder)
        same = float_same_settings(config, data, args)
        defaults = float_defaults(args, data, folder) if args.data == "digits" else None
    payload = {"settings": {"data": args.data, "epochs": args.epochs, "seed": args.seed,
                            "train_samples": args.train_samples,
                            "config": dataclasses.asdict(config)},
               "numpy_fixed": fixed, "float_same_settings": same,
               "float_cli_defaults": defaults,
               "fixed_minus_float_test_points": round(100 * (fixed["test"] - same["test"]), 2)}
    if args.lava_samples:
        payload["seconds_per_training_sample"] = lava_seconds_per_sample(spec, config, data,
                                                                         args)
    if args.data == "digits":
        payload["targets"] = {
            "numpy_fixed_within_3_points_of_float_same_settings":
                fixed["test"] >= same["test"] - 0.03,
            "numpy_fixed_within_3_points_of_float_cli_defaults":
                fixed["test"] >= defaults["test"] - 0.03}
    suffix = "" if args.rule == "oja" else f"_{args.rule}"
    write_result(args.name or f"hebbian_loihi_{args.data.replace('-', '_')}{suffix}", payload)


if __name__ == "__main__":
    main()
