"""Export a trained spiking STDP network to NIR (the Neuromorphic Intermediate
Representation, Pedersen et al. 2024, ``nir`` package), and a reference interpreter of the
exported graph.

The exported graph is the network as it classifies: the learned weights and each neuron's
learned threshold theta, frozen (``rules.stdp``: no learning, no threshold adaptation).
NIR has no adaptive-threshold-and-refractoriness neuron, so Lava's ATRLIF is written
exactly with NIR primitives, in the float units of the run (fixed-point runs export
their weights and thresholds divided back by the fixed-point scale)::

    input --> synapses (Linear W) --------> membrane (CubaLI) ---+
                inhibition (Linear -w_inh 1 1^T) --^                +--> spikes (Threshold theta)
                refractory_in (Linear diag(-2 theta (1 - delta_r)))     |        |
                      --> refractory (LI) ------------------------------+        +--> output
    spikes feed inhibition and refractory_in (recurrent edges)

With one time step = ``dt`` and Lava's per-step decays delta (``rules.stdp.AdaptiveLIF``),
the node parameters are tau = dt / delta and R = 1 / delta, so that forward-Euler steps of NIR's
equations are ATRLIF's updates:

    membrane (CubaLI, w_in = 1 / delta_i):  I <- (1 - delta_i) I + a
                                            v <- (1 - delta_v) v + I      (with the new I)
    refractory (LI, holds -r):              q <- (1 - delta_r) q - 2 theta (1 - delta_r) s[t-1]
    spikes (Threshold):                     s = [v + q > theta]

q = -r is ATRLIF's refractory state r after its decay at the step (r rises by 2 theta at a
spike and decays by (1 - delta_r) per step; ATRLIF has no voltage reset). Every ``Linear``
delivers its input of the previous step, like Lava's ``Dense`` and Loihi's synapses. Two
differences remain: NIR's Threshold fires on v + q > theta and ATRLIF on >= (a tie has
probability zero with real-valued weights), and a fixed-point run's integer rounding is not
part of the graph. The graph's metadata states dt, these semantics and how inputs are rate coded.

:func:`simulate` is the reference interpreter of an exported graph: it reads the graph
back into the ATRLIF layer it encodes (delta = dt / tau, refusing nodes of any other form)
and steps it with ``kernels.neurons.atrlif_float_step``, the kernel of the ``numpy`` back
end, so it fires on >= as ATRLIF does (``tests/test_nir_export.py`` checks it against
Lava's ATRLIF network spike for spike).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dynaxx_neuro.kernels.neurons import ATRLIFFloat, ATRLIFState, atrlif_float_step

DT_S = 1e-3
"""Seconds per simulation step in the exported graph (time constants are tau = dt / delta)."""

SEMANTICS = ("forward Euler at dt; every Linear delivers its input of the previous step; "
             "CubaLI updates its current before its voltage; Threshold fires on input > "
             "threshold")
# The graph stdp_graph writes: node -> NIR node type, and its edges.
LAYOUT = {"input": "Input", "synapses": "Linear", "inhibition": "Linear",
          "refractory_in": "Linear", "membrane": "CubaLI", "refractory": "LI",
          "spikes": "Threshold", "output": "Output"}
EDGES = (("input", "synapses"), ("synapses", "membrane"), ("inhibition", "membrane"),
         ("membrane", "spikes"), ("refractory", "spikes"), ("spikes", "inhibition"),
         ("spikes", "refractory_in"), ("refractory_in", "refractory"), ("spikes", "output"))


def stdp_graph(config, params):
    """The NIR graph of a trained STDP network (``rules.stdp.STDPConfig``,
    ``rules.stdp.STDPParameters``)."""
    import nir
    neurons = config.neurons
    n, theta = neurons.n_neurons, np.asarray(params.theta, dtype=float)

    def full(value):
        return np.full(n, float(value))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([config.n_inputs])}),
        "synapses": nir.Linear(weight=np.asarray(params.weights, dtype=float)),
        "inhibition": nir.Linear(weight=np.full((n, n), -float(neurons.w_inh))),
        "refractory_in": nir.Linear(weight=np.diag(-2.0 * theta * (1.0 - neurons.delta_r))),
        "membrane": nir.CubaLI(tau_syn=full(DT_S / neurons.delta_i),
                               tau_mem=full(DT_S / neurons.delta_v), r=full(1.0 / neurons.delta_v),
                               v_leak=full(0.0), w_in=full(1.0 / neurons.delta_i)),
        "refractory": nir.LI(tau=full(DT_S / neurons.delta_r), r=full(1.0 / neurons.delta_r),
                             v_leak=full(0.0)),
        "spikes": nir.Threshold(threshold=theta.copy()),
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    shown = config.presentation
    t_present, t_rest = shown.schedule(learn=False)  # how the run labels and classifies
    metadata = {"dt": DT_S, "semantics": SEMANTICS, "source": "dynaxx-neuro STDP network",
                "input_coding": f"Poisson: each pixel spikes with probability proportional to "
                                f"its intensity, {shown.rate(learn=False):g} spikes per step "
                                f"expected from an image, for {t_present} steps, then "
                                f"{t_rest} silent steps"}
    return nir.NIRGraph(nodes=nodes, edges=list(EDGES), metadata=metadata)


def export_run(run_path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the NIR graph of the last checkpoint of an STDP run folder to ``out`` (default
    RUN/network.nir) and return its path."""
    import nir
    from dynaxx_neuro.records import RunDir
    run = RunDir.open(run_path)
    rule = run.info().get("rule")
    if rule != "stdp":
        raise ValueError(f"NIR export covers spiking STDP runs; run {str(run_path)!r} is a "
                         f"{rule!r} run, whose rate units (EP's hard sigmoid, FF's and the "
                         "Hebbian readouts' ReLU) NIR has no node for.")
    checkpoint = run.last_checkpoint()
    if checkpoint is None:
        raise ValueError(f"run {str(run_path)!r} has no checkpoint yet; train at least one "
                         "epoch first.")
    from dynaxx_neuro.params import from_dict
    from dynaxx_neuro.rules.stdp import STDPParameters
    config = from_dict(run.info()["config"])
    graph = stdp_graph(config, STDPParameters.from_arrays(checkpoint[1], config))
    path = Path(out) if out is not None else run.path / "network.nir"
    nir.write(path, graph)
    return path


