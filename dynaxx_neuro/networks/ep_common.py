"""What both EP back ends share: the network configuration, its parameters, the epoch plan
(which samples and which beta each period of an epoch streams) and the epoch result.

One epoch is a fixed cycle of periods: the shuffled full training batches (with learning),
then the validation samples and the test samples in order (free phase only, beta = 0,
the last batch of each split padded with zero rows that nobody counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.activity import EpochActivity


@dataclass(frozen=True)
class EPConfig:
    """A layered EP network: ``sizes = (n_in, hidden..., n_out)`` and how it learns."""

    sizes: tuple[int, ...]
    schedule: ep.EPSchedule = ep.EPSchedule()
    dynamics: ep.EPDynamics = ep.EPDynamics()
    learning: ep.EPLearning = ep.EPLearning()
    batch_size: int = 20
    seed: int = 0
    log_batches: int = 2

    def __post_init__(self):
        if len(self.sizes) < 2:
            raise ValueError("sizes must list at least the input and output sizes, "
                             f"got {self.sizes!r}.")
        for n in self.sizes:
            if n < 1:
                raise ValueError(f"every layer size must be >= 1, got {self.sizes!r}.")
        if len(self.learning.lrs) != len(self.sizes) - 1:
            raise ValueError(f"lrs must hold {len(self.sizes) - 1} rates (one per weight layer), "
                             f"got {len(self.learning.lrs)}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}.")
        if self.log_batches < 0:
            raise ValueError(f"log_batches must be >= 0, got {self.log_batches!r}.")

    @property
    def n_weight_layers(self) -> int:
        return len(self.sizes) - 1


@dataclass
class EPParameters:
    """Weights ``W_l`` (n_l, n_{l-1}), biases ``b_l`` and their momentum velocities."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    weight_velocities: list[np.ndarray]
    bias_velocities: list[np.ndarray]

    @classmethod
    def initial(cls, sizes: tuple[int, ...], rng: np.random.Generator) -> "EPParameters":
        """Glorot-uniform weights, zero biases, zero velocities."""
        weights = [ep.glorot_uniform(n_post, n_pre, rng) for n_pre, n_post in zip(sizes, sizes[1:])]
        biases = [np.zeros(n) for n in sizes[1:]]
        return cls(weights, biases, [np.zeros_like(w) for w in weights],
                   [np.zeros_like(b) for b in biases])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat name -> array mapping for checkpoints."""
        out = {}
        for name, values in (("w", self.weights), ("b", self.biases),
                             ("vw", self.weight_velocities), ("vb", self.bias_velocities)):
            out.update({f"{name}{i}": v for i, v in enumerate(values)})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_weight_layers: int) -> "EPParameters":
        def take(name):
            return [np.array(arrays[f"{name}{i}"], dtype=float) for i in range(n_weight_layers)]
        return cls(take("w"), take("b"), take("vw"), take("vb"))

    def is_finite(self) -> bool:
        """Whether weights and biases are finite (velocities feed them, so they follow)."""
        return all(np.isfinite(a).all() for a in (*self.weights, *self.biases))


def n_train_batches(n_train: int, batch_size: int) -> int:
    """Full training batches per epoch (the remainder of the shuffle is left for the next)."""
    return n_train // batch_size


def n_eval_batches(n: int, batch_size: int) -> int:
    """Evaluation batches of a split, the last one padded."""
    return math.ceil(n / batch_size)


def epoch_plan(config: EPConfig, n_train: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Training sample indices (n_batches, B) and signed betas (n_batches,) of an epoch.

    Both depend only on (seed, epoch), so a resumed run streams what an uninterrupted one
    would have streamed.
    """
    nb = n_train_batches(n_train, config.batch_size)
    order = np.random.default_rng([config.seed, epoch, 0]).permutation(n_train)
    betas = ep.batch_betas(nb, config.dynamics.beta, epoch, config.learning,
                           np.random.default_rng([config.seed, epoch, 1]))
    return order[: nb * config.batch_size].reshape(nb, config.batch_size), betas


def padded_batch(x: np.ndarray, start: int, batch_size: int) -> np.ndarray:
    """Rows start .. start+B of x, padded with zero rows to B rows."""
    rows = x[start: start + batch_size]
    if len(rows) == batch_size:
        return rows
    return np.concatenate([rows, np.zeros((batch_size - len(rows),) + x.shape[1:])])


