"""The registry of rules: one :class:`RuleSpec` per learning rule, read by the one training
loop (``train``), the CLI (``cli``) and the conformance tests (docs/architecture.md,
"The registry").

A spec names its configuration class (a tree of frozen dataclasses whose declared fields,
``params.option``, are the only place the rule's defaults and help live), its parameter
class, its back ends and its stages. Back-end runners are named as ``"module:Class"`` so the
registry imports no back end: Lava loads only when a Lava back end runs.

Every runner is built as ``Runner(config, data, params, launch)`` (``cycle.Launch``) and
offers::

    run_epoch(epoch, progress=None) -> EpochResult   # train one epoch, then evaluate
    evaluate(epoch) -> EpochResult                   # evaluate only (validation and test)
    parameters() -> params                           # an object with to_arrays()
    close()                                          # release OS processes (Lava)

A parameter class offers ``initial(config, rng)``, ``from_arrays(arrays, config)`` and
``to_arrays()``.

Adding a rule: its kernel module, its rule module (config, parameters, composition), its
processes and models, its two runners and one ``RuleSpec`` in its rule module, listed in
``RULE_MODULES`` below. A rule may have several graphs (EP: the float rate network and the
graph of Loihi parts), each a module with its own ``SPEC`` (own configuration, back ends and
defaults) named by ``RuleSpec.graph``; the first module listed is the rule's default graph.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Callable

from dynaxx_neuro import params
from dynaxx_neuro.backends import require_backend
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.memory import MemoryModel

RULE_MODULES = {"ep": ("dynaxx_neuro.rules.ep", "dynaxx_neuro.rules.ep_loihi"),
                "ff": ("dynaxx_neuro.rules.ff", "dynaxx_neuro.rules.ff_loihi"),
                "hebbian": ("dynaxx_neuro.rules.hebbian", "dynaxx_neuro.rules.hebbian_loihi"),
                "stdp": ("dynaxx_neuro.rules.stdp",),
                "tp": ("dynaxx_neuro.rules.tp",),
                "es": ("dynaxx_neuro.rules.es",)}

# Fields a configuration may declare ``from_data``, and where the data gives them.
DATA_FIELDS = {"n_inputs": lambda data: data.x_train.shape[1],
               "n_classes": lambda data: data.n_classes,
               "image_shape": lambda data: tuple(data.image_shape)}


@dataclass(frozen=True)
class Backend:
    """A back end of a rule: its name on the command line, the runner class
    (``"module:Class"``), the ProcessModel tag it runs (``numpy`` for host loops) and
    ``check(config)``, which raises ValueError for a configuration this back end cannot run
    (called before a run folder is made)."""

    name: str
    runner: str
    tag: str
    check: Callable | None = None

    def validate(self, config) -> None:
        if self.check is not None:
            self.check(config)

    def load(self):
        module, _, name = self.runner.partition(":")
        return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Stage:
    """One stage of a run, on the run's one epoch axis after the stages before it.

    ``parameters`` is the class its checkpoints hold; ``runner`` a runner that serves the
    stage whatever the back end (e.g. the Hebbian readouts, trained on the host), or None for
    the chosen back end's runner; ``epochs_option`` the option that counts its epochs: the
    run's ``epochs`` or a field of the configuration (``readout_epochs``). The last stage's
    count is what a resume may extend.
    """

    name: str
    parameters: type
    runner: Backend | None = None
    epochs_option: str = "epochs"

    def epochs(self, config, epochs: int) -> int:
        """This stage's epoch count in a run of ``config`` with ``--epochs`` = ``epochs``."""
        if self.epochs_option == "epochs":
            return epochs
        return params.get_leaf(config, self.epochs_option)


@dataclass(frozen=True)
class ChipGraph:
    """How a graph of Loihi parts goes on a chip (``dynaxx deploy``, ``deploy.py``).

    ``backend`` is the Lava back end whose ``fixed_pt`` graph is what the chip runs;
    ``reference`` the back end that simulates it bit for bit (the chip's predictions are
    compared with its own); ``programs(config)`` maps the class name of each of the graph's
    own neuron Processes (those a chip runs as a neuron program in microcode) to the widths
    its integer program uses, e.g. ``{"EPFixedLayer": {"state": 24, "payload": 8,
    "post factors": 7}}``; ``steps(config)`` is ``(training, inference)``, the time steps
    one sample takes in each. The graph's own Processes say what they are on chip with the
    class attribute ``LOIHI`` (``"host"`` or ``"neuron program"``).
    """

    backend: str
    reference: str
    programs: Callable
    steps: Callable


