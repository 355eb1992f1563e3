"""The supervised part of a Hebbian run: linear readouts trained on fixed features.

After the unsupervised stage, readouts of the same kind train side by side on feature sets
of the same data (the issue's baselines, trained in the same run):

- ``hebbian``: the learned layer, f(W x) (the rule's ``features``): W x for Oja (its linear
  activity) and the rectified power f = max(W x, 0)^n for BCM and KHU (Krotov & Hopfield's
  hidden layer), optionally with lateral inhibition (``kernels.hebbian.relu_features``);
- ``pixels``: the inputs x themselves (the raw pixels, or their ZCA whitening when the
  run whitens its inputs);
- ``random``: f(R x) with R ~ N(0, 1) of the learned layer's shape, so random features of
  the same width and the same activation;
- ``random_relu``: max(R x, 0), plain random ReLU features, only when the activation is not
  already that (power n != 1 or inhibition), so the learned features always face both.

Each feature is standardised with the mean and standard deviation of the training split,
then a softmax regression (``baseline.MLPTrainer`` with no hidden layer: minibatch SGD with
momentum on the cross-entropy) learns the labels. The learned features must beat every
baseline. The ``hebbian`` readout is the epoch's result; the baselines' accuracies go to the
``baselines`` table and, as ``<features>_<split>_accuracy``, to the run's final metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.baseline import MLPConfig, MLPTrainer, cross_entropy, mlp_forward
from dynaxx_neuro.cycle import READOUT, Launch, n_train_batches, stream
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.hebbian import HebbianConfig, HebbianParameters, ReadoutParameters

_CHUNK = 4096  # rows per feature computation, to bound temporaries
_SPLITS = ("val", "test")


def random_weights(config: HebbianConfig, seed: int) -> np.ndarray:
    """R (hidden, n_inputs) ~ N(0, 1) of the random-feature baselines, drawn once per run
    from ``stream(seed, READOUT)`` (the key these baselines have always used)."""
    return stream(seed, READOUT).standard_normal((config.hidden, config.n_inputs))


def _map(x: np.ndarray, features) -> np.ndarray:
    return np.concatenate([features(x[i:i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
                          or [features(x[:0])])


def feature_map(name: str, config: HebbianConfig, layer: HebbianParameters, seed: int):
    """The function x (N, n_inputs) -> features (N, n_features) of a feature set."""
    readout = config.readout
    power, inhibition = readout.feature_power, readout.feature_inhibition
    if name == "pixels":
        return lambda x: x
    if name == "random_relu":
        r = random_weights(config, seed)
        return lambda x: hb.relu_features(r, x, 1.0)
    if name == "random":
        r = random_weights(config, seed)
        return lambda x: hb.relu_features(r, x, power, inhibition)
    rule = config.rule_params
    return lambda x: rule.features(layer.weights, x, power, inhibition)


@dataclass
class FeatureSplits:
    """Standardised features of the three splits (z = (f - mean_train) / std_train; a
    feature constant on the training split keeps std 1)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @classmethod
    def of(cls, features, data: Splits) -> "FeatureSplits":
        train = _map(data.x_train, features)
        mean = train.mean(axis=0) if len(train) else 0.0
        std = train.std(axis=0) if len(train) else 1.0
        std = np.where(std > 1e-12, std, 1.0)
        train -= mean
        train /= std
        return cls(train, (_map(data.x_val, features) - mean) / std,
                   (_map(data.x_test, features) - mean) / std)


