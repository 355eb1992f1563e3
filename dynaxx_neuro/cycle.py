"""The one clock of every rule: how time steps map to epochs, splits, batches and period
steps, which samples each epoch streams, and the random streams of a run.

A graph runs epoch after epoch. An epoch is a fixed cycle of periods: the full training
batches of the epoch's shuffle (``train_period`` steps each), then, when the graph itself
evaluates (``eval_period`` > 0), the validation and the test batches in order
(``eval_period`` steps each, the last batch of a split padded with zero rows that nobody
counts). Lava counts time steps from 1; step t of a graph that started at epoch
``start_epoch`` falls in the :class:`Slot` ``cycle.slot(t)``. Every phase-scheduled
ProcessModel (``models/clock.py``) and every NumPy loop reads time through this class, so
they agree on every step by construction.

Random draws come from :func:`stream`, keyed by the run seed and a named purpose, so a
resumed run draws what an uninterrupted one would have drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

TRAIN, VAL, TEST = "train", "val", "test"
SPLITS = (TRAIN, VAL, TEST)

# Purposes of the random streams of a run (the last key of ``stream``'s seed sequence).
ORDER = 0      # the shuffle of the training samples of an epoch: stream(seed, epoch, ORDER)
SIGNS = 1      # per-batch signs or choices of a rule (EP's beta sign, FF's negatives)
DROPOUT = 2    # dropout masks
INIT = 7       # initial parameters: stream(seed, INIT)
SUBSET = 11    # random subsets and random features drawn once per run
READOUT = 13   # initial readout weights
ENGINE = 17    # the seed of a learning engine's trace randoms: stream(seed, epoch, ENGINE)
COARSE = 19    # numpy-fixed's rounding of weights coarser than the engine's: (seed, epoch, COARSE)
NOISE = 23     # noise probing a layer's feedback (TP): (seed, epoch, batch, layer, NOISE)


def stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of one purpose of a run: ``default_rng([seed, *key])``, the purpose
    (one of the constants above) last."""
    return np.random.default_rng([seed, *key])


def engine_seed(seed: int, epoch: int) -> int:
    """The ``rng_seed`` of every LearningDense of an epoch's graph in the graphs of Loihi
    parts (one graph per epoch, so a resumed run draws what an uninterrupted one does)."""
    return int(stream(seed, epoch, ENGINE).integers(0, 2 ** 31 - 4))


def n_train_batches(n_train: int, batch_size: int) -> int:
    """Full training batches per epoch (the rest of the shuffle waits for the next one)."""
    return n_train // batch_size


def n_eval_batches(n: int, batch_size: int) -> int:
    """Evaluation batches of a split of ``n`` samples, the last one padded."""
    return math.ceil(n / batch_size)


def epoch_order(seed: int, epoch: int, n_train: int, batch_size: int) -> np.ndarray:
    """Training sample indices (n_batches, B) of an epoch, from ``stream(seed, epoch,
    ORDER)``; a run that resumes at ``epoch`` streams what an uninterrupted one would."""
    nb = n_train_batches(n_train, batch_size)
    order = stream(seed, epoch, ORDER).permutation(n_train)
    return order[: nb * batch_size].reshape(nb, batch_size)


def padded_batch(x: np.ndarray, start: int, batch_size: int) -> np.ndarray:
    """Rows ``start .. start + B`` of ``x``, padded with zero rows to B rows."""
    rows = x[start: start + batch_size]
    if len(rows) == batch_size:
        return rows
    return np.concatenate([rows, np.zeros((batch_size - len(rows),) + x.shape[1:],
                                          dtype=x.dtype)])


@dataclass(frozen=True)
class Launch:
    """What a runner needs to know besides its configuration, data and parameters: the run
    seed (for ``stream``), the epoch its first step belongs to, the ProcessModel tag of
    its back end (``floating_pt``, ``fixed_pt``, or ``numpy`` for host loops) and, when the
    training loop knows them, the (first, end) epochs of the runner's stage on the run's
    epoch axis (for schedules over a stage, such as a linear rate fall)."""

    seed: int
    first_epoch: int = 0
    tag: str = "numpy"
    stage_epochs: tuple[int, int] | None = None


