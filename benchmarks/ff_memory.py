"""Memory of forward-forward training against backprop training of the same network and
batch, and how each grows with depth (2, 4 and 8 hidden layers).

Each measurement runs in a fresh Python process (peak RSS only grows, so two trainings in one
process would hide each other) on random 28x28 inputs: it builds the network, then trains
``--steps`` batches, and reports the peak RSS of the process, the RSS before training, and
tracemalloc's peak of the arrays allocated during training (numpy reports its buffers to
tracemalloc). FF: the numpy back end's training period (default negatives, wrong label and
hard, whose mining runs one pass per label); backprop: ``baseline.MLPTrainer``, 784-hidden-10.

    python benchmarks/ff_memory.py                      # width 1000, batch 500
"""

import argparse
import json
import subprocess
import sys
import tracemalloc

import numpy as np

from common import write_result


def measure(rule: str, depth: int, width: int, batch: int, steps: int) -> dict:
    """Train in this process and return its memory figures (the child's job)."""
    from dynaxx_neuro.records import peak_rss_mb
    rng = np.random.default_rng(0)
    x, y = rng.random((batch, 784)), rng.integers(0, 10, batch)
    hidden = (width,) * depth
    if rule == "ff":
        from dynaxx_neuro.networks.ff_numpy import train_period
        from dynaxx_neuro.rules.ff import FFConfig, FFParameters
        config = FFConfig(n_inputs=784, n_classes=10, image_shape=(28, 28), hidden=hidden,
                          batch_size=batch)
        params = FFParameters.initial(config, rng)

        def train_step(i):
            nonlocal params
            params, _ = train_period(params, x, y, config, 0, 0, i)
    else:
        from dynaxx_neuro.baseline import MLPConfig, MLPTrainer
        trainer = MLPTrainer(MLPConfig(sizes=(784, *hidden, 10), batch_size=batch))

        def train_step(i):
            trainer.train_epoch(x, y, i)
    before = peak_rss_mb()
    tracemalloc.start()
    for i in range(steps):
        train_step(i)
    traced_peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return {"rule": rule, "depth": depth, "rss_before_mb": round(before, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "training_rss_increase_mb": round(peak_rss_mb() - before, 1),
            "traced_training_peak_mb": round(traced_peak, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("RULE", "DEPTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        rule, depth = args.child[0], int(args.child[1])
        print(json.dumps(measure(rule, depth, args.width, args.batch, args.steps)))
        return
    rows = []
    for depth in args.depths:
        for rule in ("ff", "backprop"):
            out = subprocess.run([sys.executable, __file__, "--child", rule, str(depth),
                                  "--width", str(args.width), "--batch", str(args.batch),
                                  "--steps", str(args.steps)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    by = {(r["rule"], r["depth"]): r for r in rows}
    ratios = {depth: {
        "peak_rss": by["ff", depth]["peak_rss_mb"] / by["backprop", depth]["peak_rss_mb"],
        "traced_training_peak": (by["ff", depth]["traced_training_peak_mb"]
                                 / by["backprop", depth]["traced_training_peak_mb"])}
        for depth in args.depths}
    write_result("ff_memory", {
        "settings": {"width": args.width, "batch": args.batch, "steps": args.steps,
                     "inputs": "random 784-pixel images, 10 classes"},
        "measurements": rows, "ff_over_backprop": ratios})


if __name__ == "__main__":
    main()
