"""Rate-based Hebbian rules as pure NumPy kernels: Oja, BCM and Krotov & Hopfield's
competing hidden units (KHU).

A layer of ``n_post`` units reads inputs x (B, n_pre) through weights W (n_post, n_pre).
Every rule is split the way the Lava graph owns it: the plastic synapse computes the
*drive* of each unit from x, the layer turns drives into *activities*, and the synapse
learns from x, the activities and its own drive. Updates are the batch mean of the
per-sample local updates (docs/architecture.md, "Time, phases and batches": B = 1 is the on-chip case), and
each batch is one step ``W <- W + lr dW``.

Oja (1982); for several units its subspace form (Oja 1989), which is Oja's rule for one unit::

    drive  a = W x                       activity  y = a
    dW = mean_b( y (x - W^T y)^T )       one unit: dw = y (x - y w)

  A single unit converges to the unit-norm leading eigenvector of E[x x^T] (the first
  principal component for zero-mean data); several units converge to an orthonormal basis
  of the leading eigenspace. Stable for lr * |x|^2 well below 1.

BCM (Bienenstock, Cooper & Munro 1982, in the form of Intrator & Cooper 1992)::

    drive  a = W x                       activity  y = max(a, 0)
    dW = mean_b( y (y - theta) x^T )     theta_M per unit, from before this batch
    theta <- theta + (mean_b(y^2) - theta) / tau_theta      after the weight update

  theta, the sliding modification threshold, is a running mean of y^2 over about
  ``tau_theta`` batches; it makes units selective to one input pattern.

KHU (Krotov & Hopfield 2019, "Unsupervised learning by competing hidden units", the fast
version of their code)::

    drive  I = <W, x>_p = (sign(W) |W|^(p-1)) x        (the Lebesgue-norm current)
    activity g = +1 for the unit with the largest current, -delta for the k-th largest,
             0 for all others (ranking within each sample)
    D = mean_b( g x^T ) - mean_b( g I ) * W            (row-wise: g_mu (x - I_mu W_mu))
    dW = D / max(max_ij |D_ij|, precision)             (normalised update)

  Winning units converge to unit p-norm, ||W_mu||_p = 1; the anti-Hebbian push on the
  k-th unit spreads the units over the data.

Each rule is its parameter dataclass (:class:`OjaParams`, :class:`BCMParams`,
:class:`KHUParams`), which carries its behaviour as methods, so the NumPy back end and the
Lava models call the same methods in the same order (``rules.hebbian.learn_batch``)::

    a = rule.drive(W, x); y = rule.activity(a)
    W <- rule.updated_weights(W, x, a, y, theta, lr)          (W + lr dW)
    theta <- rule.threshold(theta, y)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dynaxx_neuro.params import Fraction, Int, Real, option, require, validate

RULE_NAMES = ("oja", "bcm", "khu")
_LR = Real(0.0, low_open=True)


class HebbianRule:
    """What every rule does unless it says otherwise: the drive W x, the threshold kept as
    it is, W + lr dW, rectified-power features and row norms of order 2."""

    name: ClassVar[str]
    lr: float

    def drive(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        """What the plastic synapse sends to the layer; (B, n_pre) -> (B, n_post)."""
        return x @ w.T  # (B, n_pre) x (n_pre, n_post)

    def activity(self, drive: np.ndarray) -> np.ndarray:
        """The layer's activity from its drive."""
        raise NotImplementedError

    def dw(self, w: np.ndarray, x: np.ndarray, activity: np.ndarray,
           theta: np.ndarray) -> np.ndarray:
        """The update dW (n_post, n_pre) of one batch."""
        raise NotImplementedError

    def updated_weights(self, w: np.ndarray, x: np.ndarray, drive: np.ndarray,
                        activity: np.ndarray, theta: np.ndarray, lr: float) -> np.ndarray:
        """W + lr dW after one batch (a new array); ``theta`` is the BCM threshold from
        before the batch."""
        return w + lr * self.dw(w, x, activity, theta)

    def threshold(self, theta: np.ndarray, activity: np.ndarray) -> np.ndarray:
        """The threshold after a batch: kept as it is (only BCM slides it)."""
        return theta

    def initial_weights(self, n_post: int, n_pre: int,
                        rng: np.random.Generator) -> np.ndarray:
        """Initial W (n_post, n_pre)."""
        raise NotImplementedError

    def features(self, w: np.ndarray, x: np.ndarray, power: float,
                 inhibition: float | None = None) -> np.ndarray:
        """The learned features a readout reads: ``relu_features`` of W x."""
        return relu_features(w, x, power, inhibition)

    @property
    def norm_order(self) -> float:
        """The p of the row norms ||W_mu||_p an epoch reports."""
        return 2.0


