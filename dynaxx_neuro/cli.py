"""The ``dynaxx`` command: every subcommand is a thin call into the library.

    dynaxx train ep --data digits --backend lava --out runs/ep
    dynaxx train ep --resume runs/ep --epochs 40
    dynaxx eval runs/ep
    dynaxx plot runs/ep
    dynaxx report runs/ep
    dynaxx compare runs/ep runs/ep-symmetric --out comparison.png
    dynaxx export runs/stdp                # NIR graph of a trained spiking network
    dynaxx deploy runs/ep-loihi --target loihi2   # the graph on Loihi 2 (or its simulation)

``dynaxx train <rule>`` is generated for every registered rule (``cli_options``).

Every failure ends with one sentence on stderr, never a traceback, and an exit status that
says which it was: 2 bad input, 1 a diverged run, 3 a Lava process that failed, 130 a run
stopped by SIGINT (Ctrl-C) or SIGTERM (``interrupt``; the line says how to resume).
"""

from __future__ import annotations

import json
import sys

import click


EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_LAVA_FAILED = 2, 1, 3


class _Command(click.Group):
    """A click group that turns library errors into one line and an exit status."""

    def invoke(self, ctx):
        from dynaxx_neuro.interrupt import (EXIT_INTERRUPTED, ignore_further_signals,
                                            signal_name, terminate_as_interrupt)
        from dynaxx_neuro.networks.lava_teardown import LavaProcessFailed
        from dynaxx_neuro.train import RunInterrupted, TrainingDiverged
        try:
            with terminate_as_interrupt():
                return super().invoke(ctx)
        except KeyboardInterrupt as interrupt:
            ignore_further_signals()
            said = (interrupt.message if isinstance(interrupt, RunInterrupted)  # how to resume
                    else f"{signal_name(interrupt)} stopped the command.")  # before a run folder
            click.echo(f"interrupted: {said}", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except click.BadParameter as error:  # a value outside an option's type or choices
            click.echo(f"error: {error.format_message()}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException):
            raise  # click's own exits and usage errors (Exit is a RuntimeError)
        except TrainingDiverged as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_DIVERGED)
        except LavaProcessFailed as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_LAVA_FAILED)
        except (ValueError, OSError, RuntimeError) as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except MemoryError:  # what memory.require_memory's estimate did not foresee
            click.echo("error: the run ran out of memory; make the network or the batch "
                       "smaller.", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=_Command)
@click.version_option(package_name="dynaxx-neuro")
def main():
    """dynaxx-neuro: learning without backpropagation on neuromorphic substrates."""


@main.group(cls=_Command)
def train():
    """Train a network with a local learning rule and write a run folder."""


def _add_rule_commands() -> None:
    """One ``dynaxx train <rule>`` per registered rule (``cli_options``)."""
    from dynaxx_neuro.cli_options import rule_command
    from dynaxx_neuro.registry import RULE_MODULES, graphs
    for name in RULE_MODULES:
        train.add_command(rule_command(graphs(name), _finish))


def _finish(run, plots: bool) -> None:
    """Print the run's warnings, its folder and its final metrics, then draw its plots if
    asked."""
    for message in run.warnings():
        click.echo(f"warning: {message}", err=True)
    click.echo(f"run folder: {run.path}")
    click.echo(json.dumps(run.info().get("final_metrics", {}), indent=2))
    if plots:
        _plot(run.path, "png")


_add_rule_commands()


@main.command("eval")
@click.argument("run")
@click.option("--backend", default=None, help="Back end to evaluate on (default: the run's).")
def eval_command(run, backend):
    """Accuracy of a run's last checkpoint on its validation and test splits."""
    from dynaxx_neuro.records import json_safe
    from dynaxx_neuro.train import evaluate_run
    click.echo(json.dumps(json_safe(evaluate_run(run, backend)), indent=2))


_LANDSCAPE_OPTIONS = (
    click.option("--sample", default=0, show_default=True, type=int,
                 help="Test sample whose energy landscape is drawn (EP runs)."),
    click.option("--directions", default="pca", show_default=True,
                 type=click.Choice(["pca", "random"]),
                 help="Plane of the energy landscape: top two principal components of the "
                      "settling trajectories, or random orthonormal directions."),
)


def _landscape_options(command):
    """Add --sample and --directions (the energy landscape's choices) to ``command``."""
    for option in reversed(_LANDSCAPE_OPTIONS):
        command = option(command)
    return command


