"""Target propagation: the kernels against their definitions, the period's schedule, what
the feedback learns, the alignment with backprop, and the example. The rule-wide behaviour
(resume, eval, divergence, the Lava-vs-NumPy equality) is in ``test_conformance.py``."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from dynaxx_neuro.backends import lava_available
from dynaxx_neuro.kernels import tp
from dynaxx_neuro.kernels.optimizer import TensorState
from dynaxx_neuro.registry import rule
from dynaxx_neuro.rules.tp import Schedule, TPConfig, TPLearning, TPParameters, blocks
from dynaxx_neuro.train import RunSettings, train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _config(variant: str) -> TPConfig:
    return TPConfig(hidden=(12, 10), n_inputs=6, n_classes=4, batch_size=8,
                    learning=TPLearning(variant=variant))


def test_backprop_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(5, 4)), rng.normal(size=(3, 5))]
    biases = [rng.normal(size=5), rng.normal(size=3)]
    x, targets = rng.normal(size=(7, 4)), np.eye(3)[rng.integers(0, 3, 7)]

    def loss(w0):
        h = tp.forward_rows(w0, biases[0], x, False)
        return tp.cross_entropy(tp.forward_rows(weights[1], biases[1], h, True), targets).mean()

    grad = tp.backprop_gradients(weights, biases, x, targets)[0]
    step, numeric = 1e-6, np.zeros_like(weights[0])
    for index in np.ndindex(weights[0].shape):
        bump = np.zeros_like(weights[0])
        bump[index] = step
        numeric[index] = (loss(weights[0] + bump) - loss(weights[0] - bump)) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_the_output_layers_tp_update_is_the_loss_gradient():
    """delta_L = -eta dL/dh_L, so the top layer's local gradient is eta times backprop's
    (angle 0), whatever the hidden layers' feedback."""
    rng = np.random.default_rng(1)
    h, logits = rng.normal(size=(9, 5)), rng.normal(size=(9, 3))
    targets = np.eye(3)[rng.integers(0, 3, 9)]
    dw, _ = tp.forward_grads(h, logits, tp.top_delta(logits, targets, 0.3), top=True)
    expected = (tp.softmax(logits) - targets).T @ h / 9
    np.testing.assert_allclose(dw, 0.3 * expected, rtol=1e-12)


def test_the_difference_correction_gives_no_target_change_without_a_difference():
    rng = np.random.default_rng(2)
    v, c, h = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(5, 3))
    np.testing.assert_array_equal(tp.dtp_delta(v, c, h, np.zeros_like(h)), np.zeros((5, 4)))
    assert np.abs(tp.dtp_delta(v, c, h, 0.1 * np.ones_like(h))).max() > 0


def test_the_inverse_learns_to_reconstruct_the_layer_below():
    """DTP's noisy reconstruction loss, minimised by its own gradient, brings
    g(f(h~)) close to h~ for a layer that loses no information (8 -> 8 units)."""
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(8, 8)) / 3, np.zeros(8)
    v, c = np.zeros((8, 8)), np.zeros(8)
    h = np.tanh(rng.normal(size=(256, 8)))

    def error(v, c):
        return float(np.mean((np.tanh(tp.forward_rows(w, b, h, False) @ v.T + c) - h) ** 2))

    before = error(v, c)
    for _ in range(2000):
        noisy = h + 0.1 * rng.standard_normal(h.shape)
        dv, dc = tp.inverse_grads(v, c, noisy, tp.forward_rows(w, b, noisy, False))
        v, c = v - 0.5 * dv, c - 0.5 * dc
    assert error(v, c) < 0.2 * before


def test_the_direct_feedback_learns_the_pseudo_inverse_of_a_linear_networks_jacobian():
    """For a linear map h_L = h_l J^T, difference reconstruction drives Q to pinv(J)."""
    rng = np.random.default_rng(4)
    jacobian = rng.normal(size=(6, 4))  # output 6 from layer 4
    q = np.zeros((4, 6))
    for _ in range(3000):
        noise = 0.1 * rng.standard_normal((64, 4))
        q = q - 5.0 * tp.feedback_grads(q, noise @ jacobian.T, noise)
    np.testing.assert_allclose(q, np.linalg.pinv(jacobian), atol=1e-3)


