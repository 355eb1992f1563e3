"""The ``numpy`` back end of the Hebbian rules: the Lava graph's schedule as one plain loop.

Per batch it does what the Lava processes do in one period (``hebbian_lava``): the synapse's
drive, the layer's activity, the weight update in the learning phase, then the threshold.
The Lava back end is tested against this loop to 1e-9.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.networks.activity import EpochActivity, sent_events
from dynaxx_neuro.networks.hebbian_common import (PERIOD_STEPS, HebbianConfig, HebbianState,
                                                  epoch_plan, epoch_summary, hebbian_activity,
                                                  learn_batch, norm_order)


class HebbianNumpyLearner:
    """Learns the features of a Hebbian layer epoch by epoch in this process."""

    def __init__(self, config: HebbianConfig, x_train: np.ndarray, state: HebbianState):
        self.config, self.x_train, self.state = config, x_train, state
        self.activity: EpochActivity | None = None  # of the last epoch

    def run_epoch(self, epoch: int, progress=None) -> dict[str, list] | None:
        """One epoch of unsupervised learning; returns its ``hebbian`` table row, or None
        when the weights stopped being finite (the state before the epoch is kept)."""
        config = self.config
        lr = config.epoch_lr(epoch)
        state = self.state
        winners = np.zeros(config.n_hidden, dtype=np.int64)
        events = np.zeros(2, dtype=np.int64)
        index = epoch_plan(config, len(self.x_train), epoch)
        for rows in index:
            x = self.x_train[rows]
            state, activity = learn_batch(config, state, x, lr)
            winners += np.bincount(activity.argmax(axis=1), minlength=config.n_hidden)
            events += (sent_events(x) * PERIOD_STEPS, sent_events(activity))
            if progress is not None:
                progress(1)
        if not state.is_finite():
            return None
        before, self.state = self.state, state
        self.activity = hebbian_activity(config, events, len(index) * config.batch_size)
        return epoch_summary(epoch, lr, before, state, winners, norm_order(config))

    def parameters(self) -> HebbianState:
        return self.state

    def close(self) -> None:
        """Nothing to release; present so both back ends share one interface."""
