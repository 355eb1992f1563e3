"""On-chip energy of a run from its operation counters (the ``ops`` table).

The cost model charges each counted operation the energy Loihi spends on it, from the
pre-silicon estimates of Davies et al. 2018, "Loihi: A Neuromorphic Manycore Processor with
On-Chip Learning", IEEE Micro 38(1), Table 2 (see /work/shared/REFERENCES.md, "Loihi facts"):

    energy = 23.6 pJ * synaptic_ops      (one synaptic spike operation)
           + 81 pJ   * neuron_updates    (one *active* neuron update; an inactive one is 52 pJ)
           + 120 pJ  * learning_updates  (one synaptic update of the learning engine)
           + 1.7 pJ  * spikes            (one spike sent within a tile)

A counted neuron update is charged as active, so the neuron term is an upper bound; tile-to-
tile hops (3.0 / 4.0 pJ) are left out because the counters cannot place neurons on cores.
Change the constants by passing another :class:`LoihiEnergyModel`.

Static power is a separate term (:func:`static_energy_j`): a Loihi 2 chip draws about
0.23-0.28 W whatever it computes (lava-dl's PilotNet benchmark on Loihi 2, "Power" table:
static 0.23-0.28 W per chip), charged over the steps a sample takes at an *assumed* step
time (:data:`ASSUMED_STEP_S`, stated wherever it is used: Loihi 2's step time depends on
the load of its busiest core and is not measured here).

The ``ops`` table has one row per step or per epoch with the columns ``synaptic_ops``,
``neuron_updates``, ``learning_updates``, ``spikes``, ``epoch`` and/or ``step``, and
optionally ``samples`` (samples processed in that row), which turns energy into energy
per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

OP_COLUMNS = ("synaptic_ops", "neuron_updates", "learning_updates", "spikes")

STATIC_W_PER_CHIP = 0.25     # lava-dl PilotNet on Loihi 2: 0.23-0.28 W static per chip
ASSUMED_STEP_S = 10e-6       # an assumed Loihi 2 time step for a small graph (10 us)


def static_energy_j(steps: float, chips: int = 1, step_s: float = ASSUMED_STEP_S,
                    watts_per_chip: float = STATIC_W_PER_CHIP) -> float:
    """Static energy of ``steps`` time steps on ``chips`` chips: steps * step_s * W."""
    if not (steps >= 0 and chips >= 1 and step_s > 0 and watts_per_chip >= 0):
        raise ValueError(f"static_energy_j needs steps >= 0, chips >= 1, step_s > 0 and "
                         f"watts_per_chip >= 0, got {steps}, {chips}, {step_s}, "
                         f"{watts_per_chip}.")
    return steps * step_s * chips * watts_per_chip


@dataclass(frozen=True)
class LoihiEnergyModel:
    """Energy per operation in picojoules (Davies et al. 2018, Table 2)."""

    synaptic_op_pj: float = 23.6
    neuron_update_pj: float = 81.0
    learning_update_pj: float = 120.0
    spike_pj: float = 1.7

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{field.name} must be a finite number >= 0, got {value!r}.")

    def per_operation_pj(self) -> dict[str, float]:
        """Picojoules charged for one operation of each counter column."""
        return dict(zip(OP_COLUMNS, (self.synaptic_op_pj, self.neuron_update_pj,
                                     self.learning_update_pj, self.spike_pj)))


def energy_by_period(ops_columns: dict, model: LoihiEnergyModel = LoihiEnergyModel()
                     ) -> tuple[str, np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """Energy of the counters summed per epoch (or per step when the table has no epoch).

    Returns ``(period, keys, joules, samples)``: ``period`` is "epoch" or "step", ``keys``
    the sorted epochs or steps, ``joules[column]`` the energy of each counter per key, and
    ``samples`` the samples processed per key (None when the table has no ``samples``).
    """
    missing = [name for name in OP_COLUMNS if name not in ops_columns]
    if missing:
        raise ValueError(f"the ops table lacks the column(s) {', '.join(missing)}; it needs "
                         f"{', '.join(OP_COLUMNS)}.")
    period = "epoch" if "epoch" in ops_columns else "step"
    if period not in ops_columns:
        raise ValueError("the ops table needs an 'epoch' or a 'step' column.")
    keys, index = np.unique(np.asarray(ops_columns[period]), return_inverse=True)

    def summed(column):
        return np.bincount(index, weights=np.asarray(ops_columns[column], dtype=float),
                           minlength=keys.size)

    joules = {name: summed(name) * pj * 1e-12
              for name, pj in model.per_operation_pj().items()}
    samples = summed("samples") if "samples" in ops_columns else None
    return period, keys, joules, samples
