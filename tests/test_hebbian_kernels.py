"""Kernels of the rate-based Hebbian rules: closed-form properties (Oja finds the first
principal component, BCM units become selective, KHU winners reach unit p-norm), an
independent scalar re-implementation of KHU, and the validation of every parameter."""

import math

import numpy as np
import pytest

from dynaxx_neuro.kernels import hebbian as hb


def _run(params, w, x, lr, batch_size, epochs, rng, theta=None):
    """Plain minibatch learning with the kernels, in the documented order."""
    theta = np.zeros(w.shape[0]) if theta is None else theta
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            xb = x[order[start:start + batch_size]]
            drive = params.drive(w, xb)
            activity = params.activity(drive)
            w = params.updated_weights(w, xb, drive, activity, theta, lr)
            theta = params.threshold(theta, activity)
    return w, theta


def test_oja_unit_aligns_with_the_first_principal_component():
    rng = np.random.default_rng(0)
    # Zero-mean Gaussian data in 10 dimensions with a dominant, oblique direction.
    basis, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    scales = np.array([3.0, 1.5, 1.2, 1.0, 0.9, 0.8, 0.6, 0.5, 0.4, 0.3])
    x = (rng.standard_normal((4000, 10)) * scales) @ basis.T
    pc1 = np.linalg.eigh(x.T @ x / len(x))[1][:, -1]
    w0 = rng.standard_normal((1, 10)) * 0.1
    w, _ = _run(hb.OjaParams(lr=0.002), w0, x, 0.002, 1, 3, rng)
    cosine = abs(float(w[0] @ pc1)) / np.linalg.norm(w[0])
    assert cosine >= 0.99  # the bound
    assert np.linalg.norm(w[0]) == pytest.approx(1.0, abs=0.05)  # Oja normalises w
    assert abs(float(w0[0] @ pc1)) / np.linalg.norm(w0[0]) < 0.9  # it did not start there


def test_oja_subspace_rule_finds_the_principal_subspace_with_orthonormal_rows():
    rng = np.random.default_rng(1)
    scales = np.array([4.0, 3.0, 2.0, 0.5, 0.4, 0.3])
    x = rng.standard_normal((4000, 6)) * scales  # principal axes are e_0, e_1, e_2
    w, _ = _run(hb.OjaParams(lr=0.002), rng.standard_normal((3, 6)) * 0.1, x, 0.002, 10, 20,
                rng)
    np.testing.assert_allclose(w @ w.T, np.eye(3), atol=0.05)
    assert np.linalg.norm(w[:, 3:]) < 0.1  # the rows span the top-3 subspace


def test_oja_kernel_matches_the_single_unit_formula():
    rng = np.random.default_rng(2)
    w, x = rng.standard_normal((1, 5)), rng.standard_normal((1, 5))
    y = float(x[0] @ w[0])
    np.testing.assert_allclose(hb.oja_dw(w, x, np.array([[y]]))[0], y * (x[0] - y * w[0]))


def _selectivity(responses: np.ndarray) -> np.ndarray:
    """Per unit: (largest response - mean of the others) / largest response."""
    top = responses.max(axis=0)
    others = (responses.sum(axis=0) - top) / (responses.shape[0] - 1)
    return (top - others) / np.maximum(top, 1e-12)


def test_bcm_units_become_selective_to_one_pattern():
    rng = np.random.default_rng(3)
    n_patterns, n_in = 4, 40
    patterns = np.zeros((n_patterns, n_in))
    for i in range(n_patterns):  # four non-overlapping blobs of ten active inputs
        patterns[i, 10 * i:10 * (i + 1)] = 1.0
    x = patterns[rng.integers(0, n_patterns, 4000)]
    x = np.clip(x + 0.05 * rng.standard_normal(x.shape), 0.0, None)
    params = hb.BCMParams(lr=0.01, tau_theta=5.0)
    w0 = params.initial_weights(8, n_in, rng)
    before = _selectivity(np.maximum(patterns @ w0.T, 0.0))
    w, theta = _run(params, w0, x, 0.01, 10, 20, rng)
    after = _selectivity(np.maximum(patterns @ w.T, 0.0))
    assert before.max() < 0.5  # units start responding to all patterns alike
    assert after.min() > 0.9  # every unit ends responding to one pattern only
    # The threshold tracks E[y^2]: with one preferred pattern of probability 1/4 the
    # fixed point is y_pref = theta = y_pref^2 / 4, so y_pref = 4 (Intrator & Cooper 1992).
    np.testing.assert_allclose(np.maximum(patterns @ w.T, 0.0).max(axis=0), 4.0, rtol=0.15)
    # theta is a running mean of y^2 over about 5 batches of 10 samples, in which the
    # preferred pattern's count is binomial (sd ~25 % of its mean): hence the 50 % band.
    np.testing.assert_allclose(theta, np.mean(np.maximum(x @ w.T, 0.0) ** 2, axis=0),
                               rtol=0.5)


def _khu_scalar(w, x, p, k, delta, precision):
    """Krotov & Hopfield's fast update written with loops and a full sort."""
    n_post, n_pre = w.shape
    batch = x.shape[0]
    d = np.zeros_like(w)
    for b in range(batch):
        currents = [sum(math.copysign(abs(w[m, i]) ** (p - 1), w[m, i]) * x[b, i]
                        for i in range(n_pre)) for m in range(n_post)]
        ranked = sorted(range(n_post), key=lambda m: -currents[m])
        for m, g in ((ranked[0], 1.0), (ranked[k - 1], -delta)):
            for i in range(n_pre):
                d[m, i] += g * (x[b, i] - currents[m] * w[m, i]) / batch
    return d / max(np.abs(d).max(), precision)


