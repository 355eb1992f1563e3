"""Per-tensor optimisers of the rules that take gradient-like steps on local losses
(forward-forward, target propagation): SGD with momentum or Adam, and :class:`TensorState`,
a weight matrix and bias vector with their moments and step count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.params import Fraction, OneOf, Real, option, validate

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class Optimizer:
    """Per-tensor optimiser: ``method`` 'adam' or 'sgd' (with ``momentum``), ``weight_decay``
    added to the gradient as ``weight_decay * W``, Adam's ``beta2`` and ``eps``."""

    method: str = option("adam", "Optimiser of every tensor.", OneOf(OPTIMIZERS),
                         cli="--optimizer")
    momentum: float = option(0.9, "SGD momentum, or Adam's beta1.", Fraction(open_high=True))
    beta2: float = option(0.999, "Adam's beta2.", Fraction(open_high=True), cli="--adam-beta2")
    eps: float = option(1e-8, "Adam's eps.", Real(0.0, low_open=True), cli="--adam-eps")
    weight_decay: float = option(0.0, "Weight decay added to the gradient (decay * W).",
                                 Real(0.0))

    def __post_init__(self):
        validate(self)


def optimizer_step(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray,
                   step: int, lr: float, opt: Optimizer
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One descent step of a tensor; ``step`` counts this tensor's updates from 1.

    sgd:  m <- mu m + g;  P <- P - lr m                         (v unchanged)
    adam: m <- mu m + (1 - mu) g;  v <- b2 v + (1 - b2) g^2;
          P <- P - lr (m / (1 - mu^step)) / (sqrt(v / (1 - b2^step)) + eps)
    with g = grad + weight_decay P. Returns (new P, new m, new v).
    """
    g = grad + opt.weight_decay * param
    if opt.method == "sgd":
        m = opt.momentum * m + g
        return param - lr * m, m, v
    m = opt.momentum * m + (1.0 - opt.momentum) * g
    v = opt.beta2 * v + (1.0 - opt.beta2) * g * g
    m_hat = m / (1.0 - opt.momentum ** step)
    v_hat = v / (1.0 - opt.beta2 ** step)
    return param - lr * m_hat / (np.sqrt(v_hat) + opt.eps), m, v


@dataclass
class TensorState:
    """A weight matrix or bias vector set with its optimiser moments and step count."""

    w: np.ndarray
    b: np.ndarray
    mw: np.ndarray
    vw: np.ndarray
    mb: np.ndarray
    vb: np.ndarray
    step: int = 0

    NAMES = ("w", "b", "mw", "vw", "mb", "vb")

    @classmethod
    def fresh(cls, w: np.ndarray) -> "TensorState":
        b = np.zeros(w.shape[0])
        return cls(w, b, np.zeros_like(w), np.zeros_like(w), np.zeros_like(b),
                   np.zeros_like(b))

    def updated(self, dw: np.ndarray, db: np.ndarray, lr: float,
                opt: Optimizer) -> "TensorState":
        """The state after one optimiser step (a rate of 0 leaves it untouched)."""
        if lr == 0:
            return self
        step = self.step + 1
        w, mw, vw = optimizer_step(self.w, dw, self.mw, self.vw, step, lr, opt)
        b, mb, vb = optimizer_step(self.b, db, self.mb, self.vb, step, lr, opt)
        return TensorState(w, b, mw, vw, mb, vb, step)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        out = {f"{prefix}{n}": getattr(self, n) for n in self.NAMES}
        out[f"{prefix}step"] = np.array([self.step])
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> "TensorState":
        return cls(*(np.array(arrays[f"{prefix}{n}"], dtype=float) for n in cls.NAMES),
                   int(arrays[f"{prefix}step"][0]))
