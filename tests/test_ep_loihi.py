"""EP's Loihi graph (``rules/ep_loihi.py``): the integer neuron program against the float
settling step, saturation at the stated widths, the learning rule and its scale, and the
``numpy-fixed`` twin against ``lava-fixed`` over a two-epoch training run (states, every
weight matrix, predictions), bit for bit."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.registry import bind_data, graphs
from dynaxx_neuro.rules.ep_loihi import EPLoihiConfig, EPLoihiParameters

FMT = fx.FixedFormat()
SPEC = graphs("ep")[1]


def test_the_format_states_its_ranges_and_refuses_widths_loihi_lacks():
    assert FMT.state_range == (-2 ** 23, 2 ** 23 - 1) and FMT.weight_step == 1
    assert fx.FixedFormat(weight_bits=6).weight_step == 4
    with pytest.raises(ValueError, match="--weight-bits must be an integer in \\[2, 8\\]"):
        fx.FixedFormat(weight_bits=9)
    with pytest.raises(ValueError, match="--state-bits must be an integer in \\[10, 24\\]"):
        fx.FixedFormat(state_bits=32)


def test_states_rates_and_weights_saturate_instead_of_wrapping():
    big = np.array([2 ** 23 + 9, -(2 ** 23) - 5])
    np.testing.assert_array_equal(fx.layer_step(big, FMT), [2 ** 23 - 1, -(2 ** 23)])
    np.testing.assert_array_equal(fx.nudge(np.array([2 ** 23 - 1]), np.array([0]),
                                           np.array([255]), 0, +1, FMT), [2 ** 23 - 1])
    np.testing.assert_array_equal(fx.rate(np.array([-7, 100, 300])), [0, 100, 255])
    w = fx.quantize_weights(np.array([[10.0, -10.0, 0.25]]), 9, FMT, np.random.default_rng(1))
    np.testing.assert_array_equal(w, [[254, -256, 128]])   # even, within [-256, 255]
    # The learning engine saturates its weights at [-256, 255] (kernels.learning_engine).
    from dynaxx_neuro.kernels import learning_engine as le
    params = le.EngineParams(dw=fx.rule(fx.learning_scale(1, 1, 9)), three_factor=True,
                             graded=le.GradedSpikeCfg.OVERWRITE, x1=le.Trace(0, 65535))
    grown = le.three_factor_epoch(np.array([[250]]), params, np.array([255]),
                                  (np.array([127]), np.array([64]), np.array([0])),
                                  np.array([0]), 0.5, 0.5, 0.5)
    assert grown[0, 0] == 255


def test_an_integer_step_is_the_float_fixed_point_iteration_on_the_grid():
    """With W = w / 2^e and rho = r / 256, one integer step equals the float eps = 1
    settling step to within the floors of the shifts (3 units of 2^-8)."""
    rng = np.random.default_rng(2)
    e = 9
    w_below, w_above = rng.integers(-256, 256, (30, 64)), rng.integers(-256, 256, (30, 10))
    w_bias = rng.integers(-256, 256, (30, 1))
    r_below, r_above = rng.integers(0, 256, 64), rng.integers(0, 256, 10)
    drive = (fx.dense_drive(w_below, r_below, e) + fx.dense_drive(w_above, r_above, e)
             + fx.dense_drive(w_bias, np.array([255]), e))
    s = fx.layer_step(drive, FMT)
    assert s.dtype == np.int64
    expected = ep.settle_step(np.zeros(30), ep.drive(w_below / 2 ** e, r_below / 256)
                              + ep.drive(w_above / 2 ** e, r_above / 256),
                              (w_bias[:, 0] / 2 ** e) * 255 / 256, 1.0)
    assert np.abs(fx.rate(s) / 256 - expected).max() <= 3 / 256 + 1e-12


def test_nudging_moves_the_output_towards_the_target_by_beta_of_the_gap():
    s, r_prev, target = np.array([100, 100]), np.array([100, 100]), np.array([255, 0])
    np.testing.assert_array_equal(fx.nudge(s, r_prev, target, 1, +1, FMT), [177, 50])
    np.testing.assert_array_equal(fx.nudge(s, r_prev, target, 1, -1, FMT), [23, 150])


def test_the_post_neuron_rounds_its_trace_as_the_engine_rounds_a_payload():
    """y1 of a synapse equals x1 of its backward copy: the neuron's integer round-half-even
    is Lava's uint8(round(r / 2)), capped at the 7-bit trace."""
    r = np.arange(256)
    lava = np.minimum(np.round(r / 2).astype(np.uint8), 127)
    np.testing.assert_array_equal(fx.half_rate(r), lava)


def test_post_factors_carry_the_third_factor_only_at_the_phase_ends():
    schedule = ep.EPSchedule(t_free=4, t_nudge=2)
    r = np.array([0, 9, 255])
    for timing, steps in ((fx.GraphTiming(schedule), (schedule.nudged_end, schedule.period - 1)),
                          (fx.GraphTiming(schedule, True), (schedule.period, schedule.period - 1))):
        assert timing.learning_steps == steps
        for k in range(timing.period):
            y1, y2, y3, bap = fx.post_factors(timing, k, r, 32)
            np.testing.assert_array_equal(y1, [0, 4, 127])
            assert (y2 == (32 if k == steps[0] else 0)).all()
            assert (y3 == (32 if k == steps[1] else 0)).all()
            np.testing.assert_array_equal(bap, [0, 1, 1] if k == steps[1] else [0, 0, 0])
        assert not fx.post_factors(timing, steps[1], r, 0)[3].any()   # no learning, no bap
    assert fx.GraphTiming(schedule, True).period == schedule.period + 1


