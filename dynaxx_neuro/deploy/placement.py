"""Where each process of a built Lava graph goes on Loihi 2, and what it uses there.

One :class:`ProcessRow` per process (``place``), read from the graph itself (classes,
weights, ports and their connections), not from a second description of it:

- **synapses** (``Dense``, ``Sparse``; ``LearningDense`` etc. with a learning rule) live on
  the cores of the neurons they drive: a stock hardware model, or the learning engine for
  a learning rule (2-factor rules: stock; 3-factor rules: announced for Loihi 2, no public
  model). Widths used: weights (two's-complement bits of the integer weights' range),
  graded payload (``num_message_bits``), and for learning the traces, the rule's constants
  and scaling mantissas and ``t_epoch``;
- **neurons**: Lava's stock neuron processes (LIF, Sigma-Delta, the graded processes), or a
  neuron program in microcode (our own processes with ``LOIHI = "neuron program"``, whose
  widths ``RuleSpec.chip.programs`` gives, and Lava processes with no known Loihi 2
  model such as ATRLIF);
- **host**: our processes with ``LOIHI = "host"`` (streams, readouts, recorders).

A neuron process needs ``max(ceil(n / neurons per core), ceil(synaptic memory / memory
per core), ceil(n routes / fan-out axons per core))`` cores, where its synaptic memory is
the weights of every synapse that drives it (bits used each) and ``routes`` the synapse
or host processes its spikes go to. Its fan-in (the axons of every synapse that drives
it) must fit one core whatever the split, since every core holding a part of the layer
receives all of them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from dynaxx_neuro.deploy.loihi2 import Loihi2Chip

STOCK, PROGRAM, HOST = "stock hardware model", "neuron program (microcode)", "host"
ENGINE_2F = "learning engine (2-factor rule: stock)"
ENGINE_3F = "learning engine (3-factor rule: announced, no public model)"
UNKNOWN = "none known"

OURS = "dynaxx_neuro.processes."
SYNAPSES = ("Dense", "Sparse", "DelayDense", "DelaySparse", "LearningDense", "LearningSparse")
# Lava's neuron processes known to have Loihi 2 models in Intel's extension, and the state
# width of their fixed-point models.
STOCK_NEURONS = {"LIF": 24, "LIFReset": 24, "SigmaDelta": 24, "Sigma": 24, "Delta": 24,
                 "GradedVec": 24, "GradedReluVec": 24, "NormVecDelay": 24, "InvSqrt": 24}
# Lava's neuron processes with no Loihi 2 model known (a neuron program must be written).
PROGRAM_NEURONS = {"ATRLIF": 24}


@dataclass
class ProcessRow:
    """One process of the graph on the chip. ``widths[name] = (used, chip)``; ``neurons``,
    ``synapses`` (stored on its cores: a neuron process's incoming weights, a synapse
    process's own), ``fan_in`` (axons into its cores), ``fan_out`` (output axons: neurons
    x routes), ``cores`` (0 for synapses, which share their post neurons' cores, and the
    host); ``problems``: what does not fit, one sentence each."""

    name: str
    lava_class: str
    maps_to: str
    widths: dict[str, tuple[int, int]] = field(default_factory=dict)
    neurons: int = 0
    synapses: int = 0
    fan_in: int = 0
    fan_out: int = 0
    cores: int = 0
    problems: list[str] = field(default_factory=list)
    # per-core work in one step at full activity (every input non-zero), for the timing
    core_synaptic_ops: float = 0.0
    core_learning_synapses: float = 0.0

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("core_")}


def signed_bits(values: np.ndarray) -> int:
    """Bits of the two's-complement integers that hold ``values`` (unsigned when none is
    negative): 255 -> 8, -256..255 -> 9, 0 -> 1."""
    values = np.asarray(values)
    if values.size == 0:
        return 1
    low, high = int(values.min()), int(values.max())
    if low >= 0:
        return max(high.bit_length(), 1)
    return max(max(high, 0).bit_length(), (-low - 1).bit_length()) + 1


def _synapse_kind(process) -> str:
    rule = process.proc_params._parameters.get("learning_rule")
    if rule is None:
        return STOCK
    return ENGINE_3F if type(rule).__name__ == "Loihi3FLearningRule" else ENGINE_2F


def _rule_widths(rule) -> dict[str, int]:
    """Widths the learning rule's products use: constants, scaling mantissas, t_epoch."""
    products = [p for series in (rule.dw, rule.dd, rule.dt) if series is not None
                for p in series.products]
    constants = [abs(f.const) for p in products for f in p.factors if f.const is not None]
    mantissas = [abs(p.s_mantissa) for p in products]
    return {"traces": 7 if products else 0,
            "rule constants": signed_bits(np.array(constants or [0])) + 1,
            "rule scale": signed_bits(np.array(mantissas or [0])),
            "t_epoch": int(rule.t_epoch).bit_length()}


def _synapse_row(process, chip: Loihi2Chip) -> ProcessRow:
    weights = np.asarray(process.weights.init)
    row = ProcessRow(process.name, type(process).__name__, _synapse_kind(process),
                     synapses=int(weights.size), fan_in=int(weights.shape[1]),
                     fan_out=int(weights.shape[0]))
    params = process.proc_params._parameters
    if not np.array_equal(weights, np.round(weights)):
        row.problems.append(f"{process.name}'s weights are not integers (a floating-point "
                            "graph); deploy the fixed-point graph.")
    payload = int(params.get("num_message_bits", 0))
    used = {"weights": signed_bits(np.round(weights)), "payload": max(payload, 1)}
    rule = params.get("learning_rule")
    if rule is not None:
        used.update(_rule_widths(rule))
    row.widths = {name: (bits, chip.width(name)) for name, bits in used.items()}
    return row


