"""Equilibrium propagation (Scellier & Bengio 2017) as pure NumPy kernels.

A layered Hopfield-like network with states ``s_1 .. s_L`` (the last layer is the
output ``y``), a clamped input ``x = s_0`` and weights ``W_l`` of shape
``(n_l, n_{l-1})`` (post, pre) has the energy, per sample,

    E(s) = sum_l 1/2 ||s_l||^2 - sum_l rho(s_l) . W_l rho(s_{l-1}) - sum_l b_l . rho(s_l)

with the hard sigmoid ``rho(s) = clip(s, 0, 1)``, the cost ``C = 1/2 ||y - d||^2`` and
the total energy ``F = E + beta C``. The terms are split the way the Lava graph owns
them: a layer owns ``1/2 ||s_l||^2 - b_l . rho(s_l)`` (``layer_energy``), a synapse owns
``-rho(s_l) . W_l rho(s_{l-1})`` (``coupling_energy``) and the output owns ``C``.

Settling is a projected gradient step of size ``eps`` on F, synchronous over layers
(every layer reads its neighbours' states of step t-1):

    s_l <- clip(s_l - eps dF/ds_l, 0, 1),
    dF/ds_l = s_l - rho'(s_l) (W_l rho(s_{l-1}) + W_{l+1}^T rho(s_{l+1}) + b_l)
              + beta (y - d) [output layer only]

with ``rho'(s) = 1`` on the closed box [0, 1] where states live. The local update of a
synapse is the contrastive Hebbian difference between two phases a and b,

    dW_l = 1/scale * mean_batch( rho(s_l^b) rho(s_{l-1}^b)^T - rho(s_l^a) rho(s_{l-1}^a)^T )
    db_l = 1/scale * mean_batch( rho(s_l^b) - rho(s_l^a) )

with (a, b, scale) = (free, +beta, beta) for one-sided nudging and (-beta, +beta, 2 beta)
for symmetric nudging (Laborieux et al. 2021). Weights then follow
``v <- mu v + dW; W <- W + lr v`` (momentum ``mu``, the low-pass filter used against
oscillating settling; ``mu = 0`` is plain EP).

The per-sample period is described by :class:`EPSchedule`; the NumPy back end and the
Lava processes both step through it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.params import Bool, Fraction, Int, Optional, Real, TupleOf, option, validate

# Learning rate of the first weight layer when none is given (halved per layer above);
# chosen on the validation split of digits (BENCHMARKS.md).
DEFAULT_FIRST_LR = 0.2

# Phase codes of one period step (see EPSchedule.phase).
RESET, FREE, NUDGED, RESTORE, NUDGED_NEG = 0, 1, 2, 3, 4
PHASE_NAMES = {RESET: "free", FREE: "free", NUDGED: "nudged", RESTORE: "nudged_neg",
               NUDGED_NEG: "nudged_neg"}


@dataclass(frozen=True)
class EPSchedule:
    """The fixed per-sample period every EP process follows, by period step k.

    ``k = 0`` resets all states to 0; ``k = 1 .. t_free`` is the free phase;
    the next ``t_nudge`` steps are the +beta phase. With ``symmetric`` one step restores
    the free equilibrium and ``t_nudge`` more steps run the -beta phase. Learning
    happens at the last step, ``k = period - 1``.
    """

    t_free: int = option(12, "Free-phase steps.", Int(1))
    t_nudge: int = option(4, "Steps per nudged phase.", Int(1))
    symmetric: bool = option(True, "Symmetric (+beta and -beta) or one-sided nudging.", Bool(),
                             cli="--symmetric/--one-sided")

    def __post_init__(self):
        validate(self)

    @property
    def period(self) -> int:
        """Steps per batch: 1 + t_free + t_nudge (+ 1 + t_nudge when symmetric)."""
        return 1 + self.t_free + self.t_nudge + (1 + self.t_nudge if self.symmetric else 0)

    @property
    def free_end(self) -> int:
        """Period step holding the free equilibrium s^0."""
        return self.t_free

    @property
    def nudged_end(self) -> int:
        """Period step holding the +beta equilibrium."""
        return self.t_free + self.t_nudge

    def phase(self, k: int) -> int:
        """Phase code of period step ``k`` (0 <= k < period)."""
        if k == 0:
            return RESET
        if k <= self.free_end:
            return FREE
        if k <= self.nudged_end:
            return NUDGED
        return RESTORE if k == self.nudged_end + 1 else NUDGED_NEG

    def phase_beta(self, k: int, beta: float) -> float:
        """The beta that nudges the output at period step ``k`` for a batch's ``beta``."""
        code = self.phase(k)
        if code == NUDGED:
            return beta
        if code in (RESTORE, NUDGED_NEG):
            return -beta
        return 0.0

    def phase_step(self, k: int) -> int:
        """Index of step ``k`` inside its phase (the free phase starts at its reset)."""
        code = self.phase(k)
        if code in (RESET, FREE):
            return k
        if code == NUDGED:
            return k - self.free_end
        return k - self.nudged_end - 1


