"""The forward-forward Lava graph against the NumPy back end on the same schedule
(docs/architecture.md: the NumPy back end is the oracle). Both call the same composition
(``rules.ff``) on the same draws, so they agree to round-off; 1e-9 is the issue's bound."""

import numpy as np
import pytest

from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import Splits, load_dataset
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.kernels.optimizer import Optimizer
from dynaxx_neuro.networks.ff_numpy import FFNumpyRunner
from dynaxx_neuro.registry import bind_data
from dynaxx_neuro.rules.ff import FFConfig, FFParameters

pytestmark = pytest.mark.lava


def _small_problem():
    digits = load_dataset("digits")
    x, y = digits.x_train, digits.y_train
    # 32 training samples (4 batches of 8), 7 validation and 5 test samples: the last
    # batches of both evaluation splits are padded.
    return Splits(x[:32], y[:32], x[40:47], y[40:47], x[50:55], y[50:55], 10, (8, 8))


@pytest.mark.parametrize("negatives, optimizer, schedule, dropout", [
    (("wrong-label", "hard"), "adam", "joint", 0.2),
    (("hybrid", "noise"), "sgd", "hybrid", 0.0),
])
def test_lava_and_numpy_agree_on_predictions_monitors_and_weights(negatives, optimizer,
                                                                  schedule, dropout):
    from dynaxx_neuro.networks.ff_lava import FFLavaRunner
    data = _small_problem()
    config = bind_data(FFConfig(
        hidden=(12, 7), goodness=ff.FFGoodness(theta=1.5, dropout=dropout, measure="sum"),
        negatives=ff.FFNegatives(negatives, ratio=0.3, mask_blurs=2),
        optimizer=Optimizer(optimizer, momentum=0.5, weight_decay=1e-3),
        schedule=ff.FFSchedule(schedule, epochs_per_layer=1),
        lrs=(0.05, 0.03), readout_lr=0.1, lr_decay=0.9, batch_size=8), data)
    initial = FFParameters.initial(config, np.random.default_rng(1)).to_arrays()
    numpy_runner = FFNumpyRunner(config, data, FFParameters.from_arrays(initial, config),
                                 Launch(3))
    lava_runner = FFLavaRunner(config, data, FFParameters.from_arrays(initial, config),
                               Launch(3, 0, "floating_pt"))
    try:
        for epoch in range(2):
            expected, got = numpy_runner.run_epoch(epoch), lava_runner.run_epoch(epoch)
            for table in ("ff_layers", "ff_predictions", "goodness"):
                for name, values in expected.tables[table].items():
                    if values.dtype.kind in "US":  # split and method names
                        np.testing.assert_array_equal(got.tables[table][name], values)
                        continue
                    np.testing.assert_allclose(got.tables[table][name], values, rtol=0,
                                               atol=1e-9, err_msg=f"{table}.{name}")
            # Graded spikes of the training passes, and the counters built on them.
            for table in ("spikes", "ops"):
                for name, values in expected.tables[table].items():
                    np.testing.assert_array_equal(got.tables[table][name], values)
            assert expected.tables["spikes"]["events"].min() > 0
            np.testing.assert_array_equal(got.val_predictions, expected.val_predictions)
            np.testing.assert_array_equal(got.test_predictions, expected.test_predictions)
            assert got.train_accuracy == expected.train_accuracy
            assert got.train_loss == pytest.approx(expected.train_loss, abs=1e-9)
            assert got.test_loss == pytest.approx(expected.test_loss, abs=1e-9)
            assert got.metrics.keys() == expected.metrics.keys()
            for name, value in expected.metrics.items():
                assert got.metrics[name] == pytest.approx(value, abs=1e-12), name
        lava_params = lava_runner.parameters().to_arrays()
        numpy_params = numpy_runner.parameters().to_arrays()
        assert lava_params.keys() == numpy_params.keys()
        for name, value in numpy_params.items():
            np.testing.assert_allclose(lava_params[name], value, rtol=0, atol=1e-9,
                                       err_msg=name)
        for name in ("layer0_w", "layer1_w", "readout_w"):  # learning happened
            assert not np.allclose(numpy_params[name], initial[name])
    finally:
        lava_runner.close()


def test_lava_evaluates_a_checkpoint_as_numpy_does():
    from dynaxx_neuro.networks.ff_lava import FFLavaRunner
    data = _small_problem()
    config = bind_data(FFConfig(hidden=(9,), batch_size=4, predict="goodness"), data)
    params = FFParameters.initial(config, np.random.default_rng(2))
    expected = FFNumpyRunner(config, data, params, Launch(0)).evaluate(0)
    runner = FFLavaRunner(config, data, params, Launch(0, 1, "floating_pt"))
    try:
        got = runner.evaluate(0)
        with pytest.raises(RuntimeError, match="make a new runner to train"):
            runner.run_epoch(1)
    finally:
        runner.close()
    np.testing.assert_array_equal(got.val_predictions, expected.val_predictions)
    np.testing.assert_array_equal(got.test_predictions, expected.test_predictions)
    assert got.metrics == pytest.approx(expected.metrics, abs=1e-12)
    assert got.test_loss == pytest.approx(expected.test_loss, abs=1e-9)
