"""LIF kernels: against independent scalar re-implementations, closed forms, an ODE solver,
the float <-> fixed conversion, and Lava's own LIF."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dynaxx_neuro.kernels import neurons as lif


def _scalar_float(a_in, du, dv, vth, bias):
    """Lava's float LIF written out one neuron and one step at a time."""
    out = []
    for column in np.asarray(a_in).T:
        u = v = 0.0
        trace = []
        for a in column:
            u = u * (1 - du) + a
            v = v * (1 - dv) + u + bias
            spiked = v > vth
            if spiked:
                v = 0.0
            trace.append((u, v, spiked))
        out.append(trace)
    return np.array(out).transpose(1, 0, 2)  # (T, n, 3)


def _shift12(x):
    """Magnitude right shift by 12 bits with the sign kept, in Python integers."""
    return -((-x) >> 12) if x < 0 else x >> 12


def _scalar_fixed(a_in, du, dv, vth, bias_mant, bias_exp):
    """Lava's PyLifModelBitAcc written out with Python integers (unbounded, so the 24-bit
    wrap and clip below are the only bounds)."""
    out = []
    for column in np.asarray(a_in).T:
        u = v = 0
        trace = []
        for a in column:
            c = _shift12(u * (4096 - (du + 1))) + (int(a) << 6)
            u = c - 2 ** 24 if c > 2 ** 23 else c + 2 ** 24 if c <= -2 ** 23 else c
            v = _shift12(v * (4096 - dv)) + u + (bias_mant << bias_exp)
            v = min(max(v, -2 ** 23 + 1), 2 ** 23 - 1)
            spiked = v > (vth << 6)
            if spiked:
                v = 0
            trace.append((u, v, int(spiked)))
        out.append(trace)
    return np.array(out, dtype=np.int64).transpose(1, 0, 2)