def test_the_schedule_delivers_every_difference_before_the_period_ends():
    for n_layers, direct, period in ((4, False, 9), (4, True, 7), (2, False, 5), (1, False, 3)):
        schedule = Schedule(n_layers, direct)
        assert schedule.train_period == period
        assert schedule.eval_period == n_layers + 1
        for l in range(1, n_layers):
            # a feedback layer has its input before it makes delta_l, and forward layer
            # l-1 receives delta_l in the next step, at the latest in the period's last step
            assert schedule.seen_step(l) <= schedule.feedback_step(l)
            assert schedule.arrive(l - 1) == schedule.feedback_step(l) + 1
            assert schedule.arrive(l - 1) < schedule.train_period


def test_messages_stack_one_noisy_block_per_feedback_layer_for_ddtp_and_one_for_dtp():
    assert blocks(_config("dtp")) == 2
    assert blocks(_config("ddtp-linear")) == 3  # two hidden layers and the clean pass


@pytest.mark.parametrize("variant", ["dtp", "ddtp-linear"])
def test_training_turns_the_hidden_updates_towards_the_backprop_gradient(variant, tmp_path):
    """The alignment table: every hidden layer's update starts near 90 degrees from the
    gradient (random feedback) and ends well below it; the output layer's is 0."""
    spec = rule("tp")
    config = spec.configure("digits", {"hidden": (32, 32), "variant": variant,
                                       "angle_samples": 200})
    run = train(config, RunSettings(dataset="digits", backend="numpy", epochs=4),
                tmp_path / "run", show_progress=False)
    table = run.read_table("alignment")
    angles = {(int(e), int(l)): a for e, l, a in zip(table["epoch"], table["layer"],
                                                     table["angle_deg"])}
    for layer in (1, 2):
        assert angles[(4, layer)] < 75.0, angles
        assert angles[(4, layer)] < angles[(1, layer)], angles
    assert all(angles[(e, 3)] < 1e-3 for e in range(1, 5))
    assert run.info()["final_metrics"]["test_accuracy"] > 0.8


def test_feedback_of_ddtp_maps_from_the_output():
    config = _config("ddtp-linear")
    params = TPParameters.initial(config, np.random.default_rng(6))
    assert [s.w.shape for s in params.feedback] == [(12, 4), (10, 4)]
    assert isinstance(params.feedback[0], TensorState)
    config = _config("dtp")
    params = TPParameters.initial(config, np.random.default_rng(6))
    assert [s.w.shape for s in params.feedback] == [(12, 10), (10, 4)]


def test_bad_values_are_refused_naming_the_option():
    spec = rule("tp")
    for values, words in (({"variant": "gdtp"}, "--variant must be one of dtp, ddtp-linear"),
                          ({"noise": 0.0}, "--noise must be"),
                          ({"lrs": (0.1,)}, "--lrs must hold 3 rates")):
        with pytest.raises(ValueError, match=words):
            spec.configure("digits", {"hidden": (8, 8), **values})


def test_example_tp_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["tp_digits.py", "--epochs", "1", "--hidden", "16,16",
                                      "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "tp_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "final metrics" in out and "angle to the backprop gradient" in out
    assert (tmp_path / "run" / "plots" / "alignment.png").exists()


def test_a_network_too_large_for_memory_is_refused_before_a_run_folder(tmp_path):
    spec = rule("tp")
    config = spec.configure("digits", {"hidden": (200000, 200000)})
    with pytest.raises(ValueError,
                       match=r"--hidden 200000,200000 on digits needs about \d+\.\d GiB"):
        train(config, RunSettings(dataset="digits", backend="numpy", epochs=1),
              tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.lava
@pytest.mark.skipif(not lava_available(), reason="lava-nc installs only on Python 3.10")
def test_ddtp_linear_trains_bit_for_bit_alike_on_lava_and_numpy(tmp_path):
    """The conformance suite checks the default variant (DTP); DDTP-linear's graph is wired
    differently (feedback from the logits, one noisy block per hidden layer)."""
    spec = rule("tp")
    values = {k: v for k, v in spec.small.items() if k != "epochs"}
    config = spec.configure("digits", {**values, "variant": "ddtp-linear"})
    runs = [train(config, RunSettings(dataset="digits", backend=backend, epochs=1),
                  tmp_path / backend, show_progress=False) for backend in ("numpy", "lava")]
    (_, a), (_, b) = (run.last_checkpoint() for run in runs)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert runs[0].info()["final_metrics"] == runs[1].info()["final_metrics"]
    np.testing.assert_array_equal(runs[0].read_table("alignment")["angle_deg"],
                                  runs[1].read_table("alignment")["angle_deg"])
