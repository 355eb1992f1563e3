"""The ``lava`` back end of target propagation: builds the process graph of
``processes/tp.py`` and runs it on Lava's CPU simulator, one epoch cycle at a time.

Forward layer l sends its output to forward layer l+1 (the logits to the readout and, for
DDTP-linear, to every feedback layer) and its probe to feedback layer l; the readout sends
delta_L to the top forward layer and to the top feedback layer (DTP) or every feedback
layer (DDTP-linear); feedback layer l sends delta_l to forward layer l-1 and, for DTP, to
feedback layer l-1. The host only starts runs and reads Vars between them: counters for
progress, and the parameters once per epoch (for the alignment table and the checkpoint;
Var reads are element-wise round trips in Lava 0.10.0).
"""

from __future__ import annotations

import dataclasses

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.cycle import EpochCycle
from dynaxx_neuro.networks.lava_graph import LavaGraph, PeriodGraphRunner, read_tensor_state
from dynaxx_neuro.networks.result import EpochResult, mean_loss
from dynaxx_neuro.networks.tp_numpy import epoch_tables
from dynaxx_neuro.rules.tp import Schedule, TPParameters


class TPLavaRunner(PeriodGraphRunner):
    """Trains and evaluates a target-propagation network as Lava processes (floating_pt
    models)."""

    LOSS_VAR = "train_loss"

    def _build(self, trains: bool, first_epoch: int) -> None:
        prepare_lava_import()
        from dynaxx_neuro.processes.tp import TPFeedback, TPForward, TPReadout, TPSource

        config, params, seed = self.config, self.params, self.launch.seed
        data = self.data if trains else dataclasses.replace(
            self.data, x_train=self.data.x_train[:0], y_train=self.data.y_train[:0])
        schedule = Schedule.of(config)
        self.cycle = EpochCycle(len(data.x_train), len(data.x_val), len(data.x_test),
                                config.batch_size, schedule.train_period,
                                schedule.eval_period, first_epoch)
        common = dict(config=config, cycle=self.cycle)
        self.source = TPSource(data=data, seed=seed, **common)
        self.forward = [TPForward(index=l, state=state, seed=seed, **common)
                        for l, state in enumerate(params.forward)]
        self.feedback = [TPFeedback(index=l, state=state, **common)
                         for l, state in enumerate(params.feedback, start=1)]
        self.readout = TPReadout(**common)
        self._connect()
        self.graph = LavaGraph([self.source, *self.forward, *self.feedback, self.readout],
                               self.launch.tag)
        self._read = None

    def _connect(self) -> None:
        forward, readout, direct = self.forward, self.readout, self.config.direct
        self.source.x_out.connect(forward[0].x_in)
        self.source.label_out.connect(readout.label_in)
        for below, above in zip(forward, forward[1:]):
            below.h_out.connect(above.x_in)
        forward[-1].h_out.connect(readout.logits_in)
        readout.delta_out.connect(forward[-1].delta_in)
        for l, feedback in enumerate(self.feedback, start=1):
            forward[l].probe_out.connect(feedback.probe_in)
            (forward[-1] if direct else forward[l]).h_out.connect(feedback.h_in)
            feedback.delta_out.connect(forward[l - 1].delta_in)
            if direct or l == len(forward) - 1:
                readout.delta_out.connect(feedback.delta_in)
            else:
                self.feedback[l].delta_out.connect(feedback.delta_in)

    def _result(self, epoch: int) -> EpochResult:
        readout, n_val = self.readout, self.cycle.n_val
        n_eval = n_val + self.cycle.n_test
        seen = max(int(readout.train_seen.get()[0]), 1)
        pred = readout.eval_pred.get().astype(int)
        loss = readout.eval_loss.get()
        tables = epoch_tables(self._read_parameters(), self.data, self.config, epoch
                              ) if self.trains else {}
        return EpochResult(readout.train_correct.get()[0] / seen,
                           readout.train_loss.get()[0] / seen,
                           pred[:n_val], mean_loss(loss[:n_val]),
                           pred[n_val:n_eval], mean_loss(loss[n_val:n_eval]), tables)

    def _read_parameters(self) -> TPParameters:
        """Every layer's weights and optimiser state, read from the graph once per run of
        it (the alignment table and the checkpoint of an epoch share the read)."""
        if self._read is None or self._read[0] != self.graph.steps_run:
            self._read = (self.graph.steps_run,
                          TPParameters([read_tensor_state(p) for p in self.forward],
                                       [read_tensor_state(p) for p in self.feedback]))
        return self._read[1]

