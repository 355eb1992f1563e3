"""The ``lava`` back end of the Hebbian rules: builds the process graph of one plastic
layer and runs it on Lava's CPU simulator, one epoch at a time.

    HebbianSource --x--> HebbianSynapse <--> HebbianLayer      (see processes/hebbian.py)

Learning stays on the graph; the host only starts runs and reads W, theta and the winner
counts once per epoch (Var reads are element-wise round trips in Lava 0.10.0).
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.networks.activity import EpochActivity
from dynaxx_neuro.networks.hebbian_common import (PERIOD_STEPS, HebbianConfig, HebbianCycle,
                                                  HebbianState, epoch_summary, hebbian_activity,
                                                  norm_order)
from dynaxx_neuro.networks.lava_graph import LavaGraph

# Training periods run between two progress updates.
PROGRESS_PERIODS = 50


def float_model_map() -> dict:
    """Process class -> floating_pt ProcessModel of the Hebbian processes."""
    from dynaxx_neuro.models import hebbian as models
    return {model.implements_process: model for model in (
        models.PyHebbianSourceModelFloat, models.PyHebbianSynapseModelFloat,
        models.PyHebbianLayerModelFloat)}


class HebbianLavaLearner:
    """Learns the features of a Hebbian layer as Lava processes (floating_pt models)."""

    def __init__(self, config: HebbianConfig, x_train: np.ndarray, state: HebbianState,
                 start_epoch: int):
        prepare_lava_import()
        from dynaxx_neuro.processes.hebbian import HebbianLayer, HebbianSource, HebbianSynapse

        self.config, self.state = config, state
        self.cycle = HebbianCycle(len(x_train), config.batch_size, start_epoch)
        self.next_epoch = start_epoch
        common = dict(config=config, cycle=self.cycle)
        self.source = HebbianSource(x_train=x_train, **common)
        self.synapse = HebbianSynapse(weights=state.weights, **common)
        self.layer = HebbianLayer(theta=state.theta, **common)
        self.source.x_out.connect(self.synapse.s_in)
        self.synapse.a_out.connect(self.layer.a_in)
        self.layer.s_out.connect(self.synapse.post_in)
        self.layer.theta_out.connect(self.synapse.theta_in)
        self.graph = LavaGraph([self.source, self.synapse, self.layer], float_model_map())
        self.activity: EpochActivity | None = None  # of the last epoch

    def run_epoch(self, epoch: int, progress=None) -> dict[str, list] | None:
        """One epoch on the graph; returns its ``hebbian`` table row, or None when the
        weights stopped being finite."""
        if epoch != self.next_epoch:
            raise ValueError(f"epoch must be {self.next_epoch} (the graph's next epoch), "
                             f"got {epoch}.")
        done = 0
        while done < self.cycle.periods:
            chunk = min(PROGRESS_PERIODS, self.cycle.periods - done)
            self.graph.run(chunk * PERIOD_STEPS)
            done += chunk
            if progress is not None:
                progress(chunk)
        self.next_epoch += 1
        before = self.state
        self.state = HebbianState(self.synapse.weights.get(), self.layer.theta.get())
        if not self.state.is_finite():
            return None
        config = self.config
        events = np.array([int(self.source.events.get()[0]), int(self.layer.events.get()[0])])
        self.activity = hebbian_activity(config, events, self.cycle.periods * config.batch_size)
        lr = config.epoch_lr(epoch)
        return epoch_summary(epoch, lr, before, self.state, self.layer.winners.get(),
                             norm_order(config))

    def parameters(self) -> HebbianState:
        """The weights and thresholds read at the end of the last epoch."""
        return self.state

    def close(self) -> None:
        """Stop the Lava runtime (its OS processes)."""
        self.graph.stop()
