"""The ``lava`` back end of the Hebbian features stage: builds the process graph of one
plastic layer and runs it on Lava's CPU simulator, one epoch at a time.

    HebbianSource --x--> HebbianSynapse <--> HebbianLayer      (see processes/hebbian.py)

Learning stays on the graph; the host only starts runs and reads W, theta and the winner
counts once per epoch (Var reads are element-wise round trips in Lava 0.10.0).
"""

from __future__ import annotations

import time

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.cycle import EpochCycle, Launch
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.networks.lava_graph import LavaGraph
from dynaxx_neuro.networks.result import EpochResult, require_next_epoch
from dynaxx_neuro.rules.hebbian import (PERIOD_STEPS, HebbianConfig, HebbianParameters,
                                        epoch_tables, features_epochs)

# Training periods run between two progress updates.
PROGRESS_PERIODS = 50


class HebbianLavaRunner:
    """Learns the features of a Hebbian layer as Lava processes (``launch.tag`` models)."""

    def __init__(self, config: HebbianConfig, data: Splits, params: HebbianParameters,
                 launch: Launch):
        prepare_lava_import()
        from dynaxx_neuro.processes.hebbian import HebbianLayer, HebbianSource, HebbianSynapse

        self.config, self.state = config, params
        self.n_epochs = features_epochs(launch)
        self.cycle = EpochCycle(len(data.x_train), len(data.x_val), len(data.x_test),
                                config.batch_size, PERIOD_STEPS, start_epoch=launch.first_epoch)
        self.batch_size, self.batches_per_epoch = config.batch_size, self.cycle.n_train_batches
        self.next_epoch = launch.first_epoch
        common = dict(config=config, cycle=self.cycle)
        self.source = HebbianSource(seed=launch.seed, x_train=data.x_train, **common)
        self.synapse = HebbianSynapse(n_epochs=self.n_epochs, weights=params.weights, **common)
        self.layer = HebbianLayer(theta=params.theta, **common)
        self.source.x_out.connect(self.synapse.s_in)
        self.synapse.a_out.connect(self.layer.a_in)
        self.layer.s_out.connect(self.synapse.post_in)
        self.layer.theta_out.connect(self.synapse.theta_in)
        self.graph = LavaGraph([self.source, self.synapse, self.layer], launch.tag)

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch on the graph; its ``hebbian``, ``spikes`` and ``ops`` rows, or a
        divergence when the weights stopped being finite."""
        require_next_epoch(self.next_epoch, epoch)
        start = time.perf_counter()
        done = 0
        while done < self.batches_per_epoch:
            chunk = min(PROGRESS_PERIODS, self.batches_per_epoch - done)
            self.graph.run(chunk * PERIOD_STEPS)
            done += chunk
            if progress is not None:
                progress(chunk)
        self.next_epoch += 1
        before = self.state
        after = HebbianParameters(self.synapse.weights.get(), self.layer.theta.get())
        if not after.is_finite():
            return EpochResult.divergence(float("nan"))
        self.state = after
        events = np.array([int(self.source.events.get()[0]), int(self.layer.events.get()[0])])
        return EpochResult.unevaluated(epoch_tables(
            self.config, epoch, self.config.epoch_lr(epoch, self.n_epochs), before, after,
            self.layer.winners.get(), events, self.batches_per_epoch * self.batch_size,
            time.perf_counter() - start))

    def evaluate(self, epoch: int) -> EpochResult:
        """The features stage learns without labels: nothing to evaluate."""
        return EpochResult.unevaluated({})

    def parameters(self) -> HebbianParameters:
        """The weights and thresholds read at the end of the last epoch."""
        return self.state

    def close(self) -> None:
        """Stop the Lava runtime (its OS processes)."""
        self.graph.stop()
