"""The ``dynaxx`` command: every subcommand is a thin call into the library.

    dynaxx train ep --data digits --backend lava --out runs/ep
    dynaxx train ep --resume runs/ep --epochs 40
    dynaxx eval runs/ep
    dynaxx plot runs/ep
    dynaxx report runs/ep
    dynaxx compare runs/ep runs/ep-symmetric --out comparison.png
    dynaxx export runs/stdp                # NIR graph of a trained spiking network

Bad input ends with one sentence on stderr and exit status 2 (1 for a diverged run), never
a traceback.
"""

from __future__ import annotations

import json
import sys

import click

from dynaxx_neuro.backends import BACKENDS
from dynaxx_neuro.datasets import DATASET_NAMES
from dynaxx_neuro.kernels.stdp import STDPRule
from dynaxx_neuro.networks.stdp_lava import (CONFIG_DEFAULTS, DEFAULT_PRESENTATION, AdaptiveLIF,
                                             Presentation)

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


def _run_options(rule: str, backend_help: str, epochs: int, backend: str = "lava",
                 epochs_help: str = "Training epochs."):
    """Add the options every ``train`` command shares (data, back end, run folder, resume,
    epochs, validation, seed, plots, progress) around a command's own options."""
    options = (
        click.option("--data", "dataset", default="digits", show_default=True,
                     help=f"Dataset: {', '.join(DATASET_NAMES)}."),
        click.option("--data-dir", default=None,
                     help="Folder with the IDX files (fashion-mnist, mnist)."),
        click.option("--backend", default=backend, show_default=True, help=backend_help),
        click.option("--out", default=None,
                     help=f"Run folder (default runs/<time>-{rule}-<data>-<backend>)."),
        click.option("--resume", default=None,
                     help="Continue this run folder from its last checkpoint."),
        click.option("--epochs", default=epochs, show_default=True, type=int, help=epochs_help),
        click.option("--validation", default=0.1, show_default=True, type=float,
                     help="Fraction of the training data held out for tuning."),
        click.option("--seed", default=0, show_default=True, type=int),
        click.option("--plots/--no-plots", default=True, show_default=True,
                     help="Draw the run's plots when training ends."),
        click.option("--progress/--no-progress", default=True, show_default=True),
    )

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def _resumed(folder: str, epochs: int | None, progress: bool):
    """Continue a run folder; ``epochs`` is the new total when typed on the command line."""
    from dynaxx_neuro.train import resume as resume_run
    return resume_run(folder, epochs if _given("epochs") else None, progress)


def _finish(run, plots: bool) -> None:
    """Print the run folder and its final metrics, then draw its plots if asked."""
    click.echo(f"run folder: {run.path}")
    click.echo(json.dumps(run.info().get("final_metrics", {}), indent=2))
    if plots:
        _plot(run.path, "png")


@train.command("ep")
@_run_options("ep", f"One of {', '.join(BACKENDS)}.", epochs=30)
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
@click.option("--batch-size", default=20, show_default=True, type=int)
@click.option("--log-batches", default=2, show_default=True, type=int,
              help="Training batches per epoch whose settling energies are logged.")
def train_ep_command(dataset, data_dir, backend, out, resume, epochs, validation, seed, plots,
                     progress, hidden, beta, eps, t_free, t_nudge, symmetric, random_sign,
                     beta_warmup, lrs, lr_decay, momentum, batch_size, log_batches):
    """Equilibrium propagation (Scellier & Bengio 2017) on Lava or NumPy."""
    from dynaxx_neuro.train_ep import train_ep
    if resume is not None:
        run = _resumed(resume, epochs, progress)
    else:
        run = train_ep(
            dataset=dataset, hidden=_numbers(hidden, int, "hidden"), backend=backend,
            epochs=epochs, out=out, data_dir=data_dir, validation=validation, beta=beta,
            eps=eps, t_free=t_free, t_nudge=t_nudge, symmetric=symmetric,
            random_sign=random_sign, beta_warmup_epochs=beta_warmup,
            lrs=_numbers(lrs, float, "lrs"), lr_decay=lr_decay, momentum=momentum,
            batch_size=batch_size, seed=seed, log_batches=log_batches, show_progress=progress)
    _finish(run, plots)


@train.command("ff")
@_run_options("ff", "lava or numpy.", epochs=20)
@click.option("--hidden", default="500,500", show_default=True, help="FF layer sizes.")
@click.option("--theta", default=5.0, show_default=True, type=float,
              help="Goodness threshold > 0 of p = sigmoid(G - theta).")