def test_the_learning_scale_is_lr_over_two_beta_and_out_of_range_rates_are_refused():
    scale = fx.learning_scale(7, 1, 9)
    assert (scale.third_factor, scale.rule_shift) == (32, 0)
    assert fx.rule(scale).startswith("2^-7 * x0 * x1 * y1 * y2 - 2^-7")
    assert fx.rule(scale).endswith("+ 2^-7 * y0 * x0")
    assert "y0" not in fx.rule(scale, floor_correction=False)
    assert fx.learning_scale(3, 1, 9) == fx.LearningScale(64, 3)
    with pytest.raises(ValueError, match="--lr-shift 20 .* it can scale by 2\\^0 .. 2\\^13"):
        EPLoihiConfig(lr_shift=20)
    with pytest.raises(ValueError, match="--beta-shift must be an integer in \\[0, 7\\]"):
        EPLoihiConfig(beta_shift=9)
    # The float graph's c makes the float engine's 2^-7 (rho_pre / 2) rho_post c the rule.
    config = EPLoihiConfig()
    assert 2 ** -7 * 0.5 * config.float_third_factor == pytest.approx(2 ** -7 / (2 * 0.5))


def test_decimation_halves_the_learning_samples_every_n_epochs():
    learners = [sum(fx.learns_sample(j, epoch, 5) for j in range(64)) for epoch in range(12)]
    assert learners == [64] * 5 + [32] * 5 + [16] * 2
    assert all(fx.learns_sample(j, 40, 0) for j in range(5))


def test_coarser_weights_round_to_their_grid_without_bias():
    fmt, u = fx.FixedFormat(weight_bits=6), np.linspace(0, 1, 4001)[:-1]
    rounded = np.array([fx.coarsen(np.array([13]), fmt, x)[0] for x in u])
    assert set(rounded) == {12, 16} and rounded.mean() == pytest.approx(13, abs=0.01)
    np.testing.assert_array_equal(fx.coarsen(np.array([13]), FMT, 0.3), [13])


def _small_problem(**changes):
    config = SPEC.configure("digits", {"hidden": (12,), "t_free": 4, "t_nudge": 2,
                                       "train_samples": 30, "decimate_epochs": 1, **changes})
    data = SPEC.data(config, prepare_splits("digits", None, 0.1, 0))
    data = dataclasses.replace(data, x_val=data.x_val[:7], y_val=data.y_val[:7],
                               x_test=data.x_test[:6], y_test=data.y_test[:6])
    config = bind_data(config, data)
    return config, data, EPLoihiParameters.initial(config, stream(0, INIT))


def test_the_fixed_point_graph_refuses_the_float_models_weights():
    config, data, params = _small_problem()
    floats = EPLoihiParameters(*([a * 1.25 for a in arrays] for arrays in
                                 (params.weights, params.backward, params.biases)))
    chosen = SPEC.backend("numpy-fixed")
    with pytest.raises(ValueError, match=r"these weights are floats, from the graph's float "
                                         r"models \(--backend lava\)"):
        chosen.load()(config, data, floats, Launch(0, 0, chosen.tag))


def _train(backend, config, data, params, epochs=2):
    chosen = SPEC.backend(backend)
    copy = EPLoihiParameters.from_arrays(params.to_arrays(), config)
    runner = chosen.load()(config, data, copy, Launch(3, 0, chosen.tag))
    try:
        results = [runner.run_epoch(epoch) for epoch in range(epochs)]
        return results, runner.parameters(), runner.last_states
    finally:
        runner.close()


@pytest.mark.lava
@pytest.mark.parametrize("replay", [False, True])
def test_numpy_fixed_is_lava_fixed_bit_for_bit_over_two_epochs(replay):
    config, data, params = _small_problem(replay=replay)
    (res_n, par_n, st_n), (res_l, par_l, st_l) = (
        _train(b, config, data, params) for b in ("numpy-fixed", "lava-fixed"))
    a, b, start = par_n.to_arrays(), par_l.to_arrays(), params.to_arrays()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        assert (a[name] != start[name]).any(), f"{name} did not learn"
    for x, y in zip(st_n, st_l):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(res_n, res_l):
        assert (x.train_accuracy, x.train_loss) == (y.train_accuracy, y.train_loss)
        np.testing.assert_array_equal(x.val_predictions, y.val_predictions)
        np.testing.assert_array_equal(x.test_predictions, y.test_predictions)
        for table in ("spikes", "ops"):
            for column in x.tables[table]:
                np.testing.assert_array_equal(x.tables[table][column], y.tables[table][column])


@pytest.mark.lava
def test_the_float_graph_learns_the_float_rule_on_lava():
    """The floating_pt models of the same processes (``--graph loihi --backend lava``): one
    epoch moves the weights by about what the float EP rule says, and they stay finite."""
    config, data, params = _small_problem(train_samples=10)
    results, learned, _ = _train("lava", config, data, params, epochs=1)
    change = [np.abs(learned.weights[i] - params.weights[i]).max() for i in range(2)]
    assert all(0 < c < 64 for c in change), change    # engine units, W = w / 2^9
    assert learned.is_finite() and results[0].val_predictions.shape == (7,)
