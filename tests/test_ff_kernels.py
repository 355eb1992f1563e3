"""Forward-forward kernels against closed forms and finite differences."""

import numpy as np
import pytest

from dynaxx_neuro.kernels import ff
from dynaxx_neuro.kernels.optimizer import Optimizer, optimizer_step
from dynaxx_neuro.cycle import TRAIN, VAL
from dynaxx_neuro.rules.ff import FFConfig, period_plan


def _layer_loss(w, b, x_pos, x_neg, params, masks):
    """The layer's loss recomputed from scratch (an independent path to its gradient)."""
    g = [ff.goodness(ff.layer_activity(w, b, ff.normalize(x, params.norm_eps)), params, m)
         for x, m in zip((x_pos, x_neg), masks)]
    return ff.ff_loss(g[0], g[1], params.theta)


@pytest.mark.parametrize("measure, dropout", [("sum", 0.0), ("mean", 0.3)])
def test_layer_gradient_matches_finite_differences(measure, dropout):
    rng = np.random.default_rng(0)
    params = ff.FFGoodness(theta=1.3, measure=measure, dropout=dropout)
    w, b = rng.normal(0, 1.5, (6, 5)), rng.normal(0.2, 0.3, 6)
    x_pos, x_neg = rng.random((4, 5)), rng.random((4, 5))
    masks = [ff.dropout_mask((4, 6), dropout, rng) for _ in range(2)]
    xh_pos, xh_neg = ff.normalize(x_pos, params.norm_eps), ff.normalize(x_neg, params.norm_eps)
    dw, db = ff.ff_layer_grads(xh_pos, ff.layer_activity(w, b, xh_pos), xh_neg,
                               ff.layer_activity(w, b, xh_neg), params, *masks)
    h = 1e-6
    for index in [(0, 0), (2, 3), (5, 4), (1, 1)]:
        step = np.zeros_like(w)
        step[index] = h
        numeric = (_layer_loss(w + step, b, x_pos, x_neg, params, masks)
                   - _layer_loss(w - step, b, x_pos, x_neg, params, masks)) / (2 * h)
        assert dw[index] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
    for i in range(6):
        step = np.zeros_like(b)
        step[i] = h
        numeric = (_layer_loss(w, b + step, x_pos, x_neg, params, masks)
                   - _layer_loss(w, b - step, x_pos, x_neg, params, masks)) / (2 * h)
        assert db[i] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_goodness_p_positive_and_loss_closed_forms():
    h = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    sum_params, mean_params = ff.FFGoodness(theta=4.0), ff.FFGoodness(theta=4.0, measure="mean")
    np.testing.assert_allclose(ff.goodness(h, sum_params), [5.0, 9.0])
    np.testing.assert_allclose(ff.goodness(h, mean_params), [5.0 / 3, 3.0])
    np.testing.assert_allclose(ff.p_positive(np.array([4.0, 5.0]), 4.0),
                               [0.5, 1 / (1 + np.exp(-1))])
    assert ff.ff_loss(np.array([4.0]), np.array([4.0]), 4.0) == pytest.approx(2 * np.log(2))
    # No overflow far from the threshold.
    assert np.isfinite(ff.softplus(np.array([1e4, -1e4]))).all()
    assert ff.sigmoid(np.array([-1e4]))[0] == 0.0


def test_normalize_gives_unit_rows():
    x = np.array([[3.0, 4.0], [0.0, 2.0]])
    np.testing.assert_allclose(np.linalg.norm(ff.normalize(x, 1e-12), axis=1), 1.0)


