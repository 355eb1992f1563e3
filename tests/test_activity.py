"""Graded-spike counts and operation counters of the rate networks
(``rules.ep.ep_activity``, ``rules.ff.ff_activity``, ``rules.hebbian.hebbian_activity``)."""

import numpy as np

from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import Splits

from dynaxx_neuro.kernels import ep, ff
from dynaxx_neuro.networks.ep_numpy import settle_period
from dynaxx_neuro.networks.ff_numpy import train_period
from dynaxx_neuro.networks.hebbian_numpy import HebbianNumpyRunner
from dynaxx_neuro.rules.hebbian import HebbianConfig, HebbianParameters
from dynaxx_neuro.rules.ep import EPConfig, EPParameters, ep_activity
from dynaxx_neuro.rules.ff import FFConfig, FFParameters, ff_activity, neutral_input, pass_input


def test_counters_follow_the_layer_sizes_and_events():
    tables = ep_activity((3, 2, 4), np.array([10, 5, 7]), period=6, n_samples=2).tables(3)
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
    config = EPConfig(hidden=(4,), n_inputs=5, n_classes=3, schedule=ep.EPSchedule(4, 2, True),
                      dynamics=ep.EPDynamics(beta=0.5, eps=1.0),
                      learning=ep.EPLearning(lrs=(0.1, 0.1)))
    params = EPParameters.initial(config, np.random.default_rng(0))
    params.weights = [np.zeros_like(w) for w in params.weights]
    params.biases[0] = np.array([0.5, -0.2, 0.3, 0.0])
    x = np.array([[0.0, 1.0, 0.5, 0.0, 0.2], [0.0, 0.0, 0.0, 0.0, 0.9]])
    trace = settle_period(params, x, np.eye(3)[[0, 2]], 0.5, config)
    period = config.schedule.period
    assert trace.events[0] == 4 * period
    assert trace.events[1] == 2 * 2 * (period - 1)
    assert 0 <= trace.events[2] <= 2 * 3 * (period - 1)


def _small_ff(**kwargs) -> FFConfig:
    """5 features (+ 2 label entries), layers of 4 and 3, wrong-label negatives only."""
    return FFConfig(n_inputs=5, hidden=(4, 3), n_classes=2, lrs=(0.01, 0.01),
                    image_shape=(1, 5), negatives=ff.FFNegatives(("wrong-label",)), **kwargs)


def test_ff_counters_follow_the_passes_and_layer_sizes():
    config = _small_ff()
    assert len(config.passes("train")) == 3  # neutral, positive, negative
    activity = ff_activity(config, np.array([30, 20, 10]), n_samples=2)
    spikes, ops = activity.tables(1)["spikes"], activity.tables(1)["ops"]
    assert list(spikes["layer"]) == ["input", "layer 0", "layer 1"]
    np.testing.assert_array_equal(spikes["neuron_steps"], [7 * 3 * 2, 4 * 3 * 2, 3 * 3 * 2])
    assert ops["synaptic_ops"][0] == 30 * 4 + 20 * 3 + 2 * 2 * 7   # readout counted dense
    assert ops["neuron_updates"][0] == 2 * (3 * 7 + 2)
    assert ops["learning_updates"][0] == 2 * ((7 + 1) * 4 + (4 + 1) * 3 + 2 * (7 + 1))


def test_an_ff_training_period_counts_what_its_passes_send():
    config = _small_ff(batch_size=3)
    params = FFParameters.initial(config, np.random.default_rng(0))
    x = np.array([[0.0, 1.0, 0.5, 0.0, 0.2], [0.3, 0.0, 0.0, 0.0, 0.9], [1, 1, 1, 1, 1.0]])
    y = np.array([0, 1, 1])
    events = np.zeros(3, dtype=np.int64)
    train_period(params, x, y, config, seed=0, epoch=0, batch=0, events=events)
    # The input events of the neutral and positive passes are known without the negatives;
    # a wrong-label negative has the positive's pixels and one label entry.
    known = np.count_nonzero(neutral_input(config, x)) + np.count_nonzero(pass_input(config, x, y))
    assert events[0] == known + np.count_nonzero(x) + len(x)
    assert 0 < events[1] <= 3 * 3 * 4 and 0 <= events[2] <= 3 * 3 * 3


def test_a_khu_epoch_sends_two_activities_per_sample_and_learns_on_their_rows():
    config = HebbianConfig(rule="khu", k=2, n_inputs=6, hidden=5, n_classes=2, batch_size=4)
    x = np.random.default_rng(0).random((12, 6))
    x[:, 0] = 0.0  # one silent pixel
    none = np.zeros(0, dtype=int)
    data = Splits(x, np.zeros(12, dtype=int), x[:0], none, x[:0], none, 2, (1, 6))
    runner = HebbianNumpyRunner(config, data, HebbianParameters.initial(
        config, np.random.default_rng(0)), Launch(0, stage_epochs=(0, 1)))
    tables = runner.run_epoch(0).tables
    # Each sample: its top unit (+1) and its k-th unit (-delta) send; the input is sent on
    # both steps of the period.
    np.testing.assert_array_equal(tables["spikes"]["events"], [12 * 5 * 2, 12 * 2])
    assert tables["ops"]["synaptic_ops"][0] == 12 * 5 * 2 * 5
    assert tables["ops"]["learning_updates"][0] == 12 * 2 * 6
    assert tables["ops"]["neuron_updates"][0] == 5 * 2 * 12
