"""Linear probes (Alain & Bengio 2016, "Understanding intermediate layers using linear
classifier probes"): how linearly decodable the label is from each layer's activities.

A probe is a ridge-regression classifier on one layer's activities h (N, n),

    (W, c) = argmin ||h W + c - Y||^2 + alpha ||W||^2,   prediction = argmax_k (h W + c)_k,

with targets Y_ik = +1 for the label of sample i and -1 otherwise, fitted on training
samples and scored on held-out ones. Ridge has a closed form, so a probe is deterministic
and takes milliseconds; ``alpha`` only keeps silent (constant zero) units from making the
problem singular.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import RidgeClassifier

from dynaxx_neuro.analysis.ep_network import EPNetwork
from dynaxx_neuro.cycle import SUBSET, stream

PROBE_ALPHA = 1.0


def probe_accuracy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray,
                   y_test: np.ndarray, alpha: float = PROBE_ALPHA) -> float:
    """Test accuracy of a ridge classifier fitted on ``train`` activities (N, n)."""
    probe = RidgeClassifier(alpha=alpha).fit(train, y_train)
    return float(probe.score(test, y_test))


def ep_layer_probes(network: EPNetwork, max_train: int = 2000, max_test: int = 1000,
                    rng: np.random.Generator | None = None) -> dict[str, float]:
    """Probe accuracy of every layer of an EP network, the input included, fitted on at
    most ``max_train`` training samples and scored on at most ``max_test`` test samples
    (drawn with ``rng``, default seeded from the run's seed). Keys: "input", "hidden 1",
    ..., "output"; activities are the free-equilibrium rates."""
    data = network.data
    if rng is None:
        rng = stream(network.seed, SUBSET)
    train = rng.permutation(len(data.x_train))[:max_train]
    test = rng.permutation(len(data.x_test))[:max_test]
    x_train, x_test = data.x_train[train], data.x_test[test]
    layers_train = [x_train, *network.free_layer_rates(x_train)]
    layers_test = [x_test, *network.free_layer_rates(x_test)]
    n_hidden = len(layers_train) - 2
    names = ["input", *(f"hidden {i + 1}" for i in range(n_hidden)), "output"]
    return {name: probe_accuracy(h_train, data.y_train[train], h_test, data.y_test[test])
            for name, h_train, h_test in zip(names, layers_train, layers_test)}