def _neuron_kind(process, programs: dict) -> tuple[str, dict[str, int]]:
    name = type(process).__name__
    if type(process).__module__.startswith(OURS):
        kind = getattr(type(process), "LOIHI", None)
        if kind == "host":
            return HOST, {}
        if kind == "neuron program":
            return PROGRAM, dict(programs.get(name, {}))
        return UNKNOWN, {}
    if name in STOCK_NEURONS:
        return STOCK, {"state": STOCK_NEURONS[name]}
    if name in PROGRAM_NEURONS:
        return PROGRAM, {"state": PROGRAM_NEURONS[name]}
    return UNKNOWN, {}


def _size(process) -> int:
    """Neurons of a neuron process: the width of its ``a_in`` port, else of its widest
    output port."""
    a_in = getattr(process, "a_in", None)
    if a_in is not None:
        return int(np.prod(a_in.shape))
    return max((int(np.prod(p.shape)) for p in process.out_ports), default=0)


def _driven_by(process) -> set:
    """Processes that ``process``'s output ports send to."""
    return {port.process for out in process.out_ports for port in out.out_connections}


def _routes(process) -> int:
    """Processes ``process``'s spikes travel to: the synapses it is the input of and any
    other process (neurons, the host); the post factors it sends its own synapses' learning
    engines stay on its cores."""
    targets = set()
    for out in process.out_ports:
        for port in out.out_connections:
            target = port.process
            if type(target).__name__ not in SYNAPSES or port is target.s_in:
                targets.add(target)
    return len(targets)


def place(processes: list, programs: dict, chip: Loihi2Chip = Loihi2Chip()) -> list[ProcessRow]:
    """The rows of every process of a graph (synapses first in graph order, then neurons
    and host ends), with the neurons' cores and the problems found."""
    synapses = [p for p in processes if type(p).__name__ in SYNAPSES]
    others = [p for p in processes if type(p).__name__ not in SYNAPSES]
    rows = {p: _synapse_row(p, chip) for p in synapses}
    for process in others:
        kind, widths = _neuron_kind(process, programs)
        row = ProcessRow(process.name, type(process).__name__, kind,
                         {name: (bits, chip.width(name)) for name, bits in widths.items()})
        if kind == UNKNOWN:
            row.problems.append(f"{row.lava_class} has no known Loihi 2 model.")
        if kind != HOST:
            _size_neurons(row, process, synapses, rows, chip)
        rows[process] = row
    for row in rows.values():
        row.problems += [f"{row.name} uses {used} {name} bits, the chip has {limit}."
                         for name, (used, limit) in row.widths.items() if used > limit]
    return [rows[p] for p in synapses + others]


def _size_neurons(row: ProcessRow, process, synapses: list, rows: dict,
                  chip: Loihi2Chip) -> None:
    """Neurons, incoming synapses, fan-in/out and cores of a neuron process."""
    incoming = [s for s in synapses if process in _driven_by(s)]
    n = _size(process)
    routes = _routes(process)
    memory = sum(rows[s].synapses * rows[s].widths["weights"][0] for s in incoming)
    row.neurons, row.synapses = n, sum(rows[s].synapses for s in incoming)
    row.fan_in, row.fan_out = sum(rows[s].fan_in for s in incoming), n * routes
    row.cores = max(math.ceil(n / chip.neurons_per_core),
                    math.ceil(memory / chip.synaptic_memory_bits_per_core),
                    math.ceil(row.fan_out / chip.fan_out_axons_per_core), 1)
    if row.fan_in > chip.fan_in_axons_per_core:
        row.problems.append(f"{row.name} has {row.fan_in} input axons, more than a core's "
                            f"{chip.fan_in_axons_per_core}.")
    row.core_synaptic_ops = row.synapses / row.cores
    row.core_learning_synapses = sum(rows[s].synapses for s in incoming
                                     if rows[s].maps_to != STOCK) / row.cores


@dataclass(frozen=True)
class GraphTotals:
    """The graph on chip: cores, chips, and per step at full activity the operations of
    the whole graph and of its busiest core."""

    cores: int
    chips: int
    synaptic_ops: int
    neuron_updates: int
    spikes: int
    learning_synapses: int
    busiest_core_synaptic_ops: float
    busiest_core_neurons: float
    busiest_core_spikes: float
    busiest_core_learning_synapses: float
    problems: tuple[str, ...]


def totals(rows: list[ProcessRow], chip: Loihi2Chip = Loihi2Chip()) -> GraphTotals:
    """Totals of a graph's rows (:func:`place`)."""
    neurons = [r for r in rows if r.cores > 0]
    cores = sum(r.cores for r in neurons)
    busiest = max(neurons, key=lambda r: (r.core_synaptic_ops + r.neurons / r.cores),
                  default=None)
    return GraphTotals(
        cores=cores, chips=max(math.ceil(cores / chip.cores_per_chip), 1),
        synaptic_ops=sum(r.synapses for r in neurons),
        neuron_updates=sum(r.neurons for r in neurons),
        spikes=sum(r.fan_out for r in neurons),
        learning_synapses=int(sum(r.core_learning_synapses * r.cores for r in neurons)),
        busiest_core_synaptic_ops=busiest.core_synaptic_ops if busiest else 0.0,
        busiest_core_neurons=busiest.neurons / busiest.cores if busiest else 0.0,
        busiest_core_spikes=busiest.fan_out / busiest.cores if busiest else 0.0,
        busiest_core_learning_synapses=busiest.core_learning_synapses if busiest else 0.0,
        problems=tuple(p for r in rows for p in r.problems))
