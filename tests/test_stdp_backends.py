"""The ``numpy`` STDP back end against the Lava float graph it mirrors: the same input
spikes, output spikes, weights and thresholds (bit for bit) after a training pass with
normalisation, and the same read-out after it."""

import dataclasses

import numpy as np
import pytest

from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.networks.stdp_lava import LavaSTDPRunner
from dynaxx_neuro.networks.stdp_numpy import NumpySTDPRunner
from dynaxx_neuro.rules.stdp import (AdaptiveLIF, Presentation, STDPConfig, STDPParameters,
                                     input_seed)

SEED = 3


def _setup():
    data = prepare_splits("digits", None, 0.1, 0)
    data = dataclasses.replace(data, x_train=data.x_train[:24], y_train=data.y_train[:24],
                               x_val=data.x_val[:8], y_val=data.y_val[:8],
                               x_test=data.x_test[:8], y_test=data.y_test[:8])
    # A rest shorter than the membranes' decay carries state across samples, and a
    # normalisation every 5 samples falls inside the pass: both must match.
    config = STDPConfig(
        n_inputs=64, n_classes=10, neurons=AdaptiveLIF(n_neurons=12, delta_i=0.5),
        presentation=Presentation(t_present=15, t_rest=3, input_rate=6.0, t_present_eval=20,
                                  t_rest_eval=5, input_rate_eval=10.0),
        normalise_every=5, n_logged=2)
    params = STDPParameters.initial(config, np.random.default_rng([SEED, 7]))
    return config, data, params


@pytest.mark.lava
def test_numpy_back_end_reproduces_the_lava_float_graph():
    config, data, params = _setup()
    lava, numpy_ = (LavaSTDPRunner(config, data, params, Launch(SEED, 0, "floating_pt")),
                    NumpySTDPRunner(config, data, params, Launch(SEED, 0, "numpy")))
    seed = input_seed(SEED, 0, True)
    expected = lava._pass(data.x_train, True, seed)
    got = numpy_._pass(data.x_train, True, seed)
    np.testing.assert_array_equal(got.input_spikes[:len(data.x_train)],
                                  expected.input_spikes[:len(data.x_train)])
    np.testing.assert_array_equal(got.counts, expected.counts)
    assert got.counts.sum() > 10  # the neurons fired, so the comparison means something
    np.testing.assert_array_equal(got.in_raster, expected.in_raster)
    np.testing.assert_array_equal(got.out_raster, expected.out_raster)
    np.testing.assert_array_equal(got.params.weights, expected.params.weights)
    np.testing.assert_array_equal(got.params.theta, expected.params.theta)
    assert np.abs(got.params.weights - params.weights).max() > 1e-3  # learning happened
    lava_result, numpy_result = lava.run_epoch(0), numpy_.run_epoch(0)
    np.testing.assert_array_equal(numpy_result.test_predictions, lava_result.test_predictions)
    assert numpy_result.train_accuracy == lava_result.train_accuracy
    np.testing.assert_array_equal(numpy_.parameters().weights, lava.parameters().weights)
