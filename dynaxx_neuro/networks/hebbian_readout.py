"""The supervised part of a Hebbian run: linear readouts trained on fixed features.

After the unsupervised stage, readouts of the same kind train side by side on feature sets
of the same data (the issue's baselines, trained in the same run):

- ``hebbian``: the learned layer, f(W x): W x for Oja (its linear activity) and the
  rectified power f = max(W x, 0)^n for BCM and KHU (Krotov & Hopfield's hidden layer),
  optionally with lateral inhibition (``kernels.hebbian.relu_features``);
- ``pixels``: the inputs x themselves (the raw pixels, or their ZCA whitening when the
  run whitens its inputs);
- ``random``: f(R x) with R ~ N(0, 1) of the learned layer's shape, so random features of
  the same width and the same activation;
- ``random_relu``: max(R x, 0), plain random ReLU features, only when the activation is not
  already that (power n != 1 or inhibition), so the learned features always face both.

Each feature is standardised with the mean and standard deviation of the training split,
then a softmax regression (``baseline.MLPTrainer`` with no hidden layer: minibatch SGD with
momentum on the cross-entropy) learns the labels. The learned features must beat every
baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.baseline import MLPConfig, MLPTrainer, cross_entropy, mlp_forward
from dynaxx_neuro.checks import is_real
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.networks.hebbian_common import HebbianConfig, HebbianState
from dynaxx_neuro.networks.result import EpochResult

FEATURE_SETS = ("hebbian", "pixels", "random")
_CHUNK = 4096  # rows per feature computation, to bound temporaries


@dataclass(frozen=True)
class ReadoutConfig:
    """Readout settings: SGD rate ``lr`` > 0, ``momentum`` in [0, 1), ``batch_size`` >= 1,
    per-epoch rate decay ``lr_decay`` in (0, 1], the activation power ``feature_power``
    >= 1 of the rectified features (1 = ReLU) and their lateral ``inhibition`` c >= 0
    (None: none), f = max(h - mean_u(h) - c std_u(h), 0)^n."""

    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 100
    lr_decay: float = 0.9
    feature_power: float = 1.0
    inhibition: float | None = None

    def __post_init__(self):
        def bad(name, allowed):
            raise ValueError(f"readout {name} must be {allowed}, got {getattr(self, name)!r}.")

        if not (is_real(self.lr) and self.lr > 0):
            bad("lr", "a finite number > 0")
        if not (is_real(self.momentum) and 0 <= self.momentum < 1):
            bad("momentum", "a number in [0, 1)")
        if (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer))
                or self.batch_size < 1):
            bad("batch_size", "an integer >= 1")
        if not (is_real(self.lr_decay) and 0 < self.lr_decay <= 1):
            bad("lr_decay", "a number in (0, 1]")
        if not (is_real(self.feature_power) and self.feature_power >= 1):
            bad("feature_power", "a finite number >= 1")
        if not (self.inhibition is None or (is_real(self.inhibition) and self.inhibition >= 0)):
            bad("inhibition", "None or a finite number >= 0")

    @property
    def feature_sets(self) -> tuple[str, ...]:
        """The feature sets a run trains readouts on (``random_relu`` only when the
        activation is not plain ReLU)."""
        plain = self.feature_power == 1.0 and self.inhibition is None
        return FEATURE_SETS if plain else FEATURE_SETS + ("random_relu",)


def random_weights(config: HebbianConfig) -> np.ndarray:
    """R (n_hidden, n_in) ~ N(0, 1) of the random-feature baseline, fixed by the seed."""
    rng = np.random.default_rng([config.seed, 13])
    return rng.standard_normal((config.n_hidden, config.n_in))


def _map(x: np.ndarray, features) -> np.ndarray:
    return np.concatenate([features(x[i:i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
                          or [features(x[:0])])


def feature_map(name: str, config: HebbianConfig, state: HebbianState, power: float,
                inhibition: float | None = None):
    """The function x (N, n_in) -> features (N, n_features) of a feature set."""
    if name == "pixels":
        return lambda x: x
    if name == "random_relu":
        r = random_weights(config)
        return lambda x: hb.relu_features(r, x, 1.0)
    if name == "random":
        r = random_weights(config)
        return lambda x: hb.relu_features(r, x, power, inhibition)
    if isinstance(config.params, hb.OjaParams):
        return lambda x: x @ state.weights.T  # (N, n_in) x (n_in, n_hidden)
    return lambda x: hb.relu_features(state.weights, x, power, inhibition)


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
    """Trains the three readouts one epoch at a time (the runner ``train.fit`` drives).

    Readout epochs are counted on from the Hebbian ones: global epoch ``first_epoch`` is
    the readouts' epoch 0 (which fixes their shuffles and learning rates).
    """

    def __init__(self, config: ReadoutConfig, hebbian: HebbianConfig, state: HebbianState,
                 data: Splits, first_epoch: int, checkpoint: dict[str, np.ndarray] | None = None,
                 feature_sets: dict[str, FeatureSplits] | None = None):
        self.config, self.state, self.data, self.first_epoch = config, state, data, first_epoch
        self.features = feature_sets or {
            name: FeatureSplits.of(feature_map(name, hebbian, state, config.feature_power,
                                               config.inhibition), data)
            for name in config.feature_sets}
        self.trainers = {}
        for name, features in self.features.items():
            trainer = MLPTrainer(MLPConfig(
                sizes=(features.train.shape[1], data.n_classes), lr=config.lr,
                momentum=config.momentum, batch_size=config.batch_size,
                seed=hebbian.seed, lr_decay=config.lr_decay))
            if checkpoint is not None:
                trainer.params = [(checkpoint[f"readout_{name}_w"],
                                   checkpoint[f"readout_{name}_b"])]
                trainer.velocity = [(checkpoint[f"readout_{name}_vw"],
                                     checkpoint[f"readout_{name}_vb"])]
            self.trainers[name] = trainer

    def evaluate(self, name: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """Predicted labels and mean cross-entropy of one readout on features x."""
        if not len(y):
            return np.zeros(0, dtype=int), float("nan")
        probs = mlp_forward(self.trainers[name].params, x)[-1]
        return probs.argmax(axis=1), cross_entropy(probs, self.data.targets(y))

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One readout epoch of every feature set; the ``hebbian`` readout is the result,
        the baselines go to the ``baselines`` table."""
        data, results = self.data, {}
        for name, features in self.features.items():
            accuracy, loss = self.trainers[name].train_epoch(features.train, data.y_train,
                                                             epoch - self.first_epoch)
            if name == "hebbian" and progress is not None:
                progress(len(data.x_train) // self.config.batch_size, accuracy)
            if not all(np.isfinite(a).all() for a in self.trainers[name].params[0]):
                return EpochResult.divergence(accuracy)
            results[name] = (accuracy, loss, self.evaluate(name, features.val, data.y_val),
                             self.evaluate(name, features.test, data.y_test))
        baselines = {"epoch": [], "features": [], "split": [], "accuracy": [], "loss": []}
        for name in [name for name in results if name != "hebbian"]:
            accuracy, loss, (val_pred, val_loss), (test_pred, test_loss) = results[name]
            rows = [("train", accuracy, loss)]
            for split, pred, labels, split_loss in (("val", val_pred, data.y_val, val_loss),
                                                    ("test", test_pred, data.y_test, test_loss)):
                if len(labels):
                    rows.append((split, float((pred == labels).mean()), split_loss))
            for split, split_accuracy, split_loss in rows:
                for column, value in zip(baselines, (epoch, name, split, split_accuracy,
                                                     split_loss)):
                    baselines[column].append(value)
        accuracy, loss, (val_pred, val_loss), (test_pred, test_loss) = results["hebbian"]
        return EpochResult(accuracy, loss, val_pred, val_loss, test_pred, test_loss,
                           {"baselines": baselines})

    def parameters(self) -> "ReadoutCheckpoint":
        return ReadoutCheckpoint(self.state, self.trainers)

    def close(self) -> None:
        """Nothing to release; present so every runner shares one interface."""


@dataclass
class ReadoutCheckpoint:
    """The arrays a readout epoch's checkpoint holds: the learned layer and every readout's
    weights, biases and momentum buffers."""

    state: HebbianState
    trainers: dict[str, MLPTrainer]

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = self.state.to_arrays()
        for name, trainer in self.trainers.items():
            (w, b), (vw, vb) = trainer.params[0], trainer.velocity[0]
            arrays.update({f"readout_{name}_w": w, f"readout_{name}_b": b,
                           f"readout_{name}_vw": vw, f"readout_{name}_vb": vb})
        return arrays
