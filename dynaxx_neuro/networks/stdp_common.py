"""What both back ends of the STDP network share: the runner protocol around one
presentation pass (``registry``). An epoch is a training pass over the epoch's shuffle,
then :meth:`STDPRunner.evaluate`; a back end supplies :meth:`STDPRunner._pass`
(``networks.stdp_lava``: the Lava graph; ``networks.stdp_numpy``: the same graph as one
NumPy loop).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.networks.result import EpochResult, require_next_epoch
from dynaxx_neuro.rules.stdp import (PassRecord, STDPConfig, STDPParameters, input_seed,
                                     merge_tables, pass_tables, read_out, timing_row,
                                     training_order)


class STDPRunner:
    """Trains the network one epoch at a time and labels and evaluates it after each; one
    sample per period (batch 1)."""

    batch_size = 1

    def __init__(self, config: STDPConfig, data: Splits, params: STDPParameters,
                 launch: Launch):
        self.config, self.data, self.params, self.launch = config, data, params, launch
        self.next_epoch = launch.first_epoch
        self.batches_per_epoch = len(data.x_train)

    def _pass(self, images: np.ndarray, learn: bool, seed: int, progress=None) -> PassRecord:
        """Show ``images`` (learning when ``learn``), normalising the weights every
        ``normalise_every`` samples and calling ``progress(samples)`` after each chunk;
        ``seed`` seeds the input spikes (``rules.stdp.input_seed``)."""
        raise NotImplementedError

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """Train on the epoch's shuffle of the training split, then :meth:`evaluate`."""
        require_next_epoch(self.next_epoch, epoch)
        config, data = self.config, self.data
        order = training_order(self.launch.seed, epoch, len(data.x_train))
        start = time.perf_counter()
        trained = self._pass(data.x_train[order], True, input_seed(self.launch.seed, epoch, True),
                             progress)
        seconds = time.perf_counter() - start
        if not trained.params.is_finite():
            return EpochResult.divergence(float("nan"))
        self.params = trained.params
        self.next_epoch += 1
        result = self.evaluate(epoch, len(order) * config.presentation.period)
        tables = pass_tables("train", trained, config, True, epoch)
        tables["timing"] = timing_row("train", len(order), config, True, seconds)
        return dataclasses.replace(result, tables=merge_tables(tables, result.tables))

    def evaluate(self, epoch: int, first_step: int = 0) -> EpochResult:
        """Without learning: label the neurons on the first ``n_label`` training samples (all
        when 0), then classify validation and test samples by the labelled neurons' vote
        (``rules.stdp.read_out``). The "train" accuracy is the vote's accuracy on the
        labelling samples; ``first_step`` is where the pass's steps start in the epoch (for
        the spike table)."""
        config, data = self.config, self.data
        n_label = config.n_label or len(data.x_train)
        x_label, y_label = data.x_train[:n_label], data.y_train[:n_label]
        images = np.concatenate([x_label, data.x_val, data.x_test])
        start = time.perf_counter()
        evaluated = self._pass(images, False, input_seed(self.launch.seed, epoch, False))
        seconds = time.perf_counter() - start
        predictions = read_out(evaluated.counts, y_label, config)
        label_accuracy = (float((predictions[:len(x_label)] == y_label).mean())
                          if len(y_label) else float("nan"))
        n_val = len(data.x_val)
        tables = pass_tables("eval", evaluated, config, False, epoch, first_step)
        tables["timing"] = timing_row("eval", len(images), config, False, seconds)
        return EpochResult(label_accuracy, float("nan"),
                           predictions[len(x_label):len(x_label) + n_val], float("nan"),
                           predictions[len(x_label) + n_val:], float("nan"), tables)

    def parameters(self) -> STDPParameters:
        return self.params

    def close(self) -> None:
        """Nothing stays running between passes (a Lava back end stops each pass's graph)."""
