"""The STDP rule and network on Lava: Lava's LearningDense with our rule string against the
NumPy kernel, the fixed-point ATRLIF keeping learned thresholds, and short training runs of
the whole network with floating_pt and fixed_pt models."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels.stdp import FLOAT_TRACE_IMPULSE, STDPRule, stdp_step
from dynaxx_neuro.networks.stdp_lava import LavaSTDPRunner
from dynaxx_neuro.rules.stdp import AdaptiveLIF, Presentation, STDPConfig, STDPParameters

pytestmark = pytest.mark.lava


def _run_learning_dense(rule: STDPRule, w0: np.ndarray, pre: np.ndarray, post: np.ndarray):
    """Weights of a LearningDense (floating_pt) after pre/post spike trains (n, T) from ring
    buffers, our rule string with learning every step."""
    from dynaxx_neuro.backends import prepare_lava_import
    prepare_lava_import()
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.source import RingBuffer
    from lava.utils.weightutils import SignMode

    learning_rule = Loihi2FLearningRule(
        dw=rule.lava_dw(FLOAT_TRACE_IMPULSE, rule.w_max, False),
        x1_impulse=FLOAT_TRACE_IMPULSE, x1_tau=rule.tau_pre_steps,
        y1_impulse=FLOAT_TRACE_IMPULSE, y1_tau=rule.tau_post_steps, t_epoch=1)
    pre_source = RingBuffer(data=pre.astype(float))
    post_source = RingBuffer(data=post.astype(float))
    dense = LearningDense(weights=w0.copy(), learning_rule=learning_rule,
                          sign_mode=SignMode.EXCITATORY)
    pre_source.s_out.connect(dense.s_in)
    post_source.s_out.connect(dense.s_in_bap)
    try:
        dense.run(condition=RunSteps(num_steps=pre.shape[1]),
                  run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
        return dense.weights.get()
    finally:
        dense.stop()


def test_lava_learning_dense_applies_the_kernel_rule():
    rng = np.random.default_rng(5)
    rule = STDPRule(a_plus=0.03125, a_minus=0.015625, tau_pre_steps=4.0, tau_post_steps=6.0,
                    w_max=1.0, a_hetero=2 ** -7)
    n_pre, n_post, steps = 5, 3, 40
    pre, post = rng.random((n_pre, steps)) < 0.3, rng.random((n_post, steps)) < 0.2
    w0 = rng.uniform(0.1, 0.9, (n_post, n_pre))
    w, x1, y1 = w0, np.zeros(n_pre), np.zeros(n_post)
    for t in range(steps):
        w, x1, y1 = stdp_step(w, x1, y1, pre[:, t], post[:, t], rule)
    lava_w = _run_learning_dense(rule, w0, pre, post)
    assert np.abs(w - w0).max() > 0.05  # the trains are long enough to move weights
    # Same equations in float64, summed in Lava's order (kernels.stdp.stdp_step): bit for bit.
    np.testing.assert_array_equal(lava_w, w)


def _small_digits(n_train=30, n_test=20):
    data = prepare_splits("digits", None, 0.1, 0)
    return dataclasses.replace(data, x_train=data.x_train[:n_train],
                               y_train=data.y_train[:n_train], x_val=data.x_val[:10],
                               y_val=data.y_val[:10], x_test=data.x_test[:n_test],
                               y_test=data.y_test[:n_test])


@pytest.mark.parametrize("tag, vote", [("floating_pt", "proportion"), ("fixed_pt", "mean")])
def test_one_epoch_learns_records_and_keeps_weight_bounds(tag, vote):
    data = _small_digits()
    config = STDPConfig(n_inputs=64, n_classes=10, neurons=AdaptiveLIF(n_neurons=12),
                        presentation=Presentation(t_present=12, t_rest=4, input_rate=8.0,
                                                  t_present_eval=15, t_rest_eval=5,
                                                  input_rate_eval=16.0),
                        normalise_every=15, vote=vote, n_logged=2)
    params = STDPParameters.initial(config, np.random.default_rng(0))
    runner = LavaSTDPRunner(config, data, params, Launch(0, 0, tag))
    try:
        result = runner.run_epoch(0)
    finally:
        runner.close()
    learned = runner.parameters()
    assert not result.diverged
    assert np.abs(learned.weights - params.weights).max() > 1e-3
    assert learned.weights.min() >= 0 and learned.weights.max() <= config.rule.w_max
    # Normalised at the end of the last chunk (fixed point: up to 64 weights of rounding).
    tolerance = 64 / 255 if tag == "fixed_pt" else 1e-9
    np.testing.assert_allclose(learned.weights.sum(axis=1), config.w_sum, atol=tolerance)
    assert np.any(learned.theta > config.neurons.theta_0)  # homeostasis raised thresholds
    assert len(result.val_predictions) == 10 and len(result.test_predictions) == 20
    ops, spikes = result.tables["ops"], result.tables["spikes"]
    n_samples = len(data.x_train) + len(data.x_train) + 10 + 20  # train, label, val, test
    assert len(ops["sample"]) == n_samples and ops["input_spikes"].sum() > 0
    assert np.all(ops["learning_updates"][ops["phase"] == "eval"] == 0)
    # 16 steps per training sample, 20 per labelling and evaluation sample.
    training = ops["phase"] == "train"
    assert np.all(ops["neuron_updates"][training] == 12 * 16)
    assert np.all(ops["neuron_updates"][~training] == 12 * 20)
    # About 8 input spikes per step in training, 16 in the read-out (rate_code caps no pixel
    # of these digits at one spike per step, so the means are exact in expectation).
    for phase, steps, rate in ((training, 12, 8.0), (~training, 15, 16.0)):
        assert abs(ops["input_spikes"][phase].mean() / steps - rate) < 0.5
    assert list(result.tables["timing"]["steps"]) == [len(data.x_train) * 16,
                                                      (len(data.x_train) + 30) * 20]
    assert set(spikes["layer"]) == {"input", "excitatory"}
    train_events = spikes["phase"] == "train"
    assert spikes["step"][train_events].max() < 2 * 16  # only the two logged samples


def test_fixed_point_atrlif_keeps_each_neurons_threshold():
    from dynaxx_neuro.backends import prepare_lava_import
    prepare_lava_import()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.atrlif.process import ATRLIF

    from dynaxx_neuro.models.stdp import PyATRLIFModelFixedKeepTheta
    layer = ATRLIF(shape=(3,), theta=np.array([10, 20, 30]), theta_0=5, theta_step=0,
                   delta_theta=0, delta_v=1, delta_i=1, delta_r=1)
    try:
        layer.run(condition=RunSteps(num_steps=2), run_cfg=Loihi2SimCfg(
            select_tag="fixed_pt", exception_proc_model_map={layer: PyATRLIFModelFixedKeepTheta}))
        theta = layer.theta.get()
    finally:
        layer.stop()
    np.testing.assert_array_equal(theta, np.array([10, 20, 30]) * 64)


@pytest.mark.parametrize("tag", ["floating_pt", "fixed_pt"])
def test_the_graphs_layer_runs_the_model_its_tag_needs(tag):
    """The fixed-point graph's ATRLIF must be the threshold-keeping model (Lava's own fixed
    model would be picked by the tag alone and relax learned thresholds: 69 % instead of
    89 % on digits); the float graph keeps Lava's float model."""

    from dynaxx_neuro.models import model_map
    from dynaxx_neuro.models.stdp import PyATRLIFModelFixedKeepTheta
    from dynaxx_neuro.networks.stdp_lava import _Network
    from dynaxx_neuro.rules.stdp import SPEC, STDPParameters
    config = SPEC.configure("digits", {"n_neurons": 4})
    config = dataclasses.replace(config, n_inputs=64, n_classes=10)
    params = STDPParameters.initial(config, np.random.default_rng(0))
    network = _Network(config, np.zeros((2, 64)), params, True, 0, tag == "fixed_pt")
    chosen = model_map(network.processes, tag)
    if tag == "fixed_pt":
        assert chosen[network.layer] is PyATRLIFModelFixedKeepTheta
    else:
        assert network.layer not in chosen  # Lava picks PyATRLIFModelFloat by its tag
    assert network.source in chosen and network.recorder in chosen
