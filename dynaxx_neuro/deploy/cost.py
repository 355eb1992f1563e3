"""The cost table of a deployment: energy and time per operation and static power, named
and replaceable (``dynaxx deploy --cost-table FILE.json``).

The default table, ``davies2018-pilotnet``:

- energy per operation: Davies et al. 2018, "Loihi: A Neuromorphic Manycore Processor with
  On-Chip Learning", IEEE Micro 38(1), Table 2 (pre-silicon estimates for Loihi):
  ``analysis.energy_cost.LoihiEnergyModel`` (23.6 pJ per synaptic op, 81 pJ per active
  neuron update, 120 pJ per synaptic update of the learning engine, 1.7 pJ per spike);
- time per operation, the same table: 3.5 ns per synaptic op, 8.4 ns per active neuron
  update, 6.1 ns per synaptic update, 2.1 ns per spike within a tile, 465 ns for the
  barrier synchronisation that ends a time step;
- static power: lava-dl's PilotNet benchmark measured on Loihi 2, 0.23-0.28 W per chip
  (0.25 W, ``analysis.energy_cost.STATIC_W_PER_CHIP``). Loihi 2 is faster and leaner per
  operation than these Loihi figures (Intel's brief: up to 10x); no per-operation Loihi 2
  figures are public, so the estimate is conservative for the dynamic part.

A time step lasts as long as its busiest core works, operations of one core in series,
plus the barrier::

    t_step = max over cores (n_syn t_syn + n_neuron t_neuron + n_spike t_spike) + t_barrier
    t_sample = steps t_step + learning updates on the busiest core x t_learn
    E_sample = sum_op n_op e_op  (dynamic)   +   P_static chips t_sample  (static)

A JSON cost table holds the fields of :class:`CostTable` (``name``, ``energy`` and ``time``
as objects of picojoules and nanoseconds, ``static_w_per_chip``); missing fields keep the
defaults.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from dynaxx_neuro.analysis.energy_cost import OP_COLUMNS, STATIC_W_PER_CHIP, LoihiEnergyModel


@dataclass(frozen=True)
class LoihiTimeModel:
    """Nanoseconds per operation (Davies et al. 2018, Table 2)."""

    synaptic_op_ns: float = 3.5
    neuron_update_ns: float = 8.4
    learning_update_ns: float = 6.1
    spike_ns: float = 2.1
    barrier_ns: float = 465.0

    def __post_init__(self):
        _require_non_negative(self)

    def core_step_ns(self, synaptic_ops: float, neuron_updates: float, spikes: float) -> float:
        """Time one core spends on a step's operations (in series)."""
        return (synaptic_ops * self.synaptic_op_ns + neuron_updates * self.neuron_update_ns
                + spikes * self.spike_ns)


@dataclass(frozen=True)
class CostTable:
    """A named table of energy and time per operation and static power per chip."""

    name: str = "davies2018-pilotnet"
    energy: LoihiEnergyModel = field(default_factory=LoihiEnergyModel)
    time: LoihiTimeModel = field(default_factory=LoihiTimeModel)
    static_w_per_chip: float = STATIC_W_PER_CHIP

    def __post_init__(self):
        if not (math.isfinite(self.static_w_per_chip) and self.static_w_per_chip >= 0):
            raise ValueError(f"static_w_per_chip must be a finite number >= 0, got "
                             f"{self.static_w_per_chip!r}.")

    @classmethod
    def from_json(cls, path) -> "CostTable":
        """The table of a JSON file (see the module docstring)."""
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"--cost-table {str(path)!r} is not a readable JSON file "
                             f"({error}).") from None
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known) if isinstance(values, dict) else ["(not an object)"]
        if unknown:
            raise ValueError(f"--cost-table {str(path)!r} has unknown fields "
                             f"{', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        try:
            return cls(name=values.get("name", Path(path).stem),
                       energy=LoihiEnergyModel(**values.get("energy", {})),
                       time=LoihiTimeModel(**values.get("time", {})),
                       static_w_per_chip=values.get("static_w_per_chip", STATIC_W_PER_CHIP))
        except TypeError as error:
            raise ValueError(f"--cost-table {str(path)!r}: {error}.") from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def sample_cost(self, ops: dict[str, float], steps: float, busiest_core_ns: float,
                    busiest_core_learning: float, chips: int) -> dict[str, float]:
        """Energy (J) and time (s) of one sample: ``ops`` maps the counters of
        ``analysis.energy_cost.OP_COLUMNS`` to their counts per sample; ``busiest_core_ns``
        is the busiest core's work per step, ``busiest_core_learning`` its learning
        updates per sample."""
        step_s = (busiest_core_ns + self.time.barrier_ns) * 1e-9
        time_s = steps * step_s + busiest_core_learning * self.time.learning_update_ns * 1e-9
        per_op = self.energy.per_operation_pj()
        dynamic = sum(ops.get(name, 0.0) * per_op[name] for name in OP_COLUMNS) * 1e-12
        static = self.static_w_per_chip * chips * time_s
        return {"steps": steps, "step_s": step_s, "time_s": time_s, "dynamic_j": dynamic,
                "static_j": static, "energy_j": dynamic + static}


def _require_non_negative(model) -> None:
    for f in dataclasses.fields(model):
        value = getattr(model, f.name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{f.name} must be a finite number >= 0, got {value!r}.")
