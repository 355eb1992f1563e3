"""What both Hebbian back ends share: the layer's configuration, its plastic state, the
epoch plan (which samples each batch streams) and the per-epoch summary table.

One Hebbian epoch streams the shuffled full training batches of the training split; each
batch is one learning step (``kernels.hebbian``). No labels are used. The supervised
readout that comes afterwards lives in ``hebbian_readout``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.checks import check_count, is_real, require
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.networks.activity import EpochActivity


@dataclass(frozen=True)
class HebbianConfig:
    """A plastic layer of ``n_hidden`` units on ``n_in`` inputs learning by ``params`` (the
    rule's dataclass) in batches of ``batch_size``; the rate decays by ``lr_decay`` per
    epoch and, when ``lr_linear_epochs`` = N > 0, also falls linearly over N epochs
    (Krotov & Hopfield's schedule): lr_e = lr * lr_decay^e * (1 - e / N)
    (``kernels.hebbian.epoch_lr``); ``seed`` fixes the initial weights and the order of
    the samples."""

    params: hb.HebbianParams
    n_in: int
    n_hidden: int
    batch_size: int = 100
    lr_decay: float = 1.0
    seed: int = 0
    lr_linear_epochs: int = 0

    def __post_init__(self):
        for name in ("n_in", "n_hidden", "batch_size"):
            check_count(name, getattr(self, name), 1)
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}.")
        if (isinstance(self.lr_linear_epochs, bool)
                or not isinstance(self.lr_linear_epochs, (int, np.integer))
                or self.lr_linear_epochs < 0):
            raise ValueError(f"lr_linear_epochs must be an integer >= 0 (0: no linear fall), "
                             f"got {self.lr_linear_epochs!r}.")
        if isinstance(self.params, hb.KHUParams) and self.params.k > self.n_hidden:
            raise ValueError(f"k must be at most the number of hidden units ({self.n_hidden}), "
                             f"got {self.params.k}.")

    @property
    def rule(self) -> str:
        return self.params.name

    def epoch_lr(self, epoch: int) -> float:
        """The learning rate of ``epoch``, the one both back ends use."""
        return hb.epoch_lr(self.params.lr, epoch, self.lr_decay, self.lr_linear_epochs)

    def to_dict(self) -> dict:
        """The run.json form: the rule's name and parameters, and the other fields."""
        return {"rule": self.rule, "params": dataclasses.asdict(self.params),
                "n_in": self.n_in, "n_hidden": self.n_hidden, "batch_size": self.batch_size,
                "lr_decay": self.lr_decay, "seed": self.seed,
                "lr_linear_epochs": self.lr_linear_epochs}

    @classmethod
    def from_dict(cls, values: dict) -> "HebbianConfig":
        return cls(params=hb.rule_params(values["rule"], **values["params"]),
                   n_in=values["n_in"], n_hidden=values["n_hidden"],
                   batch_size=values["batch_size"], lr_decay=values["lr_decay"],
                   seed=values["seed"], lr_linear_epochs=values.get("lr_linear_epochs", 0))


@dataclass
class HebbianState:
    """The layer's plastic state: weights W (n_hidden, n_in) and the BCM thresholds theta
    (n_hidden,) (zeros, unused, for the other rules)."""

    weights: np.ndarray
    theta: np.ndarray

    @classmethod
    def initial(cls, config: HebbianConfig) -> "HebbianState":
        rng = np.random.default_rng([config.seed, 11])
        return cls(hb.initial_weights(config.params, config.n_hidden, config.n_in, rng),
                   np.zeros(config.n_hidden))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"hebbian_w": self.weights, "hebbian_theta": self.theta}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "HebbianState":
        return cls(np.array(arrays["hebbian_w"], dtype=float),
                   np.array(arrays["hebbian_theta"], dtype=float))

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.weights).all() and np.isfinite(self.theta).all())


def n_train_batches(n_train: int, batch_size: int) -> int:
    """Full batches per epoch (the remainder of the shuffle is left out of that epoch)."""
    return n_train // batch_size


def epoch_plan(config: HebbianConfig, n_train: int, epoch: int) -> np.ndarray:
    """Sample indices (n_batches, B) of an epoch; they depend only on (seed, epoch), so a
    resumed run streams what an uninterrupted one would have streamed."""
    nb = n_train_batches(n_train, config.batch_size)
    order = np.random.default_rng([config.seed, epoch, 0]).permutation(n_train)
    return order[: nb * config.batch_size].reshape(nb, config.batch_size)


# Steps of one batch on the Lava graph: at k = 0 the synapse computes the drive of the new
# batch, at k = 1 it sends the drive (one-step delay, like Lava's Dense), the layer answers
# with its activity in the same step, and both learn in that step's learning phase.
PERIOD_STEPS = 2