@dataclass(frozen=True)
class EPDynamics:
    """Settling and nudging constants: ``eps`` in (0, 1], ``beta`` > 0."""

    beta: float = option(0.5, "Nudging strength.", Real(0.0, low_open=True))
    eps: float = option(1.0, "Settling step; 1 makes each step the fixed-point iteration "
                        "s <- clip(W rho + W^T rho + b).", Fraction(open_low=True))

    def __post_init__(self):
        validate(self)


@dataclass(frozen=True)
class EPLearning:
    """Local-update constants: per-layer rates (one per weight layer, its bias shares it;
    None: ``DEFAULT_FIRST_LR`` halved per layer above), a per-epoch rate decay ``lr_decay``
    in (0, 1], momentum ``mu`` in [0, 1), random sign of beta, linear beta warm-up over
    epochs."""

    lrs: tuple[float, ...] | None = option(
        None, f"Per-layer learning rates, e.g. 0.2,0.1 [none: {DEFAULT_FIRST_LR} halved per "
        "layer].", Optional(TupleOf(Real(0.0))))
    lr_decay: float = option(0.9, "Per-epoch learning-rate decay factor.",
                             Fraction(open_low=True))
    momentum: float = option(0.0, "Momentum of the local updates.",
                             Fraction(open_high=True))
    random_sign: bool = option(False, "Random sign of beta per batch (one-sided).", Bool(),
                               cli="--random-sign/--fixed-sign")
    beta_warmup_epochs: int = option(0, "Epochs of linear beta warm-up.", Int(0),
                                     cli="--beta-warmup")

    def __post_init__(self):
        validate(self)

    def layer_lrs(self, n_weight_layers: int) -> tuple[float, ...]:
        """The rate of every weight layer: ``lrs``, or the default halving."""
        if self.lrs is not None:
            return self.lrs
        return tuple(DEFAULT_FIRST_LR * 0.5 ** i for i in range(n_weight_layers))


def rho(s: np.ndarray) -> np.ndarray:
    """Hard sigmoid rho(s) = clip(s, 0, 1)."""
    return np.clip(s, 0.0, 1.0)


def rho_prime(s: np.ndarray) -> np.ndarray:
    """Derivative of the hard sigmoid, 1 on the closed box [0, 1] and 0 outside."""
    return ((s >= 0.0) & (s <= 1.0)).astype(s.dtype)