class ReadoutRunner:
    """Trains the readouts of every feature set one epoch at a time (the readout stage).

    The stage's first epoch (``launch.stage_epochs``) is the readouts' epoch 0, which fixes
    their shuffles and learning rates, so a resumed run trains what an uninterrupted one
    would.
    """

    def __init__(self, config: HebbianConfig, data: Splits, params: ReadoutParameters,
                 launch: Launch):
        readout = config.readout
        self.data, self.layer = data, params.layer
        # The stage's first epoch; without one, the first epoch this runner runs.
        self.stage_start = (launch.stage_epochs or (launch.first_epoch,))[0]
        self.batch_size = readout.readout_batch_size
        self.batches_per_epoch = n_train_batches(len(data.x_train), self.batch_size)
        self.features = {name: FeatureSplits.of(feature_map(name, config, params.layer,
                                                            launch.seed), data)
                         for name in readout.feature_sets}
        self.trainers = {}
        for name, features in self.features.items():
            trainer = MLPTrainer(MLPConfig(
                sizes=(features.train.shape[1], data.n_classes), lr=readout.readout_lr,
                momentum=readout.readout_momentum, batch_size=self.batch_size,
                seed=launch.seed, lr_decay=readout.readout_lr_decay))
            if name in params.readouts:
                w, b, vw, vb = params.readouts[name]
                trainer.params, trainer.velocity = [(w, b)], [(vw, vb)]
            self.trainers[name] = trainer

    def _predict(self, name: str, split: str) -> tuple[np.ndarray, float]:
        """Predicted labels and mean cross-entropy of one readout on a split."""
        y = getattr(self.data, f"y_{split}")
        if not len(y):
            return np.zeros(0, dtype=int), float("nan")
        probs = mlp_forward(self.trainers[name].params, getattr(self.features[name], split))[-1]
        return probs.argmax(axis=1), cross_entropy(probs, self.data.targets(y))

    def _accuracy(self, split: str, predictions: np.ndarray) -> float:
        return float((predictions == getattr(self.data, f"y_{split}")).mean())

    def _result(self, epoch: int, train: dict[str, tuple[float, float]] | None) -> EpochResult:
        """The ``hebbian`` readout's result with the baselines' accuracies as metrics (and
        their losses when only evaluating); ``train`` holds (accuracy, loss) per readout of
        a training epoch, which also writes the ``baselines`` table."""
        metrics = {}
        rows = {"epoch": [], "features": [], "split": [], "accuracy": [], "loss": []}
        scores = {name: {split: self._predict(name, split) for split in _SPLITS}
                  for name in self.trainers}
        for name in (n for n in self.trainers if n != "hebbian"):
            splits = [("train", *train[name])] if train is not None else []
            splits += [(split, self._accuracy(split, pred), loss)
                       for split, (pred, loss) in scores[name].items()
                       if len(getattr(self.data, f"y_{split}"))]
            for split, accuracy, loss in splits:
                metrics[f"{name}_{split}_accuracy"] = accuracy
                if train is None:
                    metrics[f"{name}_{split}_loss"] = loss
                for column, value in zip(rows, (epoch, name, split, accuracy, loss)):
                    rows[column].append(value)
        accuracy, loss = train["hebbian"] if train is not None else (float("nan"),) * 2
        (val_pred, val_loss), (test_pred, test_loss) = scores["hebbian"].values()
        tables = {} if train is None else {"baselines": rows}
        return EpochResult(accuracy, loss, val_pred, val_loss, test_pred, test_loss, tables,
                           metrics=metrics)

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One readout epoch of every feature set; the ``hebbian`` readout is the result,
        the baselines go to the ``baselines`` table and the metrics."""
        train = {}
        for name, features in self.features.items():
            trainer = self.trainers[name]
            train[name] = trainer.train_epoch(features.train, self.data.y_train,
                                              epoch - self.stage_start)
            if name == "hebbian" and progress is not None:
                progress(self.batches_per_epoch, train[name][0])
            if not all(np.isfinite(a).all() for a in trainer.params[0]):
                return EpochResult.divergence(train[name][0])
        return self._result(epoch, train)

    def evaluate(self, epoch: int) -> EpochResult:
        """Every readout on the validation and test splits, without learning."""
        return self._result(epoch, None)

    def parameters(self) -> ReadoutParameters:
        return ReadoutParameters(self.layer, {
            name: (*trainer.params[0], *trainer.velocity[0])
            for name, trainer in self.trainers.items()})

    def close(self) -> None:
        """Nothing to release; present so every runner shares one interface."""