@dataclass(frozen=True)
class RuleSpec:
    """Everything the training loop, the CLI and the tests need to know about a rule.

    ``dataset_defaults[dataset]`` maps field names of the configuration tree (or the run
    settings ``epochs``) to the value chosen on that data set's validation split
    (BENCHMARKS.md); ``prepare_data(config, splits)`` picks or transforms the data a run
    trains on (subsets, whitening); ``hidden_sizes(config)`` are the hidden widths of the
    same-shape backprop baseline; ``label`` names the run folder (e.g. ``hebbian-khu``).

    ``small`` holds field values (and ``epochs``) that make a digits run take seconds: the
    conformance tests (``tests/test_conformance.py``) and the examples' test settings use
    them. ``graph`` names this graph of the rule (``--graph``); ``equal_backends`` lists the
    pairs of back ends that must train bit for bit alike (the conformance suite checks
    them); ``chip`` says how the graph goes on a Loihi chip (None for graphs that are not
    made of Loihi parts, such as the float rate networks); ``memory`` what a run holds
    (``memory.MemoryModel``), checked before a run folder is made (None: not checked).
    """

    name: str
    summary: str
    config: type
    backends: tuple[Backend, ...]
    stages: tuple[Stage, ...]
    default_epochs: int
    hidden_sizes: Callable
    dataset_defaults: dict = field(default_factory=dict)
    prepare_data: Callable | None = None
    label: Callable | None = None
    small: dict = field(default_factory=dict)
    graph: str = ""
    equal_backends: tuple[tuple[str, str], ...] = (("numpy", "lava"),)
    chip: ChipGraph | None = None
    memory: MemoryModel | None = None

    def backend(self, name: str) -> Backend:
        """The back end called ``name``; one sentence if the rule has none by that name or it
        cannot run here."""
        names = tuple(b.name for b in self.backends)
        require_backend(name, names, self.name)
        return self.backends[names.index(name)]

    @property
    def backend_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.backends)

    @property
    def fast_backend(self) -> str:
        """The back end that runs on the host without Lava (the tests' default)."""
        return next(b.name for b in self.backends if b.tag == "numpy")

    def defaults(self, dataset: str) -> dict:
        """The values chosen for ``dataset`` that differ from the fields' own defaults."""
        return dict(self.dataset_defaults.get(dataset, {}))

    def configure(self, dataset: str, values: dict | None = None):
        """The configuration of a run on ``dataset``: ``values`` (leaf field name -> value),
        else the data set's chosen value, else the field's default (``epochs`` is a run
        setting and is left out)."""
        chosen = {k: v for k, v in self.defaults(dataset).items() if k != "epochs"}
        return params.build(self.config, {**chosen, **(values or {})})

    def data(self, config, splits: Splits) -> Splits:
        """The data a run of ``config`` trains and evaluates on."""
        return splits if self.prepare_data is None else self.prepare_data(config, splits)

    def run_label(self, config) -> str:
        return self.name if self.label is None else self.label(config)


def bind_data(config, data: Splits):
    """``config`` with its ``from_data`` fields set from ``data``; a configuration that
    already holds other values (a resumed run on other data) is refused."""
    changes = {}
    for f in dataclasses.fields(config):
        if not f.metadata.get("from_data"):
            continue
        found, held = DATA_FIELDS[f.name](data), getattr(config, f.name)
        if held is None:
            changes[f.name] = found
        elif tuple(held) != tuple(found) if isinstance(held, tuple) else held != found:
            raise ValueError(f"the data has {f.name} = {found!r} but the network was built "
                             f"for {held!r}; use the data set the run was trained on.")
    return dataclasses.replace(config, **changes) if changes else config


def graphs(name: str) -> list[RuleSpec]:
    """The specs of every graph of rule ``name``, its default graph first."""
    if name not in RULE_MODULES:
        raise ValueError(f"rule must be one of {', '.join(RULE_MODULES)}, got {name!r}.")
    return [importlib.import_module(module).SPEC for module in RULE_MODULES[name]]


def rule(name: str) -> RuleSpec:
    """The spec of rule ``name``'s default graph."""
    return graphs(name)[0]


def rules() -> list[RuleSpec]:
    """Every registered rule (its default graph), in registration order."""
    return [rule(name) for name in RULE_MODULES]


def all_graphs() -> list[RuleSpec]:
    """Every graph of every registered rule."""
    return [spec for name in RULE_MODULES for spec in graphs(name)]


def rule_of(config) -> RuleSpec:
    """The spec whose configuration class ``config`` is an instance of."""
    for modules in RULE_MODULES.values():
        for module in modules:
            if type(config).__module__ == module:
                spec = importlib.import_module(module).SPEC
                if isinstance(config, spec.config):
                    return spec
    raise ValueError(f"{type(config).__name__} is not the configuration of a registered rule.")