def test_float_kernel_matches_a_scalar_reimplementation():
    # Large, asymmetric decays and a negative bias so that a swapped du/dv or a wrong
    # order of updates shows.
    rng = np.random.default_rng(0)
    a_in = rng.normal(0.3, 1.0, size=(60, 3))
    params = lif.LIFFloat(du=0.7, dv=0.15, vth=0.9, bias=-0.05)
    trace = lif.lif_float_run(a_in, params)
    expected = _scalar_float(a_in, 0.7, 0.15, 0.9, -0.05)
    np.testing.assert_allclose(trace.u, expected[..., 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.v, expected[..., 1], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(trace.s, expected[..., 2].astype(bool))
    assert 0 < trace.s.sum() < trace.s.size


def test_fixed_kernel_matches_a_scalar_reimplementation_including_wrap_and_clip():
    rng = np.random.default_rng(1)
    a_in = rng.integers(-600, 600, size=(80, 3))
    a_in[5:40, 2] = 30000  # drives u past 2^23: it must wrap
    params = lif.LIFFixed(du=5, dv=1000, vth=4000, bias_mant=-1500, bias_exp=3)
    trace = lif.lif_fixed_run(a_in, params)
    expected = _scalar_fixed(a_in, 5, 1000, 4000, -1500, 3)
    np.testing.assert_array_equal(trace.u, expected[..., 0])
    np.testing.assert_array_equal(trace.v, expected[..., 1])
    np.testing.assert_array_equal(trace.s, expected[..., 2].astype(bool))
    assert np.abs(trace.u).max() <= 2 ** 23 and np.diff(np.sign(trace.u[:, 2])).any()


def test_fixed_kernel_keeps_lavas_asymmetric_wrap_bounds():
    # Lava wraps u only above 2^23 and at or below -2^23: exactly 2^23 stays.
    params = lif.LIFFixed(du=4095, dv=0, vth=lif.VTH_MAX, bias_mant=0, bias_exp=0)
    up = lif.lif_fixed_run(np.array([[2 ** 17]]), params)        # 2^17 << 6 = 2^23
    down = lif.lif_fixed_run(np.array([[-(2 ** 17)]]), params)   # -2^23 wraps to +2^23
    assert up.u[0, 0] == 2 ** 23 and down.u[0, 0] == 2 ** 23


def test_kernels_do_not_modify_their_inputs():
    a_in = np.ones((5, 2))
    u0, v0 = np.array([0.5, -0.5]), np.array([0.1, 0.2])
    copies = a_in.copy(), u0.copy(), v0.copy()
    lif.lif_float_run(a_in, lif.LIFFloat(), u0, v0)
    lif.lif_float_step(u0, v0, a_in[0], lif.LIFFloat(vth=0.0))
    for original, copy in zip((a_in, u0, v0), copies):
        np.testing.assert_array_equal(original, copy)


def test_dense_delayed_adds_one_step_of_delay():
    weights = np.array([[1.0, 2.0], [-1.0, 0.5]])
    spikes = np.array([[1, 0], [0, 1], [1, 1]])
    a_in = lif.dense_delayed(weights, spikes)
    np.testing.assert_allclose(a_in, [[0, 0], [1, -1], [2, 0.5]])
    assert lif.dense_delayed(weights.astype(int), spikes).dtype == np.int64


def test_fixed_point_map_converts_in_both_directions():
    scale = lif.FixedPointMap(weight_scale=256.0)
    params = lif.LIFFloat(du=410 / 4096, dv=205 / 4096, vth=1.5, bias=0.03)
    fixed = scale.to_fixed(params)
    assert (fixed.du, fixed.dv, fixed.vth) == (409, 205, 384)  # du carries Lava's offset 1
    assert fixed.effective_bias == round(0.03 * 256 * 64)
    back = scale.to_float(fixed)
    assert (back.du, back.dv, back.vth) == (params.du, params.dv, params.vth)
    assert abs(back.bias - params.bias) <= 0.5 / scale.state_scale
    # A bias too large for 13 bits takes an exponent.
    big = scale.to_fixed(lif.LIFFloat(bias=2.0))
    assert big.bias_exp > 0 and abs(big.effective_bias - 2.0 * 256 * 64) <= 2 ** big.bias_exp


def test_fixed_point_follows_float_within_the_truncation_bound():
    # With weights and decays exactly representable, the only difference is the truncation
    # of the two decay products: at most 1 LSB per step each, which decays geometrically,
    # so |u| error <= 1/du LSB and |v| error <= (1/du + 1)/dv LSB (no spikes: vth far away).
    scale = lif.FixedPointMap(weight_scale=128.0)
    params = lif.LIFFloat(du=1024 / 4096, dv=512 / 4096, vth=1e3, bias=0.01)
    rng = np.random.default_rng(2)
    weights = rng.integers(-100, 100, size=(3, 6)) / scale.weight_scale
    spikes = (rng.random((200, 6)) < 0.3).astype(int)
    float_trace = lif.lif_float_run(lif.dense_delayed(weights, spikes), params)
    fixed_trace = lif.lif_fixed_run(
        lif.dense_delayed(scale.weights_to_fixed(weights), spikes), scale.to_fixed(params))
    lsb = 1 / scale.state_scale
    bias_error = abs(scale.to_float(scale.to_fixed(params)).bias - params.bias) / params.dv
    bound = ((1 / params.du + 1) / params.dv) * lsb + bias_error
    error = np.abs(scale.state_to_float(fixed_trace.v) - float_trace.v).max()
    assert 0 < error <= bound
    assert np.abs(scale.state_to_float(fixed_trace.u) - float_trace.u).max() <= lsb / params.du


def test_exact_solution_matches_an_ode_solver_between_and_across_input_spikes():
    model = lif.LIFContinuous(tau_u_ms=4.0, tau_v_ms=9.0, vth=math.inf, bias=0.2)
    weights = np.array([[0.8, -0.3]])
    times, sources = np.array([2.0, 5.0, 5.0, 11.0]), np.array([0, 1, 0, 1])
    t_eval = np.linspace(0, 20, 81)
    v, fired = lif.lif_exact(t_eval, times, sources, weights, model)
    assert fired[0].size == 0

    def rhs(_, y):
        return [-y[0] / 4.0, (-y[1] + y[0] + 0.2) / 9.0]

    jumps = {2.0: 0.8, 5.0: 0.8 - 0.3, 11.0: -0.3}
    state, expected = np.zeros(2), np.zeros_like(t_eval)
    edges = [0.0, 2.0, 5.0, 11.0, 20.0]
    for start, end in zip(edges, edges[1:]):
        sol = solve_ivp(rhs, (start, end), state, dense_output=True, rtol=1e-12, atol=1e-14)
        inside = (t_eval >= start) & (t_eval < end)
        expected[inside] = sol.sol(t_eval[inside])[1]
        state = sol.y[:, -1].copy()
        state[0] += jumps.get(end, 0.0)
    expected[-1] = state[1]
    np.testing.assert_allclose(v[:, 0], expected, rtol=0, atol=1e-9)


def test_exact_solution_fires_at_the_closed_form_times():
    # Constant bias b above vth, no input: v = b (1 - exp(-t / tau_v)) reaches vth after
    # T = -tau_v ln(1 - vth / b), then resets, so spikes come every T.
    model = lif.LIFContinuous(tau_u_ms=3.0, tau_v_ms=10.0, vth=0.6, bias=1.0)
    period = -10.0 * math.log(1 - 0.6)
    _, fired = lif.lif_exact(np.array([50.0]), np.array([]), np.array([], dtype=int),
                             np.zeros((1, 1)), model)
    np.testing.assert_allclose(fired[0], period * np.arange(1, fired[0].size + 1), atol=1e-9)
    assert fired[0].size == int(50.0 // period)


def test_equal_time_constants_use_their_own_closed_form():
    model = lif.LIFContinuous(tau_u_ms=5.0, tau_v_ms=5.0, vth=math.inf, bias=0.0)
    v, _ = lif.lif_exact(np.array([3.0]), np.array([0.0]), np.array([0]), np.ones((1, 1)), model)
    assert v[0, 0] == pytest.approx((3.0 / 5.0) * math.exp(-3.0 / 5.0), abs=1e-12)


def test_discretise_converts_time_constants_in_one_place():
    step = lif.discretise(lif.LIFContinuous(tau_u_ms=5.0, tau_v_ms=10.0, bias=0.4), 0.5)
    assert (step.params.du, step.params.dv) == (0.1, 0.05)
    assert step.input_gain == 0.05 and step.params.bias == pytest.approx(0.02)


@pytest.mark.parametrize("make, words", [
    (lambda: lif.LIFFloat(du=1.5), "du must be a number in [0, 1]"),
    (lambda: lif.LIFFloat(vth=float("nan")), "vth must be a number"),
    (lambda: lif.LIFFixed(dv=5000), "dv must be an integer in [0, 4095]"),
    (lambda: lif.LIFFixed(bias_exp=8), "bias_exp must be an integer in [0, 7]"),
    (lambda: lif.FixedPointMap(weight_scale=0), "weight_scale must be"),
    (lambda: lif.FixedPointMap().to_fixed(lif.LIFFloat(du=0.0)), "du must be in"),
    (lambda: lif.LIFContinuous(tau_v_ms=-1.0), "tau_v_ms must be"),
    (lambda: lif.discretise(lif.LIFContinuous(), 0.0), "dt_ms must be a finite number > 0"),
    (lambda: lif.discretise(lif.LIFContinuous(), 50.0), "dt_ms must not exceed"),
    (lambda: lif.lif_float_run(np.ones(4), lif.LIFFloat()), "a_in must be a (T, n) array"),
    (lambda: lif.lif_float_run(np.ones((4, 2)), lif.LIFFloat(), u0=np.ones(3)), "u0 must be"),
    (lambda: lif.lif_fixed_run(np.full((2, 2), 0.5), lif.LIFFixed()), "a_in must hold integers"),
    (lambda: lif.dense_delayed(np.ones((2, 3)), np.ones((4, 2))), "spikes must be (T, 3)"),
    (lambda: lif.lif_exact(np.array([1.0]), np.array([1.0]), np.array([3]), np.ones((1, 2)),
                           lif.LIFContinuous()), "spike_sources must index"),
])
def test_bad_input_is_one_sentence_naming_the_argument(make, words):
    with pytest.raises(ValueError) as error:
        make()
    assert words in str(error.value)
    assert str(error.value).count(". ") == 0  # one sentence


@pytest.mark.lava
@pytest.mark.parametrize("fixed", [False, True])
def test_kernels_equal_lavas_own_lif_through_dense(fixed):
    from dynaxx_neuro.crosscheck.checks import fixed_inputs, lif_inputs
    from dynaxx_neuro.crosscheck.lava_runs import lava_lif
    weights, spikes, params = (fixed_inputs if fixed else lif_inputs)(seed=3, n_steps=60)
    lava = lava_lif(weights, spikes, params)
    run = lif.lif_fixed_run if fixed else lif.lif_float_run
    ours = run(lif.dense_delayed(weights, spikes), params)
    np.testing.assert_array_equal(ours.s, lava.s)
    np.testing.assert_allclose(ours.v, lava.v, rtol=0, atol=0 if fixed else 1e-12)
    np.testing.assert_allclose(ours.u, lava.u, rtol=0, atol=0 if fixed else 1e-12)
    assert lava.s.any()
