"""Evolve a network on scikit-learn's 8x8 digits with evolution strategies (OpenAI-ES or
CMA-ES), print the final metrics and the last generation's fitness and step size, and draw
the learning curves.

    python examples/es_digits.py                          # OpenAI-ES, 64-32-10, 20 epochs
    python examples/es_digits.py --strategy cma --workers 2
    python examples/es_digits.py --hidden "" --epochs 5   # a linear softmax classifier
"""

import argparse

from dynaxx_neuro.analysis.figures import plot_run
from dynaxx_neuro.registry import rule
from dynaxx_neuro.train import RunSettings, train


def main(argv=None):
    spec = rule("es")
    defaults = spec.config()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=spec.default_epochs)
    parser.add_argument("--strategy", default=defaults.strategy, choices=("openai", "cma"))
    parser.add_argument("--hidden", default=",".join(map(str, defaults.hidden)),
                        help="hidden layer sizes, e.g. 32 or 64,32; \"\" for none")
    parser.add_argument("--population", type=int, default=defaults.population)
    parser.add_argument("--generations", type=int, default=defaults.generations,
                        help="generations per epoch")
    parser.add_argument("--workers", type=int, default=defaults.workers,
                        help="worker processes for the fitness evaluations (0: this one)")
    parser.add_argument("--out", default=None, help="run folder (default runs/<time>-...)")
    args = parser.parse_args(argv)
    hidden = tuple(int(n) for n in args.hidden.split(",")) if args.hidden else ()
    config = spec.configure("digits", {
        "strategy": args.strategy, "hidden": hidden, "population": args.population,
        "generations": args.generations, "workers": args.workers})
    run = train(config, RunSettings(dataset="digits", epochs=args.epochs), args.out)
    print("final metrics:", run.info()["final_metrics"])
    table = run.read_table("evolution")
    print(f"generation {table['generation'][-1]}: {table['evaluations'][-1]} fitness "
          f"evaluations, best fitness {table['fitness_best'][-1]:.4f}, mean "
          f"{table['fitness_mean'][-1]:.4f}, sigma {table['sigma'][-1]:.4g}")
    for path in plot_run(run.path):
        print("plot:", path)


if __name__ == "__main__":
    main()
