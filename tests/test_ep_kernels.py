"""EP kernels against closed forms, independent re-implementations and the EP theorem."""

import re

import numpy as np
import pytest

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.ep_numpy import settle_period
from dynaxx_neuro.rules.ep import EPConfig, EPParameters


def _config(sizes, **kwargs) -> EPConfig:
    """The EP network of ``sizes`` = (n_inputs, hidden..., n_classes)."""
    return EPConfig(hidden=tuple(sizes[1:-1]), n_inputs=sizes[0], n_classes=sizes[-1],
                    **kwargs)


def _network(sizes, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    params = EPParameters.initial(_config(sizes), rng)
    params.weights = [scale * w for w in params.weights]
    params.biases = [rng.normal(0, 0.2, size=b.shape) for b in params.biases]
    x = rng.uniform(0, 1, size=(5, sizes[0]))
    target = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=5)]
    return params, x, target


def _total_energy(params, x, target, states, beta):
    return (ep.network_energy(states, x, params.weights, params.biases)
            + beta * ep.cost(states[-1], target))


def _lipschitz(params, sizes, beta):
    """Largest eigenvalue of the Hessian of F inside the box: I - A + beta on the output."""
    n = sum(sizes[1:])
    offsets = np.cumsum((0,) + sizes[1:])
    hessian = np.eye(n)
    for l in range(1, len(params.weights)):
        w = params.weights[l]  # (n_l, n_{l-1}) couples state blocks l and l-1
        rows, cols = slice(offsets[l], offsets[l + 1]), slice(offsets[l - 1], offsets[l])
        hessian[rows, cols] -= w
        hessian[cols, rows] -= w.T
    hessian[offsets[-2]:, offsets[-2]:] += beta * np.eye(sizes[-1])
    return np.abs(np.linalg.eigvalsh(hessian)).max()


@pytest.mark.parametrize("symmetric", [True, False])
def test_total_energy_never_increases_with_a_stable_step(symmetric):
    # Inside [0, 1] F is quadratic, so projected gradient descent with eps <= 1/L (L the
    # Hessian's largest |eigenvalue|) cannot increase it. Tolerance 1e-12: round-off only.
    sizes = (6, 9, 7, 4)
    params, x, target = _network(sizes, seed=1, scale=3.0)
    beta = 0.8
    eps = min(1.0, 1.0 / _lipschitz(params, sizes, beta))
    config = _config(sizes, schedule=ep.EPSchedule(30, 10, symmetric),
                     dynamics=ep.EPDynamics(beta, eps), learning=ep.EPLearning(lrs=(0.1,) * 3))
    trace = settle_period(params, x, target, beta, config, record=True)
    schedule = config.schedule
    free = trace.total[: schedule.free_end + 1]
    assert np.all(np.diff(free, axis=0) <= 1e-12)
    nudged = trace.total[schedule.free_end + 1: schedule.nudged_end + 1]
    assert np.all(np.diff(nudged, axis=0) <= 1e-12)
    assert free[-1].max() < free[1].max()  # it did move


def test_settle_step_is_a_projected_gradient_step_on_f():
    sizes = (4, 5, 3)
    params, x, target = _network(sizes, seed=2)
    rng = np.random.default_rng(3)
    states = [rng.uniform(0.1, 0.9, size=(5, n)) for n in sizes[1:]]
    beta, eps, h = 0.7, 0.3, 1e-6
    drives = [ep.drive(params.weights[0], x) + ep.drive(params.weights[1].T, states[1]),
              ep.drive(params.weights[1], states[0])]
    for l, state in enumerate(states):
        grad = np.zeros_like(state)
        for idx in np.ndindex(state.shape):
            plus = [s.copy() for s in states]
            minus = [s.copy() for s in states]
            plus[l][idx] += h
            minus[l][idx] -= h
            diff = (_total_energy(params, x, target, plus, beta)
                    - _total_energy(params, x, target, minus, beta))
            grad[idx] = diff[idx[0]] / (2 * h)
        beta_l = beta if l == len(states) - 1 else 0.0
        stepped = ep.settle_step(state, drives[l], params.biases[l], eps, beta_l, target)
        np.testing.assert_allclose(stepped, np.clip(state - eps * grad, 0, 1), atol=1e-8)


