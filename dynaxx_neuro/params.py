"""Declared parameters: one validation vocabulary and one run.json (de)serialiser for every
rule's configuration (docs/architecture.md, "Configurations").

A configuration is a tree of frozen dataclasses. Each leaf field that a user may set is
declared with :func:`option`, which holds its help text and its constraint; the field's own
default is the only place that default lives. The CLI reads options from the tree
(``cli_fields``), the dataclasses check themselves with :func:`validate` in
``__post_init__``, and run.json stores the tree type-tagged (``to_dict``/``from_dict``)::

    @dataclass(frozen=True)
    class EPDynamics:
        beta: float = option(0.5, "Nudging strength.", Real(low=0, low_open=True))

        def __post_init__(self):
            validate(self)

A bad value raises ``ValueError`` with one sentence naming the CLI option a user typed
(``--beta must be a finite number > 0, got -1.0.``), not the Python field.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

TYPE_KEY = "__type__"


def cli_name(name: str) -> str:
    """The CLI spelling of a field: ``t_free`` -> ``--t-free``."""
    return "--" + name.replace("_", "-")


# --- constraints --------------------------------------------------------------------------


def is_int(value) -> bool:
    """Whether ``value`` is a Python or NumPy integer (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real(value) -> bool:
    """Whether ``value`` is a finite Python or NumPy real number (not a bool)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and math.isfinite(value))


@dataclass(frozen=True)
class Int:
    """An integer (not a bool, not a float) in [low, high]."""

    low: int | None = None
    high: int | None = None

    def problem(self, value) -> str | None:
        if not is_int(value) or (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high):
            return f"an integer {self._range()}".rstrip()
        return None

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in [{self.low}, {self.high}]"
        if self.low is not None:
            return f">= {self.low}"
        return "" if self.high is None else f"<= {self.high}"


@dataclass(frozen=True)
class Real:
    """A finite real number between ``low`` and ``high`` (open ends where asked)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def problem(self, value) -> str | None:
        ok = is_real(value)
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        return None if ok else f"a finite number {self._range()}".rstrip()

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            return (f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"


def Fraction(open_low: bool = False, open_high: bool = False) -> Real:
    """A number in [0, 1] (ends opened as asked)."""
    return Real(0.0, 1.0, open_low, open_high)


@dataclass(frozen=True)
class Bool:
    """True or False (not 0 or 1)."""

    def problem(self, value) -> str | None:
        return None if isinstance(value, (bool, np.bool_)) else "true or false"


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of strings."""

    choices: tuple[str, ...]

    def problem(self, value) -> str | None:
        return None if value in self.choices else f"one of {', '.join(self.choices)}"


@dataclass(frozen=True)
class TupleOf:
    """A tuple of ``min_len`` or more items, each meeting ``item``."""

    item: Any
    min_len: int = 1
    max_len: int | None = None

    def problem(self, value) -> str | None:
        items = "item" if self.max_len == 1 else "items"
        bound = (f"{self.min_len} to {self.max_len}" if self.max_len is not None
                 else f"{self.min_len} or more")
        wanted = f"a comma-separated list of {bound} {items}, each {self.item.problem(None)}"
        if not isinstance(value, tuple) or len(value) < self.min_len or (
                self.max_len is not None and len(value) > self.max_len):
            return wanted
        if any(self.item.problem(v) is not None for v in value):
            return wanted
        return None


@dataclass(frozen=True)
class Optional:
    """None (the option's documented fallback) or a value meeting ``inner``."""

    inner: Any

    def problem(self, value) -> str | None:
        if value is None:
            return None
        found = self.inner.problem(value)
        return None if found is None else f"{found} (or unset)"


# --- declaring and checking fields ---------------------------------------------------------


def option(default, help: str, check=None, cli: str | None = None, from_data: bool = False):
    """A dataclass field a user may set: its default, help text and constraint.

    ``cli`` overrides the option's name (``--beta-warmup`` for ``beta_warmup_epochs``);
    ``from_data`` marks a field the run fills from the data set (input width, classes),
    which the CLI does not offer.
    """
    kwargs = {"default_factory": default} if callable(default) else {"default": default}
    return dataclasses.field(metadata={"help": help, "check": check, "cli": cli,
                                       "from_data": from_data}, **kwargs)


def option_name(field: dataclasses.Field) -> str:
    """The CLI option of a declared field."""
    return field.metadata.get("cli") or cli_name(field.name)


def validate(instance) -> None:
    """Check every declared field of ``instance``; raise one sentence for the first bad one.

    Sequences typed as lists become tuples first, so configs stay hashable and frozen.
    ``from_data`` fields may be None until the data is known.
    """
    for field in dataclasses.fields(instance):
        check = field.metadata.get("check")
        value = getattr(instance, field.name)
        if isinstance(value, list):
            value = tuple(value)
            object.__setattr__(instance, field.name, value)
        if check is None or (value is None and field.metadata.get("from_data")):
            continue
        found = check.problem(value)
        if found is not None:
            raise ValueError(f"{option_name(field)} must be {found}, got {_shown(value)}.")


def require(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok`` (for checks across fields)."""
    if not ok:
        raise ValueError(message)


def _shown(value) -> str:
    if isinstance(value, tuple):
        return repr(",".join(str(v) for v in value))
    return repr(value)


def cli_fields(config_type) -> Iterator[tuple[dataclasses.Field, tuple[str, ...]]]:
    """Every user-settable leaf field of a configuration tree with its path of attribute
    names, depth first in declaration order. A field whose default is a dataclass (a nested
    group such as ``EPConfig.schedule``) is walked into."""
    for field in dataclasses.fields(config_type):
        if dataclasses.is_dataclass(field.default):
            for leaf, path in cli_fields(type(field.default)):
                yield leaf, (field.name, *path)
        elif "help" in field.metadata and not field.metadata.get("from_data"):
            yield field, (field.name,)


def build(config_type, values: dict[str, Any]):
    """An instance of ``config_type`` with the leaves named in ``values`` (leaf field name ->
    value; names are unique within a tree) set and every other field at its default. Nested
    groups are built bottom-up, so each ``__post_init__`` sees the final values; a name that
    is no leaf of the tree is refused."""
    paths = {path[-1]: path for _, path in cli_fields(config_type)}
    unknown = sorted(set(values) - set(paths))
    if unknown:
        raise ValueError(f"{config_type.__name__} has no option {', '.join(unknown)}.")
    return _build(config_type, {paths[name]: value for name, value in values.items()})


def _build(config_type, values: dict[tuple, Any]):
    kwargs = {}
    for field in dataclasses.fields(config_type):
        if dataclasses.is_dataclass(field.default):
            inner = {path[1:]: v for path, v in values.items() if path[0] == field.name}
            if inner:
                kwargs[field.name] = _build(type(field.default), inner)
        elif (field.name,) in values:
            kwargs[field.name] = values[(field.name,)]
    return config_type(**kwargs)


def _leaf_path(config, name: str) -> tuple[str, ...]:
    paths = {path[-1]: path for _, path in cli_fields(type(config))}
    if name not in paths:
        raise ValueError(f"{type(config).__name__} has no option {name}.")
    return paths[name]


def get_leaf(config, name: str):
    """The value of the leaf field ``name`` of a configuration tree."""
    return get_path(config, _leaf_path(config, name))


def replace_leaf(config, name: str, value):
    """A copy of ``config`` with its leaf field ``name`` set to ``value`` (re-validated)."""
    def replaced(node, path):
        if len(path) == 1:
            return dataclasses.replace(node, **{path[0]: value})
        return dataclasses.replace(node, **{path[0]: replaced(getattr(node, path[0]),
                                                               path[1:])})
    return replaced(config, _leaf_path(config, name))


def get_path(config, path: tuple[str, ...]):
    """The leaf of ``config`` at ``path``."""
    for name in path:
        config = getattr(config, name)
    return config


# --- run.json ------------------------------------------------------------------------------


def to_dict(value):
    """A JSON-ready form of a configuration tree: dataclasses become dicts tagged with their
    ``module:QualName``, tuples become lists, NumPy scalars Python numbers."""
    if dataclasses.is_dataclass(value):
        out = {TYPE_KEY: f"{type(value).__module__}:{type(value).__qualname__}"}
        for field in dataclasses.fields(value):
            out[field.name] = to_dict(getattr(value, field.name))
        return out
    if isinstance(value, (tuple, list)):
        return [to_dict(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def from_dict(value):
    """Rebuild what :func:`to_dict` wrote: tagged dicts become their dataclasses (checked by
    their own ``__post_init__``), lists become tuples."""
    if isinstance(value, dict) and TYPE_KEY in value:
        module, _, name = value[TYPE_KEY].partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            raise ValueError(f"run.json names the configuration type {value[TYPE_KEY]!r}, "
                             "which this version does not have.") from None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: from_dict(v) for k, v in value.items() if k in known})
    if isinstance(value, list):
        return tuple(from_dict(v) for v in value)
    if isinstance(value, dict):
        return {k: from_dict(v) for k, v in value.items()}
    return value
