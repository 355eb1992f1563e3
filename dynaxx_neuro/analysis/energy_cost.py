"""On-chip energy of a run from its operation counters (the ``ops`` table).

The cost model charges each counted operation the energy Loihi spends on it, from the
pre-silicon estimates of Davies et al. 2018, "Loihi: A Neuromorphic Manycore Processor with
On-Chip Learning", IEEE Micro 38(1), Table 2 (see /work/shared/REFERENCES.md, "Loihi facts"):

    energy = 23.6 pJ * synaptic_ops      (one synaptic spike operation)
           + 81 pJ   * neuron_updates    (one *active* neuron update; an inactive one is 52 pJ)
           + 120 pJ  * learning_updates  (one synaptic update of the learning engine)
           + 1.7 pJ  * spikes            (one spike sent within a tile)

A counted neuron update is charged as active, so the neuron term is an upper bound; tile-to-
tile hops (3.0 / 4.0 pJ) and static power are left out because the counters cannot place
neurons on cores. Change the constants by passing another :class:`LoihiEnergyModel`.

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
