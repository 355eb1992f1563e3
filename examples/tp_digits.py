"""Train difference target propagation (Lee et al. 2015) on scikit-learn's 8x8 digits beside
a backprop-trained network of the same shape, print the final metrics and the angle between
each layer's TP update and the backprop gradient, and draw the learning curves and the
alignment.

    python examples/tp_digits.py                          # 64-256-256-256-10, 30 epochs
    python examples/tp_digits.py --variant ddtp-linear --epochs 5 --backend lava
"""

import argparse

from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.registry import rule
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--backend", default="numpy", choices=("lava", "numpy"))
    parser.add_argument("--variant", default="dtp", choices=("dtp", "ddtp-linear"))
    parser.add_argument("--hidden", default="256,256,256", help="layer sizes, e.g. 256,256")
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    config = rule("tp").configure("digits", {
        "hidden": tuple(int(n) for n in args.hidden.split(",")), "variant": args.variant})
    run = train(config, RunSettings(dataset="digits", backend=args.backend, epochs=args.epochs,
                                    baseline="backprop"), args.out)
    print("final metrics:", run.info()["final_metrics"])
    table = run.read_table("alignment")
    last = table["epoch"] == table["epoch"].max()
    for layer, angle in zip(table["layer"][last], table["angle_deg"][last]):
        print(f"weight layer {layer}: angle to the backprop gradient {angle:.1f} degrees")
    for path in plot_run(run.path):
        print("plot:", path)


if __name__ == "__main__":
    main()