@pytest.mark.parametrize("p, k, delta", [(3.0, 2, 0.4), (4.5, 3, 0.9)])
def test_khu_update_matches_a_scalar_reimplementation(p, k, delta):
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal((7, 5)), rng.uniform(0, 1, (6, 5))
    params = hb.KHUParams(lr=0.1, p=p, k=k, delta=delta)
    currents = params.drive(w, x)
    g = params.activity(currents)
    expected = _khu_scalar(w, x, p, k, delta, params.precision)
    np.testing.assert_allclose(hb.khu_dw(w, x, currents, g, params.precision), expected,
                               rtol=1e-12, atol=1e-12)
    new = params.updated_weights(w, x, currents, g, np.zeros(7), 0.1)
    np.testing.assert_allclose(new, w + 0.1 * expected, rtol=1e-12, atol=1e-12)
    assert np.sum(g == 1.0) == 6 and np.sum(g == -delta) == 6


def test_khu_winning_units_converge_to_unit_p_norm():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (2000, 12)) * (rng.uniform(0, 1, 12) > 0.3)
    params = hb.KHUParams(lr=0.05, p=3.0, k=2, delta=0.2)
    w0 = params.initial_weights(6, 12, rng)
    w, _ = _run(params, w0, x, 0.05, 20, 30, rng)
    norms = np.sum(np.abs(w) ** 3, axis=1) ** (1 / 3)
    winners = np.unique(params.activity(params.drive(w, x)).argmax(axis=1))
    np.testing.assert_allclose(norms[winners], 1.0, atol=0.05)
    assert np.all(np.abs(np.sum(np.abs(w0) ** 3, axis=1) ** (1 / 3) - 1.0) > 0.2)


def test_kernels_do_not_change_their_inputs():
    rng = np.random.default_rng(6)
    for params in (hb.OjaParams(), hb.BCMParams(), hb.KHUParams(k=3)):
        w, x, theta = rng.standard_normal((5, 4)), rng.uniform(0, 1, (3, 4)), np.ones(5)
        copies = (w.copy(), x.copy(), theta.copy())
        drive = params.drive(w, x)
        activity = params.activity(drive)
        params.updated_weights(w, x, drive, activity, theta, 0.1)
        params.threshold(theta, activity)
        for array, copy in zip((w, x, theta), copies):
            np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("rule, values, words", [
    ("oja", {"lr": 0.0}, "lr must be a finite number > 0"),
    ("bcm", {"lr": float("nan")}, "lr must be"),
    ("bcm", {"tau_theta": 0.5}, "--tau-theta must be a finite number >= 1"),
    ("khu", {"p": 1.0}, "p must be a finite number >= 2"),
    ("khu", {"k": 1}, "k must be an integer >= 2"),
    ("khu", {"k": 2.5}, "k must be an integer"),
    ("khu", {"delta": -0.1}, "--delta must be a finite number in [0, 1]"),
    ("khu", {"delta": 1.5}, "delta must be"),
    ("khu", {"precision": 0.0}, "precision must be"),
    ("hebb", {}, "rule must be one of oja, bcm, khu"),
])
def test_bad_parameters_are_one_sentence_naming_the_argument(rule, values, words):
    with pytest.raises(ValueError) as error:
        hb.rule_params(rule, **values)
    message = str(error.value)
    assert words in message and message.count(". ") == 0 and message.endswith(".")


def test_epoch_rate_is_exponential_times_krotov_hopfields_linear_fall():
    assert hb.epoch_lr(0.04, 3, 0.5) == pytest.approx(0.04 * 0.5 ** 3)
    # eps0 (1 - e / N_ep) in Krotov & Hopfield's code, here with N = 4
    assert [hb.epoch_lr(0.04, e, 1.0, 4) for e in range(4)] == pytest.approx(
        [0.04, 0.03, 0.02, 0.01])
    assert hb.epoch_lr(0.04, 1, 0.5, 4) == pytest.approx(0.04 * 0.5 * 0.75)
    with pytest.raises(ValueError, match=r"epoch must be in \[0, 4\)"):
        hb.epoch_lr(0.04, 4, 1.0, 4)  # the rate would be 0


def test_lateral_inhibition_keeps_only_units_well_above_the_layer_mean():
    w = np.eye(4)
    x = np.array([[1.0, 2.0, 3.0, 6.0]])  # h = x: mean 3, population std sqrt(3.5)
    np.testing.assert_allclose(hb.relu_features(w, x, 1.0), x)
    np.testing.assert_allclose(hb.relu_features(w, x, 1.0, 0.0), [[0.0, 0.0, 0.0, 3.0]])
    np.testing.assert_allclose(hb.relu_features(w, x, 2.0, 0.5),
                               [[0.0, 0.0, 0.0, (3.0 - 0.5 * math.sqrt(3.5)) ** 2]])


@pytest.mark.parametrize("params", [hb.OjaParams(), hb.BCMParams(), hb.KHUParams(k=3)],
                         ids=["oja", "bcm", "khu"])
def test_each_rule_applies_its_own_dw(params):
    rng = np.random.default_rng(5)
    w, x, theta = rng.standard_normal((6, 9)), rng.random((4, 9)), rng.random(6)
    drive = params.drive(w, x)
    activity = params.activity(drive)
    np.testing.assert_allclose(params.updated_weights(w, x, drive, activity, theta, 0.3),
                               w + 0.3 * params.dw(w, x, activity, theta), atol=1e-12)
    # Oja's features are its linear activity; the other rules' the rectified drive W x.
    expected = x @ w.T if params.name == "oja" else np.maximum(x @ w.T, 0.0)
    np.testing.assert_allclose(params.features(w, x, 1.0), expected)
    assert params.norm_order == (3.0 if params.name == "khu" else 2.0)
