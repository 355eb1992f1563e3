"""Graded-spike counts and operation counters of the rate networks (EP, FF, Hebbian): the
``spikes`` table in its per-layer form and the ``ops`` table of a training epoch (docs/architecture.md,
"The run directory"; ``analysis.energy_cost`` turns ``ops`` into joules).

A rate neuron on Loihi 2 sends a graded spike only when its output is not zero, so what a
layer sends in a step is its number of non-zero outputs (:func:`sent_events`), and each
event costs one synaptic operation per synapse it fans out to. Each network states how its
events turn into operations (``rules.ep.ep_activity``, ``rules.ff.ff_activity``,
``rules.hebbian.hebbian_activity``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sent_events(values: np.ndarray) -> int:
    """Graded spikes that sending ``values`` costs: its non-zero entries."""
    return int(np.count_nonzero(values))


def count_sent(events: np.ndarray, values: np.ndarray, first_of_epoch: bool) -> None:
    """Add the graded spikes of ``values`` to a ProcessModel's epoch counter ``events``
    (shape (1,)), zeroing it first at the first sending step of an epoch."""
    if first_of_epoch:
        events[:] = 0
    events += sent_events(values)


@dataclass(frozen=True)
class EpochActivity:
    """What the training periods of one epoch sent and did, per layer (input first) and in
    total: ``events`` over ``neuron_steps`` (neurons x the steps they could send in) per
    layer, the four counters of ``analysis.energy_cost`` for ``samples`` samples and, where
    a graph counts them, the payload bits its graded spikes carried."""

    layers: tuple[str, ...]
    neurons: np.ndarray
    neuron_steps: np.ndarray
    events: np.ndarray
    synaptic_ops: int
    neuron_updates: int
    learning_updates: int
    samples: int
    payload_bits: int = 0     # bits the graded spikes carry in total (0: not counted)

    def tables(self, epoch: int) -> dict[str, dict[str, np.ndarray]]:
        """The ``spikes`` rows (one per layer) and the ``ops`` row of ``epoch``."""
        n = len(self.layers)
        spikes = {"epoch": np.full(n, epoch), "phase": np.full(n, "train"),
                  "layer": np.array(self.layers), "neurons": np.asarray(self.neurons),
                  "neuron_steps": np.asarray(self.neuron_steps),
                  "events": np.asarray(self.events, dtype=np.int64)}
        ops = {"epoch": np.array([epoch]), "phase": np.array(["train"]),
               "samples": np.array([self.samples]),
               "synaptic_ops": np.array([int(self.synaptic_ops)]),
               "neuron_updates": np.array([int(self.neuron_updates)]),
               "learning_updates": np.array([int(self.learning_updates)]),
               "spikes": np.array([int(np.sum(self.events))])}
        if self.payload_bits:
            ops["payload_bits"] = np.array([int(self.payload_bits)])
        return {"spikes": spikes, "ops": ops}
