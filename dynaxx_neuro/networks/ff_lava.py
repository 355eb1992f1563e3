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
from dynaxx_neuro.cycle import TEST, VAL
from dynaxx_neuro.networks.ff_common import evaluation_result
from dynaxx_neuro.networks.lava_graph import LavaGraph, PeriodGraphRunner, read_tensor_state
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.ff import (FFParameters, LayerMonitor, epoch_cycle,
                                   ff_activity, monitor_tables)

class FFLavaRunner(PeriodGraphRunner):
    """Trains and evaluates a forward-forward network as Lava processes."""

    LOSS_VAR = "train_loss"

    def _build(self, trains: bool, first_epoch: int) -> None:
        prepare_lava_import()
        from dynaxx_neuro.processes.ff import FFLayer, FFReadout, FFSource

        config, data, seed = self.config, self.data, self.launch.seed
        self.cycle = epoch_cycle(config, len(data.x_train) if trains else 0, len(data.x_val),
                                 len(data.x_test), first_epoch)
        common = dict(config=config, cycle=self.cycle)
        self.source = FFSource(data=data, seed=seed, **common)
        self.layers = [FFLayer(index=i, state=state, seed=seed, **common)
                       for i, state in enumerate(self.params.layers)]
        self.readout = FFReadout(state=self.params.readout, **common)
        self._connect()
        self.graph = LavaGraph([self.source, *self.layers, self.readout], self.launch.tag)

    def _connect(self) -> None:
        source, layers, readout = self.source, self.layers, self.readout
        source.x_out.connect(layers[0].x_in)
        for below, above in zip(layers, layers[1:]):
            below.h_out.connect(above.x_in)
        for layer in layers:
            layer.report_out.connect(readout.report_in)
        source.label_out.connect(readout.label_in)
        readout.goodness_out.connect(source.goodness_in)

    def _result(self, epoch: int) -> EpochResult:
        readout, n_val, n_test = self.readout, self.cycle.n_val, self.cycle.n_test
        seen = int(readout.train_seen.get()[0]) if self.cycle.n_train_batches else 0
        probs, goodness = readout.eval_probs.get(), readout.eval_goodness.get()
        outputs = {VAL: (probs[:n_val], goodness[:n_val]),
                   TEST: (probs[n_val:n_val + n_test], goodness[n_val:n_val + n_test])}
        monitors = [LayerMonitor.from_state(layer.monitor.get(), layer.ever_active.get(),
                                            layer.goodness_sample.get())
                    for layer in self.layers] if seen else []
        tables = monitor_tables(epoch, monitors)
        if seen:
            events = np.array([int(p.events.get()[0]) for p in (self.source, *self.layers)])
            tables.update(ff_activity(self.config, events, seen).tables(epoch))
        if self.trains:
            accuracy = readout.train_correct.get()[0] / max(seen, 1)
            loss = readout.train_loss.get()[0] / max(seen, 1)
        else:
            accuracy = loss = float("nan")
        return evaluation_result(self.config, self.data, epoch, accuracy, loss, outputs, tables)

    def _read_parameters(self) -> FFParameters:
        """Every layer's and the readout's weights and optimiser state, read from the graph."""
        return FFParameters([read_tensor_state(layer) for layer in self.layers],
                            read_tensor_state(self.readout))
