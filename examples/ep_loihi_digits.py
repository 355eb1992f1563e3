"""Train EP's Loihi graph (LearningDense synapses with the EP rule, integer neurons, batch 1)
on 8x8 digits, then draw the run and print what one training sample would cost on chip.

    python examples/ep_loihi_digits.py                           # lava-fixed, 10 epochs
    python examples/ep_loihi_digits.py --backend numpy-fixed     # its bit-exact twin, faster
    python examples/ep_loihi_digits.py --epochs 1 --train-samples 100
"""

import argparse

from dynaxx_neuro.analysis.energy_cost import energy_by_period
from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.registry import graphs
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--backend", default="lava-fixed", choices=("lava-fixed", "numpy-fixed"))
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train on the first N training samples [all]")
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    spec = next(s for s in graphs("ep") if s.graph == "loihi")
    config = spec.configure("digits", {"train_samples": args.train_samples})
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
