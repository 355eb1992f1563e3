"""The ``numpy`` back end of the Hebbian features stage: the Lava graph's schedule as one
plain loop.

Per batch it does what the Lava processes do in one period (``hebbian_lava``):
``rules.hebbian.learn_batch`` (drive, activity, weights in the learning phase, then the
threshold). The Lava back end is tested against this loop.
"""

from __future__ import annotations

import time

import numpy as np

from dynaxx_neuro.activity import sent_events
from dynaxx_neuro.cycle import Launch, epoch_order, n_train_batches
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.hebbian import (PERIOD_STEPS, HebbianConfig, HebbianParameters,
                                        epoch_tables, features_epochs, learn_batch,
                                        winner_counts)


class HebbianNumpyRunner:
    """Learns the features of a Hebbian layer epoch by epoch in this process."""

    def __init__(self, config: HebbianConfig, data: Splits, params: HebbianParameters,
                 launch: Launch):
        self.config, self.x_train, self.state, self.seed = config, data.x_train, params, launch.seed
        self.rule = config.rule_params
        self.n_epochs = features_epochs(launch)
        self.batch_size = config.batch_size
        self.batches_per_epoch = n_train_batches(len(self.x_train), self.batch_size)

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch of unsupervised learning; its ``hebbian``, ``spikes`` and ``ops`` rows,
        or a divergence when the weights stopped being finite (the state before the epoch
        is kept)."""
        start = time.perf_counter()
        config = self.config
        lr = config.epoch_lr(epoch, self.n_epochs)
        state = self.state
        winners = np.zeros(config.hidden, dtype=np.int64)
        events = np.zeros(2, dtype=np.int64)
        index = epoch_order(self.seed, epoch, len(self.x_train), self.batch_size)
        for rows in index:
            x = self.x_train[rows]
            state, activity = learn_batch(self.rule, state, x, lr)
            winners += winner_counts(activity, config.hidden)
            events += (sent_events(x) * PERIOD_STEPS, sent_events(activity))
            if progress is not None:
                progress(1)
        if not state.is_finite():
            return EpochResult.divergence(float("nan"))
        before, self.state = self.state, state
        return EpochResult.unevaluated(epoch_tables(
            config, epoch, lr, before, state, winners, events, index.size,
            time.perf_counter() - start))

    def evaluate(self, epoch: int) -> EpochResult:
        """The features stage learns without labels: nothing to evaluate."""
        return EpochResult.unevaluated({})

    def parameters(self) -> HebbianParameters:
        return self.state

    def close(self) -> None:
        """Nothing to release; present so every runner shares one interface."""
