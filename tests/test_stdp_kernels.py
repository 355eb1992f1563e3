"""The STDP kernel against its closed-form window, the read-out helpers, and the
validation of every STDP parameter (no Lava needed)."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.kernels.stdp import (STDPRule, assign_labels, label_proportions,
                                       loihi_literal, normalise_rows, pair_dw, rate_code,
                                       stdp_step, vote)
from dynaxx_neuro.networks.stdp_lava import AdaptiveLIF, Presentation, STDPNetworkConfig

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


def test_configs_of_runs_before_the_vote_option_keep_diehl_and_cooks_vote():
    stored = dataclasses.asdict(STDPNetworkConfig(n_inputs=64, n_classes=10))
    assert STDPNetworkConfig.from_dict(stored).vote == "proportion"
    del stored["vote"]
    assert STDPNetworkConfig.from_dict(stored).vote == "mean"


@pytest.mark.parametrize("make, name", [
    (lambda: STDPRule(tau_pre_steps=0.0), "tau_pre_steps"),
    (lambda: STDPRule(tau_post_steps=-2.0), "tau_post_steps"),
    (lambda: STDPRule(a_plus=-0.1), "a_plus"),
    (lambda: STDPRule(a_minus=float("nan")), "a_minus"),
    (lambda: STDPRule(a_plus=0.5, tau_pre_steps=8.0), "a_plus"),
    (lambda: STDPRule(w_max=0.0), "w_max"),
    (lambda: STDPRule(w_max=0.3), "w_max"),
    (lambda: STDPRule(a_plus=1e-6), "a_plus"),
    (lambda: AdaptiveLIF(delta_v=1.5), "delta_v"),
    (lambda: AdaptiveLIF(delta_theta=-0.1), "delta_theta"),
    (lambda: AdaptiveLIF(theta_0=0.0), "theta_0"),
    (lambda: AdaptiveLIF(n_neurons=1), "n_neurons"),
    (lambda: Presentation(input_rate=float("inf")), "input_rate"),
    (lambda: Presentation(input_rate=0.0), "input_rate"),
    (lambda: Presentation(t_present=0), "t_present"),
    (lambda: Presentation(t_present_eval=0), "t_present_eval"),
    (lambda: Presentation(t_rest_eval=-1), "t_rest_eval"),
    (lambda: Presentation(input_rate_eval=0.0), "input_rate_eval"),
    (lambda: STDPNetworkConfig(n_inputs=4, n_classes=2, w_sum=10.0), "w_sum"),
    (lambda: STDPNetworkConfig(n_inputs=4, n_classes=2, w_sum=-1.0), "w_sum"),
    (lambda: STDPNetworkConfig(n_inputs=64, n_classes=2, vote="median"), "vote"),
])
def test_bad_parameters_name_the_argument(make, name):
    with pytest.raises(ValueError, match=name) as error:
        make()
    assert str(error.value).count(".") >= 1 and "\n" not in str(error.value)
