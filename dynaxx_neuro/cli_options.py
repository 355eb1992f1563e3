"""``dynaxx train <rule>`` generated from a rule's spec: its options are the declared fields
of the run settings (``train.RunSettings``) and of the rule's configuration tree
(``params.option``), each with the field's default and help; ``--backend`` is a choice of
exactly the back ends the rule registers; the values chosen per data set
(``RuleSpec.dataset_defaults``) are shown in the help and apply when an option is not typed.

Precedence for every option: typed on the command line > the data set's value > the field's
default.
"""

from __future__ import annotations

import dataclasses

import click

from dynaxx_neuro import params as P
from dynaxx_neuro.registry import RuleSpec

# Options of `train <rule>` that are not fields: where the run goes and what happens after.
_RUN_ONLY = ("out", "resume", "plots", "progress")


def _click_type(check):
    """The click parameter type of a constraint (lists stay text, parsed by ``_parse``)."""
    inner = check.inner if isinstance(check, P.Optional) else check
    if isinstance(inner, P.OneOf):
        return click.Choice(inner.choices)
    if isinstance(inner, P.Int):
        return int
    if isinstance(inner, P.Real):
        return float
    return str


def _parse(field: dataclasses.Field, text):
    """A comma-separated list typed for a tuple field, as a tuple of its item type."""
    check = field.metadata.get("check")
    inner = check.inner if isinstance(check, P.Optional) else check
    if not isinstance(inner, P.TupleOf) or text is None or isinstance(text, tuple):
        return text
    kind = {P.Int: int, P.Real: float}.get(type(inner.item), str)
    try:
        return tuple(kind(part) for part in str(text).split(","))
    except ValueError:
        raise ValueError(f"{P.option_name(field)} must be {inner.problem(None)}, "
                         f"got {text!r}.") from None


def _shown(value) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def _option(field: dataclasses.Field, key: str, default, per_dataset: dict, **extra):
    """The click option of a declared field; ``key`` is its parameter name."""
    name = P.option_name(field)
    text = field.metadata["help"]
    check = field.metadata.get("check")
    inner = check.inner if isinstance(check, P.Optional) else check
    if inner is not None and not isinstance(inner, (P.Bool, P.OneOf)):
        text += f" ({inner.problem(object())})"
    if per_dataset:
        text += " [" + "; ".join(f"{data}: {_shown(v)}" for data, v in per_dataset.items()) + "]"
    if isinstance(check, P.Bool) or isinstance(default, bool):
        flag = name if "/" in name else f"{name}/--no-{name[2:]}"
        return click.option(flag, key, default=default, show_default=True, help=text)
    if isinstance(default, tuple):
        default = _shown(default)
    extra.setdefault("type", _click_type(check))
    return click.option(name, key, default=default, show_default=default is not None,
                        help=text, **extra)


def _leaves(spec: RuleSpec):
    """(parameter name, field, path) of every option of the rule's configuration."""
    return [(path[-1], field, path) for field, path in P.cli_fields(spec.config)]


def rule_command(spec: RuleSpec, finish) -> click.Command:
    """The ``train <rule>`` command of ``spec``; ``finish(run, plots)`` reports the run."""
    from dynaxx_neuro.train import RunSettings
    leaves = _leaves(spec)
    per_dataset = {name: spec.defaults(name) for name in spec.dataset_defaults}

    def chosen(field_name: str) -> dict:
        return {data: d[field_name] for data, d in per_dataset.items() if field_name in d}

    def callback(**values):
        ctx = click.get_current_context()
        typed = {k for k in values
                 if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
        if values["resume"] is not None:
            extend = spec.stages[-1].epochs_option  # what a resume may change
            refused = sorted(typed - set(_RUN_ONLY) - {extend})
            if refused:
                names = ", ".join(_names[k] for k in refused)
                raise ValueError(f"{names} cannot change when resuming a run; only "
                                 f"{_names[extend]} can.")
            from dynaxx_neuro.train import resume
            run = resume(values["resume"], values[extend] if extend in typed else None,
                         values["progress"])
        else:
            config = spec.configure(values["dataset"], {
                path[-1]: _parse(field, values[key]) for key, field, path in leaves
                if key in typed})
            settings = {f.name: values[f.name] for f, _ in P.cli_fields(RunSettings)}
            if "epochs" not in typed:
                settings["epochs"] = spec.defaults(values["dataset"]).get(
                    "epochs", spec.default_epochs)
            from dynaxx_neuro.train import train as train_rule
            run = train_rule(config, RunSettings(**settings), values["out"], values["progress"])
        finish(run, values["plots"])

    _names = {}
    options = []
    for field, _ in P.cli_fields(RunSettings):
        extra = {}
        default = field.default
        if field.name == "backend":
            extra["type"], default = click.Choice(spec.backend_names), spec.backend_names[0]
        if field.name == "epochs":
            default = spec.default_epochs
        options.append(_option(field, field.name, default, chosen(field.name), **extra))
        _names[field.name] = P.option_name(field)
    options += [click.option("--out", default=None,
                             help=f"Run folder (default runs/<time>-{spec.name}-<data>-<backend>)."),
                click.option("--resume", default=None,
                             help="Continue this run folder from its last checkpoint."),
                click.option("--plots/--no-plots", default=True, show_default=True,
                             help="Draw the run's plots when training ends."),
                click.option("--progress/--no-progress", default=True, show_default=True)]
    for key, field, path in leaves:
        options.append(_option(field, key, P.get_path(spec.config(), path),
                               chosen(path[-1])))
        _names[key] = P.option_name(field)
    for option in reversed(options):
        callback = option(callback)
    return click.command(spec.name, help=spec.summary)(callback)