TRAIN, VAL, TEST = "train", "val", "test"


@dataclass(frozen=True)
class EPCycle:
    """The periods of one epoch in order: training batches, then validation and test
    batches. ``start_epoch`` is the epoch of the first period a graph runs."""

    n_train: int
    n_val: int
    n_test: int
    batch_size: int
    log_batches: int
    start_epoch: int = 0

    @property
    def n_train_batches(self) -> int:
        return n_train_batches(self.n_train, self.batch_size)

    @property
    def n_logged(self) -> int:
        """Training batches per epoch whose settling energies are logged."""
        return min(self.log_batches, self.n_train_batches)

    @property
    def periods(self) -> int:
        """Periods per epoch."""
        return (self.n_train_batches + n_eval_batches(self.n_val, self.batch_size)
                + n_eval_batches(self.n_test, self.batch_size))

    def locate(self, period: int) -> tuple[int, str, int]:
        """(epoch, split, batch index within the split) of a period counted from 0."""
        epoch, j = divmod(period, self.periods)
        epoch += self.start_epoch
        if j < self.n_train_batches:
            return epoch, TRAIN, j
        j -= self.n_train_batches
        n_val_batches = n_eval_batches(self.n_val, self.batch_size)
        if j < n_val_batches:
            return epoch, VAL, j
        return epoch, TEST, j - n_val_batches


def energy_table(epoch: int, energies: np.ndarray, schedule: ep.EPSchedule) -> dict:
    """Long-form settling energies of the logged batches of an epoch.

    ``energies`` is (3, n_logged, period, B): E, C and F at every period step. One row per
    (batch, period step, sample) with the phase and the step index inside the phase.
    """
    _, n_batches, period, batch = energies.shape
    grid = np.indices((n_batches, period, batch)).reshape(3, -1)
    steps = grid[1]
    phases = np.array([ep.PHASE_NAMES[schedule.phase(k)] for k in range(period)])
    phase_steps = np.array([schedule.phase_step(k) for k in range(period)])
    energy, cost, total = (values.ravel() for values in energies)
    return {"epoch": np.full(steps.size, epoch), "batch": grid[0], "sample": grid[2],
            "period_step": steps, "phase": phases[steps], "step": phase_steps[steps],
            "E": energy, "C": cost, "F": total}


def layer_names(n_layers: int) -> list[str]:
    """Names of the layers of ``sizes`` in order: input, hidden 1, ..., output."""
    return ["input", *(f"hidden {j}" for j in range(1, n_layers - 1)), "output"]


def ep_activity(sizes: tuple[int, ...], events: np.ndarray, period: int,
                n_samples: int) -> EpochActivity:
    """The activity of the training periods of an epoch from ``events[j]``, the graded
    spikes (non-zero rates) layer j sent in them (j = 0: the clamped input, sent at every
    period step).

    With n_j = sizes[j], L = len(sizes) - 1 and P = period, per epoch of N samples::

        layer j:          events e_j over n_j * P * N neuron-steps
        synaptic_ops    = sum_{j<L} e_j n_{j+1}  +  sum_{j>=2} e_j n_{j-1}
                          (forward synapse into layer j+1, backward copy into layer j-1;
                          the input receives nothing)
        neuron_updates  = sum_{j>=1} n_j * P * N
        learning_updates= N * (sum_{j<L} n_j n_{j+1} + sum_{1<=j<L} n_j n_{j+1}
                          + sum_{j>=1} n_j)
                          (on chip one sample is one learning epoch, and the learning engine
                          visits every synapse of both copies and every bias)
    """
    sizes = np.asarray(sizes)
    steps = sizes * period * n_samples
    synapses = sizes[:-1] @ sizes[1:] + sizes[1:-1] @ sizes[2:] + sizes[1:].sum()
    return EpochActivity(tuple(layer_names(len(sizes))), sizes, steps, np.asarray(events),
                         synaptic_ops=int(events[:-1] @ sizes[1:] + events[2:] @ sizes[1:-1]),
                         neuron_updates=int(steps[1:].sum()),
                         learning_updates=int(n_samples * synapses), samples=n_samples)