def test_readout_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    w, b, f = rng.normal(size=(3, 4)), rng.normal(size=3), rng.random((5, 4))
    targets = np.eye(3)[[0, 2, 1, 1, 0]]

    def loss(w_, b_):
        return ff.cross_entropy(ff.readout_probs(w_, b_, f), targets).mean()

    dw, db = ff.readout_grads(f, ff.readout_probs(w, b, f), targets)
    step = np.zeros_like(w)
    step[1, 2] = 1e-6
    assert dw[1, 2] == pytest.approx((loss(w + step, b) - loss(w - step, b)) / 2e-6, rel=1e-6)
    step_b = np.array([0.0, 0.0, 1e-6])
    assert db[2] == pytest.approx((loss(w, b + step_b) - loss(w, b - step_b)) / 2e-6, rel=1e-6)


def test_optimizer_steps_follow_their_closed_forms():
    p, g = np.array([1.0, -2.0]), np.array([0.5, -4.0])
    zero = np.zeros(2)
    adam = Optimizer("adam", momentum=0.9, beta2=0.999, eps=1e-12)
    new, m, v = optimizer_step(p, g, zero, zero, 1, 0.1, adam)
    np.testing.assert_allclose(new, p - 0.1 * np.sign(g), rtol=1e-9)  # first Adam step
    np.testing.assert_allclose(m, 0.1 * g)
    sgd = Optimizer("sgd", momentum=0.5, weight_decay=0.1)
    new, m, v = optimizer_step(p, g, np.ones(2), zero, 7, 0.2, sgd)
    expected_m = 0.5 + g + 0.1 * p
    np.testing.assert_allclose(m, expected_m)
    np.testing.assert_allclose(new, p - 0.2 * expected_m)
    np.testing.assert_array_equal(v, zero)


def test_label_embedding_replace_append_and_neutral():
    x = np.arange(12.0).reshape(2, 6)
    rows = ff.label_rows(np.array([2, -1]), 3, 2.0)
    np.testing.assert_allclose(rows, [[0, 0, 2], [2 / 3, 2 / 3, 2 / 3]])
    replaced = ff.embed_labels(x, rows, "replace")
    np.testing.assert_allclose(replaced[:, :3], rows)
    np.testing.assert_allclose(replaced[:, 3:], x[:, 3:])
    np.testing.assert_allclose(ff.embed_labels(x, rows, "append"), np.hstack([x, rows]))
    assert x[0, 0] == 0.0  # input untouched


def test_negatives_never_use_the_true_label_and_keep_pixels():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 500)
    wrong = ff.wrong_labels(labels, 10, rng)
    assert not np.any(wrong == labels) and set(wrong) == set(range(10))
    goodness = rng.random((500, 10))
    hard = ff.hardest_wrong_labels(goodness, labels)
    assert not np.any(hard == labels)
    masked = goodness.copy()
    masked[np.arange(500), labels] = -1
    np.testing.assert_array_equal(hard, masked.argmax(axis=1))
    x = rng.random((4, 16))
    shuffled = ff.permuted(x, rng)
    np.testing.assert_allclose(np.sort(shuffled, axis=1), np.sort(x, axis=1))
    assert not np.allclose(shuffled, x)
    noisy = ff.noisy(x, 0.5, rng)
    assert noisy.min() >= 0 and noisy.max() <= 1 and not np.allclose(noisy, x)


def test_hybrid_masks_are_binary_and_smoother_than_random_bits():
    rng = np.random.default_rng(3)
    masks = ff.smooth_masks(50, (16, 16), 4, rng).reshape(50, 16, 16)
    assert set(np.unique(masks)) <= {0.0, 1.0}
    same_as_right = (masks[:, :, 1:] == masks[:, :, :-1]).mean()
    assert same_as_right > 0.75  # random bits: 0.5
    x, other = np.ones((1, 4)), np.zeros((1, 4))
    mask = np.array([[1.0, 0.0, 1.0, 0.0]])
    np.testing.assert_allclose(ff.hybrid(x, other, mask), mask)


