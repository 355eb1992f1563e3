"""Forward-forward learning (Hinton 2022) as pure NumPy kernels.

A layer ``l`` with weights ``W_l`` (n_l, n_{l-1}) and bias ``b_l`` sees the length-normalised
output of the layer below (the input with its label embedding for ``l = 0``):

    x_hat = x / (||x|| + norm_eps)
    h     = relu(x_hat W^T + b)
    G(h)  = sum_j (m_j h_j)^2            (``mean``: divided by n)
    p     = sigmoid(G - theta)            the layer's probability that the data is positive

``m`` is an optional inverted-dropout mask (entries 0 or 1/(1 - rate)) on the activities
that enter the goodness. Each layer minimises only its own logistic loss over a batch of B
positive and B negative samples,

    L = 1/B sum_pos softplus(theta - G) + 1/B sum_neg softplus(G - theta),

whose gradient never leaves the layer:

    dL/dG  = -(1 - p) / B (positive),  p / B (negative)
    dL/dz  = dL/dG * 2 m^2 h (/ n with ``mean``)      (zero where z <= 0, as h is)
    dL/dW  = sum_batch dL/dz x_hat^T,  dL/db = sum_batch dL/dz.

A linear softmax readout on the concatenated normalised activities is trained with its own
cross-entropy (the gradient stops at its input). Every tensor takes SGD with momentum or
Adam steps (``kernels.optimizer``) scaled by the training schedule (``FFSchedule.lr_scale``).

Negative data (``negative_batch`` in ``rules.ff`` mixes them): wrong labels,
Gaussian noise, pixel permutations, hybrid images with smooth random masks, and hard
negatives (the wrong label of most goodness under the current network).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.params import Fraction, Int, OneOf, Real, TupleOf, option, validate

NEGATIVE_STRATEGIES = ("wrong-label", "noise", "permutation", "hybrid", "hard")
SCHEDULES = ("joint", "sequential", "hybrid")
LABEL_MODES = ("append", "replace")
PREDICTIONS = ("softmax", "goodness")
GOODNESS_MEASURES = ("sum", "mean")


@dataclass(frozen=True)
class FFGoodness:
    """Goodness of a layer: threshold ``theta`` > 0, the sum or the mean (``measure``) of
    squares, inverted dropout ``dropout`` in [0, 1) on the activities entering it, and the
    ``norm_eps`` of the length normalisation."""

    theta: float = option(5.0, "Goodness threshold of p = sigmoid(G - theta).",
                          Real(0.0, low_open=True))
    measure: str = option("sum", "Sum or mean of squared activities.",
                          OneOf(GOODNESS_MEASURES), cli="--goodness")
    dropout: float = option(0.0, "Dropout rate on the activities entering the goodness.",
                            Fraction(open_high=True))
    norm_eps: float = option(1e-8, "eps of the length normalisation x / (||x|| + eps).",
                             Real(0.0, low_open=True))

    def __post_init__(self):
        validate(self)

    @property
    def mean(self) -> bool:
        """Whether G is the mean (not the sum) of the squared activities."""
        return self.measure == "mean"


@dataclass(frozen=True)
class FFNegatives:
    """How negative data is made: one or two ``strategies`` from NEGATIVE_STRATEGIES; with
    two, each sample takes the first with probability ``ratio`` (in [0, 1]) and the second
    otherwise. ``noise_std`` is the Gaussian noise of ``noise``; ``mask_blurs`` the number of
    [1/4, 1/2, 1/4] blurs that smooth the random masks of ``hybrid``."""

    strategies: tuple[str, ...] = option(
        ("wrong-label", "hard"), f"One or two of {', '.join(NEGATIVE_STRATEGIES)}.",
        TupleOf(OneOf(NEGATIVE_STRATEGIES), 1, 2), cli="--negatives")
    ratio: float = option(0.5, "Fraction of negatives from the first of two strategies.",
                          Fraction(), cli="--negative-ratio")
    noise_std: float = option(0.5, "Standard deviation of the noise negatives.",
                              Real(0.0, low_open=True))
    mask_blurs: int = option(4, "Blurs that smooth the random masks of hybrid negatives.",
                             Int(0))

    def __post_init__(self):
        validate(self)

    @property
    def needs_label_goodness(self) -> bool:
        """Whether making the negatives needs the goodness of every label (hard mining)."""
        return "hard" in self.strategies


@dataclass(frozen=True)
class FFSchedule:
    """Which layers learn in which epoch, as a learning-rate scale (0 = frozen).

    ``joint``: every layer every epoch. ``sequential`` (greedy): layer l learns in epochs
    [l E, (l + 1) E) with E = ``epochs_per_layer``, the last layer from (L - 1) E on, and
    earlier layers stay frozen. ``hybrid``: sequential for L E epochs, then all layers
    jointly at ``finetune_scale`` times their rate.
    """

    kind: str = option("joint", "joint, sequential (greedy layer by layer) or hybrid (then "
                       "joint).", OneOf(SCHEDULES), cli="--schedule")
    epochs_per_layer: int = option(5, "Epochs per layer of the sequential part of a schedule.",
                                   Int(1))
    finetune_scale: float = option(0.1, "Rate factor of the joint fine-tuning of the hybrid "
                                   "schedule.", Fraction(open_low=True))

    def __post_init__(self):
        validate(self)

    def lr_scale(self, epoch: int, layer: int, n_layers: int) -> float:
        """Learning-rate factor of ``layer`` (0-based) of ``n_layers`` in ``epoch``."""
        if self.kind == "joint":
            return 1.0
        greedy_epochs = n_layers * self.epochs_per_layer
        if self.kind == "hybrid" and epoch >= greedy_epochs:
            return self.finetune_scale
        active = min(epoch // self.epochs_per_layer, n_layers - 1)
        return 1.0 if layer == active else 0.0


def normalize(x: np.ndarray, eps: float) -> np.ndarray:
    """Length normalisation x / (||x|| + eps) of every row; (B, n) -> (B, n)."""
    return x / (np.sqrt(np.sum(x * x, axis=1, keepdims=True)) + eps)


def layer_activity(w: np.ndarray, b: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """h = relu(x_hat W^T + b); x_hat (B, n_pre), W (n_post, n_pre) -> (B, n_post)."""
    return np.maximum(x_hat @ w.T + b, 0.0)


def goodness(h: np.ndarray, params: FFGoodness, mask: np.ndarray | None = None) -> np.ndarray:
    """G = sum_j (m_j h_j)^2, or its mean over units; (B, n) -> (B,)."""
    seen = h if mask is None else h * mask
    total = np.sum(seen * seen, axis=1)
    return total / h.shape[1] if params.mean else total


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), evaluated without overflow."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def p_positive(g: np.ndarray, theta: float) -> np.ndarray:
    """p(positive) = sigmoid(G - theta)."""
    return sigmoid(g - theta)


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + exp(z)), evaluated without overflow."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def ff_loss(g_pos: np.ndarray, g_neg: np.ndarray, theta: float) -> float:
    """The layer's logistic loss 1/B (sum softplus(theta - G_pos) + sum softplus(G_neg - theta))."""
    return float((softplus(theta - g_pos).sum() + softplus(g_neg - theta).sum()) / len(g_pos))


