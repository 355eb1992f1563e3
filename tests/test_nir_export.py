"""NIR export of the spiking STDP network: the graph, its file round trip, the reference
interpreter against Lava's ATRLIF network spike for spike, and bad input."""

import nir
import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro.cli import main
from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import Splits, load_dataset
from dynaxx_neuro.nir_export import DT_S, export_run, read_layer, simulate, stdp_graph
from dynaxx_neuro.params import to_dict
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.rules.stdp import AdaptiveLIF, Presentation, STDPConfig, STDPParameters

NEURONS = AdaptiveLIF(n_neurons=12, delta_i=0.8, delta_v=0.1, delta_r=0.5, theta_0=2.0,
                      w_inh=1.5)


def _network(seed=0):
    config = STDPConfig(n_inputs=64, n_classes=10, neurons=NEURONS,
                        presentation=Presentation(t_present=20, t_rest=5, input_rate=6.0,
                                                  t_present_eval=None, t_rest_eval=None,
                                                  input_rate_eval=None),
                        w_sum=12.0, n_logged=6)
    params = STDPParameters.initial(config, np.random.default_rng(seed))
    params.theta = np.random.default_rng(seed + 1).uniform(1.5, 3.0, NEURONS.n_neurons)
    return config, params


def _stdp_run(tmp_path, config, params) -> RunDir:
    run = RunDir.create(tmp_path / "run", "stdp", {"rule": "stdp",
                                                  "config": to_dict(config)})
    run.save_checkpoint(0, params.to_arrays())
    return run


def test_the_graph_holds_the_learned_parameters_and_survives_a_file_round_trip(tmp_path):
    config, params = _network()
    path = export_run(_stdp_run(tmp_path, config, params).path)
    assert path.name == "network.nir"
    graph = nir.read(path)
    assert {name: type(node).__name__ for name, node in graph.nodes.items()} == {
        "input": "Input", "synapses": "Linear", "inhibition": "Linear",
        "refractory_in": "Linear", "membrane": "CubaLI", "refractory": "LI",
        "spikes": "Threshold", "output": "Output"}
    np.testing.assert_array_equal(graph.nodes["synapses"].weight, params.weights)
    np.testing.assert_array_equal(graph.nodes["spikes"].threshold, params.theta)
    np.testing.assert_allclose(graph.nodes["membrane"].tau_mem, DT_S / NEURONS.delta_v)
    np.testing.assert_allclose(np.diag(graph.nodes["refractory_in"].weight),
                               -2 * params.theta * (1 - NEURONS.delta_r))
    assert ("spikes", "inhibition") in [tuple(edge) for edge in graph.edges]
    # The interpreter gives the same spikes on the graph read back from the file.
    spikes = np.random.default_rng(3).random((60, 64)) < 0.1
    np.testing.assert_array_equal(simulate(graph, spikes),
                                  simulate(stdp_graph(config, params), spikes))


def test_a_lone_neuron_follows_atrlif_by_hand():
    # One neuron, one input of weight 1, no inhibition: ATRLIF's updates written out.
    neurons = AdaptiveLIF(n_neurons=2, delta_i=0.5, delta_v=0.25, delta_r=0.5, theta_0=1.0,
                          w_inh=0.0)
    config = STDPConfig(n_inputs=1, n_classes=2, neurons=neurons, w_sum=1.0)
    params = STDPParameters(np.array([[1.0], [0.0]]), np.array([0.9, 0.9]))
    spikes = np.zeros((30, 1))
    spikes[:20] = 1
    i = v = r = 0.0
    expected = []
    for t in range(30):
        a = spikes[t - 1, 0] if t else 0.0  # the synapse delivers the previous step's spike
        i = 0.5 * i + a
        v = 0.75 * v + i
        r = 0.5 * r
        fired = v - r >= 0.9  # no ties: NIR's Threshold is strict, ATRLIF's is not
        r += 1.8 if fired else 0.0
        expected.append(fired)
    got = simulate(stdp_graph(config, params), spikes)
    np.testing.assert_array_equal(got[:, 0], expected)
    assert got[:, 0].sum() > 2 and not got[:, 1].any()


@pytest.mark.lava
def test_the_interpreted_graph_spikes_exactly_like_the_lava_network():
    from dynaxx_neuro.networks.stdp_lava import LavaSTDPRunner
    config, params = _network(seed=4)
    digits = load_dataset("digits")
    x, y = digits.x_train, digits.y_train
    data = Splits(x[:2], y[:2], x[2:4], y[2:4], x[4:6], y[4:6], 10, (8, 8))
    runner = LavaSTDPRunner(config, data, params, Launch(4, 0, "floating_pt"))
    try:
        result = runner.evaluate(0)
    finally:
        runner.close()
    events = result.tables["spikes"]
    steps = 6 * config.presentation.period
    rasters = {layer: np.zeros((steps, size)) for layer, size in (("input", 64),
                                                                  ("excitatory", 12))}
    for layer, raster in rasters.items():
        rows = events["layer"] == layer
        raster[events["step"][rows], events["neuron"][rows]] = 1
    assert rasters["excitatory"].sum() > 20  # the comparison covers many spikes
    np.testing.assert_array_equal(simulate(stdp_graph(config, params), rasters["input"]),
                                  rasters["excitatory"])


def test_only_trained_stdp_runs_export(tmp_path):
    config, params = _network()
    run = RunDir.create(tmp_path / "ep", "ep", {"rule": "ep"})
    with pytest.raises(ValueError, match="is a 'ep' run, whose rate units"):
        export_run(run.path)
    fresh = RunDir.create(tmp_path / "fresh", "stdp", {"rule": "stdp", "config": to_dict(config)})
    with pytest.raises(ValueError, match="has no checkpoint yet"):
        export_run(fresh.path)
    graph = stdp_graph(config, params)
    graph.nodes["pool"] = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                        padding=np.array([0, 0]))
    with pytest.raises(ValueError, match="not SumPool2d"):
        simulate(graph, np.zeros((3, 64)))
    rewired = stdp_graph(config, params)
    rewired.edges.remove(("spikes", "inhibition"))
    with pytest.raises(ValueError, match="other nodes or edges"):
        simulate(rewired, np.zeros((3, 64)))
    leaky = stdp_graph(config, params)
    leaky.nodes["membrane"].v_leak[:] = 0.5
    with pytest.raises(ValueError, match="not an ATRLIF layer"):
        simulate(leaky, np.zeros((3, 64)))


def test_reading_the_graph_back_gives_the_layer_it_was_written_from():
    config, params = _network()
    cell, theta = read_layer(stdp_graph(config, params))
    np.testing.assert_array_equal(theta, params.theta)
    for name in ("delta_i", "delta_v", "delta_r"):
        assert getattr(cell, name) == pytest.approx(getattr(NEURONS, name), rel=1e-12)
    assert cell.delta_theta == 0 and cell.theta_step == 0  # frozen, as the read-out pass


def test_export_from_the_command_line(tmp_path):
    config, params = _network()
    run = _stdp_run(tmp_path, config, params)
    out = tmp_path / "net.nir"
    result = CliRunner().invoke(main, ["export", str(run.path), "--out", str(out)])
    assert result.exit_code == 0 and f"wrote {out}" in result.output
    assert nir.read(out).nodes["synapses"].weight.shape == (12, 64)
    result = CliRunner().invoke(main, ["export", str(tmp_path / "missing")])
    assert result.exit_code == 2 and result.output.startswith("error: ")
