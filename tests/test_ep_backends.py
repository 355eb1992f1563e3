"""The Lava graph against the NumPy back end on the same schedule (docs/architecture.md: the
NumPy back end is the oracle). Both call the same kernels in the same order on the same arrays,
so the learned parameters agree bit for bit; the energies, which the graph sums process by
process, agree to round-off (1e-9 is the issue's bound)."""

import numpy as np
import pytest

from dynaxx_neuro.cycle import Launch, n_eval_batches, padded_batch
from dynaxx_neuro.datasets import Splits, load_dataset
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.ep_numpy import EPNumpyRunner, settle_period
from dynaxx_neuro.rules.ep import EPConfig, EPParameters

pytestmark = pytest.mark.lava


def _small_problem():
    digits = load_dataset("digits")
    x, y = digits.x_train, digits.y_train
    # 40 training samples (5 batches of 8), 7 validation and 5 test samples: the last
    # batches of both evaluation splits are padded.
    return Splits(x[:40], y[:40], x[40:47], y[40:47], x[50:55], y[50:55], 10, (8, 8))


@pytest.mark.parametrize("symmetric, random_sign, momentum", [(True, False, 0.5),
                                                              (False, True, 0.0)])
def test_lava_and_numpy_agree_on_states_energies_and_weights(symmetric, random_sign, momentum):
    from dynaxx_neuro.networks.ep_lava import EPLavaRunner
    data = _small_problem()
    config = EPConfig(hidden=(12, 7), n_inputs=64, n_classes=10,
                      schedule=ep.EPSchedule(5, 3, symmetric),
                      dynamics=ep.EPDynamics(beta=0.7, eps=0.6),
                      learning=ep.EPLearning(lrs=(0.3, 0.2, 0.1), lr_decay=0.9,
                                             momentum=momentum, random_sign=random_sign),
                      batch_size=8, log_batches=2)
    assert config.sizes == (64, 12, 7, 10)
    seed = 3
    initial = EPParameters.initial(config, np.random.default_rng(1)).to_arrays()
    numpy_runner = EPNumpyRunner(config, data, EPParameters.from_arrays(initial, config),
                                 Launch(seed, 0, "numpy"))
    lava_runner = EPLavaRunner(config, data, EPParameters.from_arrays(initial, config),
                               Launch(seed, 0, "floating_pt"))
    try:
        for epoch in range(2):
            expected, got = numpy_runner.run_epoch(epoch), lava_runner.run_epoch(epoch)
            # Energies of every settling step of the logged batches cover every state.
            for name in ("E", "C", "F"):
                np.testing.assert_allclose(got.tables["energy"][name],
                                           expected.tables["energy"][name], rtol=0, atol=1e-9)
            # Graded spikes sent per layer, and the operation counters built on them.
            for table in ("spikes", "ops"):
                for name, column in expected.tables[table].items():
                    np.testing.assert_array_equal(got.tables[table][name], column)
            np.testing.assert_array_equal(got.val_predictions, expected.val_predictions)
            np.testing.assert_array_equal(got.test_predictions, expected.test_predictions)
            assert got.train_accuracy == expected.train_accuracy
            assert got.test_loss == pytest.approx(expected.test_loss, abs=1e-9)
        # States: the layers' last states are those of the final step of the last period
        # (the padded last test batch, beta = 0), which settle_period reproduces.
        last = (n_eval_batches(len(data.x_test), config.batch_size) - 1) * config.batch_size
        x_last = padded_batch(data.x_test, last, config.batch_size)
        expected_rates = settle_period(numpy_runner.parameters(), x_last,
                                       np.zeros((config.batch_size, 10)), 0.0, config)
        # The -beta end with symmetric nudging, the +beta end (the period's last step)
        # without.
        final = expected_rates.phases.rates[config.schedule.period - 1]
        for layer, rates in zip(lava_runner.layers, final):
            np.testing.assert_allclose(ep.rho(layer.s.get()), rates, rtol=0, atol=1e-9)
        # Weights, biases and velocities, and the backward synapses' own W^T copies, are
        # bit-identical: the NumPy loop holds the same arrays as the graph.
        lava_params = lava_runner.parameters().to_arrays()
        numpy_params = numpy_runner.parameters().to_arrays()
        assert lava_params.keys() == numpy_params.keys()
        for name, value in numpy_params.items():
            np.testing.assert_array_equal(lava_params[name], value, err_msg=name)
        assert not np.allclose(numpy_params["w0"], initial["w0"])  # learning happened
        for lava_copy, numpy_copy in zip(lava_runner.backward_weights(),
                                         numpy_runner.backward.weights):
            np.testing.assert_array_equal(lava_copy, numpy_copy)
        # Forward and backward synapses apply the same symmetric rule and stay transposes.
        for backward, forward in zip(lava_runner.backward_weights(),
                                     lava_runner.parameters().weights[1:]):
            np.testing.assert_allclose(backward, forward.T, rtol=0, atol=1e-12)
    finally:
        lava_runner.close()


def test_lava_evaluation_equals_numpy_and_never_trains():
    from dynaxx_neuro.networks.ep_lava import EPLavaRunner
    data = _small_problem()
    config = EPConfig(hidden=(12,), n_inputs=64, n_classes=10, schedule=ep.EPSchedule(5, 3),
                      batch_size=8)
    initial = EPParameters.initial(config, np.random.default_rng(2)).to_arrays()
    expected = EPNumpyRunner(config, data, EPParameters.from_arrays(initial, config),
                             Launch(0)).evaluate(0)
    evaluator = EPLavaRunner(config, data, EPParameters.from_arrays(initial, config),
                             Launch(0, 1, "floating_pt"))
    try:
        got = evaluator.evaluate(0)
        np.testing.assert_array_equal(got.val_predictions, expected.val_predictions)
        np.testing.assert_array_equal(got.test_predictions, expected.test_predictions)
        assert got.val_loss == pytest.approx(expected.val_loss, abs=1e-12)
        assert got.test_loss == pytest.approx(expected.test_loss, abs=1e-12)
        with pytest.raises(RuntimeError, match="built by evaluate"):
            evaluator.run_epoch(1)  # its graph holds no training periods
    finally:
        evaluator.close()
    trainer = EPLavaRunner(config, data, EPParameters.from_arrays(initial, config),
                           Launch(0, 0, "floating_pt"))
    try:
        trainer.run_epoch(0)
        trained = trainer.parameters().to_arrays()
        with pytest.raises(RuntimeError, match="has trained"):
            trainer.evaluate(0)  # its graph's next periods would train
        for name, value in trainer.parameters().to_arrays().items():
            np.testing.assert_array_equal(value, trained[name], err_msg=name)
    finally:
        trainer.close()
