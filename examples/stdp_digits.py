"""Train a Diehl & Cook-style spiking network with pair STDP on scikit-learn's 8x8 digits,
built from Lava's own ATRLIF, Dense and LearningDense processes, then draw its plots
(learning curve, spike raster, on-chip energy, receptive fields).

    python examples/stdp_digits.py                         # the full digits run (~10 min)
    python examples/stdp_digits.py --n-train 40 --n-test 20 --neurons 10 --t-present 10 \
        --t-present-eval 10
    python examples/stdp_digits.py --backend lava-fixed    # fixed_pt models
    python examples/stdp_digits.py --backend numpy         # the float graph in NumPy (~30 s)
"""

import argparse

from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.rules.stdp import AdaptiveLIF, Presentation, STDPConfig
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="lava", choices=("lava", "lava-fixed", "numpy"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--neurons", type=int, default=AdaptiveLIF().n_neurons)
    parser.add_argument("--n-train", type=int, default=0, help="training subset (0: all)")
    parser.add_argument("--n-test", type=int, default=0, help="test subset (0: all)")
    parser.add_argument("--t-present", type=int, default=Presentation().t_present)
    parser.add_argument("--t-present-eval", type=int, default=Presentation().t_present_eval,
                        help="steps each sample is shown when labelling and evaluating")
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    config = STDPConfig(neurons=AdaptiveLIF(n_neurons=args.neurons),
                        presentation=Presentation(t_present=args.t_present,
                                                  t_present_eval=args.t_present_eval),
                        n_train=args.n_train, n_test=args.n_test)
    run = train(config, RunSettings(dataset="digits", backend=args.backend,
                                    epochs=args.epochs), out=args.out)
    print("final metrics:", run.info()["final_metrics"])
    timing = run.read_table("timing")
    for phase, per_sample in zip(timing["phase"], timing["s_per_sample"]):
        print(f"{phase}: {per_sample * 1000:.0f} ms per sample")
    for path in plot_run(run.path):
        print("plot:", path)


if __name__ == "__main__":
    main()
