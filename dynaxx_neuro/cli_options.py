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
    """A comma-separated list typed for a tuple field, as a tuple of its item type (an
    empty text as the empty tuple, e.g. ``--hidden ""`` for no hidden layer)."""
    check = field.metadata.get("check")
    inner = check.inner if isinstance(check, P.Optional) else check
    if not isinstance(inner, P.TupleOf) or text is None or isinstance(text, tuple):
        return text
    if text == "":
        return ()
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


def _option(field: dataclasses.Field, key: str, default, per_dataset: dict, note: str = "",
            **extra):
    """The click option of a declared field; ``key`` is its parameter name, ``note`` what
    the help adds at its end."""
    name = P.option_name(field)
    text = field.metadata["help"]
    check = field.metadata.get("check")
    inner = check.inner if isinstance(check, P.Optional) else check
    if inner is not None and not isinstance(inner, (P.Bool, P.OneOf)):
        text += f" ({inner.problem(object())})"
    if per_dataset:
        text += " [" + "; ".join(f"{data}: {_shown(v)}" for data, v in per_dataset.items()) + "]"
    text += note
    if isinstance(check, P.Bool) or isinstance(default, bool):
        flag = name if "/" in name else f"{name}/--no-{name[2:]}"
        return click.option(flag, key, default=default, show_default=True, help=text)
    if isinstance(default, tuple):
        default = _shown(default)
    extra.setdefault("type", _click_type(check))
    return click.option(name, key, default=default, show_default=default is not None,
                        help=text, **extra)


def _leaves(specs: list[RuleSpec]) -> list[tuple[str, dataclasses.Field, tuple, list]]:
    """(parameter name, field, path, specs that have it) of every option of the rule's
    graphs' configurations, in order of first appearance."""
    found: dict[str, list] = {}
    for spec in specs:
        for field, path in P.cli_fields(spec.config):
            if path[-1] in found:
                found[path[-1]][3].append(spec)
            else:
                found[path[-1]] = [path[-1], field, path, [spec]]
    return [tuple(entry) for entry in found.values()]


def _graph_note(key: str, path: tuple, owners: list, specs: list[RuleSpec]) -> str:
    """What the help adds for a rule of several graphs: the graph an option belongs to, or
    the other graphs' defaults where they differ."""
    if len(specs) == 1:
        return ""
    if len(owners) == 1:
        return f" ({owners[0].graph} graph only)"
    first = P.get_path(owners[0].config(), path)
    others = [f"{spec.graph} graph: {_shown(P.get_leaf(spec.config(), key))}"
              for spec in owners[1:] if P.get_leaf(spec.config(), key) != first]
    return f" ({'; '.join(others)})" if others else ""


def _choose_graph(specs: list[RuleSpec], values: dict, typed: set) -> RuleSpec:
    """The graph a command line trains: ``--graph`` if typed, else the first graph that has
    the typed ``--backend``, else the rule's default graph; one sentence if the back end is
    not one of the chosen graph's."""
    by_name = {spec.graph: spec for spec in specs}
    if "graph" in typed:
        spec = by_name[values["graph"]]
    elif "backend" in typed:
        spec = next(s for s in specs if values["backend"] in s.backend_names)
    else:
        spec = specs[0]
    if "backend" in typed and values["backend"] not in spec.backend_names:
        raise ValueError(f"--backend {values['backend']} is not a back end of the {spec.graph} "
                         f"graph; it has {', '.join(spec.backend_names)}.")
    return spec


def rule_command(specs: list[RuleSpec], finish) -> click.Command:
    """The ``train <rule>`` command of a rule's graphs ``specs`` (its default graph first);
    ``finish(run, plots)`` reports the run."""
    from dynaxx_neuro.train import RunSettings
    leaves = _leaves(specs)
    first = specs[0]

    def chosen(spec: RuleSpec, field_name: str) -> dict:
        return {data: d[field_name] for data in spec.dataset_defaults
                if field_name in (d := spec.defaults(data))}

    def callback(**values):
        ctx = click.get_current_context()
        typed = {k for k in values
                 if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
        if values["resume"] is not None:
            if "out" in typed:
                raise ValueError("--out cannot be given with --resume: a resumed run goes on "
                                 f"in its own folder {values['resume']!r}.")
            fields = {key: field for key, field, _, _ in leaves}
            from dynaxx_neuro.train import resume
            run = resume(values["resume"],
                         {key: _parse(fields[key], values[key]) if key in fields else values[key]
                          for key in typed - set(_RUN_ONLY)}, values["progress"])
        else:
            spec = _choose_graph(specs, values, typed)
            foreign = [_names[key] for key, _, _, owners in leaves
                       if key in typed and spec not in owners]
            if foreign:
                raise ValueError(f"{', '.join(foreign)} is not an option of the {spec.graph} "
                                 f"graph of {spec.name}.")
            config = spec.configure(values["dataset"], {
                path[-1]: _parse(field, values[key]) for key, field, path, owners in leaves
                if key in typed})
            settings = {f.name: values[f.name] for f, _ in P.cli_fields(RunSettings)}
            if "backend" not in typed:
                settings["backend"] = spec.backend_names[0]
            if "epochs" not in typed:
                settings["epochs"] = spec.defaults(values["dataset"]).get(
                    "epochs", spec.default_epochs)
            from dynaxx_neuro.train import train as train_rule
            run = train_rule(config, RunSettings(**settings), values["out"], values["progress"])
        finish(run, values["plots"])

    _names = {"graph": "--graph"}
    options = []
    if len(specs) > 1:
        listing = "; ".join(f"{s.graph}: {', '.join(s.backend_names)}" for s in specs)
        options.append(click.option(
            "--graph", "graph", type=click.Choice([s.graph for s in specs]), default=first.graph,
            show_default=True, help=f"The network to train, and its back ends ({listing}); "
                                    "without it, the first graph that has --backend."))
    for field, _ in P.cli_fields(RunSettings):
        extra = {}
        default = field.default
        if field.name == "backend":
            names = list(dict.fromkeys(n for s in specs for n in s.backend_names))
            extra["type"], default = click.Choice(names), first.backend_names[0]
        if field.name == "epochs":
            default = first.default_epochs
        options.append(_option(field, field.name, default, chosen(first, field.name), **extra))
        _names[field.name] = P.option_name(field)
    options += [click.option("--out", default=None,
                             help=f"Run folder (default runs/<time>-{first.name}-<data>-<backend>)."),
                click.option("--resume", default=None,
                             help="Continue this run folder from its last checkpoint."),
                click.option("--plots/--no-plots", default=True, show_default=True,
                             help="Draw the run's plots when training ends."),
                click.option("--progress/--no-progress", default=True, show_default=True)]
    for key, field, path, owners in leaves:
        options.append(_option(field, key, P.get_path(owners[0].config(), path),
                               chosen(owners[0], path[-1]),
                               note=_graph_note(key, path, owners, specs)))
        _names[key] = P.option_name(field)
    for option in reversed(options):
        callback = option(callback)
    return click.command(first.name, help=first.summary)(callback)