def simulate(graph, spikes: np.ndarray) -> np.ndarray:
    """Output spikes (T, n_out) of an exported graph driven by input spikes (T, n_in): the
    two Linear nodes into the membrane deliver the previous step's input and spikes (like
    Lava's Dense) and the layer steps as ATRLIF (:func:`read_layer`)."""
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    unknown = sorted(set(kinds.values()) - set(LAYOUT.values()))
    if unknown:
        raise ValueError(f"simulate handles Input, Linear, CubaLI, LI, Threshold and Output "
                         f"nodes, not {', '.join(unknown)}.")
    if kinds != LAYOUT or sorted(map(tuple, graph.edges)) != sorted(EDGES):
        raise ValueError("simulate runs graphs laid out as stdp_graph writes them (nodes "
                         f"{', '.join(LAYOUT)}); this one has other nodes or edges.")
    cell, theta = read_layer(graph)
    synapses = np.asarray(graph.nodes["synapses"].weight, dtype=float)
    inhibition = np.asarray(graph.nodes["inhibition"].weight, dtype=float)
    spikes = np.asarray(spikes, dtype=float)
    layer = ATRLIFState.at_rest(theta)
    sent, fired = np.zeros(synapses.shape[1]), np.zeros(len(theta))
    raster = np.zeros((len(spikes), len(theta)))
    for t, row in enumerate(spikes):
        a = synapses @ sent + inhibition @ fired  # (n,) from the previous step
        layer, spiked = atrlif_float_step(layer, a, cell)
        sent, fired = row, spiked.astype(float)
        raster[t] = fired
    return raster


def read_layer(graph) -> tuple[ATRLIFFloat, np.ndarray]:
    """The frozen ATRLIF layer (parameters, thresholds) that the membrane, refractory,
    refractory_in and spikes nodes of an exported graph encode: the inverse of
    :func:`stdp_graph`'s mapping (module docstring), refusing nodes of another form."""
    dt = float(graph.metadata.get("dt", DT_S))
    membrane, refractory = graph.nodes["membrane"], graph.nodes["refractory"]
    theta = np.asarray(graph.nodes["spikes"].threshold, dtype=float)
    decays = {name: np.unique(dt / np.asarray(tau, dtype=float)) for name, tau in (
        ("delta_i", membrane.tau_syn), ("delta_v", membrane.tau_mem),
        ("delta_r", refractory.tau))}
    if any(len(values) != 1 for values in decays.values()):
        raise ValueError("simulate needs one time constant per node of the layer, as "
                         "stdp_graph writes them.")
    delta_i, delta_v, delta_r = (float(decays[name][0])
                                 for name in ("delta_i", "delta_v", "delta_r"))
    form = [(membrane.w_in, 1 / delta_i), (membrane.r, 1 / delta_v), (membrane.v_leak, 0.0),
            (refractory.r, 1 / delta_r), (refractory.v_leak, 0.0),
            (graph.nodes["refractory_in"].weight, np.diag(-2 * theta * (1 - delta_r)))]
    if not all(np.allclose(value, expected, rtol=1e-9, atol=0) for value, expected in form):
        raise ValueError("the graph's membrane, refractory and spikes nodes are not an ATRLIF "
                         "layer as stdp_graph writes it (r = 1/delta, w_in = 1/delta_i, "
                         "v_leak = 0, refractory_in = diag(-2 theta (1 - delta_r))).")
    return ATRLIFFloat(delta_i, delta_v, delta_r, delta_theta=0.0, theta_0=0.0,
                       theta_step=0.0), theta