@dataclass(frozen=True)
class HebbianCycle:
    """The periods of the Lava graph, one training batch each, epoch after epoch;
    ``start_epoch`` is the epoch of the first period the graph runs."""

    n_train: int
    batch_size: int
    start_epoch: int = 0

    @property
    def periods(self) -> int:
        """Periods (batches) per epoch."""
        return n_train_batches(self.n_train, self.batch_size)

    def locate(self, time_step: int) -> tuple[int, int, int]:
        """(period step k, epoch, batch) of a Lava time step (Lava counts from 1)."""
        period, k = divmod(time_step - 1, PERIOD_STEPS)
        epoch, batch = divmod(period, self.periods)
        return k, epoch + self.start_epoch, batch


def hebbian_activity(config: HebbianConfig, events: np.ndarray,
                     n_samples: int) -> EpochActivity:
    """The activity of an epoch from ``events`` = (graded spikes of the input, sent on both
    steps of every period; non-zero activities the layer sent). With n_in inputs, n units,
    P = PERIOD_STEPS and N samples::

        input:            e_in over n_in * P * N neuron-steps
        layer:            e_out over n * P * N neuron-steps
        synaptic_ops    = e_in n             (every input event into every unit)
        neuron_updates  = n P N
        learning_updates= e_out n_in         (a unit with zero activity has dW = 0 in all
                                              three rules: Oja y (...), BCM y (y - theta) x,
                                              KHU g (...))
    """
    sizes = np.array([config.n_in, config.n_hidden])
    return EpochActivity(("input", "hebbian"), sizes, sizes * PERIOD_STEPS * n_samples,
                         np.asarray(events), synaptic_ops=int(events[0]) * config.n_hidden,
                         neuron_updates=config.n_hidden * PERIOD_STEPS * n_samples,
                         learning_updates=int(events[1]) * config.n_in, samples=n_samples)


def learn_batch(config: HebbianConfig, state: HebbianState, x: np.ndarray,
                lr: float) -> tuple[HebbianState, np.ndarray]:
    """One learning step on a batch x (B, n_in): returns the new state and the activities
    (B, n_hidden). The order is the Lava graph's: drive, activity, weights, threshold."""
    params = config.params
    drive = hb.layer_drive(params, state.weights, x)
    activity = hb.layer_activity(params, drive)
    weights = hb.updated_weights(params, state.weights, x, drive, activity, state.theta, lr)
    return HebbianState(weights, hb.threshold_update(params, state.theta, activity)), activity


def epoch_summary(epoch: int, lr: float, before: HebbianState, after: HebbianState,
                  winners: np.ndarray, p: float) -> dict[str, list]:
    """One row of the ``hebbian`` table: the epoch's learning rate, the Frobenius norm of
    the epoch's weight change, the row p-norms of W (p = 2 except for KHU), the mean BCM
    threshold, and the fraction of units that were ever most active in a sample
    (``winners``: (n_hidden,) counts of samples each unit won)."""
    norms = np.sum(np.abs(after.weights) ** p, axis=1) ** (1.0 / p)
    change = float(np.linalg.norm(after.weights - before.weights))
    return {"epoch": [epoch], "lr": [lr], "weight_change": [change],
            "weight_norm_mean": [float(norms.mean())], "weight_norm_min": [float(norms.min())],
            "weight_norm_max": [float(norms.max())], "theta_mean": [float(after.theta.mean())],
            "active_fraction": [float(np.mean(winners > 0))]}


def norm_order(config: HebbianConfig) -> float:
    """The p of the weight norm the summary reports: KHU's Lebesgue p, else 2."""
    return float(config.params.p) if isinstance(config.params, hb.KHUParams) else 2.0


def check_zca_epsilon(zca_epsilon) -> None:
    """``zca_epsilon`` must be None (raw inputs) or a finite number > 0."""
    require(zca_epsilon is None or (is_real(zca_epsilon) and zca_epsilon > 0),
            f"zca_epsilon must be None (raw inputs) or a finite number > 0, "
            f"got {zca_epsilon!r}.")


def whiten_inputs(data: Splits, zca_epsilon: float | None) -> Splits:
    """The splits as they are when ``zca_epsilon`` is None, else with every input
    ZCA-whitened by the training split's statistics::

        x -> (x - m) Z,   Z = U (S + eps)^(-1/2) U^T,   U S U^T = cov(x_train),  m = mean(x_train)

    No labels are used. ``eps`` (``zca_epsilon``) > 0 keeps the low-variance directions
    (pixel noise) from being blown up; the whitened training inputs have covariance
    U S / (S + eps) U^T. Every feature set of a run (learned, pixels, random) reads the same
    whitened inputs."""
    check_zca_epsilon(zca_epsilon)
    if zca_epsilon is None:
        return data
    mean = data.x_train.mean(axis=0)
    variances, directions = np.linalg.eigh(np.cov(data.x_train - mean, rowvar=False))
    # (n_in, n_in) x (n_in, n_in): U scaled column-wise by (S + eps)^(-1/2), times U^T
    zca = (directions / np.sqrt(np.maximum(variances, 0.0) + zca_epsilon)) @ directions.T
    return dataclasses.replace(data, x_train=(data.x_train - mean) @ zca,
                               x_val=(data.x_val - mean) @ zca,
                               x_test=(data.x_test - mean) @ zca)
