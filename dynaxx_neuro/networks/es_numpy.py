"""The ``numpy`` back end of evolution strategies, the rule's only one (``rules.es``: ES has
no Lava graph): the generations of an epoch as one plain loop, the population's fitness
evaluations through the run's executor (``--workers``), then the centroid's validation and
test evaluation.

The centroid's accuracy and loss on each generation's fitness samples, before the
generation moves it, are the epoch's training accuracy and loss.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.executor import make_executor
from dynaxx_neuro.kernels import es
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.es import (ESConfig, ESParameters, FitnessData, evolution_table,
                                   generation_rows, population_fitness, search)


def evaluate(theta: np.ndarray, x: np.ndarray, y: np.ndarray,
             config: ESConfig) -> tuple[np.ndarray, float]:
    """Predicted labels and mean cross-entropy of the network theta on a split."""
    if not len(y):
        return np.zeros(0, dtype=int), float("nan")
    z = es.logits(theta, config.sizes, config.activation, x)
    return z.argmax(axis=1), float(es.cross_entropy(z, y).mean())


class ESNumpyRunner:
    """Evolves a network epoch by epoch; the fitness evaluations run on the configured
    executor, started at the first generation and ended by :meth:`close`."""

    def __init__(self, config: ESConfig, data: Splits, params: ESParameters, launch: Launch):
        self.config, self.data, self.seed = config, data, launch.seed
        self.search = search(config, params)
        self.executor = make_executor(config.workers, FitnessData(
            data.x_train, data.y_train, config.sizes, config.activation))
        self.batch_size = config.batch_size
        self.batches_per_epoch = config.generations

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch: ``generations`` generations, then validation and test."""
        config, data = self.config, self.data
        generations, correct, loss, seen = [], 0, 0.0, 0
        for k in range(config.generations):
            rows = generation_rows(config, self.seed, epoch, k, len(data.x_train))
            predictions, losses = evaluate(self.search.centroid, data.x_train[rows],
                                           data.y_train[rows], config)
            correct += int((predictions == data.y_train[rows]).sum())
            loss += losses * len(rows)
            seen += len(rows)
            fitness = population_fitness(self.executor, self.search.ask(self.seed, epoch, k),
                                         rows)
            if not (np.isfinite(loss) and np.isfinite(fitness).all()):
                return EpochResult.divergence(correct / seen)
            generations.append(self.search.tell(fitness))
            if progress is not None:
                progress(1, correct / seen)
        result = self.evaluate(epoch)
        result.train_accuracy, result.train_loss = correct / seen, loss / seen
        result.tables = {"evolution": evolution_table(config, epoch, generations)}
        done = (epoch + 1) * config.generations
        result.metrics = {"generations": done, "fitness_evaluations": done * config.population}
        return result

    def evaluate(self, epoch: int) -> EpochResult:
        """The centroid's predictions and mean loss on the validation and test splits."""
        data, theta = self.data, self.search.centroid
        val_pred, val_loss = evaluate(theta, data.x_val, data.y_val, self.config)
        test_pred, test_loss = evaluate(theta, data.x_test, data.y_test, self.config)
        return EpochResult(float("nan"), float("nan"), val_pred, val_loss, test_pred,
                           test_loss)

    def parameters(self) -> ESParameters:
        return self.search.parameters()

    def close(self) -> None:
        """End the executor's worker processes, if any."""
        self.executor.close()
