"""Learn Oja features on the Hebbian rule's Loihi graph (LearningDense synapses with a graded
3-factor rule, integer neurons, batch 1) from 8x8 digits, train the host readouts on the
integer activities, and compare them with the readouts on pixels and random features.

    python examples/hebbian_loihi_digits.py                          # numpy-fixed, 10 epochs
    python examples/hebbian_loihi_digits.py --backend lava-fixed --train-samples 200
    python examples/hebbian_loihi_digits.py --epochs 1 --train-samples 100 --readout-epochs 2
"""

import argparse

from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.registry import graphs
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--backend", default="numpy-fixed", choices=("numpy-fixed", "lava-fixed"))
    parser.add_argument("--train-samples", type=int, default=None,
                        help="samples the features stage streams per epoch [all]")
    parser.add_argument("--readout-epochs", type=int, default=None, help="[the graph's]")
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    spec = next(s for s in graphs("hebbian") if s.graph == "loihi")
    values = {"train_samples": args.train_samples}
    if args.readout_epochs is not None:
        values["readout_epochs"] = args.readout_epochs
    config = spec.configure("digits", values)
    run = train(config, RunSettings(dataset="digits", backend=args.backend, epochs=args.epochs),
                out=args.out)
    final = run.info()["final_metrics"]
    for features in ("hebbian", "pixels", "random"):
        key = "test_accuracy" if features == "hebbian" else f"{features}_test_accuracy"
        print(f"readout on {features} features: test accuracy {final[key]:.4f}")
    for path in plot_run(run.path):
        print("plot:", path)


if __name__ == "__main__":
    main()
