"""The Hebbian rule's Loihi graph (``rules/hebbian_loihi.py``): the integer neuron programs
against numbers worked by hand, saturation at the stated widths, the learning rule and its
scale, one period of the engine against Oja's update, the ``numpy-fixed`` twin against
``lava-fixed`` over two epochs (both weight matrices and the activity counts) bit for bit,
the float graph against per-sample Oja, and bad input."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.kernels import hebbian_fixed as hf
from dynaxx_neuro.kernels import learning_engine as le
from dynaxx_neuro.registry import bind_data, graphs
from dynaxx_neuro.rules.hebbian_loihi import (ErrorState, HebbianLoihiConfig,
                                              HebbianLoihiParameters, HiddenState,
                                              error_step, hidden_step)

SPEC = next(spec for spec in graphs("hebbian") if spec.graph == "loihi")


def test_the_hidden_activity_shifts_and_saturates_at_the_payload_width():
    # (1000 >> 2, -9 >> 2, 5000 >> 2 saturated, -5000 >> 2 saturated): >> floors.
    np.testing.assert_array_equal(hf.hidden_activity(np.array([1000, -9, 5000, -5000]), 2, 24),
                                  [250, -3, 255, -255])
    # A 12-bit state saturates the drive at 2047 before the shift: 2047 >> 2 = 511 -> 255;
    # -2048 >> 4 = -128.
    np.testing.assert_array_equal(hf.hidden_activity(np.array([9000, -9000]), 4, 12),
                                  [127, -128])
    assert hf.state_range(24) == (-2 ** 23, 2 ** 23 - 1)


def test_the_error_is_the_input_minus_the_reconstruction_saturated():
    x = np.array([200, 0, 10, 255])
    r_plus, r_minus = np.array([50, 300, 0, 0]), np.array([0, 0, 40, 600])
    # 200 - 50, 0 - 300 -> -255, 10 - (-40), 255 - (-600) -> 255
    np.testing.assert_array_equal(hf.error(x, r_plus, r_minus, 24), [150, -255, 50, 255])


def test_each_learning_step_sends_one_part_and_gates_it_by_the_products_sign():
    v = np.array([7, -4, 0])
    expected = {  # step: (error payload, hidden payload, y2 or y3 carries the gate)
        3: ([7, 0, 0], [7, 0, 0], 2), 4: ([7, 0, 0], [0, 4, 0], 3),
        5: ([0, 4, 0], [7, 0, 0], 3), 6: ([0, 4, 0], [0, 4, 0], 2)}
    for k, (error_part, hidden_part, gated) in expected.items():
        np.testing.assert_array_equal(hf.payload(k, v, hf.ERROR), error_part)
        np.testing.assert_array_equal(hf.payload(k, v, hf.HIDDEN), hidden_part)
        y1, y2, y3 = hf.post_factors(k, v, hf.HIDDEN, 16)
        np.testing.assert_array_equal(y1, fx.half_rate(np.array(hidden_part)))  # 7 -> 4, 4 -> 2
        gate = np.where(np.array(hidden_part) > 0, 16, 0)
        np.testing.assert_array_equal(y2 if gated == 2 else y3, gate)
        assert not (y3 if gated == 2 else y2).any()
    assert not any(f.any() for f in hf.post_factors(3, v, hf.HIDDEN, 0))


def test_bcm_factors_and_threshold_by_hand():
    # y = 40: y^2 >> (8 - 2) = 25, theta 10 + (25 - 10) >> 2 = 13; y = 0: 100 - 100 >> 2 = 75.
    np.testing.assert_array_equal(
        hf.bcm_threshold(np.array([10, 100]), np.array([40, 0]), 2, 2, 24), [13, 75])
    # round(y / 2) half to even: 40 -> 20, 3 -> 2; theta 13 -> 6, 300 -> capped at 127.
    y1, y2, y3 = hf.bcm_post_factors(np.array([40, 3]), np.array([13, 300]), 1)
    np.testing.assert_array_equal(y1, [20, 2])
    np.testing.assert_array_equal(y2, [20, 2])
    np.testing.assert_array_equal(y3, [6, 127])
    assert not any(f.any() for f in hf.bcm_post_factors(np.array([40]), np.array([3]), 0))
    assert hf.bcm_learning_scale(9, 9, 2) == fx.LearningScale(1, 0)   # s = 9 + 4 - 4 - 9
    with pytest.raises(ValueError, match="--lr-shift 10 with --weight-exp 9 and "
                                         "--activity-shift 2 asks BCM's rule for the "
                                         "constant 2\\^-8"):
        HebbianLoihiConfig(rule="bcm", lr_shift=10)


def test_the_learning_scale_and_rule_and_out_of_range_rates_are_refused():
    scale = hf.learning_scale(9, 9, 2)          # j = 9 + 2 + 3 - 9 = 5
    assert (scale.third_factor, scale.rule_shift) == (32, 0)
    assert hf.rule(scale) == "2^-7 * x0 * x1 * y1 * y2 - 2^-7 * x0 * x1 * y1 * y3"
    assert hf.learning_scale(4, 9, 2) == fx.LearningScale(64, 4)   # j = 10
    with pytest.raises(ValueError, match="--lr-shift 15 with --weight-exp 9 and "
                                         "--activity-shift 2 .* 2\\^-1"):
        HebbianLoihiConfig(lr_shift=15)
    with pytest.raises(ValueError, match="--activity-shift must be at most --weight-exp "
                                         "\\(3\\), got 4."):
        HebbianLoihiConfig(weight_exp=3, activity_shift=4, lr_shift=2)
    with pytest.raises(ValueError, match="--state-bits must be an integer in \\[10, 24\\]"):
        HebbianLoihiConfig(state_bits=32)
    # The float graph's c makes the float engine's 2^-7 (e / 2) |y| c the rate 2^-9.
    config = HebbianLoihiConfig()
    assert 2 ** -7 * 0.5 * config.float_third_factor == pytest.approx(2 ** -9)


def test_one_bcm_period_of_the_engine_is_the_bcm_update_to_within_its_rounding():
    """BCM's two steps (x, then y with the factors (y, y, theta)) against
    ``kernels.hebbian.bcm_dw`` on the float image of the same numbers (x / 255,
    y 2^q / 255, theta 2^q / 255): within one weight step (one product per synapse, one
    stochastic rounding) of an update that reaches ~10 steps; theta moves by
    (y^2 >> 6 - theta) >> k."""
    config = HebbianLoihiConfig(rule="bcm", hidden=4, n_inputs=10, lr_shift=5,
                                theta_shift=1)
    rng = np.random.default_rng(6)
    w = fx.quantize_weights(rng.uniform(0, 0.3, (4, 10)), 9, fx.FixedFormat(), rng)
    x = rng.integers(0, 256, 10)
    theta = np.array([0, 40, 200, 10])
    state = HiddenState(np.zeros(4, np.int64), theta.copy())
    engine = le.EngineParams(dw=hf.rule(config.scale), x1=le.Trace(0.0, 65535),
                             three_factor=True, graded=le.GradedSpikeCfg.OVERWRITE)
    hidden_step(config, 0, state, np.zeros(4, np.int64), 1)
    drive = fx.dense_drive(w, x, 9)
    _, *factors = hidden_step(config, 1, state, drive, 1)
    new_w = le.three_factor_epoch(w, engine, x, factors, np.zeros(4, bool), 0.9, 0.9, 0.5)
    y = state.y
    np.testing.assert_array_equal(y, np.maximum(drive >> 2, 0))
    np.testing.assert_array_equal(state.theta, theta + (((y * y) >> 6) - theta) // 2)
    scale = 4 / 255
    dw = 2 ** -5 * hb.bcm_dw(x[None] / 255, (y * scale)[None], theta * scale) * 512
    assert np.abs(dw).max() > 8
    assert np.abs(new_w - w - dw).max() <= 1.0 + 0.05


def _period(config, w, wt, x, fixed=True):
    """One sample's period of the graph in plain Python (neuron programs and, for the
    fixed point, the engine's learning epochs with fixed draws), independent of the twin's
    loop: returns the weights after it and the activity y."""
    c = config.scale.third_factor if fixed else config.float_third_factor
    n, n_in = w.shape
    zeros = (np.zeros(n, np.int64), np.zeros(n_in, np.int64)) if fixed else (
        np.zeros(n), np.zeros(n_in))
    hidden = HiddenState(zeros[0].copy(), zeros[0].copy())
    error = ErrorState(*(zeros[1].copy() for _ in range(3)))
    engine = le.EngineParams(dw=hf.rule(config.scale), x1=le.Trace(0.0, 65535),
                             three_factor=True, graded=le.GradedSpikeCfg.OVERWRITE)
    f_drive, b_drive = zeros[0].copy(), zeros[1].copy()
    for k in range(hf.PERIOD):
        sent = x if k == 0 else np.zeros_like(x)
        h_out, *hy = hidden_step(config, k, hidden, f_drive, c, fixed)
        e_out, *ey = error_step(config, k, error, sent, b_drive, c, fixed)
        pre = sent + e_out
        if fixed:
            f_drive = fx.dense_drive(w, pre, config.weight_exp)
            b_drive = fx.dense_drive(wt, h_out, config.weight_exp - config.activity_shift)
        else:
            f_drive, b_drive = pre @ w.T, h_out @ wt.T
        if k in hf.LEARNING_STEPS:
            if fixed:
                w = le.three_factor_epoch(w, engine, pre, hy, np.zeros(n, bool), 0.9, 0.9, 0.5)
                wt = le.three_factor_epoch(wt, engine, h_out, ey, np.zeros(n_in, bool),
                                           0.9, 0.9, 0.5)
            else:   # the float engine: 2^-7 (pre / 2) y1 (y2 - y3)
                w = w + 2 ** -7 * np.outer(hy[0] * (hy[1] - hy[2]), pre / 2)
                wt = wt + 2 ** -7 * np.outer(ey[0] * (ey[1] - ey[2]), h_out / 2)
    return w, wt, hidden.y


def test_one_period_of_the_engine_is_ojas_subspace_update_to_within_its_rounding():
    """The integer period against ``kernels.hebbian.oja_dw`` on the float image of the same
    numbers: the activity is W x 255 / 2^q to within the floors of the shifts, and the
    weight change lr y e^T (lr = 2^-l per sample) to within the engine's floors (half an
    accumulator unit per product, 2^-8 of a weight step), its stochastic rounding (below
    one weight step: each synapse gets one non-zero product, in one of the four steps) and
    the floor of y (one unit of ~20); the update reaches ~8 steps, so a rule off by a
    factor of two fails. No weight comes near the engine's saturation at [-256, 255]."""
    config = HebbianLoihiConfig(hidden=5, n_inputs=12, lr_shift=4)
    rng = np.random.default_rng(4)
    w = fx.quantize_weights(rng.standard_normal((5, 12)) / 8, 9, fx.FixedFormat(), rng)
    x = rng.integers(0, 256, 12)
    new_w, new_wt, y = _period(config, w, w.T.copy(), x)
    W, xf = w / 512, x / 255
    y_float = W @ xf * 255 / 4
    assert np.abs(y - np.clip(y_float, -255, 255)).max() <= 1.0 + 1e-9
    dw = (2 ** -4 * hb.oja_dw(W, xf[None], (y * 4 / 255)[None])) * 512
    error = new_w - w - dw
    assert np.abs(dw).max() > 6
    assert np.abs(error).max() <= 1.5, error
    np.testing.assert_array_equal(new_wt, new_w.T)   # one draw per step: the same rounding