@click.option("--goodness", "goodness_kind", default="sum", show_default=True,
              type=click.Choice(["sum", "mean"]), help="Sum or mean of squared activities.")
@click.option("--dropout", default=0.0, show_default=True, type=float,
              help="Dropout rate in [0, 1) on the activities entering the goodness.")
@click.option("--label-mode", default="append", show_default=True,
              help="Label one-hot appended to the input or replacing its first entries "
                   "(append, replace).")
@click.option("--label-scale", default=1.0, show_default=True, type=float,
              help="Value of the label's one-hot entry.")
@click.option("--negatives", default="wrong-label,hard", show_default=True,
              help="One or two of wrong-label, noise, permutation, hybrid, hard.")
@click.option("--negative-ratio", default=0.5, show_default=True, type=float,
              help="Fraction in [0, 1] of negatives from the first of two strategies.")
@click.option("--noise-std", default=0.5, show_default=True, type=float,
              help="Standard deviation of the noise negatives.")
@click.option("--schedule", default="joint", show_default=True,
              help="joint, sequential (greedy layer by layer) or hybrid (then joint).")
@click.option("--epochs-per-layer", default=5, show_default=True, type=int,
              help="Epochs per layer of the sequential part of a schedule.")
@click.option("--finetune-scale", default=0.1, show_default=True, type=float,
              help="Rate factor of the joint fine-tuning of the hybrid schedule.")
@click.option("--optimizer", default="adam", show_default=True, help="adam or sgd.")
@click.option("--lrs", default=None, help="Per-layer learning rates (default 0.003 each).")
@click.option("--readout-lr", default=0.01, show_default=True, type=float,
              help="Learning rate of the softmax readout.")
@click.option("--lr-decay", default=1.0, show_default=True, type=float,
              help="Per-epoch learning-rate decay factor in (0, 1].")
@click.option("--momentum", default=0.9, show_default=True, type=float,
              help="SGD momentum, or Adam's beta1, in [0, 1).")
@click.option("--weight-decay", default=0.0, show_default=True, type=float)
@click.option("--predict", default="softmax", show_default=True,
              help="Reported prediction: softmax (readout) or goodness (label argmax).")
@click.option("--batch-size", default=50, show_default=True, type=int)
def train_ff_command(dataset, data_dir, backend, out, resume, epochs, validation, seed, plots,
                     progress, hidden, theta, goodness_kind, dropout, label_mode, label_scale,
                     negatives, negative_ratio, noise_std, schedule, epochs_per_layer,
                     finetune_scale, optimizer, lrs, readout_lr, lr_decay, momentum,
                     weight_decay, predict, batch_size):
    """Forward-forward (Hinton 2022), supervised with the label in the input."""
    from dynaxx_neuro.train_ff import goodness_warnings, train_ff
    if resume is not None:
        run = _resumed(resume, epochs, progress)
    else:
        run = train_ff(
            dataset=dataset, hidden=_numbers(hidden, int, "hidden"), backend=backend,
            epochs=epochs, out=out, data_dir=data_dir, validation=validation, theta=theta,
            mean_goodness=goodness_kind == "mean", dropout=dropout, label_mode=label_mode,
            label_scale=label_scale, negatives=tuple(negatives.split(",")),
            negative_ratio=negative_ratio, noise_std=noise_std, optimizer=optimizer,
            lrs=_numbers(lrs, float, "lrs"), readout_lr=readout_lr, lr_decay=lr_decay,
            momentum=momentum, weight_decay=weight_decay, schedule=schedule,
            epochs_per_layer=epochs_per_layer, finetune_scale=finetune_scale,
            predict=predict, batch_size=batch_size, seed=seed, show_progress=progress)
    for message in goodness_warnings(run):
        click.echo(f"warning: {message}", err=True)
    _finish(run, plots)


# Defaults of `train stdp`, taken from the parameter dataclasses (no Lava import).
_LIF, _SHOWN, _RULE, _CONFIG = AdaptiveLIF(), DEFAULT_PRESENTATION, STDPRule(), CONFIG_DEFAULTS


@train.command("stdp")
@_run_options("stdp", "lava (floating_pt models), lava-fixed (fixed_pt models) or numpy "
              "(the float graph as one NumPy loop).", epochs=1)
@click.option("--neurons", default=_LIF.n_neurons, show_default=True, type=int,
              help="Excitatory ATRLIF neurons.")
@click.option("--n-train", default=0, show_default=True, type=int,
              help="Random subset of training samples (0: all).")
@click.option("--n-test", default=0, show_default=True, type=int,
              help="Random subset of test samples (0: all).")
@click.option("--n-label", default=0, show_default=True, type=int,
              help="Training samples that label the neurons (0: all).")
