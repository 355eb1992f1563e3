"""Train equilibrium propagation on scikit-learn's 8x8 digits with the Lava back end, then
draw the learning curves and the settling energies: the README's demo through the API.

    python examples/ep_digits.py                      # 30 epochs on Lava
    python examples/ep_digits.py --epochs 2 --backend numpy
"""

import argparse

from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.rules.ep import EPConfig
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--backend", default="lava", choices=("lava", "numpy"))
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    run = train(EPConfig(), RunSettings(dataset="digits", backend=args.backend,
                                        epochs=args.epochs), out=args.out)
    print("final metrics:", run.info()["final_metrics"])
    for path in plot_run(run.path):
        print("plot:", path)


if __name__ == "__main__":
    main()
