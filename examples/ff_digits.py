"""Train forward-forward (Hinton 2022) on scikit-learn's 8x8 digits with the numpy back end,
print both predictions (softmax readout and goodness argmax) and each layer's goodness, and
draw the learning curves and the goodness histograms.

    python examples/ff_digits.py                        # 74-500-500, 20 epochs
    python examples/ff_digits.py --epochs 2 --backend lava --hidden 64
"""

import argparse

from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.rules.ff import FFConfig
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--backend", default="numpy", choices=("lava", "numpy"))
    parser.add_argument("--hidden", default="500,500", help="layer sizes, e.g. 500,500")
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    hidden = tuple(int(n) for n in args.hidden.split(","))
    run = train(FFConfig(hidden=hidden),
                RunSettings(dataset="digits", backend=args.backend, epochs=args.epochs),
                args.out)
    print("final metrics:", run.info()["final_metrics"])
    predictions = run.read_table("ff_predictions")
    last = predictions["epoch"] == predictions["epoch"].max()
    for split, method, accuracy in zip(predictions["split"][last], predictions["method"][last],
                                       predictions["accuracy"][last]):
        print(f"{split} accuracy by {method}: {accuracy:.4f}")
    layers = run.read_table("ff_layers")
    last = layers["epoch"] == layers["epoch"].max()
    for layer, g_pos, g_neg in zip(layers["layer"][last], layers["g_pos"][last],
                                   layers["g_neg"][last]):
        print(f"layer {layer}: mean goodness positive {g_pos:.3f}, negative {g_neg:.3f}")
    for path in plot_run(run.path):
        print("plot:", path)


if __name__ == "__main__":
    main()