def test_contrastive_update_matches_a_scalar_loop():
    rng = np.random.default_rng(4)
    post_a, post_b = rng.uniform(size=(3, 4)), rng.uniform(size=(3, 4))
    pre_a, pre_b = rng.uniform(size=(3, 6)), rng.uniform(size=(3, 6))
    scale = 0.37
    expected = np.zeros((4, 6))
    for b in range(3):
        for i in range(4):
            for j in range(6):
                expected[i, j] += (post_b[b, i] * pre_b[b, j] - post_a[b, i] * pre_a[b, j]) / 3
    np.testing.assert_allclose(ep.contrastive_dw(post_a, pre_a, post_b, pre_b, scale),
                               expected / scale, rtol=1e-12)
    np.testing.assert_allclose(ep.contrastive_db(post_a, post_b, scale),
                               (post_b - post_a).mean(axis=0) / scale, rtol=1e-12)


def test_symmetric_ep_update_approximates_the_loss_gradient():
    # Scellier & Bengio's theorem: as beta -> 0 the EP update tends to -dC(s*)/dW at the free
    # equilibrium s*. Symmetric nudging removes the O(beta) bias; with beta = 1e-3 the two
    # agree to 1e-3 relative, the finite-difference gradient being the reference.
    sizes = (5, 6, 3)
    params, x, target = _network(sizes, seed=10, scale=0.5)
    params.biases = [b + 0.4 for b in params.biases]  # outputs inside (0, 1): seed chosen so
    x, target = x[:1], target[:1]
    config = _config(sizes, schedule=ep.EPSchedule(400, 400, True),
                     dynamics=ep.EPDynamics(1e-3, 0.5), learning=ep.EPLearning(lrs=(1.0, 1.0)))
    schedule = config.schedule
    rates = settle_period(params, x, target, 1e-3, config).phases.rates
    free, nudged, nudged_neg = (rates[k] for k in (schedule.free_end, schedule.nudged_end,
                                                   schedule.period - 1))
    assert np.all((free[-1] > 0) & (free[-1] < 1))
    ep_dw = ep.contrastive_dw(nudged_neg[1], nudged_neg[0], nudged[1], nudged[0],
                              ep.contrast_scale(1e-3, True))

    def loss(weights):
        changed = EPParameters(weights, params.biases, params.weight_velocities,
                               params.bias_velocities)
        out = settle_period(changed, x, target, 1e-3, config).phases.rates[schedule.free_end][-1]
        return ep.cost(out, target)[0]

    h = 1e-5
    numeric = np.zeros_like(params.weights[1])
    for idx in np.ndindex(numeric.shape):
        plus, minus = params.weights[1].copy(), params.weights[1].copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (loss([params.weights[0], plus]) - loss([params.weights[0], minus])) / (2 * h)
    assert np.abs(numeric).max() > 1e-3  # the check is not vacuous
    np.testing.assert_allclose(ep_dw, -numeric, atol=1e-3 * np.abs(numeric).max())


def test_schedule_periods_and_phase_betas():
    one_sided = ep.EPSchedule(3, 2, symmetric=False)
    assert one_sided.period == 6
    assert [one_sided.phase(k) for k in range(6)] == [ep.RESET, ep.FREE, ep.FREE, ep.FREE,
                                                      ep.NUDGED, ep.NUDGED]
    symmetric = ep.EPSchedule(3, 2, symmetric=True)
    assert symmetric.period == 9
    assert [symmetric.phase_beta(k, 0.5) for k in range(9)] == [0, 0, 0, 0, 0.5, 0.5, -0.5,
                                                                -0.5, -0.5]
    assert [symmetric.phase_step(k) for k in range(9)] == [0, 1, 2, 3, 1, 2, 0, 1, 2]