def dropout_mask(shape: tuple[int, int], rate: float,
                 rng: np.random.Generator) -> np.ndarray | None:
    """Inverted-dropout mask: 0 with probability ``rate``, else 1 / (1 - rate); None if 0."""
    if rate == 0:
        return None
    return (rng.random(shape) >= rate) / (1.0 - rate)


def _goodness_pre_activation_grad(h: np.ndarray, dl_dg: np.ndarray, params: FFGoodness,
                                  mask: np.ndarray | None) -> np.ndarray:
    """dL/dz = dL/dG * 2 m^2 h (/ n); (B,) x (B, n) -> (B, n)."""
    dg_dh = 2.0 * h if mask is None else 2.0 * mask * mask * h
    if params.mean:
        dg_dh = dg_dh / h.shape[1]
    return dl_dg[:, None] * dg_dh


def ff_layer_grads(x_hat_pos: np.ndarray, h_pos: np.ndarray, x_hat_neg: np.ndarray,
                   h_neg: np.ndarray, params: FFGoodness, mask_pos: np.ndarray | None = None,
                   mask_neg: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (dL/dW (n_post, n_pre), dL/db (n_post,)) of the layer's own loss from its
    positive and negative passes (see the module docstring)."""
    batch = len(h_pos)
    p_pos = p_positive(goodness(h_pos, params, mask_pos), params.theta)
    p_neg = p_positive(goodness(h_neg, params, mask_neg), params.theta)
    dz_pos = _goodness_pre_activation_grad(h_pos, -(1.0 - p_pos) / batch, params, mask_pos)
    dz_neg = _goodness_pre_activation_grad(h_neg, p_neg / batch, params, mask_neg)
    dw = dz_pos.T @ x_hat_pos + dz_neg.T @ x_hat_neg  # (n_post, B) x (B, n_pre)
    return dw, dz_pos.sum(axis=0) + dz_neg.sum(axis=0)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (B, C)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def readout_probs(w: np.ndarray, b: np.ndarray, features: np.ndarray) -> np.ndarray:
    """softmax(features W^T + b); features (B, n_features), W (C, n_features) -> (B, C)."""
    return softmax(features @ w.T + b)


def readout_grads(features: np.ndarray, probs: np.ndarray,
                  targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the mean cross-entropy of the readout only: ((p - y)^T f / B, mean(p - y))."""
    delta = (probs - targets) / len(probs)
    return delta.T @ features, delta.sum(axis=0)  # (C, B) x (B, n_features)


def cross_entropy(probs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy -sum_k y_k log p_k; (B, C) -> (B,)."""
    return -np.sum(targets * np.log(np.maximum(probs, 1e-300)), axis=1)


def label_rows(labels: np.ndarray, n_classes: int, scale: float) -> np.ndarray:
    """One-hot rows ``scale * e_label`` (B, C); label -1 gives the neutral row scale / C."""
    rows = np.full((len(labels), n_classes), scale / n_classes)
    known = labels >= 0
    rows[known] = 0.0
    rows[known, labels[known]] = scale
    return rows


def embed_labels(x: np.ndarray, rows: np.ndarray, mode: str) -> np.ndarray:
    """Label rows (B, C) written over the first C inputs (``replace``) or appended after
    them (``append``); (B, n) -> (B, n) or (B, n + C)."""
    if mode == "append":
        return np.concatenate([x, rows], axis=1)
    out = x.copy()
    out[:, :rows.shape[1]] = rows
    return out


def wrong_labels(labels: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly drawn label other than the true one, for every sample."""
    return (labels + rng.integers(1, n_classes, size=len(labels))) % n_classes


def hardest_wrong_labels(label_goodness: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The wrong label of most goodness; label_goodness (B, C) summed over layers -> (B,)."""
    scores = label_goodness.copy()
    scores[np.arange(len(labels)), labels] = -np.inf
    return scores.argmax(axis=1)


def noisy(x: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """x + N(0, std^2), clipped to the pixel range [0, 1]."""
    return np.clip(x + rng.normal(0.0, std, size=x.shape), 0.0, 1.0)


def permuted(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every row with its pixels in a random order of its own."""
    order = np.argsort(rng.random(x.shape), axis=1)
    return np.take_along_axis(x, order, axis=1)


def smooth_masks(n: int, image_shape: tuple[int, int], blurs: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Hinton's hybrid masks: random bits blurred ``blurs`` times with [1/4, 1/2, 1/4]
    along rows and columns (edges repeated), thresholded at 0.5; (n, rows * cols)."""
    masks = rng.integers(0, 2, size=(n, *image_shape)).astype(float)
    for _ in range(blurs):
        for axis in (1, 2):
            padded = np.pad(masks, [(0, 0)] + [(1, 1) if a == axis else (0, 0)
                                               for a in (1, 2)], mode="edge")
            lo = padded[:, :-2] if axis == 1 else padded[:, :, :-2]
            mid = padded[:, 1:-1] if axis == 1 else padded[:, :, 1:-1]
            hi = padded[:, 2:] if axis == 1 else padded[:, :, 2:]
            masks = 0.25 * lo + 0.5 * mid + 0.25 * hi
    return (masks > 0.5).reshape(n, -1).astype(float)


def hybrid(x: np.ndarray, other: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """mask * x + (1 - mask) * other: one image's large regions mixed with another's."""
    return masks * x + (1.0 - masks) * other


def he_uniform(n_post: int, n_pre: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform initial weights with variance 2 / n_pre (He), suited to ReLU layers."""
    limit = math.sqrt(6.0 / n_pre)
    return rng.uniform(-limit, limit, size=(n_post, n_pre))