def test_schedules_scale_the_rates_of_the_right_layers():
    joint = ff.FFSchedule("joint")
    greedy = ff.FFSchedule("sequential", epochs_per_layer=2)
    hybrid = ff.FFSchedule("hybrid", epochs_per_layer=2, finetune_scale=0.1)
    assert [joint.lr_scale(e, 1, 3) for e in range(3)] == [1.0, 1.0, 1.0]
    # layer 0 in epochs 0-1, layer 1 in 2-3, layer 2 from 4 on
    assert [[greedy.lr_scale(e, l, 3) for l in range(3)] for e in (0, 3, 4, 9)] == [
        [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]]
    assert [hybrid.lr_scale(e, 0, 3) for e in (0, 2, 5, 6, 9)] == [1, 0, 0, 0.1, 0.1]


def test_period_plans_wait_for_mined_label_goodness():
    hard = FFConfig(64, 10, (8, 8), (5, 6, 7), lrs=(0.1,) * 3)
    plan = period_plan(hard, TRAIN)
    assert plan.passes[0] == "neutral" and plan.passes[-2:] == ("positive", "negative")
    # Label 9 is pass 10; the top layer (2) computes it at 12 and the readout has it at 13.
    assert plan.source_steps[-1] == 13 and plan.period == 13 + 3 + 1
    assert period_plan(hard, VAL).passes == ("neutral", *range(10))
    easy = FFConfig(64, 10, (8, 8), (5,), negatives=ff.FFNegatives(("noise",)))
    assert period_plan(easy, TRAIN).passes == ("neutral", "positive", "negative")
    assert period_plan(easy, TRAIN).period == 3 + 1


@pytest.mark.parametrize("make, words", [
    (lambda: ff.FFGoodness(theta=0.0), "--theta must be a finite number > 0, got 0.0."),
    (lambda: ff.FFGoodness(theta=-1.0), "--theta must be a finite number > 0, got -1.0."),
    (lambda: ff.FFGoodness(measure="max"), "--goodness must be one of sum, mean, got 'max'."),
    (lambda: ff.FFGoodness(dropout=1.0), "--dropout must be a finite number in [0, 1)"),
    (lambda: ff.FFNegatives(ratio=1.5), "--negative-ratio must be a finite number in [0, 1]"),
    (lambda: ff.FFNegatives(ratio=-0.1), "--negative-ratio must be a finite number in [0, 1]"),
    (lambda: ff.FFNegatives(("shuffle",)), "--negatives must be a comma-separated list of 1 "
     "to 2"),
    (lambda: ff.FFNegatives(("shuffle",)), "each one of wrong-label, noise, permutation, "
     "hybrid, hard, got 'shuffle'."),
    (lambda: ff.FFNegatives(("noise", "hard", "hybrid")), "got 'noise,hard,hybrid'."),
    (lambda: ff.FFNegatives(mask_blurs=True), "--mask-blurs must be an integer >= 0"),
    (lambda: ff.FFSchedule("greedy"), "--schedule must be one of joint, sequential, hybrid"),
    (lambda: ff.FFSchedule(epochs_per_layer=1.5), "--epochs-per-layer must be an integer >= 1"),
    (lambda: Optimizer("rmsprop"), "--optimizer must be one of adam, sgd, got 'rmsprop'."),
    (lambda: FFConfig(8, 10, (2, 4), (4,), label_mode="replace"),
     "--label-mode replace needs at least 10 inputs, the data has 8"),
    (lambda: FFConfig(hidden=(4, 4), lrs=(0.1,)), "--lrs must hold 2 rates (one per layer)"),
    (lambda: FFConfig(hidden=(4, 2.5)), "--hidden must be a comma-separated list"),
    (lambda: FFConfig(batch_size=2.5), "--batch-size must be an integer >= 1, got 2.5."),
    (lambda: FFConfig(predict="vote"), "--predict must be one of softmax, goodness"),
    (lambda: FFConfig(label_mode="prepend"), "--label-mode must be one of append, replace"),
])
def test_bad_parameters_are_one_sentence_naming_the_option(make, words):
    with pytest.raises(ValueError) as error:
        make()
    assert words in str(error.value) and str(error.value).count(". ") == 0
