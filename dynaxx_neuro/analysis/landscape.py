"""The energy landscape of an EP network around the free equilibrium of one sample.

The state of all layers, concatenated, is a point ``s`` in R^n_state. The landscape is F
on the plane through the free equilibrium ``s*`` spanned by two orthonormal directions
``u`` and ``v``,

    F(a, b) = E(s* + a u + b v) + beta C(s* + a u + b v),

with ``beta = 0`` for the free phase and the run's beta for the nudged phase (E and C as in
``kernels.ep``). The directions are the top two principal components of the settling
trajectories (free and nudged steps together), the plane in which the states move most, or
two random orthonormal directions. The trajectories are projected onto the plane as
``((s_t - s*) . u, (s_t - s*) . v)``; the part of the motion off the plane is not shown, so
a trajectory need not run exactly downhill on the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.analysis.ep_network import EPNetwork

DIRECTIONS = ("pca", "random")


@dataclass(frozen=True)
class Landscape:
    """F over a grid of the plane and the projected trajectories of one sample.

    ``a`` (n_a,) and ``b`` (n_b,) are the grid coordinates along ``u`` and ``v``;
    ``free_energy`` and ``nudged_energy`` are (n_b, n_a) maps of F with beta 0 and
    ``beta``; ``free_path`` (t_free + 1, 2) and ``nudged_path`` (t_nudge + 1, 2) are the
    projected trajectories. ``centre`` (n_state,) is ``s*`` and ``basis`` (2, n_state) holds
    ``u`` and ``v``. ``explained`` is the fraction of the trajectories' squared distance
    from ``s*`` that lies in the plane.
    """

    a: np.ndarray
    b: np.ndarray
    free_energy: np.ndarray
    nudged_energy: np.ndarray
    free_path: np.ndarray
    nudged_path: np.ndarray
    centre: np.ndarray
    basis: np.ndarray
    beta: float
    sample: int
    label: int
    directions: str
    explained: float


def plane_directions(points: np.ndarray, directions: str, rng: np.random.Generator
                     ) -> np.ndarray:
    """Two orthonormal directions (2, n) for points (T, n) given relative to the centre:
    their top two principal components ("pca") or random ones ("random")."""
    if directions == "pca":
        centred = points - points.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        basis = vt[:2]
    elif directions == "random":
        basis = np.linalg.qr(rng.standard_normal((points.shape[1], 2)))[0].T
    else:
        raise ValueError(f"directions must be one of {', '.join(DIRECTIONS)}, "
                         f"got {directions!r}.")
    if basis.shape[0] < 2:
        raise ValueError("the settling trajectories span fewer than two dimensions; "
                         "a plane needs two.")
    return basis


def energy_landscape(network: EPNetwork, sample: int = 0, directions: str = "pca",
                     resolution: int = 61, margin: float = 0.25,
                     rng: np.random.Generator | None = None) -> Landscape:
    """The landscape of test sample ``sample`` of ``network`` on a ``resolution`` x
    ``resolution`` grid covering the projected trajectories plus ``margin`` of their extent
    on each side. ``rng`` draws random directions (default: seeded from the run's seed)."""
    if directions not in DIRECTIONS:
        raise ValueError(f"directions must be one of {', '.join(DIRECTIONS)}, "
                         f"got {directions!r}.")
    n_test = len(network.data.x_test)
    if not 0 <= sample < n_test:
        raise ValueError(f"sample must be in 0..{n_test - 1} (the test split), got {sample!r}.")
    if resolution < 3:
        raise ValueError(f"resolution must be >= 3, got {resolution!r}.")
    if rng is None:
        rng = np.random.default_rng([network.seed, sample])
    x = network.data.x_test[sample: sample + 1]
    label = int(network.data.y_test[sample])
    target = network.data.targets(np.array([label]))
    free, nudged = (path[:, 0] for path in network.settling_trajectories(x, target))
    centre = free[-1]
    relative = np.concatenate([free, nudged[1:]]) - centre
    basis = plane_directions(relative, directions, rng)
    total_variance = np.sum(relative ** 2)
    explained = float(np.sum((relative @ basis.T) ** 2) / total_variance) \
        if total_variance > 0 else 1.0
    free_path, nudged_path = (free - centre) @ basis.T, (nudged - centre) @ basis.T
    both = np.concatenate([free_path, nudged_path])
    low, high = both.min(axis=0), both.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-3)
    a = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    b = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    grid_a, grid_b = np.meshgrid(a, b)
    points = centre + grid_a.reshape(-1, 1) * basis[0] + grid_b.reshape(-1, 1) * basis[1]
    xs, targets = np.repeat(x, len(points), axis=0), np.repeat(target, len(points), axis=0)
    beta = network.config.dynamics.beta
    free_energy, nudged_energy = (
        network.total_energy(points, xs, targets, phase_beta).reshape(grid_a.shape)
        for phase_beta in (0.0, beta))
    return Landscape(a, b, free_energy, nudged_energy, free_path, nudged_path, centre, basis,
                     beta, sample, label, directions, explained)