def test_momentum_and_schedules():
    w, v = np.ones(2), np.full(2, 2.0)
    new_w, new_v = ep.momentum_step(w, v, np.full(2, 1.0), lr=0.5, momentum=0.9)
    np.testing.assert_allclose(new_v, 2.8)
    np.testing.assert_allclose(new_w, 1 + 0.5 * 2.8)
    assert w[0] == 1.0  # inputs untouched
    assert ep.epoch_beta(1.0, 0, 3) == 0.25 and ep.epoch_beta(1.0, 5, 3) == 1.0
    assert ep.epoch_lr(0.1, 2, 0.5) == pytest.approx(0.025)
    signs = ep.batch_betas(1000, 0.5, 0, ep.EPLearning(random_sign=True),
                           np.random.default_rng(0))
    assert set(np.unique(signs)) == {-0.5, 0.5}


def test_defaults_are_the_command_line_defaults():
    config = EPConfig(hidden=(5, 5))
    assert config.schedule == ep.EPSchedule(t_free=12, t_nudge=4, symmetric=True)
    assert config.dynamics == ep.EPDynamics(beta=0.5, eps=1.0)
    assert config.learning.lr_decay == 0.9 and config.learning.lrs is None
    assert config.lrs == (0.2, 0.1, 0.05)  # 0.2 halved per weight layer
    assert EPConfig(hidden=(5,), learning=ep.EPLearning(lrs=(0.3, 0.4))).lrs == (0.3, 0.4)
    assert _config((4, 3, 2)).sizes == (4, 3, 2) and _config((4, 3, 2)).n_weight_layers == 2


@pytest.mark.parametrize("make, message", [
    (lambda: ep.EPDynamics(beta=0.0), "--beta must be a finite number > 0, got 0.0."),
    (lambda: ep.EPDynamics(beta=-1.0), "--beta must be a finite number > 0, got -1.0."),
    (lambda: ep.EPDynamics(eps=0.0), "--eps must be a finite number in (0, 1], got 0.0."),
    (lambda: ep.EPDynamics(eps=1.5), "--eps must be a finite number in (0, 1], got 1.5."),
    (lambda: ep.EPSchedule(t_free=0), "--t-free must be an integer >= 1, got 0."),
    (lambda: ep.EPSchedule(t_free=True), "--t-free must be an integer >= 1, got True."),
    (lambda: ep.EPSchedule(t_nudge=2.0), "--t-nudge must be an integer >= 1, got 2.0."),
    (lambda: ep.EPLearning(lrs=(-0.1,)), "--lrs must be a comma-separated list of 1 or more "
     "item*, each a finite number >= 0 (or unset), got '-0.1'."),
    (lambda: ep.EPLearning(momentum=1.0), "--momentum must be a finite number in [0, 1), "
     "got 1.0."),
    (lambda: ep.EPLearning(lr_decay=0.0), "--lr-decay must be a finite number in (0, 1], "
     "got 0.0."),
    (lambda: ep.EPLearning(beta_warmup_epochs=-1), "--beta-warmup must be an integer >= 0, "
     "got -1."),
    (lambda: EPConfig(hidden=(0,)), "--hidden must be a comma-separated list of 1 or more "
     "item*, each an integer >= 1, got '0'."),
    (lambda: EPConfig(hidden=(4, 3), learning=ep.EPLearning(lrs=(0.1,))),
     "--lrs must hold 3 rates (one per weight layer), got 1."),
    (lambda: EPConfig(batch_size=0), "--batch-size must be an integer >= 1, got 0."),
    (lambda: EPConfig(log_batches=-1), "--log-batches must be an integer >= 0, got -1."),
])
def test_bad_parameters_are_one_sentence_naming_the_option(make, message):
    # One sentence naming the CLI option; "item*" stands for "item" or "items".
    pattern = re.escape(message).replace("item\\*", "items?")
    with pytest.raises(ValueError) as error:
        make()
    assert re.fullmatch(pattern, str(error.value)), str(error.value)
