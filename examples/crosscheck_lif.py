"""Cross-check Lava's LIF neuron against Brian2, then our discrete LIF against Brian2's exact
continuous-time solution: the first comparisons of `dynaxx crosscheck`, through the API.

    python examples/crosscheck_lif.py --out crosscheck-plots
    python examples/crosscheck_lif.py --steps 60 --halvings 3   # quicker

Where lava-nc is missing (Python > 3.10) the Lava comparisons are reported as skipped.
"""

import argparse

from dynaxx_neuro.crosscheck import CrosscheckSettings, format_table, run_checks
from dynaxx_neuro.crosscheck.figures import write_figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="crosscheck-plots", help="folder for the plots")
    parser.add_argument("--steps", type=int, default=150, help="Lava steps of the LIF runs")
    parser.add_argument("--halvings", type=int, default=5, help="dt values of the limit check")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = CrosscheckSettings(seed=args.seed, lif_steps=args.steps, halvings=args.halvings)
    records = []
    for check in ("lif", "lif-fixed", "continuous"):
        records += run_checks(check, settings)
    print(format_table(records))
    for path in write_figures(records, args.out):
        print("plot:", path)


if __name__ == "__main__":
    main()
