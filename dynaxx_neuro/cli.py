"""The ``dynaxx`` command: every subcommand is a thin call into the library.

    dynaxx train ep --data digits --backend lava --out runs/ep
    dynaxx train ep --resume runs/ep --epochs 40
    dynaxx eval runs/ep
    dynaxx plot runs/ep

Bad input ends with one sentence on stderr and exit status 2 (1 for a diverged run), never
a traceback.
"""

from __future__ import annotations

import json
import sys

import click

from dynaxx_neuro.backends import BACKENDS
from dynaxx_neuro.datasets import DATASET_NAMES

EXIT_BAD_INPUT, EXIT_DIVERGED = 2, 1


def _numbers(text: str | None, kind: type, name: str) -> tuple | None:
    """Parse a comma-separated list such as '500,500' or '0.1,0.05'."""
    if text is None:
        return None
    try:
        return tuple(kind(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{name} must be comma-separated {kind.__name__} values, "
                         f"got {text!r}.") from None


class _Command(click.Group):
    """A click group that turns library errors into one line and an exit status."""

    def invoke(self, ctx):
        from dynaxx_neuro.train import TrainingDiverged
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException):
            raise  # click's own exits and usage errors (Exit is a RuntimeError)
        except TrainingDiverged as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_DIVERGED)
        except (ValueError, OSError, RuntimeError) as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=_Command)
@click.version_option(package_name="dynaxx-neuro")
def main():
    """dynaxx-neuro: learning without backpropagation on neuromorphic substrates."""


@main.group(cls=_Command)
def train():
    """Train a network with a local learning rule and write a run folder."""


@train.command("ep")
@click.option("--data", "dataset", default="digits", show_default=True,
              help=f"Dataset: {', '.join(DATASET_NAMES)}.")
@click.option("--data-dir", default=None, help="Folder with the IDX files (fashion-mnist, mnist).")
@click.option("--backend", default="lava", show_default=True, help=f"One of {', '.join(BACKENDS)}.")
@click.option("--out", default=None, help="Run folder (default runs/<time>-ep-<data>-<backend>).")
@click.option("--resume", default=None, help="Continue this run folder from its last checkpoint.")
@click.option("--hidden", default="512", show_default=True, help="Hidden sizes, e.g. 500,500.")
@click.option("--beta", default=0.5, show_default=True, type=float, help="Nudging strength > 0.")
@click.option("--eps", default=1.0, show_default=True, type=float, help="Settling step in (0, 1].")
@click.option("--t-free", default=12, show_default=True, type=int, help="Free-phase steps.")
@click.option("--t-nudge", default=4, show_default=True, type=int, help="Steps per nudged phase.")
@click.option("--symmetric/--one-sided", default=True, show_default=True,
              help="Symmetric (+beta and -beta) or one-sided nudging.")
@click.option("--random-sign", is_flag=True, help="Random sign of beta per batch (one-sided).")
@click.option("--beta-warmup", default=0, show_default=True, type=int,
              help="Epochs of linear beta warm-up.")
@click.option("--lrs", default=None, help="Per-layer learning rates, e.g. 0.2,0.1 "
              "(default 0.2 halved per layer).")
@click.option("--lr-decay", default=0.9, show_default=True, type=float,
              help="Per-epoch learning-rate decay factor in (0, 1].")
@click.option("--momentum", default=0.0, show_default=True, type=float,
              help="Momentum of the local updates in [0, 1).")
@click.option("--epochs", default=30, show_default=True, type=int)
@click.option("--batch-size", default=20, show_default=True, type=int)
@click.option("--validation", default=0.1, show_default=True, type=float,
              help="Fraction of the training data held out for tuning.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--log-batches", default=2, show_default=True, type=int,
              help="Training batches per epoch whose settling energies are logged.")
@click.option("--plots/--no-plots", default=True, show_default=True,
              help="Draw the run's plots when training ends.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def train_ep_command(dataset, data_dir, backend, out, resume, hidden, beta, eps, t_free, t_nudge,
                     symmetric, random_sign, beta_warmup, lrs, lr_decay, momentum, epochs,
                     batch_size, validation, seed, log_batches, plots, progress):
    """Equilibrium propagation (Scellier & Bengio 2017) on Lava or NumPy."""
    from dynaxx_neuro.train import resume as resume_run
    from dynaxx_neuro.train_ep import train_ep
    if resume is not None:
        run = resume_run(resume, epochs if _given("epochs") else None, progress)
    else:
        run = train_ep(
            dataset=dataset, hidden=_numbers(hidden, int, "hidden"), backend=backend,
            epochs=epochs, out=out, data_dir=data_dir, validation=validation, beta=beta,
            eps=eps, t_free=t_free, t_nudge=t_nudge, symmetric=symmetric,
            random_sign=random_sign, beta_warmup_epochs=beta_warmup,
            lrs=_numbers(lrs, float, "lrs"), lr_decay=lr_decay, momentum=momentum,
            batch_size=batch_size, seed=seed, log_batches=log_batches, show_progress=progress)
    click.echo(f"run folder: {run.path}")
    click.echo(json.dumps(run.info().get("final_metrics", {}), indent=2))
    if plots:
        _plot(run.path, "png")


def _given(name: str) -> bool:
    """Whether an option was typed on the command line (not its default)."""
    ctx = click.get_current_context()
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


@main.command("eval")
@click.argument("run")
@click.option("--backend", default=None, help="Back end to evaluate on (default: the run's).")
def eval_command(run, backend):
    """Accuracy of a run's last checkpoint on its validation and test splits."""
    from dynaxx_neuro.train import evaluate_run
    click.echo(json.dumps(evaluate_run(run, backend), indent=2))


@main.command("plot")
@click.argument("run")
@click.option("--format", "fmt", default="png", show_default=True,
              type=click.Choice(["png", "svg"]))
def plot_command(run, fmt):
    """Draw a run's learning curves and settling energies into RUN/plots/."""
    _plot(run, fmt)


def _plot(run, fmt: str) -> None:
    from dynaxx_neuro.analysis.figures import plot_run
    for path in plot_run(run, fmt):
        click.echo(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