@dataclass(frozen=True)
class OjaParams(HebbianRule):
    """Oja's rule (subspace form for several units): learning rate ``lr`` > 0; linear
    activity y = a; initial W ~ N(0, 1/n_pre); its features are the linear W x."""

    name: ClassVar[str] = "oja"
    lr: float = option(0.005, "Oja learning rate.", _LR)

    def __post_init__(self):
        validate(self)

    def activity(self, drive):
        return drive.copy()

    def dw(self, w, x, activity, theta):
        return oja_dw(w, x, activity)

    def initial_weights(self, n_post, n_pre, rng):
        return rng.standard_normal((n_post, n_pre)) / math.sqrt(n_pre)

    def features(self, w, x, power, inhibition=None):
        return x @ w.T  # (N, n_pre) x (n_pre, n_post): Oja's activity is linear


@dataclass(frozen=True)
class BCMParams(HebbianRule):
    """BCM: learning rate ``lr`` > 0 and ``tau_theta`` >= 1, the number of batches the
    sliding threshold theta_M averages y^2 over (its update rate is 1 / tau_theta);
    rectified activity y = max(a, 0); initial W ~ U(0, 1/sqrt(n_pre)), so every unit starts
    active on non-negative inputs and no unit starts silent (a silent BCM unit never
    learns)."""

    name: ClassVar[str] = "bcm"
    lr: float = option(0.005, "BCM learning rate.", _LR)
    tau_theta: float = option(10.0, "Batches the sliding threshold averages y^2 over.",
                              Real(1.0))

    def __post_init__(self):
        validate(self)

    def activity(self, drive):
        return np.maximum(drive, 0.0)

    def dw(self, w, x, activity, theta):
        return bcm_dw(x, activity, theta)

    def threshold(self, theta, activity):
        return bcm_theta(theta, activity, self.tau_theta)

    def initial_weights(self, n_post, n_pre, rng):
        return rng.uniform(0.0, 1.0 / math.sqrt(n_pre), size=(n_post, n_pre))


@dataclass(frozen=True)
class KHUParams(HebbianRule):
    """Competing hidden units (Krotov & Hopfield 2019): learning rate ``lr`` > 0 (their
    eps0), Lebesgue norm ``p`` >= 2, rank ``k`` >= 2 of the unit that gets the anti-Hebbian
    strength ``delta`` in [0, 1], and the floor ``precision`` > 0 of the normaliser; the
    drive is the p-current, the activity the ranking, initial W ~ N(0, 1) as in their code.
    Defaults are the paper's settings for 2000 units (p 3, k 7, eps0 0.04) except delta:
    their 0.4 lets a few all-positive "mean image" units win every Fashion-MNIST sample,
    0.1 keeps nearly every unit winning and was better on the validation splits of
    Fashion-MNIST (BENCHMARKS.md) and of digits (92.25 % against 91.55 %: 200 units in
    batches of 20, 20 epochs, 20 readout epochs, seed 0)."""

    name: ClassVar[str] = "khu"
    lr: float = option(0.04, "KHU learning rate (eps0).", _LR)
    p: float = option(3.0, "Lebesgue norm p of the currents.", Real(2.0))
    k: int = option(7, "Rank of the anti-Hebbian unit.", Int(2))
    delta: float = option(0.1, "Anti-Hebbian strength of the k-th unit.", Fraction())
    precision: float = option(1e-30, "Floor of the update's normaliser.",
                              Real(0.0, low_open=True))

    def __post_init__(self):
        validate(self)

    def drive(self, w, x):
        return khu_currents(w, x, self.p)

    def activity(self, drive):
        return khu_ranking(drive, self.k, self.delta)

    def dw(self, w, x, activity, theta):
        return khu_dw(w, x, self.drive(w, x), activity, self.precision)

    def updated_weights(self, w, x, drive, activity, theta, lr):
        """KHU changes only the rows of the units that were ranked first or k-th."""
        rows, d_rows = khu_row_update(w, x, drive, activity, self.precision)
        new = w.copy()
        new[rows] += lr * d_rows
        return new

    def initial_weights(self, n_post, n_pre, rng):
        return rng.standard_normal((n_post, n_pre))

    @property
    def norm_order(self) -> float:
        return float(self.p)


PARAM_CLASSES = {cls.name: cls for cls in (OjaParams, BCMParams, KHUParams)}


def rule_params(rule: str, **values) -> HebbianRule:
    """The parameter dataclass of ``rule`` (one of RULE_NAMES) built from ``values``."""
    require(rule in PARAM_CLASSES,
            f"--rule must be one of {', '.join(RULE_NAMES)}, got {rule!r}.")
    return PARAM_CLASSES[rule](**values)


# Oja -------------------------------------------------------------------------------------