def layer_energy(s: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A layer's own energy terms per sample: 1/2 ||s||^2 - b . rho(s); (B, n) -> (B,)."""
    return 0.5 * np.sum(s * s, axis=1) - rho(s) @ b


def coupling_energy(rate_post: np.ndarray, drive: np.ndarray) -> np.ndarray:
    """A synapse's energy term per sample, -rho(s_post) . W rho(s_pre), from the post rates
    (B, n_post) and the drive W rho(s_pre) it computed (B, n_post); returns (B,)."""
    return -np.sum(rate_post * drive, axis=1)


def cost(y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared-error cost per sample, C = 1/2 ||y - d||^2; (B, n_out) -> (B,)."""
    diff = y - target
    return 0.5 * np.sum(diff * diff, axis=1)


def drive(w: np.ndarray, rate_pre: np.ndarray) -> np.ndarray:
    """What a synapse sends: W rho(s_pre) for every sample, (B, n_pre) -> (B, n_post)."""
    return rate_pre @ w.T  # (B, n_pre) x (n_pre, n_post)


def settle_step(s: np.ndarray, total_drive: np.ndarray, b: np.ndarray, eps: float,
                beta: float = 0.0, target: np.ndarray | None = None) -> np.ndarray:
    """One projected gradient step of a layer: clip(s - eps dF/ds, 0, 1).

    ``total_drive`` is the sum of what the neighbouring synapses sent (from states of the
    previous step); ``beta`` and ``target`` add the nudging force of the output layer.
    """
    grad = s - rho_prime(s) * (total_drive + b)
    if beta != 0.0:
        grad = grad + beta * (s - target)
    return rho(s - eps * grad)


def contrastive_dw(post_a: np.ndarray, pre_a: np.ndarray, post_b: np.ndarray,
                   pre_b: np.ndarray, scale: float) -> np.ndarray:
    """Local contrastive update of a weight matrix from rates of two phases.

    dW = 1/scale * mean_batch(post_b pre_b^T - post_a pre_a^T); rates (B, n), result
    (n_post, n_pre).
    """
    batch = post_a.shape[0]
    return (post_b.T @ pre_b - post_a.T @ pre_a) / (scale * batch)  # (n_post, B) x (B, n_pre)


def contrastive_db(post_a: np.ndarray, post_b: np.ndarray, scale: float) -> np.ndarray:
    """Local contrastive update of a bias: 1/scale * mean_batch(post_b - post_a)."""
    return (post_b - post_a).mean(axis=0) / scale


def contrast_scale(beta: float, symmetric: bool) -> float:
    """The 1/scale of the contrastive update: beta one-sided, 2 beta symmetric."""
    return 2.0 * beta if symmetric else beta


def momentum_step(w: np.ndarray, velocity: np.ndarray, dw: np.ndarray, lr: float,
                  momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """v <- mu v + dW; W <- W + lr v. Returns (new W, new v)."""
    # With mu = 0, v is dW exactly; skipping the product saves a pass over W on the hot path.
    new_velocity = momentum * velocity + dw if momentum else dw
    return w + lr * new_velocity, new_velocity


def epoch_lr(lr: float, epoch: int, decay: float) -> float:
    """Learning rate of an epoch under exponential decay: lr * decay^epoch."""
    return lr * decay ** epoch


def epoch_beta(beta: float, epoch: int, warmup_epochs: int) -> float:
    """Beta of an epoch under a linear warm-up: beta * min(1, (epoch + 1) / (warmup + 1))."""
    return beta * min(1.0, (epoch + 1) / (warmup_epochs + 1))


def batch_betas(n_batches: int, beta: float, epoch: int, learning: EPLearning,
                rng: np.random.Generator) -> np.ndarray:
    """Signed beta of every training batch of an epoch (random sign when asked)."""
    betas = np.full(n_batches, epoch_beta(beta, epoch, learning.beta_warmup_epochs))
    if learning.random_sign:
        betas *= rng.choice((-1.0, 1.0), size=n_batches)
    return betas


def glorot_uniform(n_post: int, n_pre: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform initial weights (n_post, n_pre), as in Scellier & Bengio."""
    limit = math.sqrt(6.0 / (n_pre + n_post))
    return rng.uniform(-limit, limit, size=(n_post, n_pre))


def network_energy(states: list[np.ndarray], x: np.ndarray, weights: list[np.ndarray],
                   biases: list[np.ndarray]) -> np.ndarray:
    """E of the whole network per sample as the sum of the layers' and synapses' terms."""
    rates_below = [x] + [rho(s) for s in states[:-1]]
    energy = sum(layer_energy(s, b) for s, b in zip(states, biases))
    return energy + sum(coupling_energy(rho(s), drive(w, below))
                        for s, w, below in zip(states, weights, rates_below))
