"""FF's Loihi graph (``rules/ff_loihi.py``): the integer programs against their float
counterparts (Lava's inverse square root, the PLAN sigmoid, the normalisation), the FF update
as a rule of the learning engine against the float SGD step, the timing of the third
factor, the pipeline's steady state that the twin's evaluation relies on, and the
``numpy-fixed`` twin against ``lava-fixed`` over a two-epoch training run, bit for bit."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.cycle import INIT, TRAIN, Launch, Slot, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels import ep_fixed, ff
from dynaxx_neuro.kernels import ff_fixed as fx
from dynaxx_neuro.kernels import learning_engine as le
from dynaxx_neuro.registry import bind_data, graphs
from dynaxx_neuro.rules import ff_loihi as rule
from dynaxx_neuro.rules.ff_loihi import FFLoihiConfig, FFLoihiParameters

SPEC = graphs("ff")[1]


def test_the_inverse_square_root_is_lavas_own_program():
    graded = pytest.importorskip("lava.proc.graded.models")
    s = np.unique(np.concatenate([np.arange(1, 3000), np.geomspace(3000, 2 ** 24 - 1, 400)
                                  .astype(np.int64)]))
    lava = np.array([graded.inv_sqrt(int(v), fx.INV_ITERATIONS, fx.INV_FRACTION) for v in s])
    np.testing.assert_array_equal(fx.inv_sqrt(s), lava)
    np.testing.assert_array_equal(fx.inv_sqrt_table(), graded.make_fpinv_table(12))
    assert fx.inv_sqrt(np.array([0]))[0] == 0


def test_the_inverse_square_root_is_within_one_percent_where_the_goodness_lives():
    """y ~ 2^18 / sqrt(S) for S up to 2^21 (500 neurons' squares, 12 bits each)."""
    s = np.arange(1, 2 ** 21, 97)
    ratio = fx.inv_sqrt(s) / (2 ** 18 / np.sqrt(s))
    assert np.abs(ratio - 1).max() < 0.012


def test_plan_sigmoid_is_within_its_published_error_and_symmetric():
    """PLAN's max error is 0.0189 (Amin et al. 1997); the 2^-7 grid and the floors of its
    shifts add at most 2^-7."""
    z = np.arange(-3000, 3001)
    p = fx.plan_sigmoid(z)
    assert p.min() == 0 and p.max() == fx.P_ONE
    assert np.abs(p / fx.P_ONE - ff.sigmoid(z / 256)).max() < 0.0189 + 2 ** -7
    np.testing.assert_array_equal(p[::-1], fx.P_ONE - p)          # p(-z) = 1 - p(z)
    assert (np.diff(p) >= 0).all()


def test_the_logistic_term_carries_one_minus_p_for_positives_and_minus_p_for_negatives():
    s, theta = np.array([0, 1280, 4000]), 1280
    p = fx.plan_sigmoid(s - theta)
    np.testing.assert_array_equal(fx.logistic_term(s, theta, True, 7),
                                  np.minimum(128 - p, 127))
    np.testing.assert_array_equal(fx.logistic_term(s, theta, False, 7), -np.minimum(p, 127))
    np.testing.assert_array_equal(fx.logistic_term(s, theta, False, 5), -(p >> 2))
    y2, y3 = fx.third_factors(np.array([-40, 0, 90]))
    np.testing.assert_array_equal(y2, [0, 0, 90])
    np.testing.assert_array_equal(y3, [40, 0, 0])


def test_the_layer_program_saturates_and_normalises_to_the_unit_vector():
    rng = np.random.default_rng(4)
    drive = rng.integers(-300, 400, 500)
    r = fx.activity(drive)
    assert r.min() == 0 and r.max() == 255
    s = fx.goodness_sum(fx.square(r).sum())
    x_next, q, y1, y2, y3 = rule.layer_step(drive, np.full(500, fx.inv_sqrt(np.array([s]))[0]),
                                            np.full(500, -12))
    assert q.max() <= 4064 and y1.max() <= 127 and (y2 == 0).all() and (y3 == 12).all()
    unit = r / np.linalg.norm(r)
    # One unit of 2^-8 from each floor, plus the inverse square root's 1 % and the squares'
    # floors (r^2 >> 4 loses under 1/16 of each square).
    assert np.abs(x_next / 256 - unit).max() < 2 / 256 + 0.012 * unit.max()
    np.testing.assert_array_equal(fx.goodness_sum(np.array([2 ** 25])), [2 ** 24 - 1])


def test_inputs_are_encoded_as_unit_vectors_in_eight_bits():
    x = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(fx.quantize_inputs(x), [[154, 205, 0], [0, 0, 0],
                                                          [255, 0, 0]])


def test_the_learning_scale_splits_the_rate_and_refuses_what_the_engine_cannot_scale():
    assert fx.learning_scale(7, 8) == fx.LearningScale(7, -7)
    assert fx.learning_scale(5, 8) == fx.LearningScale(7, -5)
    assert fx.learning_scale(11, 8) == fx.LearningScale(3, -7)
    assert fx.rule(fx.learning_scale(5, 8)) == ("2^-5 * x0 * x1 * y1 * y2 - "
                                                "2^-5 * x0 * x1 * y1 * y3")
    with pytest.raises(ValueError, match="--lr-shift 20 with --weight-exp 8 .* 2\\^-7 .. "
                                         "2\\^15"):
        FFLoihiConfig(lr_shift=20, weight_exp=8)
    halving = FFLoihiConfig(lr_shift=4, halve_epochs=3, weight_exp=8)
    assert [halving.lr_shift_at(e) for e in (0, 2, 3, 9, 60)] == [4, 4, 5, 7, 14]
    assert halving.scale_at(9) == fx.LearningScale(7, -7)
    with pytest.raises(ValueError, match="--theta must be"):
        FFLoihiConfig(theta=0.0)


@pytest.mark.parametrize("lr_shift", [5, 7])
def test_the_engine_applies_the_sgd_step_of_the_layers_logistic_loss(lr_shift):
    """Averaged over the engine's weight-rounding draw (uniform in [0, 1)), one learning
    epoch adds 2 lr (1 - p) h x_hat in weight units 2^-e (positive) or subtracts 2 lr p h
    x_hat (negative): the float SGD step of ``kernels.ff``, to within the engine's floors
    (x1 = round(X / 2), y1 = round(r / 2), the product's >> 10: 2^s a weight step each)."""
    config = FFLoihiConfig(lr_shift=lr_shift)
    scale = config.scale
    engine = le.EngineParams(dw=fx.rule(scale), x1=le.Trace(0.0, 65535), three_factor=True,
                             graded=le.GradedSpikeCfg.OVERWRITE)
    rng = np.random.default_rng(9)
    x_pay, r = rng.integers(1, 256, 40), rng.integers(1, 256, 30)
    s = 1300
    draws = np.linspace(0, 1, 200, endpoint=False)
    for positive in (True, False):
        t = fx.logistic_term(np.full(30, s), config.theta_units, positive, scale.factor_bits)
        y2, y3 = fx.third_factors(t)
        w0 = np.zeros((30, 40), dtype=np.int64)
        mean = np.mean([le.three_factor_epoch(w0, engine, x_pay, (ep_fixed.half_rate(r), y2,
                                                                  y3), np.zeros(30, bool),
                                              0.5, 0.5, u) for u in draws], axis=0)
        p = fx.plan_sigmoid(np.array(s - config.theta_units)) / fx.P_ONE
        factor = (1 - p) if positive else -p
        expected = (2 * 2.0 ** -lr_shift * factor * np.outer(r / 64, x_pay / 256)
                    * 2 ** config.weight_exp)
        assert np.abs(mean - expected).max() < 0.03 * np.abs(expected).max() + 2 ** scale.rule_exp


def test_the_goodness_neurons_send_the_third_factor_only_before_a_windows_learning_step():
    config = FFLoihiConfig(hidden=(5, 4, 3), n_inputs=6, n_classes=3)
    timing = config.timing
    assert (timing.window, timing.train_period, timing.eval_period) == (10, 20, 30)
    summed = np.array([1000, 1300, 1500])
    for k in range(timing.train_period):
        _, t, s = rule.goodness_step(config, Slot(0, TRAIN, 0, k), summed)
        window, within = timing.window_of(k)
        if within == timing.factor_step:
            assert ((t > 0) if window == 0 else (t < 0)).all()
        else:
            assert (t == 0).all()
    for k in range(timing.eval_period):
        assert not rule.goodness_step(config, Slot(0, "val", 0, k), summed)[1].any()


def test_the_float_programs_are_the_float_rules_layer_and_goodness():
    rng = np.random.default_rng(3)
    w, b = rng.normal(0, 0.3, (20, 9)), rng.normal(0, 0.1, 20)
    x_hat = ff.normalize(rng.random((1, 9)), 1e-12)[0]
    config = FFLoihiConfig(hidden=(20,), n_inputs=5, n_classes=4)
    h = ff.layer_activity(w, b, x_hat[None])[0]
    y, t, g = rule.float_goodness_step(config, Slot(0, TRAIN, 0, config.timing.factor_step),
                                       np.array([np.sum(h * h)]))
    x_next, q, y1, y2, y3 = rule.float_layer_step(w @ x_hat + b, np.full(20, y[0]),
                                                  np.full(20, t[0]))
    np.testing.assert_allclose(x_next, ff.normalize(h[None], 1e-12)[0], rtol=1e-9)
    assert g[0] == pytest.approx(ff.goodness(h[None], ff.FFGoodness())[0])
    p = ff.p_positive(g, config.theta)[0]
    # The float engine adds 2^s (x_hat / 2) y1 y2: the SGD step 2 lr (1 - p) h x_hat.
    step = 2.0 ** config.scale_at(0).rule_exp * (x_hat / 2)[None, :] * y1[:, None] * y2[:, None]
    np.testing.assert_allclose(step, 2 * 2.0 ** -config.lr_shift * (1 - p) * np.outer(h, x_hat))
    assert (y3 == 0).all()


def _small_problem(**changes):
    """Two layers (the normalisation between them on the graph), 30 training samples, 7
    validation and 6 test samples."""
    config = SPEC.configure("digits", {"hidden": (12, 8), "train_samples": 30, **changes})
    data = SPEC.data(config, prepare_splits("digits", None, 0.1, 0))
    data = dataclasses.replace(data, x_val=data.x_val[:7], y_val=data.y_val[:7],
                               x_test=data.x_test[:6], y_test=data.y_test[:6])
    config = bind_data(config, data)
    return config, data, FFLoihiParameters.initial(config, stream(0, INIT))


def test_a_windows_last_step_is_the_feed_forward_pass_of_its_input():
    """What the twin's evaluation relies on: after 3 L + 1 steps of one input the read
    goodness is the feed-forward pass's, whatever the window before it held."""
    from dynaxx_neuro.networks.ff_loihi_numpy import FFLoihiNumpyRunner
    config, data, params = _small_problem(hidden=(12, 8, 6))
    runner = FFLoihiNumpyRunner(config, data, params, Launch(1))
    runner._start_graph(0)
    x, timing = data.x_train[:1], config.timing
    for label in (3, 7, 7):
        payload = rule.fixed_inputs(config, x, np.array([label]))[0]
        expected = runner.goodness(x, np.array([label]))[0]
        for k in range(timing.window):
            s, _ = runner._step(Slot(0, "val", 0, k), payload)   # no learning outside TRAIN
        np.testing.assert_array_equal(s, expected)


def _train(backend, config, data, params, epochs=2):
    chosen = SPEC.backend(backend)
    copy = FFLoihiParameters.from_arrays(params.to_arrays(), config)
    runner = chosen.load()(config, data, copy, Launch(3, 0, chosen.tag))
    try:
        return [runner.run_epoch(epoch) for epoch in range(epochs)], runner.parameters()
    finally:
        runner.close()


def test_the_twin_learns_and_every_weight_stays_an_engine_weight():
    config, data, params = _small_problem(lr_shift=4)
    results, learned = _train("numpy-fixed", config, data, params)
    for name, a in learned.to_arrays().items():
        assert (a != params.to_arrays()[name]).any(), f"{name} did not learn"
        assert a.min() >= -256 and a.max() <= 255 and a.dtype.kind == "i"
    assert results[-1].val_predictions.shape == (7,)


@pytest.mark.lava
@pytest.mark.slow  # the conformance suite checks the pair on one layer in the default suite
def test_numpy_fixed_is_lava_fixed_bit_for_bit_over_two_epochs():
    """The second epoch's graph learns with the halved rate's rule (``--halve-epochs 1``)."""
    config, data, params = _small_problem(lr_shift=4, halve_epochs=1)
    (res_n, par_n), (res_l, par_l) = (_train(b, config, data, params)
                                      for b in ("numpy-fixed", "lava-fixed"))
    a, b, start = par_n.to_arrays(), par_l.to_arrays(), params.to_arrays()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        assert (a[name] != start[name]).any(), f"{name} did not learn"
    for x, y in zip(res_n, res_l):
        assert (x.train_accuracy, x.train_loss) == (y.train_accuracy, y.train_loss)
        np.testing.assert_array_equal(x.val_predictions, y.val_predictions)
        np.testing.assert_array_equal(x.test_predictions, y.test_predictions)
        for table in ("spikes", "ops"):
            for column in x.tables[table]:
                np.testing.assert_array_equal(x.tables[table][column], y.tables[table][column])


def _float_rule(config, data, params, seed):
    """One epoch of the float FF rule on the graph's schedule, with the float kernels: per
    sample the positive pass, every layer's SGD step 2 lr (1 - p) h x_hat (bias: its input
    is 1), then the negative pass (a wrong label from the same stream) on the updated
    weights and its step -2 lr p h x_hat."""
    from dynaxx_neuro.cycle import epoch_order
    w = [a.copy() for a in params.as_float(config).weights]
    b = [a[:, 0].copy() for a in params.as_float(config).biases]
    lr, timing = 2.0 ** -config.lr_shift, config.timing
    for batch, row in enumerate(epoch_order(seed, 0, len(data.x_train), 1).ravel()):
        for window in (0, 1):
            label = rule.window_label(config, Slot(0, TRAIN, batch, window * timing.window),
                                      int(data.y_train[row]), seed)
            x_hat = rule.float_inputs(config, data.x_train[row:row + 1], np.array([label]))
            steps = []
            for l in range(config.n_layers):
                h = ff.layer_activity(w[l], b[l], x_hat)
                p = ff.p_positive(ff.goodness(h, ff.FFGoodness()), config.theta)
                factor = (1 - p) if window == 0 else -p
                steps.append((2 * lr * factor[0] * np.outer(h[0], x_hat[0]),
                              2 * lr * factor[0] * h[0]))
                x_hat = ff.normalize(h, 1e-300)
            for l, (dw, db) in enumerate(steps):
                w[l], b[l] = w[l] + dw, b[l] + db
    return w, b


@pytest.mark.lava
def test_the_float_graph_learns_the_float_rule_on_lava():
    """The floating_pt models of the same processes (``--graph loihi --backend lava``) learn
    what the float FF rule does on their schedule: equal to 1e-6 of a weight's scale (the
    float engine decays both traces by exp(-1/65535) within the step, a relative 3e-5 of
    each update)."""
    config, data, params = _small_problem(train_samples=10, lr_shift=4)
    results, learned = _train("lava", config, data, params, epochs=1)
    w, b = _float_rule(config, data, params, 3)
    scale = 2.0 ** -config.weight_exp
    for l in range(config.n_layers):
        assert np.abs(learned.weights[l] * scale - params.weights[l] * scale).max() > 0.01
        np.testing.assert_allclose(learned.weights[l] * scale, w[l], rtol=0, atol=1e-4)
        np.testing.assert_allclose(learned.biases[l][:, 0] * scale, b[l], rtol=0, atol=1e-4)
    assert results[0].val_predictions.shape == (7,)
