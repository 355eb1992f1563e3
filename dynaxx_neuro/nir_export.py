"""Export a trained spiking STDP network to NIR (the Neuromorphic Intermediate
Representation, Pedersen et al. 2024, ``nir`` package), and a reference interpreter of the
exported graph.

The exported graph is the network as it classifies: the learned weights and each neuron's
learned threshold theta, frozen (``networks.stdp_lava``: no learning, no threshold
adaptation). NIR has no adaptive-threshold-and-refractoriness neuron, so Lava's ATRLIF is
written exactly with NIR primitives, in the float units of the run (fixed-point runs export
their weights and thresholds divided back by the fixed-point scale)::

    input --> synapses (Linear W) --------> membrane (CubaLI) ---+
                inhibition (Linear -w_inh 1 1^T) --^                +--> spikes (Threshold theta)
                refractory_in (Linear diag(-2 theta (1 - delta_r)))     |        |
                      --> refractory (LI) ------------------------------+        +--> output
    spikes feed inhibition and refractory_in (recurrent edges)

With one time step = ``dt`` and Lava's per-step decays delta (``AdaptiveLIF``), the node
parameters are tau = dt / delta and R = 1 / delta, so that forward-Euler steps of NIR's
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

:func:`simulate` runs an exported graph on given input spikes with exactly these
semantics (``tests/test_nir_export.py`` checks it against Lava's ATRLIF network spike for
spike).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DT_S = 1e-3
"""Seconds per simulation step in the exported graph (time constants are tau = dt / delta)."""

SEMANTICS = ("forward Euler at dt; every Linear delivers its input of the previous step; "
             "CubaLI updates its current before its voltage; Threshold fires on input > "
             "threshold")
_STATE_NODES = ("CubaLI", "LI")


def stdp_graph(config, params):
    """The NIR graph of a trained STDP network (``STDPNetworkConfig``, ``STDPParameters``)."""
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
    edges = [("input", "synapses"), ("synapses", "membrane"), ("inhibition", "membrane"),
             ("membrane", "spikes"), ("refractory", "spikes"), ("spikes", "inhibition"),
             ("spikes", "refractory_in"), ("refractory_in", "refractory"),
             ("spikes", "output")]
    shown = config.presentation
    t_present, t_rest = shown.schedule(learn=False)  # how the run labels and classifies
    metadata = {"dt": DT_S, "semantics": SEMANTICS, "source": "dynaxx-neuro STDP network",
                "input_coding": f"Poisson: each pixel spikes with probability proportional to "
                                f"its intensity, {shown.rate(learn=False):g} spikes per step "
                                f"expected from an image, for {t_present} steps, then "
                                f"{t_rest} silent steps"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


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
    from dynaxx_neuro.networks.stdp_lava import STDPNetworkConfig, STDPParameters
    graph = stdp_graph(STDPNetworkConfig.from_dict(run.info()["config"]),
                       STDPParameters.from_arrays(checkpoint[1]))
    path = Path(out) if out is not None else run.path / "network.nir"
    nir.write(path, graph)
    return path


def simulate(graph, spikes: np.ndarray) -> np.ndarray:
    """Output spikes (T, n_out) of an exported graph driven by input spikes (T, n_in), with
    the semantics of the module docstring. Handles the node types :func:`stdp_graph` emits
    (Input, Linear, CubaLI, LI, Threshold, Output), one input and one output node."""
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    unknown = sorted({kind for kind in kinds.values()} - {"Input", "Output", "Linear",
                                                           "Threshold", *_STATE_NODES})
    if unknown:
        raise ValueError(f"simulate handles Input, Linear, CubaLI, LI, Threshold and Output "
                         f"nodes, not {', '.join(unknown)}.")
    dt = float(graph.metadata.get("dt", DT_S))
    sources = {name: [a for a, b in graph.edges if b == name] for name in graph.nodes}
    order = [name for tier in (("Input",), ("Linear",), _STATE_NODES, ("Threshold",),
                               ("Output",))
             for name, kind in kinds.items() if kind in tier]
    spikes = np.asarray(spikes, dtype=float)
    values = {name: np.zeros(_size(node)) for name, node in graph.nodes.items()}
    current = {name: 0.0 for name, kind in kinds.items() if kind == "CubaLI"}
    output = next(name for name, kind in kinds.items() if kind == "Output")
    raster = np.zeros((len(spikes), values[output].size))
    for t, row in enumerate(spikes):
        previous = dict(values)
        for name in order:
            node, kind = graph.nodes[name], kinds[name]
            if kind == "Input":
                values[name] = row
            elif kind == "Linear":  # the previous step's input, like Lava's Dense
                values[name] = node.weight @ sum(previous[s] for s in sources[name])
            else:
                drive = sum(values[s] for s in sources[name])
                values[name] = _step(node, kind, drive, values[name], current, name, dt)
        raster[t] = values[output]
    return raster


def _size(node) -> int:
    if type(node).__name__ == "Linear":
        return node.weight.shape[0]
    types = getattr(node, "output_type", None) or node.input_type
    return int(np.prod(next(iter(types.values()))))


def _step(node, kind: str, drive, state, current: dict, name: str, dt: float):
    """One forward-Euler step of a node from this step's summed input ``drive``."""
    if kind == "Threshold":
        return (drive > node.threshold).astype(float)
    if kind == "Output":
        return drive
    if kind == "CubaLI":
        current[name] = current[name] + dt / node.tau_syn * (node.w_in * drive - current[name])
        drive = current[name]
    tau = node.tau_mem if kind == "CubaLI" else node.tau
    return state + dt / tau * (node.v_leak - state + node.r * drive)
