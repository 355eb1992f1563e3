"""How EP's Loihi graph depends on its precision: digits accuracy on ``numpy-fixed`` against
the weight width (8, 6, 4 bits; the learning engine holds 8, numpy-fixed rounds every update
to the coarser grid with the engine's draw) and against beta = 2^-k (k = 0, 1, 2; the
learning rate stays 2^-7, so the third factor grows with k), each with the other CLI
defaults, next to the graph's float models (``results/ep_loihi_digits_lava.json``, from
``ep_loihi.py --backend lava``). Writes the JSON and ``results/ep_loihi_precision.png``.

    python benchmarks/ep_loihi_precision.py
    python benchmarks/ep_loihi_precision.py --redraw   # the figure again from the JSON (e.g.
                                                       # once the float graph's result exists)
"""

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from common import RESULTS, scratch_runs, write_result  # noqa: E402

from dynaxx_neuro.registry import graphs  # noqa: E402
from dynaxx_neuro.train import RunSettings, train  # noqa: E402

SWEEPS = {"weight_bits": (8, 6, 4), "beta_shift": (0, 1, 2)}
DEFAULTS = {"weight_bits": 8, "beta_shift": 1}   # the CLI defaults of the swept options


def accuracy(values: dict, epochs: int, seed: int, folder) -> dict:
    spec = graphs("ep")[1]
    run = train(spec.configure("digits", values),
                RunSettings(dataset="digits", backend="numpy-fixed", epochs=epochs, seed=seed),
                folder / "-".join(f"{k}{v}" for k, v in values.items()), show_progress=False)
    final = run.info()["final_metrics"]
    return {**values, "val_accuracy": final["val_accuracy"],
            "test_accuracy": final["test_accuracy"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--redraw", action="store_true",
                        help="redraw the figure from results/ep_loihi_precision.json")
    args = parser.parse_args()
    float_file = RESULTS / "ep_loihi_digits_lava.json"
    float_graph = (json.loads(float_file.read_text())["final"]["test_accuracy"]
                   if float_file.exists() else None)
    if args.redraw:
        saved = json.loads((RESULTS / "ep_loihi_precision.json").read_text())
        draw(saved["rows"], float_graph, saved["settings"]["epochs"], saved["settings"]["seed"])
        return
    trained = {}   # the defaults appear in both sweeps: train each setting once
    with scratch_runs("ep_loihi_precision") as folder:
        for name, values in SWEEPS.items():
            for v in values:
                setting = tuple(sorted({**DEFAULTS, name: v}.items()))
                if setting not in trained:
                    trained[setting] = accuracy(dict(setting), args.epochs, args.seed, folder)
    rows = {name: [trained[tuple(sorted({**DEFAULTS, name: v}.items()))] for v in values]
            for name, values in SWEEPS.items()}
    draw(rows, float_graph, args.epochs, args.seed)
    write_result("ep_loihi_precision", {"settings": vars(args), "rows": rows,
                                        "float_graph_test_accuracy": float_graph,
                                        "figure": "results/ep_loihi_precision.png"})


def draw(rows: dict, float_graph: float | None, epochs: int, seed: int) -> None:
    """The two panels: test accuracy against weight bits and against beta."""
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, (name, label) in zip(axes, (("weight_bits", "weight bits (magnitude)"),
                                        ("beta_shift", "beta"))):
        xs = [r[name] if name == "weight_bits" else 2.0 ** -r[name] for r in rows[name]]
        ax.plot(xs, [100 * r["test_accuracy"] for r in rows[name]], "o-",
                label="fixed point (numpy-fixed)")
        if float_graph is not None:
            ax.axhline(100 * float_graph, color="grey", ls="--", label="float models (lava)")
        ax.set_xlabel(label)
        if name == "beta_shift":
            ax.set_xscale("log", base=2)
    axes[0].set_ylabel("digits test accuracy (%)")
    axes[0].legend(loc="lower right", fontsize=8)
    figure.suptitle(f"EP's Loihi graph, 64-256-10, {epochs} epochs, seed {seed}")
    figure.tight_layout()
    figure.savefig(RESULTS / "ep_loihi_precision.png", dpi=120)


if __name__ == "__main__":
    main()
