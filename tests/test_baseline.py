"""Tests for dynaxx_neuro.baseline (plain-NumPy backprop MLP)."""

import numpy as np
import pytest

from dynaxx_neuro.baseline import (
    MLPConfig,
    MLPTrainer,
    cross_entropy,
    init_params,
    mlp_forward,
    mlp_gradients,
    train_mlp,
)


def test_gradients_match_central_finite_differences():
    rng = np.random.default_rng(1)
    params = init_params((5, 4, 3), seed=3)
    params = [(w, rng.normal(0, 0.1, b.shape)) for w, b in params]  # non-zero biases too
    x = rng.normal(size=(3, 5))
    y = np.eye(3)[[0, 2, 1]]
    grads = mlp_gradients(params, x, y)
    eps = 1e-6

    def loss(ps):
        return cross_entropy(mlp_forward(ps, x)[-1], y)

    for l in range(len(params)):
        for j in range(2):  # 0: weight, 1: bias
            analytic = grads[l][j]
            numeric = np.zeros_like(analytic)
            for idx in np.ndindex(analytic.shape):
                shifted = []
                for sign in (1, -1):
                    ps = [(w.copy(), b.copy()) for w, b in params]
                    ps[l][j][idx] += sign * eps
                    shifted.append(loss(ps))
                numeric[idx] = (shifted[0] - shifted[1]) / (2 * eps)
            rel = np.linalg.norm(analytic - numeric) / max(
                np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12)
            assert rel < 1e-6, (l, j, rel)
            assert np.abs(numeric).max() > 0  # the check is not vacuous


def test_loss_decreases_on_separable_problem():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, size=(3, 6))
    y = rng.integers(0, 3, size=300)
    x = centers[y] + rng.normal(0, 0.5, size=(300, 6))
    trainer = MLPTrainer(MLPConfig(sizes=(6, 16, 3), lr=0.02, batch_size=10, seed=0))
    before = trainer.evaluate(x, y)[1]
    losses = [trainer.train_epoch(x, y, epoch)[1] for epoch in range(5)]
    after_acc, after = trainer.evaluate(x, y)
    assert after < before
    assert losses[-1] < losses[0]
    assert after_acc > 0.95


def test_digits_reaches_95_percent():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(
        data.data / 16.0, data.target, test_size=0.2, stratify=data.target, random_state=0)
    config = MLPConfig(sizes=(64, 256, 10), lr=0.05, momentum=0.9, batch_size=20, seed=0)
    result = train_mlp(config, x_tr, y_tr, x_te, y_te, epochs=20, n_classes=10)
    print(f"digits 64-256-10, 20 epochs: test accuracy {result['test_accuracy']:.4f}, "
          f"train accuracy {result['train_accuracy']:.4f}, "
          f"{np.mean(result['epoch_seconds']) * 1e3:.1f} ms/epoch, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB")
    assert result["test_accuracy"] >= 0.95
    assert len(result["epoch_seconds"]) == 20
    assert all(isinstance(s, float) and s >= 0 for s in result["epoch_seconds"])
    assert result["peak_rss_mb"] > 0


def test_training_is_deterministic_and_drops_remainder():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(23, 4))
    y = rng.integers(0, 2, size=23)
    config = MLPConfig(sizes=(4, 5, 2), batch_size=10, seed=4)
    runs = []
    for _ in range(2):
        trainer = MLPTrainer(config)
        acc, _ = trainer.train_epoch(x, y, 0)
        assert acc * 20 == pytest.approx(round(acc * 20))  # 2 full batches of 10
        runs.append(trainer.parameters())
    assert sorted(runs[0]) == ["b0", "b1", "w0", "w1"]
    assert runs[0]["w0"].shape == (5, 4) and runs[0]["w1"].shape == (2, 5)
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_forward_does_not_mutate_inputs():
    rng = np.random.default_rng(5)
    params = init_params((4, 6, 3), seed=0)
    x = rng.normal(size=(7, 4))
    x_copy = x.copy()
    params_copy = [(w.copy(), b.copy()) for w, b in params]
    acts = mlp_forward(params, x)
    mlp_gradients(params, x, np.eye(3)[rng.integers(0, 3, 7)])
    np.testing.assert_array_equal(x, x_copy)
    for (w, b), (w0, b0) in zip(params, params_copy):
        np.testing.assert_array_equal(w, w0)
        np.testing.assert_array_equal(b, b0)
    assert [a.shape for a in acts] == [(7, 4), (7, 6), (7, 3)]
    np.testing.assert_allclose(acts[-1].sum(axis=1), 1.0)
    assert (acts[1] >= 0).all()


def test_trainer_parameters_are_copies():
    trainer = MLPTrainer(MLPConfig(sizes=(3, 2)))
    p = trainer.parameters()
    p["w0"][:] = 99.0
    assert not np.any(trainer.parameters()["w0"] == 99.0)
    np.testing.assert_array_equal(trainer.parameters()["b0"], 0.0)


@pytest.mark.parametrize("field, value", [
    ("sizes", (5,)),
    ("sizes", (5, 0, 3)),
    ("sizes", (5, 2.5)),
    ("lr", -0.1),
    ("lr", float("nan")),
    ("lr", float("inf")),
    ("momentum", 1.0),
    ("momentum", -0.1),
    ("batch_size", 0),
    ("batch_size", 2.0),
    ("lr_decay", 0.0),
    ("lr_decay", 1.5),
])
def test_config_errors_name_the_field(field, value):
    kwargs = {"sizes": (4, 3), field: value}
    with pytest.raises(ValueError, match=rf"MLPConfig\.{field} must be"):
        MLPConfig(**kwargs)


def test_config_accepts_valid_values():
    config = MLPConfig(sizes=[4, 3], lr=0.0, momentum=0.0, batch_size=1, lr_decay=1.0)
    assert config.sizes == (4, 3)
    with pytest.raises(Exception):
        config.lr = 0.1  # frozen


def test_train_mlp_checks_sizes():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="sizes"):
        train_mlp(MLPConfig(sizes=(5, 2)), x, [0, 1, 0, 1], x, [0, 1, 0, 1], epochs=1, n_classes=2)