@click.option("--t-present", default=_SHOWN.t_present, show_default=True, type=int,
              help="Steps each sample is shown.")
@click.option("--t-rest", default=_SHOWN.t_rest, show_default=True, type=int,
              help="Silent steps after each sample.")
@click.option("--t-present-eval", default=_SHOWN.t_present_eval, show_default=True, type=int,
              help="Steps each sample is shown when labelling and evaluating.")
@click.option("--t-rest-eval", default=_SHOWN.t_rest_eval, show_default=True, type=int,
              help="Silent steps after each sample when labelling and evaluating.")
@click.option("--input-rate", default=_SHOWN.input_rate, show_default=True, type=float,
              help="Input spikes per step expected from a whole image (digits: 6; "
              "Fashion-MNIST: 8, with --w-sum 50).")
@click.option("--input-rate-eval", default=_SHOWN.input_rate_eval, show_default=True,
              type=float, help="Input spikes per step when labelling and evaluating.")
@click.option("--a-plus", default=_RULE.a_plus, show_default=True, type=float,
              help="Potentiation rate.")
@click.option("--a-minus", default=_RULE.a_minus, show_default=True, type=float,
              help="Depression rate (pair, post before pre).")
@click.option("--a-hetero", default=_RULE.a_hetero, show_default=True, type=float,
              help="Heterosynaptic depression rate at a post spike.")
@click.option("--tau-pre", default=_RULE.tau_pre_steps, show_default=True, type=float,
              help="Time constant of the pre trace x1, steps.")
@click.option("--tau-post", default=_RULE.tau_post_steps, show_default=True, type=float,
              help="Time constant of the post trace y1, steps.")
@click.option("--w-max", default=_RULE.w_max, show_default=True, type=float,
              help="Upper weight bound.")
@click.option("--w-sum", default=_CONFIG["w_sum"], show_default=True, type=float,
              help="Sum of each neuron's incoming weights after normalisation.")
@click.option("--normalise-every", default=_CONFIG["normalise_every"], show_default=True, type=int,
              help="Samples between two weight normalisations.")
@click.option("--vote", default=_CONFIG["vote"], show_default=True,
              help="Read-out: mean (Diehl & Cook: labelled neurons count alike) or "
              "proportion (BindsNET: each weighted by how selective it is for its label).")
@click.option("--theta-0", default=_LIF.theta_0, show_default=True, type=float,
              help="Resting threshold.")
@click.option("--theta-step", default=_LIF.theta_step, show_default=True, type=float,
              help="Threshold increase per spike (homeostasis).")
@click.option("--delta-theta", default=_LIF.delta_theta, show_default=True, type=float,
              help="Per-step relaxation of the threshold to theta-0, in [0, 1].")
@click.option("--delta-v", default=_LIF.delta_v, show_default=True, type=float,
              help="Per-step voltage decay, in (0, 1].")
@click.option("--delta-i", default=_LIF.delta_i, show_default=True, type=float,
              help="Per-step current decay, in (0, 1].")
@click.option("--delta-r", default=_LIF.delta_r, show_default=True, type=float,
              help="Per-step refractory decay, in (0, 1].")
@click.option("--w-inh", default=_LIF.w_inh, show_default=True, type=float,
              help="Lateral inhibition per spike.")
def train_stdp_command(dataset, data_dir, backend, out, resume, epochs, validation, seed,
                       plots, progress, neurons, n_train, n_test, n_label, t_present, t_rest,
                       t_present_eval, t_rest_eval, input_rate, input_rate_eval, a_plus,
                       a_minus, a_hetero, tau_pre, tau_post, w_max, w_sum, normalise_every,
                       vote, theta_0, theta_step, delta_theta, delta_v, delta_i, delta_r,
                       w_inh):
    """Pair STDP in a Diehl & Cook network of Lava's ATRLIF and LearningDense processes."""
    if resume is not None:
        run = _resumed(resume, epochs, progress)
    else:
        from dynaxx_neuro.train_stdp import train_stdp
        run = train_stdp(
            dataset=dataset, backend=backend, epochs=epochs, out=out, data_dir=data_dir,
            validation=validation, n_train=n_train, n_test=n_test,
            neurons=AdaptiveLIF(n_neurons=neurons, delta_i=delta_i, delta_v=delta_v,
                                delta_r=delta_r, delta_theta=delta_theta, theta_0=theta_0,
                                theta_step=theta_step, w_inh=w_inh),
            presentation=Presentation(t_present, t_rest, input_rate, t_present_eval,
                                      t_rest_eval, input_rate_eval),
            rule=STDPRule(a_plus, a_minus, tau_pre, tau_post, w_max, a_hetero), w_sum=w_sum,
            normalise_every=normalise_every, n_label=n_label, vote=vote, seed=seed,
            show_progress=progress)
    _finish(run, plots)


