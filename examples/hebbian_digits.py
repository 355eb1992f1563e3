"""Learn features on scikit-learn's 8x8 digits with a Hebbian rule (competing hidden units by
default), then train linear readouts on them and on the two baselines, raw pixels and
random ReLU features of the same width, and print the three test accuracies.

On digits the baselines are already strong (raw pixels about 92 %, random features about
95 %), so this is a demonstration; benchmarks/hebbian_fashion.py makes the claims.

    python examples/hebbian_digits.py                          # KHU, 200 units, NumPy
    python examples/hebbian_digits.py --rule bcm --backend lava --epochs 5
"""

import argparse

from dynaxx_neuro.rules.hebbian import HebbianConfig, ReadoutConfig
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", default="khu", choices=("oja", "bcm", "khu"))
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=30, help="Hebbian epochs")
    parser.add_argument("--readout-epochs", type=int, default=30)
    parser.add_argument("--backend", default="numpy", choices=("lava", "numpy"))
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    config = HebbianConfig(rule=args.rule, hidden=args.hidden, batch_size=20,
                           readout=ReadoutConfig(readout_epochs=args.readout_epochs))
    run = train(config, RunSettings(dataset="digits", backend=args.backend,
                                    epochs=args.epochs), args.out)
    final = run.info()["final_metrics"]
    for name, key in (("learned features", "test_accuracy"),
                      ("raw pixels", "pixels_test_accuracy"),
                      ("random ReLU features", "random_test_accuracy")):
        print(f"{name:>22}: test accuracy {final[key]:.4f}")
    print("run folder:", run.path)


if __name__ == "__main__":
    main()
