"""The Lava graph of a Hebbian layer against the NumPy back end on the same schedule
(docs/architecture.md: the NumPy back end is the oracle). Both call the rule's methods in
the same order on the same arrays, so they agree bit for bit."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import Splits, load_dataset
from dynaxx_neuro.networks.hebbian_numpy import HebbianNumpyRunner
from dynaxx_neuro.rules.hebbian import HebbianConfig, HebbianParameters

# Columns of the ``hebbian`` table that measure the machine, not the learning.
TIMING = ("time_s", "samples_per_s", "peak_rss_mb")


def _data() -> Splits:
    """60 digits: 7 batches of 8, 4 samples left out of every epoch."""
    data = load_dataset("digits")
    none = data.x_train[:0]
    return Splits(data.x_train[:60], data.y_train[:60], none, data.y_train[:0], none,
                  data.y_train[:0], data.n_classes, data.image_shape)


def _config(**rule) -> HebbianConfig:
    # both parts of the rate schedule: decay 0.8 per epoch and a linear fall over the stage
    return HebbianConfig(hidden=12, n_inputs=64, n_classes=10, batch_size=8, lr_decay=0.8,
                         lr_schedule="linear", **rule)


def _runners(config: HebbianConfig, seed: int = 2):
    from dynaxx_neuro.networks.hebbian_lava import HebbianLavaRunner
    initial = HebbianParameters.initial(config, stream(seed, INIT))
    data = _data()
    numpy_runner = HebbianNumpyRunner(config, data, initial,
                                      Launch(seed, 0, "numpy", stage_epochs=(0, 3)))
    lava_runner = HebbianLavaRunner(config, data, initial,
                                    Launch(seed, 0, "floating_pt", stage_epochs=(0, 3)))
    return initial, numpy_runner, lava_runner


@pytest.mark.lava
@pytest.mark.parametrize("rule", [dict(rule="oja", lr=0.02),
                                  dict(rule="bcm", lr=0.05, tau_theta=3.0),
                                  dict(rule="khu", lr=0.1, p=3.0, k=3, delta=0.3),
                                  dict(rule="khu", lr=0.1, p=2.5, k=2, delta=0.8)],
                         ids=["oja", "bcm", "khu-p3", "khu-p2.5"])
def test_lava_and_numpy_agree_on_weights_thresholds_and_winners(rule):
    config = _config(**rule)
    initial, numpy_runner, lava_runner = _runners(config)
    try:
        for epoch in range(2):
            expected = numpy_runner.run_epoch(epoch).tables
            got = lava_runner.run_epoch(epoch).tables
            assert got.keys() == expected.keys() == {"hebbian", "spikes", "ops"}
            for table, columns in expected.items():
                assert got[table].keys() == columns.keys()
                for name, value in columns.items():
                    if name not in TIMING:
                        np.testing.assert_array_equal(got[table][name], value,
                                                      err_msg=f"{table}.{name}")
        np.testing.assert_array_equal(lava_runner.parameters().weights,
                                      numpy_runner.parameters().weights)
        np.testing.assert_array_equal(lava_runner.parameters().theta,
                                      numpy_runner.parameters().theta)
    finally:
        lava_runner.close()
    assert not np.allclose(numpy_runner.parameters().weights, initial.weights)
    if rule["rule"] == "bcm":
        assert np.all(numpy_runner.parameters().theta > 0)  # the threshold moved


def test_numpy_runner_is_deterministic_and_reports_each_epoch():
    config = _config(rule="khu", lr=0.1, k=3)
    rows = []
    for _ in range(2):
        initial = HebbianParameters.initial(config, stream(0, INIT))
        runner = HebbianNumpyRunner(config, _data(), initial, Launch(0, stage_epochs=(0, 3)))
        result = runner.run_epoch(0)
        assert not result.evaluates and runner.evaluate(0).val_predictions is None
        rows.append({k: v for k, v in result.tables["hebbian"].items() if k not in TIMING})
    assert rows[0] == rows[1]
    assert rows[0]["epoch"] == [0] and rows[0]["weight_change"][0] > 0
    assert rows[0]["lr"] == [pytest.approx(0.1)]  # epoch 0: no decay, no fall yet
    assert 0 < rows[0]["active_fraction"][0] <= 1


def test_numpy_runner_reports_divergence_and_keeps_the_last_state():
    config = _config(rule="oja", lr=1.0)
    data = _data()
    data = dataclasses.replace(data, x_train=data.x_train * 1e3)  # lr |x|^2 >> 1
    initial = HebbianParameters.initial(config, stream(0, INIT))
    runner = HebbianNumpyRunner(config, data, initial, Launch(0, stage_epochs=(0, 3)))
    with np.errstate(all="ignore"):
        assert runner.run_epoch(0).diverged
    np.testing.assert_array_equal(runner.parameters().weights, initial.weights)


def test_a_runner_without_its_stage_epochs_is_refused():
    config = _config(rule="oja")
    initial = HebbianParameters.initial(config, stream(0, INIT))
    with pytest.raises(ValueError, match="needs the epochs of its stage"):
        HebbianNumpyRunner(config, _data(), initial, Launch(0))
