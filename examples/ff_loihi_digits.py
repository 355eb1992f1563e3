"""Train FF's Loihi graph (LearningDense synapses with the FF rule as third factor, integer
layer and goodness neurons, batch 1) on 8x8 digits, then draw the run and print what one
training sample would cost on chip.

    python examples/ff_loihi_digits.py                            # numpy-fixed, 20 epochs
    python examples/ff_loihi_digits.py --backend lava-fixed --epochs 1 --train-samples 50
    python examples/ff_loihi_digits.py --epochs 1 --train-samples 100 --hidden 32,32
"""

import argparse

from dynaxx_neuro.analysis.energy_cost import energy_by_period
from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.registry import graphs
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--backend", default="numpy-fixed", choices=("numpy-fixed", "lava-fixed"))
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train on the first N training samples [all]")
    parser.add_argument("--hidden", default=None, help="layer sizes, e.g. 500,500 [the "
                        "graph's default]")
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    spec = next(s for s in graphs("ff") if s.graph == "loihi")
    values = {"train_samples": args.train_samples}
    if args.hidden:
        values["hidden"] = tuple(int(n) for n in args.hidden.split(","))
    config = spec.configure("digits", values)
    run = train(config, RunSettings(dataset="digits", backend=args.backend, epochs=args.epochs),
                out=args.out)
    print("final metrics:", run.info()["final_metrics"])
    _, _, joules, samples = energy_by_period(run.read_table("ops"))
    microjoules = sum(j[-1] for j in joules.values()) / samples[-1] * 1e6
    print(f"dynamic on-chip energy per training sample (last epoch): {microjoules:.2f} uJ")
    for path in plot_run(run.path):
        print("plot:", path)


if __name__ == "__main__":
    main()