@dataclass(frozen=True)
class Slot:
    """Where a time step falls: epoch, split, batch within the split, step k of the period."""

    epoch: int
    split: str
    batch: int
    k: int


@dataclass(frozen=True)
class EpochCycle:
    """The periods of one epoch of a graph, in order; see the module docstring.

    ``log_batches`` is how many training batches per epoch log their dynamics (energies).
    """

    n_train: int
    n_val: int
    n_test: int
    batch_size: int
    train_period: int
    eval_period: int = 0
    start_epoch: int = 0
    log_batches: int = 0

    @property
    def n_train_batches(self) -> int:
        return n_train_batches(self.n_train, self.batch_size)

    @property
    def n_logged(self) -> int:
        """Training batches per epoch whose dynamics are logged."""
        return min(self.log_batches, self.n_train_batches)

    @cached_property
    def eval_batches(self) -> tuple[tuple[str, int], ...]:
        """(split, batch) of the evaluation periods of an epoch, in order."""
        if self.eval_period == 0:
            return ()
        return tuple((split, b) for split, n in ((VAL, self.n_val), (TEST, self.n_test))
                     for b in range(n_eval_batches(n, self.batch_size)))

    @property
    def train_steps(self) -> int:
        """Time steps of the training periods of an epoch."""
        return self.n_train_batches * self.train_period

    @property
    def eval_steps(self) -> int:
        """Time steps of the evaluation periods of an epoch."""
        return len(self.eval_batches) * self.eval_period

    @property
    def steps(self) -> int:
        """Time steps per epoch."""
        return self.train_steps + self.eval_steps

    def slot(self, time_step: int) -> Slot:
        """The slot of a Lava time step (counted from 1)."""
        epoch, t = divmod(time_step - 1, self.steps)
        epoch += self.start_epoch
        if t < self.train_steps:
            batch, k = divmod(t, self.train_period)
            return Slot(epoch, TRAIN, batch, k)
        index, k = divmod(t - self.train_steps, self.eval_period)
        split, batch = self.eval_batches[index]
        return Slot(epoch, split, batch, k)

    def eval_rows(self, split: str, batch: int) -> tuple[int, int]:
        """(first row, real rows) of an evaluation batch in the val-then-test row order of a
        readout's prediction Vars."""
        start = batch * self.batch_size
        size = self.n_val if split == VAL else self.n_test
        offset = 0 if split == VAL else self.n_val
        return offset + start, min(self.batch_size, size - start)

    def logged(self, slot: Slot) -> bool:
        """Whether the dynamics of this slot's period are logged."""
        return slot.split == TRAIN and slot.batch < self.n_logged


class EpochBatches:
    """The samples of every period of a batched graph's cycle: an epoch's shuffled training
    batches (``epoch_order``, drawn once per epoch), then the validation and test batches
    in order, the last of a split padded with zero rows (``padded_batch``). ``data`` is a
    ``datasets.Splits``."""

    def __init__(self, data, seed: int, batch_size: int):
        self.data, self.seed, self.batch_size = data, seed, batch_size
        self._epoch, self._order = None, None

    def batch(self, epoch: int, split: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of batch ``batch`` of ``split`` in ``epoch``."""
        data, size = self.data, self.batch_size
        if split == TRAIN:
            if self._epoch != epoch:
                self._order = epoch_order(self.seed, epoch, len(data.x_train), size)
                self._epoch = epoch
            rows = self._order[batch]
            return data.x_train[rows], data.y_train[rows]
        x, y = (data.x_val, data.y_val) if split == VAL else (data.x_test, data.y_test)
        start = batch * size
        return padded_batch(x, start, size), padded_batch(y, start, size)
