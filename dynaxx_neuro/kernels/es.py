"""Evolution strategies as pure NumPy kernels: the network whose fitness is measured (an MLP
read from one flat parameter vector), the fitness, and OpenAI-style antithetic ES
(Salimans et al. 2017). CMA-ES is the ``cma`` package's (``rules.es``).

The network of sizes (n_0, ..., n_L) holds its parameters in one vector theta, layer by
layer, each layer's W_l (n_{l+1}, n_l) row-major, then its b_l (n_{l+1},)::

    h_0 = x,   a_{l+1} = h_l W_l^T + b_l,   h_{l+1} = f(a_{l+1}) (l + 1 < L),   z = a_L
    f = tanh or relu;  with no hidden layer, z = x W_0^T + b_0 (a linear softmax classifier)

The fitness of theta on samples (x_i, y_i), i = 1..B, is the negative mean cross-entropy::

    F(theta) = -(1/B) sum_i [logsumexp(z_i) - z_{i, y_i}]

OpenAI-ES estimates the gradient of the Gaussian-smoothed fitness E_eps F(theta + sigma eps)
from P antithetic pairs theta +- sigma eps_j, eps_j ~ N(0, I) (mirrored sampling), with
each fitness replaced by its centered rank u in [-1/2, 1/2] over the 2P candidates::

    g = 1 / (2 P sigma) sum_j (u_j^+ - u_j^-) eps_j

and the optimiser (``kernels.optimizer``: Adam or SGD, optional weight decay) descends on
-g, i.e. ascends the fitness.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.kernels.ep import glorot_uniform

ACTIVATIONS = ("tanh", "relu")


def layer_shapes(sizes: tuple[int, ...]) -> list[tuple[tuple[int, int], int]]:
    """((n_{l+1}, n_l), n_{l+1}) of every weight layer: the shapes of W_l and b_l."""
    return [((n_post, n_pre), n_post) for n_pre, n_post in zip(sizes, sizes[1:])]


def n_parameters(sizes: tuple[int, ...]) -> int:
    """The length of theta: sum_l n_{l+1} (n_l + 1)."""
    return sum(rows * cols + rows for (rows, cols), _ in layer_shapes(sizes))


def unflatten(theta: np.ndarray, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W_l, b_l) of every weight layer as views into theta (module docstring's order)."""
    layers, start = [], 0
    for (rows, cols), n_bias in layer_shapes(sizes):
        w = theta[start:start + rows * cols].reshape(rows, cols)
        start += rows * cols
        layers.append((w, theta[start:start + n_bias]))
        start += n_bias
    return layers


def initial_theta(sizes: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Glorot-uniform weights and zero biases, flattened."""
    parts = []
    for (rows, cols), n_bias in layer_shapes(sizes):
        parts += [glorot_uniform(rows, cols, rng).ravel(), np.zeros(n_bias)]
    return np.concatenate(parts)


def logits(theta: np.ndarray, sizes: tuple[int, ...], activation: str,
           x: np.ndarray) -> np.ndarray:
    """z (B, n_L) of rows x (B, n_0): the forward pass of the module docstring."""
    layers = unflatten(theta, sizes)
    h = x
    for w, b in layers[:-1]:
        a = h @ w.T + b
        h = np.tanh(a) if activation == "tanh" else np.maximum(a, 0.0)
    w, b = layers[-1]
    return h @ w.T + b


def cross_entropy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row logsumexp(z_i) - z_{i, y_i} of logits z (B, C) and labels y (B,)."""
    shifted = z - z.max(axis=1, keepdims=True)
    return np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(y)), y]


def fitness(theta: np.ndarray, sizes: tuple[int, ...], activation: str, x: np.ndarray,
            y: np.ndarray) -> float:
    """F(theta) = -mean cross-entropy of the network on (x, y)."""
    return -float(cross_entropy(logits(theta, sizes, activation, x), y).mean())


def antithetic_candidates(theta: np.ndarray, eps: np.ndarray, sigma: float) -> np.ndarray:
    """(2P, N) candidates: theta + sigma eps_j for j = 1..P, then theta - sigma eps_j."""
    step = sigma * eps
    return np.concatenate([theta + step, theta - step])


def centered_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank r in 0..n-1 (ties by position) mapped to r / (n - 1) - 1/2, so the
    lowest gets -1/2, the highest 1/2 and the ranks sum to 0."""
    values = np.asarray(values, dtype=float)
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks / max(len(values) - 1, 1) - 0.5


def antithetic_gradient(eps: np.ndarray, plus: np.ndarray, minus: np.ndarray,
                        sigma: float) -> np.ndarray:
    """g = 1 / (2 P sigma) sum_j (plus_j - minus_j) eps_j for eps (P, N) and the (shaped)
    fitness of the + and - candidates (P,) each; with raw fitness of a quadratic F, g is
    an unbiased estimate of grad F (the mirrored difference cancels every even term)."""
    return (plus - minus) @ eps / (2 * len(eps) * sigma)


def sigma_at(sigma: float, decay: float, generation: int) -> float:
    """sigma_g = sigma decay^g of generation index g (from 0)."""
    return sigma * decay ** generation
