"""The integer EP kernels (``kernels.ep_fixed``) against the float EP kernels and closed
forms: integer types only, saturation at the stated widths, unbiased stochastic rounding,
and the integer settling step equal to the float fixed-point iteration on the grid."""

import numpy as np
import pytest

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels import ep_fixed as fx

FMT = fx.FixedFormat()


def test_the_format_states_its_ranges_and_refuses_widths_loihi_lacks():
    assert FMT.rate_max == 255 and FMT.weight_range == (-128, 127)
    assert FMT.state_range == (-2 ** 23, 2 ** 23 - 1)
    with pytest.raises(ValueError, match="--weight-bits must be an integer in \\[2, 8\\]"):
        fx.FixedFormat(weight_bits=9)
    with pytest.raises(ValueError, match="--state-bits must exceed --rate-bits"):
        fx.FixedFormat(rate_bits=16, state_bits=16)


def test_stochastic_rounding_is_unbiased_and_stays_on_the_neighbouring_grid_points():
    rng = np.random.default_rng(0)
    x = np.full(200_000, 13)  # 13 / 8 = 1.625: rounds to 1 or 2, 2 with probability 5/8
    rounded = fx.stochastic_shift(x, 3, rng)
    assert rounded.dtype == np.int64 and set(np.unique(rounded)) == {1, 2}
    assert rounded.mean() == pytest.approx(1.625, abs=0.005)
    negative = fx.stochastic_shift(-x, 3, rng)  # -1.625: -2 or -1
    assert set(np.unique(negative)) == {-2, -1}
    assert negative.mean() == pytest.approx(-1.625, abs=0.005)
    np.testing.assert_array_equal(fx.stochastic_shift(np.array([16, -16]), 3, rng), [2, -2])
    with pytest.raises(ValueError, match="update shift must be >= 0"):
        fx.stochastic_shift(x, -1, rng)


def test_weights_and_states_saturate_instead_of_wrapping():
    rng = np.random.default_rng(1)
    w = fx.quantize_weights(np.array([[10.0, -10.0, 0.25]]), 8, FMT, rng)
    np.testing.assert_array_equal(w, [[127, -128, 64]])
    np.testing.assert_array_equal(fx.apply_dw(np.array([120, -120]), np.array([50, -50]), FMT),
                                  [127, -128])
    big = np.array([2 ** 23, -(2 ** 23) - 5])
    np.testing.assert_array_equal(fx.layer_step(big, np.zeros(2, np.int64), FMT),
                                  [2 ** 23 - 1, -(2 ** 23)])
    np.testing.assert_array_equal(fx.rate(np.array([-7, 100, 300]), FMT), [0, 100, 255])


def test_an_integer_step_is_the_float_fixed_point_iteration_on_the_grid():
    """With W = w / 2^q, rho = r / 256 and b in the same units, one integer step equals the
    float eps = 1 settling step to within the floor of the two shifts (2 units of 2^-8)."""
    rng = np.random.default_rng(2)
    q = 8
    w_below = rng.integers(-128, 128, size=(30, 64))
    w_above = rng.integers(-128, 128, size=(10, 30))  # the layer above's forward matrix
    r_below, r_above = rng.integers(0, 256, 64), rng.integers(0, 256, 10)
    bias = rng.integers(-40, 40, 30)
    s = fx.layer_step(fx.dense_drive(w_below, r_below, q) + fx.dense_drive(w_above.T, r_above, q),
                      bias, FMT)
    assert s.dtype == np.int64
    drive = ep.drive(w_below / 2 ** q, r_below / 256) + ep.drive(w_above.T / 2 ** q, r_above / 256)
    expected = ep.settle_step(np.zeros(30), drive, bias / 256, 1.0)  # clip(drive + b, 0, 1)
    assert np.abs(fx.rate(s, FMT) / 256 - expected).max() <= 2 / 256 + 1e-12


def test_nudging_moves_the_output_towards_the_target_by_beta_of_the_gap():
    s, r_prev = np.array([100, 100]), np.array([100, 100])
    target = np.array([255, 0])
    plus = fx.nudge(s, r_prev, target, 1, +1, FMT)   # beta = 1/2
    minus = fx.nudge(s, r_prev, target, 1, -1, FMT)
    np.testing.assert_array_equal(plus, [100 + 77, 100 - 50])    # (155 >> 1), (-100 >> 1)
    np.testing.assert_array_equal(minus, [100 - 77, 100 + 50])


