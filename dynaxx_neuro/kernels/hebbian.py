"""Rate-based Hebbian rules as pure NumPy kernels: Oja, BCM and Krotov & Hopfield's
competing hidden units (KHU).

A layer of ``n_post`` units reads inputs x (B, n_pre) through weights W (n_post, n_pre).
Every rule is split the way the Lava graph owns it: the plastic synapse computes the
*drive* of each unit from x, the layer turns drives into *activities*, and the synapse
learns from x, the activities and its own drive. Updates are the batch mean of the
per-sample local updates (DESIGN.md: minibatch learning; B = 1 is the on-chip case), and
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

Which rule a kernel applies is chosen by the type of its parameter dataclass
(:class:`OjaParams`, :class:`BCMParams`, :class:`KHUParams`); :func:`layer_drive`,
:func:`layer_activity`, :func:`updated_weights` and :func:`threshold_update` dispatch on it, so
the NumPy back end and the Lava models call the same functions in the same order:

    a = layer_drive(params, W, x); y = layer_activity(params, a)
    W <- updated_weights(params, W, x, a, y, theta, lr)          (W + lr dW)
    theta <- threshold_update(params, theta, y)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dynaxx_neuro.checks import is_real, require

RULE_NAMES = ("oja", "bcm", "khu")


def _check_lr(lr) -> None:
    require(is_real(lr) and lr > 0, f"lr must be a finite number > 0, got {lr!r}.")


@dataclass(frozen=True)
class OjaParams:
    """Oja's rule (subspace form for several units): learning rate ``lr`` > 0."""

    name: ClassVar[str] = "oja"
    lr: float = 0.005

    def __post_init__(self):
        _check_lr(self.lr)


@dataclass(frozen=True)
class BCMParams:
    """BCM: learning rate ``lr`` > 0 and ``tau_theta`` >= 1, the number of batches the
    sliding threshold theta_M averages y^2 over (its update rate is 1 / tau_theta)."""

    name: ClassVar[str] = "bcm"
    lr: float = 0.005
    tau_theta: float = 10.0

    def __post_init__(self):
        _check_lr(self.lr)
        require(is_real(self.tau_theta) and self.tau_theta >= 1,
                f"tau_theta must be a finite number >= 1 (batches), got {self.tau_theta!r}.")


@dataclass(frozen=True)
class KHUParams:
    """Competing hidden units (Krotov & Hopfield 2019): learning rate ``lr`` > 0 (their
    eps0), Lebesgue norm ``p`` >= 2, rank ``k`` >= 2 of the unit that gets the anti-Hebbian
    strength ``delta`` in [0, 1], and the floor ``precision`` > 0 of the normaliser.
    Defaults are the paper's settings for 2000 units (p 3, k 7, delta 0.4, eps0 0.04)."""

    name: ClassVar[str] = "khu"
    lr: float = 0.04
    p: float = 3.0
    k: int = 7
    delta: float = 0.4
    precision: float = 1e-30

    def __post_init__(self):
        _check_lr(self.lr)
        require(is_real(self.p) and self.p >= 2,
                f"p must be a finite number >= 2 (the Lebesgue norm), got {self.p!r}.")
        require(isinstance(self.k, (int, np.integer)) and not isinstance(self.k, bool)
                and self.k >= 2,
                f"k must be an integer >= 2 (rank of the anti-Hebbian unit), got {self.k!r}.")
        require(is_real(self.delta) and 0 <= self.delta <= 1,
                f"delta must be a number in [0, 1] (anti-Hebbian strength), "
                f"got {self.delta!r}.")
        require(is_real(self.precision) and self.precision > 0,
                f"precision must be a finite number > 0, got {self.precision!r}.")


HebbianParams = OjaParams | BCMParams | KHUParams
PARAM_CLASSES = {cls.name: cls for cls in (OjaParams, BCMParams, KHUParams)}


def rule_params(rule: str, **values) -> HebbianParams:
    """The parameter dataclass of ``rule`` (one of RULE_NAMES) built from ``values``."""
    require(rule in PARAM_CLASSES,
            f"rule must be one of {', '.join(RULE_NAMES)}, got {rule!r}.")
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


# Dispatch on the rule ------------------------------------------------------------------------

def layer_drive(params: HebbianParams, w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """What the plastic synapse sends to the layer: W x, or the p-currents for KHU."""
    if isinstance(params, KHUParams):
        return khu_currents(w, x, params.p)
    return x @ w.T  # (B, n_pre) x (n_pre, n_post)


def layer_activity(params: HebbianParams, drive: np.ndarray) -> np.ndarray:
    """The layer's activity from its drive: linear (Oja), rectified (BCM), ranking (KHU)."""
    if isinstance(params, KHUParams):
        return khu_ranking(drive, params.k, params.delta)
    if isinstance(params, BCMParams):
        return np.maximum(drive, 0.0)
    return drive.copy()


def updated_weights(params: HebbianParams, w: np.ndarray, x: np.ndarray, drive: np.ndarray,
                    activity: np.ndarray, theta: np.ndarray, lr: float) -> np.ndarray:
    """W + lr dW after one batch (a new array) for the rule of ``params``. ``theta`` is the
    BCM threshold from before the batch (ignored by the other rules). KHU changes only the
    rows of the units that were ranked first or k-th."""
    if isinstance(params, KHUParams):
        rows, d_rows = khu_row_update(w, x, drive, activity, params.precision)
        new = w.copy()
        new[rows] += lr * d_rows
        return new
    if isinstance(params, BCMParams):
        return w + lr * bcm_dw(x, activity, theta)
    return w + lr * oja_dw(w, x, activity)


def threshold_update(params: HebbianParams, theta: np.ndarray,
                     activity: np.ndarray) -> np.ndarray:
    """The new BCM threshold after a batch; the other rules keep theta as it is."""
    if isinstance(params, BCMParams):
        return bcm_theta(theta, activity, params.tau_theta)
    return theta


def initial_weights(params: HebbianParams, n_post: int, n_pre: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Initial W (n_post, n_pre): N(0, 1) for KHU as in Krotov & Hopfield's code;
    N(0, 1/n_pre) for Oja; U(0, 1/sqrt(n_pre)) for BCM, so every unit starts active on
    non-negative inputs and no unit starts silent (a silent BCM unit never learns)."""
    if isinstance(params, KHUParams):
        return rng.standard_normal((n_post, n_pre))
    if isinstance(params, BCMParams):
        return rng.uniform(0.0, 1.0 / math.sqrt(n_pre), size=(n_post, n_pre))
    return rng.standard_normal((n_post, n_pre)) / math.sqrt(n_pre)


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
