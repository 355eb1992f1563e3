"""The ``lava`` back end of EP: builds the process graph and runs it on Lava's CPU
simulator, one epoch cycle at a time.

Graph for sizes (n_0, ..., n_L), weight layer i joining layer i-1 (the source's x for
i = 0) to layer i::

    EPSource --x--> F_0 --> Layer_0 <--> F_1/B_1 <--> Layer_1 ... Layer_{L-1} --> EPReadout
       |  target ------------------------------------------^ (output)            ^
       |  beta ----> every layer and synapse                                    target

F_i holds W_i (n_i, n_{i-1}); B_i (i >= 1) holds W_i^T and sends to layer i-1. Every layer
sums what its synapses send on one port. The host only starts runs and reads Vars between
them (learning stays on the graph); Var reads are element-wise round trips in Lava
0.10.0, so they happen once per epoch, and progress is read from two counters.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.cycle import EpochCycle
from dynaxx_neuro.networks.lava_graph import LavaGraph, PeriodGraphRunner
from dynaxx_neuro.networks.result import EpochResult, mean_loss
from dynaxx_neuro.rules.ep import EPParameters, energy_table, ep_activity, epoch_plan


class EPLavaRunner(PeriodGraphRunner):
    """Trains and evaluates an EP network as Lava processes (floating_pt models)."""

    LOSS_VAR = "train_cost"

    def _build(self, trains: bool, first_epoch: int) -> None:
        prepare_lava_import()
        from dynaxx_neuro.processes.ep import EPLayer, EPReadout, EPSource, EPSynapse

        config, params = self.config, self.params
        data = self.data if trains else dataclasses.replace(
            self.data, x_train=self.data.x_train[:0], y_train=self.data.y_train[:0])
        period = config.schedule.period
        self.cycle = EpochCycle(len(data.x_train), len(data.x_val), len(data.x_test),
                                config.batch_size, period, period, first_epoch,
                                config.log_batches)
        common = dict(config=config, cycle=self.cycle)
        self.source = EPSource(data=data, seed=self.launch.seed, **common)
        self.layers = [EPLayer(index=i, bias=b, bias_velocity=vb, **common)
                       for i, (b, vb) in enumerate(zip(params.biases, params.bias_velocities))]
        self.forward = [EPSynapse(weights=w, velocity=v, lr=lr, logs_energy=True, **common)
                        for w, v, lr in zip(params.weights, params.weight_velocities,
                                            config.lrs)]
        self.backward = [EPSynapse(weights=w.T.copy(), velocity=v.T.copy(), lr=lr,
                                   logs_energy=False, **common)
                         for w, v, lr in zip(params.weights[1:], params.weight_velocities[1:],
                                             config.lrs[1:])]
        self.readout = EPReadout(**common)
        self._connect()
        self.graph = LavaGraph([self.source, *self.layers, *self.forward, *self.backward,
                                self.readout], self.launch.tag)

    def _connect(self) -> None:
        source, layers, readout = self.source, self.layers, self.readout
        rates_below = [source.x_out] + [layer.s_out for layer in layers[:-1]]
        for i, synapse in enumerate(self.forward):
            rates_below[i].connect(synapse.s_in)
            layers[i].s_out.connect(synapse.post_in)
            synapse.a_out.connect(layers[i].a_in)
        for i, synapse in enumerate(self.backward, start=1):
            layers[i].s_out.connect(synapse.s_in)
            layers[i - 1].s_out.connect(synapse.post_in)
            synapse.a_out.connect(layers[i - 1].a_in)
        for process in [*layers, *self.forward, *self.backward]:
            source.beta_out.connect(process.beta_in)
        source.target_out.connect(layers[-1].target_in)
        source.target_out.connect(readout.target_in)
        layers[-1].s_out.connect(readout.rate_in)

    def _result(self, epoch: int) -> EpochResult:
        readout, n_val = self.readout, self.cycle.n_val
        seen = max(int(readout.train_seen.get()[0]), 1)
        pred = readout.eval_pred.get().astype(int)
        cost = readout.eval_cost.get()
        logged = self.cycle.n_logged
        energy = (sum(layer.energy_log.get() for layer in self.layers)
                  + sum(synapse.energy_log.get() for synapse in self.forward))[:logged]
        cost_log = self.layers[-1].cost_log.get()[:logged]
        total = energy + self._logged_betas(epoch)[:, :, None] * cost_log
        n_eval = n_val + self.cycle.n_test
        events = np.array([int(p.events.get()[0]) for p in (self.source, *self.layers)])
        tables = ep_activity(self.config.sizes, events, self.config.schedule.period,
                             self.cycle.n_train_batches * self.config.batch_size).tables(epoch)
        if logged:
            tables["energy"] = energy_table(epoch, np.stack([energy, cost_log, total]),
                                            self.config.schedule)
        return EpochResult(readout.train_correct.get()[0] / seen,
                           readout.train_cost.get()[0] / seen,
                           pred[:n_val], mean_loss(cost[:n_val]),
                           pred[n_val:n_eval], mean_loss(cost[n_val:n_eval]), tables)

    def _logged_betas(self, epoch: int) -> np.ndarray:
        """beta_k of every period step of the logged batches, (n_logged, period)."""
        schedule = self.config.schedule
        _, betas = epoch_plan(self.config, self.launch.seed, self.cycle.n_train, epoch)
        return np.array([[schedule.phase_beta(k, beta) for k in range(schedule.period)]
                         for beta in betas[:self.cycle.n_logged]]).reshape(-1, schedule.period)

    def _read_parameters(self) -> EPParameters:
        """Weights, biases and velocities read from the graph (forward copies)."""
        return EPParameters([s.weights.get() for s in self.forward],
                            [layer.bias.get() for layer in self.layers],
                            [s.velocity.get() for s in self.forward],
                            [layer.bias_velocity.get() for layer in self.layers])

    def backward_weights(self) -> list[np.ndarray]:
        """The W_i^T copies held by the backward synapses (for the symmetry check)."""
        return [s.weights.get() for s in self.backward]

