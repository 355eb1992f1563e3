"""Target propagation as pure NumPy kernels: difference target propagation (DTP, Lee et al.
2015) and its direct linear-feedback variant (DDTP-linear, Meulemans et al. 2020).

A network of L weight layers, W_l (n_{l+1}, n_l) with bias b_l, maps rows of samples:

    h_0 = x,   a_{l+1} = h_l W_l^T + b_l,   h_{l+1} = tanh(a_{l+1}) (l + 1 < L),   h_L = a_L

and classifies by softmax(h_L) with the cross-entropy loss. Nothing is backpropagated:
every layer gets a target tau_l and learns from its own loss, each target a difference
delta_l = tau_l - h_l:

    top:      delta_L = -eta (softmax(h_L) - y)              a small step on the output loss
    DTP:      delta_l = g_l(h_{l+1} + delta_{l+1}) - g_l(h_{l+1}),
              g_l(h) = tanh(h V_l^T + c_l)                   the learned inverse of layer l
    DDTP-lin: delta_l = delta_L Q_l^T                        direct linear feedback Q_l (n_l, n_L)

(the difference correction: g_l(tau_{l+1}) - g_l(h_{l+1}) + h_l instead of g_l(tau_{l+1}),
so a layer whose inverse is imperfect still gets tau_l = h_l when tau_{l+1} = h_{l+1}).

Forward weights minimise 1/2 ||h_{l+1} - tau_{l+1}||^2 with h_l held fixed (local in W_l):

    e = -delta_{l+1} * f'(a_{l+1})    (f' = 1 - h^2 for tanh, 1 for the output layer)
    dL/dW_l = e^T h_l / B,   dL/db_l = mean_rows(e)

Feedback weights learn from noise around the data, h~_l = h_l + sigma eps, eps ~ N(0, 1):

    DTP inverse:  r = g_l(f_l(h~_l)),  minimise 1/2 ||r - h~_l||^2:
                  e = (r - h~_l)(1 - r^2),  dL/dV_l = e^T f_l(h~_l) / B,  dL/dc_l = mean_rows(e)
    DDTP-linear:  D_l = h_L(h~_l) - h_L(h_l) (the output's response to the noise),
                  minimise 1/2 ||D_l Q_l^T - sigma eps||^2  (difference reconstruction):
                  dL/dQ_l = (D_l Q_l^T - sigma eps)^T D_l / B

:func:`backprop_gradients` is the true gradient of the loss, only for measuring the angle
between it and the TP update (:func:`angle_degrees`), as TP papers do.
"""

from __future__ import annotations

import math

import numpy as np

from dynaxx_neuro.kernels.ff import softmax

VARIANTS = ("dtp", "ddtp-linear")


def activation(a: np.ndarray, top: bool) -> np.ndarray:
    """f(a): tanh for a hidden layer, the identity for the output layer (the logits)."""
    return a if top else np.tanh(a)


def forward_rows(w: np.ndarray, b: np.ndarray, h: np.ndarray, top: bool) -> np.ndarray:
    """f_l(h) = f(h W^T + b) of every row of ``h``."""
    return activation(h @ w.T + b, top)


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """-sum_k y_k log softmax(h_L)_k per row."""
    z = logits - logits.max(axis=1, keepdims=True)
    return -np.sum(targets * (z - np.log(np.exp(z).sum(axis=1, keepdims=True))), axis=1)


def top_delta(logits: np.ndarray, targets: np.ndarray, eta: float) -> np.ndarray:
    """delta_L = -eta (softmax(h_L) - y): the output target's difference."""
    return -eta * (softmax(logits) - targets)


def dtp_delta(v: np.ndarray, c: np.ndarray, h_next: np.ndarray,
              delta_next: np.ndarray) -> np.ndarray:
    """delta_l = g_l(h_{l+1} + delta_{l+1}) - g_l(h_{l+1}), g_l(h) = tanh(h V^T + c)."""
    return np.tanh((h_next + delta_next) @ v.T + c) - np.tanh(h_next @ v.T + c)


def ddtp_delta(q: np.ndarray, delta_top: np.ndarray) -> np.ndarray:
    """delta_l = delta_L Q_l^T (direct linear feedback from the output)."""
    return delta_top @ q.T


def forward_grads(h_in: np.ndarray, h_out: np.ndarray, delta: np.ndarray,
                  top: bool) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of 1/2 ||h_out - (h_out + delta)||^2 (mean over rows) wrt W_l and b_l."""
    e = -delta if top else -delta * (1.0 - h_out * h_out)
    return e.T @ h_in / len(h_in), e.mean(axis=0)


def inverse_grads(v: np.ndarray, c: np.ndarray, noisy: np.ndarray,
                  f_noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of 1/2 ||g_l(f_l(h~)) - h~||^2 (mean over rows) wrt V_l and c_l."""
    r = np.tanh(f_noisy @ v.T + c)
    e = (r - noisy) * (1.0 - r * r)
    return e.T @ f_noisy / len(noisy), e.mean(axis=0)


def feedback_grads(q: np.ndarray, response: np.ndarray,
                   noise: np.ndarray) -> np.ndarray:
    """Gradient of 1/2 ||D Q^T - sigma eps||^2 (mean over rows) wrt Q_l; ``response`` is
    D = h_L(h~_l) - h_L(h_l), ``noise`` sigma eps."""
    return (response @ q.T - noise).T @ response / len(response)


def backprop_gradients(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray,
                       targets: np.ndarray) -> list[np.ndarray]:
    """dL/dW_l of the mean cross-entropy, by backpropagation through the same network."""
    hs = [x]
    for l, (w, b) in enumerate(zip(weights, biases)):
        hs.append(forward_rows(w, b, hs[-1], l == len(weights) - 1))
    e = (softmax(hs[-1]) - targets) / len(x)
    grads = []
    for l in range(len(weights) - 1, -1, -1):
        grads.append(e.T @ hs[l])
        if l:
            e = (e @ weights[l]) * (1.0 - hs[l] * hs[l])
    return grads[::-1]


def angle_degrees(a: np.ndarray, b: np.ndarray) -> float:
    """The angle between two arrays as vectors, in degrees (90 if either is zero)."""
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0:
        return 90.0
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.vdot(a, b)) / norms))))