@main.command("plot")
@click.argument("run")
@click.option("--format", "fmt", default="png", show_default=True,
              type=click.Choice(["png", "svg"]))
@_landscape_options
def plot_command(run, fmt, sample, directions):
    """Draw every plot a run has data for into RUN/plots/."""
    _plot(run, fmt, sample, directions)


def _plot(run, fmt: str, sample: int = 0, directions: str = "pca") -> None:
    from dynaxx_neuro.analysis.figures import plot_run
    for path in plot_run(run, fmt, sample, directions):
        click.echo(f"wrote {path}")


@main.command("report")
@click.argument("run")
@_landscape_options
def report_command(run, sample, directions):
    """Write RUN/report.html: figures, metrics and configuration in one self-contained page."""
    from dynaxx_neuro.analysis.report import write_report
    click.echo(f"wrote {write_report(run, sample, directions)}")


@main.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option("--out", default="comparison.png", show_default=True,
              help="Figure file of the overlaid learning curves (.png, .svg, ...).")
@click.option("--split", default="test", show_default=True,
              type=click.Choice(["train", "val", "test"]), help="Split whose curves are drawn.")
def compare_command(runs, out, split):
    """Overlay the learning curves of several runs and print their final metrics."""
    from dynaxx_neuro.analysis.compare import compare_runs, format_table
    path, rows = compare_runs(list(runs), out, split)
    click.echo(format_table(rows))
    click.echo(f"wrote {path}")


@main.command("export")
@click.argument("run")
@click.option("--out", default=None, help="NIR file to write (default RUN/network.nir).")
def export_command(run, out):
    """Write the trained spiking network of an STDP run as a NIR graph (HDF5), for other
    neuromorphic simulators and chips."""
    from dynaxx_neuro.nir_export import export_run
    click.echo(f"wrote {export_run(run, out)}")


@main.command("deploy")
@click.argument("run")
@click.option("--target", default="loihi2", show_default=True, help="Chip to deploy to.")
@click.option("--out", default=None, help="Folder of the report (default RUN/deploy-loihi2).")
@click.option("--require-hardware", is_flag=True,
              help="Exit with status 2 instead of simulating when no Loihi 2 is reachable.")
@click.option("--learn", is_flag=True,
              help="Also run one epoch of on-chip learning from the checkpoint and compare "
                   "the weights with the bit-accurate simulation's.")
@click.option("--cost-table", default=None,
              help="JSON cost table replacing the default (deploy.cost).")
def deploy_command(run, target, out, require_hardware, learn, cost_table):
    """Put a run's graph of Loihi parts on Loihi 2: print and write the compatibility
    report (RUN/deploy-loihi2/report.json), run the last checkpoint on the chip, or on
    Lava's CPU simulator where Intel's Loihi extension is absent, and compare with the
    bit-accurate simulation."""
    from dynaxx_neuro.deploy.cost import CostTable
    from dynaxx_neuro.deploy.run import deploy, format_report
    cost = CostTable() if cost_table is None else CostTable.from_json(cost_table)
    path, report = deploy(run, target, out, require_hardware, learn, cost,
                          echo=lambda text: click.echo(text, err=True))
    click.echo(format_report(report))
    click.echo(f"wrote {path}")


@main.command("crosscheck")
@click.argument("check", default="all")
@click.option("--out", default=None, help="Run folder (default runs/<time>-crosscheck-<check>).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--target", default="numpy", show_default=True,
              help="Brian2 code-generation target: numpy (no compiler) or cython.")
@click.option("--dt-ms", default=0.8, show_default=True, type=float,
              help="Coarsest step of the continuous-limit check (halved 4 times).")
@click.option("--format", "fmt", default="png", show_default=True,
              type=click.Choice(["png", "svg"]))
def crosscheck_command(check, out, seed, target, dt_ms, fmt):
    """Re-run the dynamics in Brian2 and compare; CHECK is lif, lif-fixed, stdp, continuous,
    ep, ep-fixed or all. Prints one row per comparison and exits 1 if any fails."""
    from dynaxx_neuro.crosscheck import CrosscheckSettings, format_table, run_crosscheck
    settings = CrosscheckSettings(seed=seed, target=target, dt_ms=dt_ms)
    run, records = run_crosscheck(check, out, settings, fmt,
                                  echo=lambda text: click.echo(text, err=True))
    click.echo(format_table(records))
    click.echo(f"run folder: {run.path}")
    if any(record.status == "FAIL" for record in records):
        click.get_current_context().exit(1)  # a comparison failed

if __name__ == "__main__":
    sys.exit(main())