def test_the_float_period_is_ojas_subspace_update_exactly():
    config = HebbianLoihiConfig(hidden=4, n_inputs=6)
    rng = np.random.default_rng(5)
    w, x = rng.standard_normal((4, 6)) / 3, rng.random(6)
    new_w, new_wt, y = _period(config, w, w.T.copy(), x, fixed=False)
    np.testing.assert_allclose(y, w @ x)
    np.testing.assert_allclose(new_w, w + config.lr * hb.oja_dw(w, x[None], y[None]),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(new_wt, new_w.T, rtol=0, atol=1e-12)


def test_chip_features_are_the_integer_activities_of_the_quantised_inputs():
    config = HebbianLoihiConfig(hidden=3, n_inputs=2)
    w = np.array([[100, -50], [256 - 1, 255], [-256, 0]])
    x = np.array([[1.0, 0.5]])   # rates 255, 128
    # (100 * 255 - 50 * 128) >> 9 = 37, >> 2 = 9; (255 * 383) >> 9 = 190 -> 47;
    # (-256 * 255) >> 9 = -128 -> -32
    np.testing.assert_array_equal(config.rule_params.features(w, x), [[9, 47, -32]])
    np.testing.assert_allclose(config.rule_params.features(w.astype(float), x),
                               x @ (w / 512).T)


def test_the_float_bcm_step_is_bcm_exactly():
    config = HebbianLoihiConfig(rule="bcm", hidden=3, n_inputs=5, theta_shift=2)
    state = HiddenState(np.zeros(3), np.array([0.5, 0.0, 2.0]))
    out, y1, y2, y3 = hidden_step(config, 1, state, np.array([1.5, -1.0, 0.5]), 4.0,
                                  fixed=False)
    np.testing.assert_allclose(out, [1.5, 0.0, 0.5])
    np.testing.assert_allclose(y1 * (y2 - y3), 4.0 * np.array([1.5 * 1.0, 0.0, 0.5 * -1.5]))
    np.testing.assert_allclose(state.theta, [0.5 + (2.25 - 0.5) / 4, 0.0, 2.0 + (0.25 - 2) / 4])


def _small_problem(**changes):
    config = SPEC.configure("digits", {"hidden": 8, "train_samples": 25, **changes})
    data = prepare_splits("digits", None, 0.1, 0)
    config = bind_data(config, data)
    return config, data, HebbianLoihiParameters.initial(config, stream(0, INIT))


def _train(backend, config, data, params, epochs=2):
    chosen = SPEC.backend(backend)
    copy = HebbianLoihiParameters.from_arrays(params.to_arrays(), config)
    runner = chosen.load()(config, data, copy, Launch(3, 0, chosen.tag))
    try:
        results = [runner.run_epoch(epoch) for epoch in range(epochs)]
        return results, runner.parameters()
    finally:
        runner.close()


def test_numpy_fixed_learns_and_keeps_the_backward_copy_a_transpose():
    config, data, params = _small_problem(train_samples=200)
    results, learned = _train("numpy-fixed", config, data, params, epochs=1)
    assert (learned.weights != params.weights).mean() > 0.5
    assert np.abs(learned.backward - learned.weights.T).max() <= 2
    assert results[0].tables["hebbian"]["backward_drift_max"][0] <= 2


@pytest.mark.lava
@pytest.mark.parametrize("rule", ["oja", "bcm"])
def test_numpy_fixed_is_lava_fixed_bit_for_bit_over_two_epochs(rule):
    config, data, params = _small_problem(rule=rule)
    (res_n, par_n), (res_l, par_l) = (_train(b, config, data, params)
                                      for b in ("numpy-fixed", "lava-fixed"))
    a, b, start = par_n.to_arrays(), par_l.to_arrays(), params.to_arrays()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        if a[name].size and (rule == "bcm" or name != "hebbian_theta"):
            assert (a[name] != start[name]).any(), f"{name} did not learn"
    for x, y in zip(res_n, res_l):
        for table in ("spikes", "ops"):
            for column in x.tables[table]:
                np.testing.assert_array_equal(x.tables[table][column], y.tables[table][column])


@pytest.mark.lava
@pytest.mark.parametrize("backend", ["lava-fixed", "lava"])
def test_the_inference_graph_computes_the_features_the_readouts_read(backend):
    """An inference run of the Lava graph (``activities``: the hidden units' spikes y+ and
    y- recorded by the host) gives ``ChipFeatures``' numbers: the integer activities bit
    for bit, the float ones to float precision."""
    from dynaxx_neuro.networks.hebbian_loihi_lava import HebbianLoihiLavaGraph
    config, data, params = _small_problem()
    tag = SPEC.backend(backend).tag
    if tag == "floating_pt":
        params = HebbianLoihiParameters(params.weights * 1.0, params.backward * 1.0,
                                        params.theta * 1.0)
    graph = HebbianLoihiLavaGraph(config, data, params, Launch(3, 0, tag))
    x = data.x_val[:13]
    expected = config.rule_params.features(params.weights, x)
    assert np.abs(expected).max() > (10 if tag == "fixed_pt" else 0.5)
    np.testing.assert_allclose(graph.activities(x), expected, rtol=0, atol=1e-9)


@pytest.mark.lava
@pytest.mark.parametrize("rule", ["oja", "bcm"])
def test_the_float_graph_is_the_per_sample_float_rule_on_lava(rule):
    """The floating_pt models of the same processes (``--graph loihi --backend lava``) over
    ten samples against the float rule at batch 1 in NumPy (``kernels.hebbian.oja_dw`` /
    ``bcm_dw`` and ``bcm_theta`` with tau 2^k, lr 2^-l, the same sample order): the only
    difference is the float pre trace's decay by exp(-1/65535) per step (relative 1e-5)."""
    config, data, params = _small_problem(train_samples=10, rule=rule, theta_shift=2)
    _, learned = _train("lava", config, data, params, epochs=1)
    from dynaxx_neuro.cycle import epoch_order
    w, theta = params.weights / 2.0 ** config.weight_exp, np.zeros(config.hidden)
    for row in epoch_order(3, 0, 10, 1).ravel():
        x = data.x_train[row][None]
        if rule == "oja":
            w = w + config.lr * hb.oja_dw(w, x, x @ w.T)
        else:
            y = np.maximum(x @ w.T, 0.0)
            w, theta = w + config.lr * hb.bcm_dw(x, y, theta), hb.bcm_theta(theta, y, 4.0)
    np.testing.assert_allclose(learned.weights / 2.0 ** config.weight_exp, w, rtol=0,
                               atol=1e-4)
    np.testing.assert_allclose(learned.theta, theta, rtol=1e-4, atol=1e-6)
    assert np.abs(learned.weights / 2.0 ** config.weight_exp
                  - params.weights / 2.0 ** config.weight_exp).max() > 1e-3
    if rule == "oja":
        np.testing.assert_allclose(learned.backward, learned.weights.T, rtol=0, atol=1e-6)
    else:
        assert theta.max() > 0.01


def test_bad_input_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match="^--hidden must be an integer >= 1, got 0.$"):
        HebbianLoihiConfig(hidden=0)
    with pytest.raises(ValueError, match="^--weight-exp must be an integer in \\[1, 16\\]"):
        HebbianLoihiConfig(weight_exp=True)
    with pytest.raises(ValueError, match="^--train-samples"):
        HebbianLoihiConfig(train_samples=0)
    config, data, _ = _small_problem()
    small = dataclasses.replace(data, x_train=data.x_train[:50], y_train=data.y_train[:50])
    with pytest.raises(ValueError, match="--readout-batch-size must be at most the 50 "
                                         "training samples, got 100."):
        SPEC.data(config, small)