def oja_dw(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Oja's subspace rule dW = mean_b( y (x - W^T y)^T ); x (B, n_pre), y (B, n_post)."""
    residual = x - y @ w  # (B, n_post) x (n_post, n_pre): x minus its reconstruction
    return y.T @ residual / x.shape[0]  # (n_post, B) x (B, n_pre)


# BCM -------------------------------------------------------------------------------------

def bcm_dw(x: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """BCM update dW = mean_b( y (y - theta) x^T ); x (B, n_pre), y (B, n_post)."""
    phi = y * (y - theta)  # (B, n_post), the post-synaptic modification function
    return phi.T @ x / x.shape[0]  # (n_post, B) x (B, n_pre)


def bcm_theta(theta: np.ndarray, y: np.ndarray, tau_theta: float) -> np.ndarray:
    """Sliding threshold: theta + (mean_b(y^2) - theta) / tau_theta."""
    return theta + (np.mean(y * y, axis=0) - theta) / tau_theta


# KHU -------------------------------------------------------------------------------------

def khu_currents(w: np.ndarray, x: np.ndarray, p: float) -> np.ndarray:
    """Currents <W, x>_p = (sign(W) |W|^(p-1)) x for every unit; (B, n_pre) -> (B, n_post)."""
    if p == 3.0:
        metric = w * np.abs(w)  # the same as sign(W) |W|^2, without a power
    else:
        metric = np.sign(w) * np.abs(w) ** (p - 1)
    return x @ metric.T  # (B, n_pre) x (n_pre, n_post)


def khu_ranking(currents: np.ndarray, k: int, delta: float) -> np.ndarray:
    """Activities g (B, n_post): +1 for each sample's largest current, -delta for its k-th
    largest, 0 elsewhere (a partial sort: only ranks 1 and k are placed exactly)."""
    order = np.argpartition(-currents, (0, k - 1), axis=1)
    g = np.zeros_like(currents)
    rows = np.arange(currents.shape[0])
    g[rows, order[:, 0]] = 1.0
    g[rows, order[:, k - 1]] = -delta
    return g


def khu_row_update(w: np.ndarray, x: np.ndarray, currents: np.ndarray, g: np.ndarray,
                   precision: float) -> tuple[np.ndarray, np.ndarray]:
    """The normalised KHU update on the rows it touches: (rows, D[rows] / max(max |D|,
    precision)) with D = mean_b( g x^T ) - mean_b( g I ) * W. A unit that is neither first
    nor k-th in any sample of the batch has D = 0, so only those rows are computed."""
    batch = x.shape[0]
    rows = np.flatnonzero(np.any(g != 0.0, axis=0))
    g_rows = g[:, rows]  # (B, n_rows)
    d = g_rows.T @ x / batch  # (n_rows, B) x (B, n_pre)
    d -= (np.sum(g_rows * currents[:, rows], axis=0) / batch)[:, None] * w[rows]
    return rows, d / max(float(np.max(np.abs(d), initial=0.0)), precision)


def khu_dw(w: np.ndarray, x: np.ndarray, currents: np.ndarray, g: np.ndarray,
           precision: float) -> np.ndarray:
    """The normalised KHU update as a full (n_post, n_pre) matrix (zero rows included)."""
    rows, d_rows = khu_row_update(w, x, currents, g, precision)
    dw = np.zeros_like(w)
    dw[rows] = d_rows
    return dw


def epoch_lr(lr: float, epoch: int, decay: float, linear_epochs: int = 0) -> float:
    """Learning rate of an epoch: exponential decay, times Krotov & Hopfield's linear fall
    when ``linear_epochs`` = N > 0 (their eps0 (1 - epoch / N_ep))::

        lr_e = lr * decay^e * (1 - e / N)        (the last factor only when N > 0)

    With N > 0 the epoch must be below N, so every rate is > 0."""
    if not linear_epochs:
        return lr * decay ** epoch
    require(0 <= epoch < linear_epochs,
            f"epoch must be in [0, {linear_epochs}) under a linear fall over "
            f"{linear_epochs} epochs, got {epoch!r}.")
    return lr * decay ** epoch * (1.0 - epoch / linear_epochs)


def relu_features(w: np.ndarray, x: np.ndarray, power: float,
                  inhibition: float | None = None) -> np.ndarray:
    """Rectified-power features of h = W x; (B, n_pre) -> (B, n_post)::

        inhibition None:  f = max(h, 0)^n      (Krotov & Hopfield's f(h) = h^n for h > 0)
        inhibition c:     f = max(h - mean_u(h) - c std_u(h), 0)^n

    where mean_u and std_u run over the units of one sample: lateral inhibition that
    leaves only the units well above the layer's mean active (c = 0 is the "triangle"
    encoding of Coates, Lee & Ng 2011)."""
    h = x @ w.T  # (B, n_pre) x (n_pre, n_post)
    if inhibition is not None:
        h = h - h.mean(axis=1, keepdims=True) - inhibition * h.std(axis=1, keepdims=True)
    h = np.maximum(h, 0.0)
    return h if power == 1.0 else h ** power
