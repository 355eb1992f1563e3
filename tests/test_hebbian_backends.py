"""The Lava graph of a Hebbian layer against the NumPy back end on the same schedule
(DESIGN.md: the NumPy back end is the oracle). Both call the same kernels in the same
order, so they agree to round-off; 1e-9 is the issue's bound."""

import numpy as np
import pytest

from dynaxx_neuro.datasets import load_dataset
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.networks.hebbian_common import HebbianConfig, HebbianState
from dynaxx_neuro.networks.hebbian_numpy import HebbianNumpyLearner


def _x_train():
    return load_dataset("digits").x_train[:60]  # 7 batches of 8; 4 samples left out


@pytest.mark.lava
@pytest.mark.parametrize("params", [hb.OjaParams(lr=0.02), hb.BCMParams(lr=0.05, tau_theta=3.0),
                                    hb.KHUParams(lr=0.1, p=3.0, k=3, delta=0.3),
                                    hb.KHUParams(lr=0.1, p=2.5, k=2, delta=0.8)],
                         ids=["oja", "bcm", "khu-p3", "khu-p2.5"])
def test_lava_and_numpy_agree_on_weights_thresholds_and_winners(params):
    from dynaxx_neuro.networks.hebbian_lava import HebbianLavaLearner
    x = _x_train()
    config = HebbianConfig(params, n_in=64, n_hidden=12, batch_size=8, lr_decay=0.8, seed=2,
                           lr_linear_epochs=3)  # both parts of the rate schedule
    initial = HebbianState.initial(config)
    numpy_learner = HebbianNumpyLearner(config, x, initial)
    lava_learner = HebbianLavaLearner(config, x, initial, 0)
    try:
        for epoch in range(2):
            expected, got = numpy_learner.run_epoch(epoch), lava_learner.run_epoch(epoch)
            assert got.keys() == expected.keys()
            for name, value in expected.items():
                np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-9, err_msg=name)
            # Graded spikes sent and the operation counters built on them: identical.
            for table, columns in numpy_learner.activity.tables(epoch).items():
                for name, value in columns.items():
                    np.testing.assert_array_equal(
                        lava_learner.activity.tables(epoch)[table][name], value)
        np.testing.assert_allclose(lava_learner.parameters().weights,
                                   numpy_learner.parameters().weights, rtol=0, atol=1e-9)
        np.testing.assert_allclose(lava_learner.parameters().theta,
                                   numpy_learner.parameters().theta, rtol=0, atol=1e-9)
    finally:
        lava_learner.close()
    assert not np.allclose(numpy_learner.parameters().weights, initial.weights)
    if isinstance(params, hb.BCMParams):
        assert np.all(numpy_learner.parameters().theta > 0)  # the threshold moved


def test_numpy_learner_is_deterministic_and_reports_each_epoch():
    x = _x_train()
    config = HebbianConfig(hb.KHUParams(lr=0.1, k=3), n_in=64, n_hidden=12, batch_size=8)
    rows = []
    for _ in range(2):
        learner = HebbianNumpyLearner(config, x, HebbianState.initial(config))
        rows.append(learner.run_epoch(0))
    assert rows[0] == rows[1]
    assert rows[0]["epoch"] == [0] and rows[0]["weight_change"][0] > 0
    assert 0 < rows[0]["active_fraction"][0] <= 1


def test_numpy_learner_reports_divergence_and_keeps_the_last_state():
    x = _x_train() * 1e3  # Oja with lr * |x|^2 >> 1 blows up
    config = HebbianConfig(hb.OjaParams(lr=1.0), n_in=64, n_hidden=4, batch_size=8)
    initial = HebbianState.initial(config)
    learner = HebbianNumpyLearner(config, x, initial)
    with np.errstate(all="ignore"):
        assert learner.run_epoch(0) is None
    np.testing.assert_array_equal(learner.parameters().weights, initial.weights)
