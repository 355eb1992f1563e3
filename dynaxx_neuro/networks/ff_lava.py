"""The ``lava`` back end of forward-forward: builds the process graph and runs it on Lava's
CPU simulator, one epoch cycle at a time.

Graph for L layers (see ``processes/ff.py``)::

    FFSource --x--> FFLayer_0 --h--> FFLayer_1 ... --h--> FFLayer_{L-1}
        |                \\ report      \\ report          \\ report
        +--labels------> FFReadout (sums the reports on one port) --label goodness--> FFSource

The host only starts runs and reads Vars between them (learning stays on the graph); Var
reads are element-wise round trips in Lava 0.10.0, so they happen once per epoch, and
progress is read from the readout's counters every few periods.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.networks.ff_common import (TEST, VAL, FFConfig, FFCycle, FFParameters,
                                             LayerMonitor, TensorState, evaluation_result,
                                             ff_activity, monitor_tables)
from dynaxx_neuro.networks.lava_graph import LavaGraph, run_training_periods
from dynaxx_neuro.networks.result import EpochResult

# Training periods run between two progress reads.
PROGRESS_PERIODS = 10


class FFLavaRunner:
    """Trains and evaluates a forward-forward network as Lava processes (floating_pt)."""

    def __init__(self, config: FFConfig, data: Splits, params: FFParameters, start_epoch: int):
        prepare_lava_import()
        from dynaxx_neuro.models import float_model_map
        from dynaxx_neuro.processes.ff import FFLayer, FFReadout, FFSource

        self.config, self.data = config, data
        self.cycle = FFCycle(config, len(data.x_train), len(data.x_val), len(data.x_test),
                             start_epoch)
        self.next_epoch = start_epoch
        common = dict(config=config, cycle=self.cycle)
        self.source = FFSource(data=data, **common)
        self.layers = [FFLayer(index=i, state=state, **common)
                       for i, state in enumerate(params.layers)]
        self.readout = FFReadout(state=params.readout, **common)
        self._connect()
        self.graph = LavaGraph([self.source, *self.layers, self.readout], float_model_map())

    def _connect(self) -> None:
        source, layers, readout = self.source, self.layers, self.readout
        source.x_out.connect(layers[0].x_in)
        for below, above in zip(layers, layers[1:]):
            below.h_out.connect(above.x_in)
        for layer in layers:
            layer.report_out.connect(readout.report_in)
        source.label_out.connect(readout.label_in)
        readout.goodness_out.connect(source.goodness_in)

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """Run one epoch cycle on the graph: training periods, then validation and test."""
        if epoch != self.next_epoch:
            raise ValueError(f"epoch must be {self.next_epoch} (the graph's next epoch), "
                             f"got {epoch}.")
        cycle = self.cycle
        accuracy, diverged = run_training_periods(
            self.graph, self.readout, cycle.n_train_batches, cycle.train_plan.period,
            PROGRESS_PERIODS, "train_loss", progress)
        if diverged:
            return EpochResult.divergence(accuracy)
        self.graph.run(cycle.steps - cycle.train_steps)
        self.next_epoch += 1
        return self._result(epoch)

    def _result(self, epoch: int) -> EpochResult:
        readout, n_val, n_test = self.readout, self.cycle.n_val, self.cycle.n_test
        seen = int(readout.train_seen.get()[0]) if self.cycle.n_train_batches else 0
        probs, goodness = readout.eval_probs.get(), readout.eval_goodness.get()
        outputs = {VAL: (probs[:n_val], goodness[:n_val]),
                   TEST: (probs[n_val:n_val + n_test], goodness[n_val:n_val + n_test])}
        rows = [LayerMonitor.from_state(layer.monitor.get(), layer.ever_active.get()).row()
                for layer in self.layers] if seen else []
        tables = monitor_tables(epoch, rows)
        if seen:
            events = np.array([int(p.events.get()[0]) for p in (self.source, *self.layers)])
            tables.update(ff_activity(self.config, events, seen).tables(epoch))
        return evaluation_result(self.config, self.data, epoch,
                                 readout.train_correct.get()[0] / max(seen, 1),
                                 readout.train_loss.get()[0] / max(seen, 1), outputs, tables)

    def parameters(self) -> FFParameters:
        """Every layer's and the readout's weights and optimiser state, read from the graph."""
        self.graph.require_started()
        return FFParameters([_read_state(layer) for layer in self.layers],
                            _read_state(self.readout))

    def close(self) -> None:
        """Stop the Lava runtime (its OS processes)."""
        self.graph.stop()


def _read_state(process) -> TensorState:
    arrays = [getattr(process, name).get() for name in ("w", "b", "mw", "vw", "mb", "vb")]
    return TensorState(*arrays, int(process.step.get()[0]))
