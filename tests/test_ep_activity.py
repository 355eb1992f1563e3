"""Graded-spike counts and operation counters of EP runs (``ep_common.activity_tables``)."""

import numpy as np

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.ep_common import EPConfig, EPParameters, activity_tables
from dynaxx_neuro.networks.ep_numpy import settle_period


def test_counters_follow_the_layer_sizes_and_events():
    tables = activity_tables(3, (3, 2, 4), np.array([10, 5, 7]), period=6, n_samples=2)
    spikes, ops = tables["spikes"], tables["ops"]
    assert list(spikes["layer"]) == ["input", "hidden 1", "output"]
    np.testing.assert_array_equal(spikes["neuron_steps"], [36, 24, 48])
    np.testing.assert_array_equal(spikes["events"], [10, 5, 7])
    # forward 10*2 + 5*4, backward copy from the output into the hidden layer 7*2
    assert ops["synaptic_ops"][0] == 54
    assert ops["neuron_updates"][0] == (2 + 4) * 6 * 2
    # two samples x (forward 3*2 + 2*4, backward copy 2*4, biases 2 + 4)
    assert ops["learning_updates"][0] == 2 * (6 + 8 + 8 + 6)
    assert ops["spikes"][0] == 22 and ops["samples"][0] == 2 and ops["epoch"][0] == 3


def test_a_period_counts_every_non_zero_rate_it_sends():
    # Zero weights and eps = 1: every settling step puts each hidden unit at its bias, so
    # the units with a positive bias send at every step but the reset step.
    config = EPConfig(sizes=(5, 4, 3), schedule=ep.EPSchedule(4, 2, True),
                      dynamics=ep.EPDynamics(beta=0.5, eps=1.0),
                      learning=ep.EPLearning(lrs=(0.1, 0.1)))
    params = EPParameters.initial(config.sizes, np.random.default_rng(0))
    params.weights = [np.zeros_like(w) for w in params.weights]
    params.biases[0] = np.array([0.5, -0.2, 0.3, 0.0])
    x = np.array([[0.0, 1.0, 0.5, 0.0, 0.2], [0.0, 0.0, 0.0, 0.0, 0.9]])
    trace = settle_period(params, x, np.eye(3)[[0, 2]], 0.5, config)
    period = config.schedule.period
    assert trace.events[0] == 4 * period
    assert trace.events[1] == 2 * 2 * (period - 1)
    assert 0 <= trace.events[2] <= 2 * 3 * (period - 1)
