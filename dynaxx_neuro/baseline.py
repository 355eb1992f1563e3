"""Plain-NumPy backprop baseline for the local learning rules.

Every benchmark of a backprop-free rule (equilibrium propagation, forward-forward)
reports its accuracy and run time as a ratio to this baseline: an MLP of the same
architecture, trained with backprop on the same data, epochs and batch size.

Network (weights shaped (n_post, n_pre), one row per example in x):

    h_0 = x,   z_l = h_{l-1} W_l^T + b_l,   h_l = relu(z_l)   (hidden layers)
    p = softmax(z_L),   loss = -(1/B) sum_i sum_k y_ik log p_ik

Weights are Glorot-uniform from ``numpy.random.default_rng([seed, 7])``, biases zero.
Training is minibatch SGD with momentum,

    v <- mu v + grad,   W <- W - lr_e v,   lr_e = lr * lr_decay**epoch.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.records import peak_rss_mb

Params = list  # [(W_1, b_1), ..., (W_L, b_L)]


@dataclass(frozen=True)
class MLPConfig:
    """Architecture and optimiser settings; ``sizes`` = (n_in, hidden..., n_classes)."""

    sizes: tuple[int, ...]
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 20
    seed: int = 0
    lr_decay: float = 1.0

    def __post_init__(self):
        def bad(field, allowed):
            return ValueError(f"MLPConfig.{field} must be {allowed}, got {getattr(self, field)!r}.")

        try:
            sizes = tuple(int(s) for s in self.sizes)
            ok = len(sizes) >= 2 and all(s >= 1 and s == t for s, t in zip(sizes, self.sizes))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise bad("sizes", "a sequence of at least 2 integers, each >= 1")
        object.__setattr__(self, "sizes", sizes)
        if not (isinstance(self.lr, numbers.Real) and math.isfinite(self.lr) and self.lr >= 0):
            raise bad("lr", "a finite number >= 0")
        if not (isinstance(self.momentum, numbers.Real) and 0 <= self.momentum < 1):
            raise bad("momentum", "a number in [0, 1)")
        if not (isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1):
            raise bad("batch_size", "an integer >= 1")
        if not (isinstance(self.seed, numbers.Integral) and self.seed >= 0):
            raise bad("seed", "an integer >= 0")
        if not (isinstance(self.lr_decay, numbers.Real) and 0 < self.lr_decay <= 1):
            raise bad("lr_decay", "a number in (0, 1]")


def init_params(sizes: tuple[int, ...], seed: int) -> Params:
    """Glorot-uniform W_l ~ U(-a, a), a = sqrt(6 / (n_pre + n_post)); zero biases."""
    rng = np.random.default_rng([seed, 7])
    params = []
    for n_pre, n_post in zip(sizes[:-1], sizes[1:]):
        a = math.sqrt(6.0 / (n_pre + n_post))
        params.append((rng.uniform(-a, a, size=(n_post, n_pre)), np.zeros(n_post)))
    return params


def mlp_forward(params: Params, x: np.ndarray) -> list[np.ndarray]:
    """Return [h_0 = x, h_1, ..., h_{L-1}, p]: ReLU hidden activations, softmax output p."""
    acts = [np.asarray(x, dtype=float)]
    for l, (w, b) in enumerate(params):
        z = acts[-1] @ w.T + b
        if l < len(params) - 1:
            acts.append(np.maximum(z, 0.0))
        else:  # p_k = exp(z_k - max z) / sum_j exp(z_j - max z)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            acts.append(e / e.sum(axis=1, keepdims=True))
    return acts


def cross_entropy(probs: np.ndarray, y_onehot: np.ndarray) -> float:
    """Mean cross-entropy -(1/B) sum_i sum_k y_ik log p_ik (p clipped at 1e-300)."""
    return float(-np.sum(y_onehot * np.log(np.maximum(probs, 1e-300))) / len(probs))


def mlp_gradients(params: Params, x: np.ndarray, y_onehot: np.ndarray) -> Params:
    """Gradients [(dW_l, db_l)] of the mean cross-entropy, by backprop.

    delta_L = (p - y) / B;  dW_l = delta_l^T h_{l-1};  db_l = sum_i delta_l;
    delta_{l-1} = (delta_l W_l) * [h_{l-1} > 0].
    """
    acts = mlp_forward(params, x)
    delta = (acts[-1] - y_onehot) / len(acts[0])
    grads = []
    for l in range(len(params) - 1, -1, -1):
        grads.append((delta.T @ acts[l], delta.sum(axis=0)))
        if l > 0:
            delta = (delta @ params[l][0]) * (acts[l] > 0)
    return grads[::-1]


class MLPTrainer:
    """Holds the weights and momentum buffers of one MLP trained by minibatch SGD."""

    def __init__(self, config: MLPConfig):
        self.config = config
        self.params = init_params(config.sizes, config.seed)
        self.velocity = [(np.zeros_like(w), np.zeros_like(b)) for w, b in self.params]

    def _onehot(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        k = self.config.sizes[-1]
        if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= k)):
            raise ValueError(f"labels must be a 1-D array of integers in [0, {k}), got shape {y.shape}.")
        return np.eye(k)[y.astype(np.int64)]

    def train_epoch(self, x: np.ndarray, y: np.ndarray, epoch: int) -> tuple[float, float]:
        """One pass over full batches of a seeded shuffle; return the batch-averaged
        (accuracy, loss), each batch measured before its update."""
        cfg = self.config
        x = np.asarray(x, dtype=float)
        y = np.asarray(y)
        yh = self._onehot(y)
        order = np.random.default_rng([cfg.seed, epoch, 0]).permutation(len(x))
        n_batches = len(x) // cfg.batch_size
        if n_batches == 0:
            raise ValueError(f"need at least batch_size={cfg.batch_size} examples, got {len(x)}.")
        lr = cfg.lr * cfg.lr_decay ** epoch
        correct, loss = 0, 0.0
        for i in range(n_batches):
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            probs = mlp_forward(self.params, x[idx])[-1]
            correct += int(np.sum(probs.argmax(axis=1) == y[idx]))
            loss += cross_entropy(probs, yh[idx])
            grads = mlp_gradients(self.params, x[idx], yh[idx])
            new_params, new_velocity = [], []
            for (w, b), (vw, vb), (gw, gb) in zip(self.params, self.velocity, grads):
                vw, vb = cfg.momentum * vw + gw, cfg.momentum * vb + gb
                new_velocity.append((vw, vb))
                new_params.append((w - lr * vw, b - lr * vb))
            self.params, self.velocity = new_params, new_velocity
        return correct / (n_batches * cfg.batch_size), loss / n_batches

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Labels argmax_k p_k."""
        return mlp_forward(self.params, x)[-1].argmax(axis=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(accuracy, mean cross-entropy) on the whole of (x, y)."""
        probs = mlp_forward(self.params, x)[-1]
        return float(np.mean(probs.argmax(axis=1) == np.asarray(y))), cross_entropy(probs, self._onehot(y))

    def parameters(self) -> dict[str, np.ndarray]:
        """Copies of the weights and biases as {"w0": W_1, "b0": b_1, "w1": ...}."""
        out = {}
        for l, (w, b) in enumerate(self.params):
            out[f"w{l}"], out[f"b{l}"] = w.copy(), b.copy()
        return out


def train_mlp(config: MLPConfig, x_train, y_train, x_test, y_test, epochs: int, n_classes: int) -> dict:
    """Train for ``epochs`` epochs; return final test/train accuracy, seconds per epoch, peak RSS."""
    x_train = np.asarray(x_train, dtype=float)
    if config.sizes[0] != x_train.shape[1] or config.sizes[-1] != n_classes:
        raise ValueError(f"MLPConfig.sizes {config.sizes} must start with the {x_train.shape[1]} input "
                         f"features and end with the {n_classes} classes.")
    trainer = MLPTrainer(config)
    seconds = []
    for epoch in range(epochs):
        start = time.perf_counter()
        trainer.train_epoch(x_train, y_train, epoch)
        seconds.append(time.perf_counter() - start)
    return {
        "test_accuracy": trainer.evaluate(x_test, y_test)[0],
        "train_accuracy": trainer.evaluate(x_train, y_train)[0],
        "epoch_seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
    }
