"""Spiking STDP (Diehl & Cook style, Lava's ATRLIF + LearningDense) with the defaults of
`dynaxx train stdp`, on the floating_pt and the fixed_pt models (and, when asked, the numpy
back end, which runs the float graph as one loop and gives the float figures faster).

Targets (issue 4): digits test accuracy >= 85 % with float models, fixed point within 3
points of float; time per training sample reported; a Fashion-MNIST figure on a subset.

    python benchmarks/stdp_digits.py                                  # digits, float + fixed
    python benchmarks/stdp_digits.py --backends lava
    python benchmarks/stdp_digits.py --backends numpy --name stdp_digits_numpy
    python benchmarks/stdp_digits.py --backends lava --data fashion-mnist   # its chosen subset

Settings are `dynaxx train stdp`'s for the data set (``rules.stdp.SPEC``: on fashion-mnist
1000 training / 500 test samples, input rate 8, w_sum 50); the options below override them.
"""

import argparse
import time

from common import scratch_runs, write_result

from dynaxx_neuro.rules.stdp import SPEC
from dynaxx_neuro.train import RunSettings, train


def stdp_run(backend: str, config, args, folder) -> dict:
    start = time.perf_counter()
    run = train(config, RunSettings(dataset=args.data, backend=backend, epochs=args.epochs,
                                    seed=args.seed), out=folder / backend,
                show_progress=False)
    seconds = time.perf_counter() - start
    final = run.info()["final_metrics"]
    timing = run.read_table("timing")
    train_rows = timing["phase"] == "train"
    return {"backend": backend, "test_accuracy": final["test_accuracy"],
            "val_accuracy": final.get("val_accuracy"),
            "label_accuracy": final["train_accuracy"],
            "s_per_training_sample": float(timing["s_per_sample"][train_rows].mean()),
            "ms_per_step_training": float(timing["ms_per_step"][train_rows].mean()),
            "ms_per_step_eval": float(timing["ms_per_step"][~train_rows].mean()),
            "training_samples_per_epoch": int(timing["samples"][train_rows][0]),
            "wall_s": round(seconds, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["lava", "lava-fixed"])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=None,
                        help="training subset (0: all; default: the data set's)")
    parser.add_argument("--n-test", type=int, default=None,
                        help="test subset (0: all; default: the data set's)")
    parser.add_argument("--epochs", type=int, default=SPEC.default_epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-rate", type=float, default=None,
                        help="input spikes per step per image (default: the data set's)")
    parser.add_argument("--w-sum", type=float, default=None,
                        help="sum of each neuron's incoming weights after normalisation "
                             "(default: the data set's)")
    parser.add_argument("--name", default=None,
                        help="result name (default stdp_<data>)")
    args = parser.parse_args()
    overrides = {name: value for name, value in (("n_train", args.n_train),
                                                 ("n_test", args.n_test),
                                                 ("input_rate", args.input_rate),
                                                 ("w_sum", args.w_sum)) if value is not None}
    config = SPEC.configure(args.data, overrides)
    with scratch_runs() as folder:
        runs = {backend: stdp_run(backend, config, args, folder) for backend in args.backends}
    shown = config.presentation
    payload = {"settings": {"data": args.data, "n_train": config.n_train,
                            "n_test": config.n_test, "epochs": args.epochs, "seed": args.seed,
                            "neurons": config.neurons.n_neurons,
                            "input_rate": shown.input_rate, "w_sum": config.w_sum,
                            "read_out": {"t_present_eval": shown.t_present_eval,
                                         "t_rest_eval": shown.t_rest_eval,
                                         "input_rate_eval": shown.input_rate_eval,
                                         "vote": config.vote},
                            "other_settings": "cli defaults"},
               "runs": list(runs.values())}
    if args.data == "digits":
        targets = {}
        if "lava" in runs:
            targets["float_test_accuracy>=0.85"] = runs["lava"]["test_accuracy"] >= 0.85
        if {"lava", "lava-fixed"} <= runs.keys():
            gap = runs["lava"]["test_accuracy"] - runs["lava-fixed"]["test_accuracy"]
            payload["float_minus_fixed_points"] = round(100 * gap, 2)
            targets["fixed_within_3_points"] = abs(gap) <= 0.03
        payload["targets"] = targets
    write_result(args.name or f"stdp_{args.data.replace('-', '_')}", payload)


if __name__ == "__main__":
    main()
