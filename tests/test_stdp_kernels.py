"""The STDP kernel against its closed-form window, the read-out helpers, and the
validation of every STDP parameter (no Lava needed)."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.kernels.stdp import (STDPRule, assign_labels, label_proportions,
                                       loihi_literal, normalise_rows, pair_dw, rate_code,
                                       stdp_step, vote)
from dynaxx_neuro import params as P
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels.neurons import ATRLIFFloat, ATRLIFState, atrlif_float_step
from dynaxx_neuro.rules.stdp import SPEC, AdaptiveLIF, Presentation, STDPConfig, subsets

# Large, asymmetric parameters so a swapped time constant or sign shows; rates exactly
# representable as Lava constants (m * 2**e times the float trace impulse 1/4).
RULE = STDPRule(a_plus=0.125, a_minus=0.0625, tau_pre_steps=3.0, tau_post_steps=7.0,
                w_max=2.0, a_hetero=0.0)


@pytest.mark.parametrize("dt", [1, 2, 5, 9])
def test_potentiation_follows_the_exponential_window(dt):
    w = 0.5
    closed_form = RULE.a_plus * (RULE.w_max - w) * np.exp(-dt / RULE.tau_pre_steps)
    assert pair_dw(dt, w, RULE) == pytest.approx(closed_form, rel=1e-12)


@pytest.mark.parametrize("dt", [-1, -3, -8])
def test_depression_follows_the_exponential_window(dt):
    w = 1.5
    closed_form = -RULE.a_minus * w * np.exp(-abs(dt) / RULE.tau_post_steps)
    assert pair_dw(dt, w, RULE) == pytest.approx(closed_form, rel=1e-12)


def test_coincident_spikes_potentiate_and_depress_on_the_old_weight():
    w, hetero = 0.5, STDPRule(0.125, 0.0625, 3.0, 7.0, 2.0, a_hetero=0.0625)
    expected = 0.125 * (2.0 - w) - 0.0625 * w - 0.0625 * w
    assert pair_dw(0, w, hetero) == pytest.approx(expected, rel=1e-12)


def test_rates_are_rounded_to_lava_constants():
    rule = STDPRule(a_plus=0.005, a_minus=0.0025, a_hetero=0.0)
    a_plus, a_minus, _ = rule.effective_rates()
    assert a_plus == 3 * 2 ** -7 / 4 and a_minus == 2 ** -7 / 4   # 3*2^-7 and 1*2^-7 / 4
    assert rule.lava_dw(0.25, 1.0, False) == "3*2^-7*x1*y0*(1 - w) - 1*2^-7*y1*x0*w"
    # Fixed point: 5-bit product shift, integer impulse 16 and 8-bit weight bound.
    assert STDPRule(a_plus=2 ** -7, a_minus=2 ** -8, a_hetero=2 ** -7).lava_dw(16, 255, True) \
        == "1*2^-6*x1*y0*(255 - w) - 1*2^-7*y1*x0*w - 1*2^-7*y0*w"
    assert loihi_literal(0.1, "x") == 3 * 2 ** -5


def test_soft_bounds_keep_weights_in_range_under_heavy_spiking():
    rng = np.random.default_rng(3)
    w, x1, y1 = rng.uniform(0, RULE.w_max, (4, 6)), np.zeros(6), np.zeros(4)
    for _ in range(300):
        w, x1, y1 = stdp_step(w, x1, y1, rng.random(6) < 0.9, rng.random(4) < 0.9, RULE)
    assert w.min() >= 0 and w.max() <= RULE.w_max


def test_stdp_step_does_not_change_its_inputs():
    w, x1, y1 = np.full((2, 3), 0.5), np.ones(3), np.ones(2)
    stdp_step(w, x1, y1, np.ones(3, bool), np.ones(2, bool), RULE)
    assert np.all(w == 0.5) and np.all(x1 == 1) and np.all(y1 == 1)


def test_normalise_rows_sets_each_row_sum():
    w = normalise_rows(np.array([[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]]), 8.0)
    np.testing.assert_allclose(w, [[2.0, 6.0], [0.0, 0.0], [4.0, 4.0]])


def test_rate_code_brings_the_input_rate_whatever_the_ink():
    rng = np.random.default_rng(0)
    faint, bold = np.array([0.0, 0.1, 0.3]), np.array([0.0, 1.0, 3.0])
    for image in (faint, bold):
        rates = np.mean([rate_code(image, 0.8, rng) for _ in range(20000)], axis=0)
        # Binomial standard error at p = 0.6 over 20000 draws is 0.0035; allow 4 of them.
        np.testing.assert_allclose(rates, [0.0, 0.2, 0.6], atol=0.014)
    assert not rate_code(np.zeros(3), 0.8, rng).any()
    assert rate_code(np.array([0.0, 1.0]), 5.0, rng).tolist() == [False, True]  # p capped at 1


def test_labels_and_vote_read_out_the_answering_neurons():
    counts = np.array([[5, 0, 1], [4, 1, 0], [0, 6, 0], [1, 7, 0]])
    labels = np.array([0, 0, 1, 1])
    neuron_labels = assign_labels(counts, labels, 3)
    assert neuron_labels.tolist() == [0, 1, 0]
    assert vote(np.array([[0, 3, 0], [9, 0, 0]]), neuron_labels, 3).tolist() == [1, 0]
    assert assign_labels(np.zeros((2, 2)), np.array([0, 1]), 2).tolist() == [-1, -1]


def test_proportion_vote_weights_neurons_by_their_selectivity():
    # Neuron 0 answers only class 0, neuron 1 class 1 three times as much as class 0,
    # neuron 2 classes 0 and 1 alike (labelled 0, the first maximum), neuron 3 never.
    counts = np.array([[4, 1, 2, 0], [0, 3, 2, 0]])
    labels = np.array([0, 1])
    neuron_labels = assign_labels(counts, labels, 2)
    assert neuron_labels.tolist() == [0, 1, 0, -1]
    np.testing.assert_allclose(label_proportions(counts, labels, 2), [1.0, 0.75, 0.5, 0.0])
    sample = np.array([[0, 3, 4, 9]])
    # Plain vote: class 0 scores (0 + 4) / 2 = 2, class 1 scores 3 -> 1.
    assert vote(sample, neuron_labels, 2).tolist() == [1]
    # Weighted: class 0 scores (0 + 4 * 0.5) / 2 = 1, class 1 scores 3 * 0.75 = 2.25 -> 1;
    # with the non-selective neuron firing more it still loses to the selective one.
    weights = label_proportions(counts, labels, 2)
    assert vote(sample, neuron_labels, 2, weights).tolist() == [1]
    assert vote(np.array([[0, 3, 8, 9]]), neuron_labels, 2).tolist() == [0]
    assert vote(np.array([[0, 3, 8, 9]]), neuron_labels, 2, weights).tolist() == [1]


def test_atrlif_step_follows_its_equations_by_hand():
    # Large, distinct decays and a relaxing threshold, so a swapped decay or a reset shows.
    cell = ATRLIFFloat(delta_i=0.3, delta_v=0.2, delta_r=0.6, delta_theta=0.1, theta_0=1.0,
                       theta_step=0.7)
    drive = [2.0, 0.0, 1.5, 3.0, 0.0, 0.0, 2.5, 0.5]
    layer = ATRLIFState.at_rest(np.array([2.0]))
    i = v = r = 0.0
    theta = 2.0
    fired = []
    for a in drive:
        i = 0.7 * i + a
        v = 0.8 * v + i
        theta = 0.9 * (theta - 1.0) + 1.0
        r = 0.4 * r
        spike = v - r >= theta
        if spike:
            r, theta = r + 2 * theta, theta + 0.7
        layer, s = atrlif_float_step(layer, np.array([a]), cell)
        fired.append(bool(s[0]))
        assert layer.v[0] == pytest.approx(v) and layer.r[0] == pytest.approx(r)
        assert layer.theta[0] == pytest.approx(theta) and bool(s[0]) == spike
    assert 1 < sum(fired) < len(drive)  # spikes and silences both checked


def test_subsets_are_drawn_from_the_run_seed_and_cut_validation_in_proportion():
    splits = prepare_splits("digits", None, 0.1, 4)
    config = STDPConfig(n_train=100, n_test=50)
    first, again = subsets(config, splits), subsets(config, splits)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert (len(first.x_train), len(first.x_test)) == (100, 50)
    assert len(first.x_val) == round(100 * len(splits.x_val) / len(splits.x_train))
    other = subsets(config, dataclasses.replace(splits, seed=5))
    assert not np.array_equal(other.x_train, first.x_train)
    np.testing.assert_array_equal(subsets(STDPConfig(), splits).x_train, splits.x_train)


def test_dataset_defaults_name_options_of_the_configuration():
    leaves = {path[-1] for _, path in P.cli_fields(STDPConfig)} | {"epochs"}
    for dataset, values in SPEC.dataset_defaults.items():
        assert set(values) <= leaves, dataset


@pytest.mark.parametrize("make, name", [
    (lambda: STDPRule(tau_pre_steps=0.0), "--tau-pre"),
    (lambda: STDPRule(tau_post_steps=-2.0), "--tau-post"),
    (lambda: STDPRule(a_plus=-0.1), "--a-plus"),
    (lambda: STDPRule(a_minus=float("nan")), "--a-minus"),
    (lambda: STDPRule(a_plus=0.5, tau_pre_steps=8.0), "--a-plus"),
    (lambda: STDPRule(w_max=0.0), "--w-max"),
    (lambda: STDPRule(w_max=0.3), "--w-max"),
    (lambda: STDPRule(a_plus=1e-6), "--a-plus"),
    (lambda: AdaptiveLIF(delta_v=1.5), "--delta-v"),
    (lambda: AdaptiveLIF(delta_theta=-0.1), "--delta-theta"),
    (lambda: AdaptiveLIF(theta_0=0.0), "--theta-0"),
    (lambda: AdaptiveLIF(n_neurons=1), "--neurons"),
    (lambda: AdaptiveLIF(n_neurons=12.0), "--neurons"),
    (lambda: Presentation(input_rate=float("inf")), "--input-rate"),
    (lambda: Presentation(input_rate=0.0), "--input-rate"),
    (lambda: Presentation(t_present=0), "--t-present"),
    (lambda: Presentation(t_present=True), "--t-present"),
    (lambda: Presentation(t_present_eval=0), "--t-present-eval"),
    (lambda: Presentation(t_rest_eval=-1), "--t-rest-eval"),
    (lambda: Presentation(input_rate_eval=0.0), "--input-rate-eval"),
    (lambda: STDPConfig(n_inputs=4, n_classes=2, w_sum=10.0), "--w-sum"),
    (lambda: STDPConfig(n_inputs=4, n_classes=2, w_sum=-1.0), "--w-sum"),
    (lambda: STDPConfig(n_inputs=64, n_classes=2, vote="median"), "--vote"),
    (lambda: STDPConfig(n_train=-5), "--n-train"),
])
def test_bad_parameters_name_the_argument(make, name):
    with pytest.raises(ValueError, match=name) as error:
        make()
    assert str(error.value).count(".") >= 1 and "\n" not in str(error.value)