def test_the_contrastive_update_has_the_sign_and_mean_of_the_float_rule():
    """E[dw] 2^-q = lr / (2 beta) (rho+ rho+^T - rho- rho-^T), the float symmetric EP update,
    for lr = 2^-l, beta = 2^-k."""
    rng = np.random.default_rng(3)
    post_p, pre_p = rng.integers(0, 256, 5), rng.integers(0, 256, 7)
    post_m, pre_m = rng.integers(0, 256, 5), rng.integers(0, 256, 7)
    l, k, q = 3, 1, 8
    n = fx.update_shift(FMT, l, k, q)
    mean = np.mean([fx.contrastive_dw(post_p, pre_p, post_m, pre_m, n, rng)
                    for _ in range(4000)], axis=0) / 2 ** q
    float_dw = ep.contrastive_dw(post_m[None] / 256, pre_m[None] / 256, post_p[None] / 256,
                                 pre_p[None] / 256, ep.contrast_scale(2.0 ** -k, True))
    np.testing.assert_allclose(mean, 2.0 ** -l * float_dw, atol=3e-4)


def test_shared_rounding_uses_one_draw_for_all_elements_and_stays_unbiased():
    rng = np.random.default_rng(5)
    x = np.arange(0, 64)  # fractions 0/8 .. 7/8 of eight grid points
    draws = np.array([fx.stochastic_shift(x, 3, rng, shared=True) for _ in range(20000)])
    # One draw: where a small fraction rounds up, every larger fraction of the row does too.
    fractions = x % 8
    for row in draws[:50]:
        up = row - x // 8
        assert np.all(np.diff(up[np.argsort(fractions, kind="stable")][::8]) >= 0)
    np.testing.assert_allclose(draws.mean(axis=0), x / 8, atol=0.01)


def test_the_ep_rule_on_the_learning_engine_is_the_engine_twins_update_bit_for_bit():
    """``EP_RULE`` run through ``kernels.learning_engine`` (bit-exact with Lava's LearningDense,
    tests/test_learning_engine.py) for the two learning epochs of a period equals
    ``engine_contrastive_update``, over random weights, rates and the engine's draws."""
    from dynaxx_neuro.kernels import learning_engine as le
    c = fx.third_factor(FMT, 7, 1, 8)
    assert c == 32
    params = le.EngineParams(dw=fx.EP_RULE, t_epoch=1, rng_seed=1,
                             x1=le.Trace(0.0, 65535.0), three_factor=True,
                             graded=le.GradedSpikeCfg.OVERWRITE, num_message_bits=8)
    rng = np.random.default_rng(6)
    changed = 0
    for _ in range(20):
        w = fx.LAVA_WEIGHT_FACTOR * rng.integers(-128, 128, size=(6, 9))
        pre_p, pre_m = rng.integers(0, 256, 9), rng.integers(0, 256, 9)
        post_p, post_m = rng.integers(0, 256, 6), rng.integers(0, 256, 6)
        pre_m[:2] = 0  # silent pre units: x0 = 0 blocks their stale x1
        randoms = le.Randoms.for_run(1, 3, 1)
        state = le.replace(le.SynapseState.initial(w), time_step=1)  # weights already even
        zeros, ones = np.zeros(6, int), np.full(6, c)
        state, _ = le.step(state, params, randoms, pre_p, None, (post_p >> 1, ones, zeros))
        state, _ = le.step(state, params, randoms, pre_m, None, (post_m >> 1, zeros, ones))
        ours = fx.engine_contrastive_update(w, post_p, pre_p, post_m, pre_m, c,
                                            (randoms.conn[2], randoms.conn[3]))
        np.testing.assert_array_equal(ours, state.weights)
        changed += int((ours != w).any())
    assert changed == 20


def test_a_learning_rate_the_y_trace_cannot_carry_is_refused_with_the_range():
    with pytest.raises(ValueError, match="outside the 7-bit y trace"):
        fx.third_factor(FMT, 0, 1, 8)  # lr = 1 would need 2^12