@train.command("hebbian")
@_run_options("hebbian-<rule>", "lava or numpy.", epochs=20, backend="numpy",
              epochs_help="Unsupervised (Hebbian) epochs.")
@click.option("--rule", default="khu", show_default=True,
              help="oja, bcm or khu (Krotov & Hopfield's competing hidden units).")
@click.option("--hidden", default=100, show_default=True, type=int, help="Hebbian units.")
@click.option("--readout-epochs", default=20, show_default=True, type=int,
              help="Epochs of the linear readouts (on a resume: the new total).")
@click.option("--batch-size", default=100, show_default=True, type=int)
@click.option("--lr", default=None, type=float,
              help="Hebbian learning rate > 0 (default: oja 0.005, bcm 0.005, khu 0.04).")
@click.option("--lr-decay", default=1.0, show_default=True, type=float,
              help="Per-epoch decay factor of the Hebbian rate, in (0, 1].")
@click.option("--lr-schedule", default="exponential", show_default=True,
              help="exponential (lr * lr-decay^e) or linear (also times 1 - e / epochs, "
                   "Krotov & Hopfield's schedule).")
@click.option("--tau-theta", default=None, type=float,
              help="BCM: batches the sliding threshold averages y^2 over, >= 1 [10].")
@click.option("--p", default=None, type=float, help="KHU: Lebesgue norm p >= 2 [3].")
@click.option("--k", default=None, type=int, help="KHU: rank of the anti-Hebbian unit >= 2 [7].")
@click.option("--delta", default=None, type=float,
              help="KHU: anti-Hebbian strength in [0, 1] [0.4].")
@click.option("--feature-power", default=1.0, show_default=True, type=float,
              help="Power n >= 1 of the rectified features max(Wx, 0)^n (learned and random).")
@click.option("--feature-inhibition", default=None, type=float,
              help="Lateral inhibition c >= 0 of the rectified features: "
                   "max(h - mean(h) - c std(h), 0)^n over the units of a sample [none].")
@click.option("--readout-lr", default=0.01, show_default=True, type=float)
@click.option("--readout-momentum", default=0.9, show_default=True, type=float)
@click.option("--readout-batch-size", default=100, show_default=True, type=int)
@click.option("--readout-lr-decay", default=0.9, show_default=True, type=float)
@click.option("--zca-epsilon", default=None, type=float,
              help="ZCA-whiten every input by the training split, x -> (x - mean) "
                   "U (S + eps)^-1/2 U^T with cov = U S U^T, for the Hebbian layer and all "
                   "readouts; eps > 0 [none: raw inputs].")
def train_hebbian_command(dataset, data_dir, backend, out, resume, epochs, validation, seed,
                          plots, progress, rule, hidden, readout_epochs, batch_size, lr,
                          lr_decay, lr_schedule, tau_theta, p, k, delta, feature_power,
                          feature_inhibition, readout_lr, readout_momentum, readout_batch_size,
                          readout_lr_decay, zca_epsilon):
    """Hebbian features (Oja, BCM or competing hidden units), then linear readouts on them,
    on raw pixels and on random ReLU features."""
    from dynaxx_neuro.train import resume as resume_run
    from dynaxx_neuro.train_hebbian import resume_total, train_hebbian
    if resume is not None:
        if _given("epochs"):
            raise ValueError("epochs cannot change when resuming a Hebbian run; use "
                             "--readout-epochs to extend its readout.")
        total = (resume_total(resume, readout_epochs) if _given("readout_epochs") else None)
        run = resume_run(resume, total, progress)
    else:
        run = train_hebbian(
            rule=rule, dataset=dataset, hidden=hidden, backend=backend, epochs=epochs,
            readout_epochs=readout_epochs, out=out, data_dir=data_dir, validation=validation,
            batch_size=batch_size, lr=lr, lr_decay=lr_decay, lr_schedule=lr_schedule,
            tau_theta=tau_theta, p=p, k=k, delta=delta, readout_lr=readout_lr,
            readout_momentum=readout_momentum, readout_batch_size=readout_batch_size,
            readout_lr_decay=readout_lr_decay, feature_power=feature_power,
            feature_inhibition=feature_inhibition, zca_epsilon=zca_epsilon, seed=seed,
            show_progress=progress)
    _finish(run, plots)


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
    ep or all. Prints one row per comparison and exits 1 if any fails."""
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
