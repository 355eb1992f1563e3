"""Runs of Lava's own processes that the cross-check compares with Brian2.

Each builds a small graph from Lava's library processes (no process of ours), runs it on the
CPU simulator (``Loihi2SimCfg``), reads the recordings once at the end and stops the runtime
in ``finally``. Lava is imported only here and only when a run is asked for.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import, require_backend
from dynaxx_neuro.kernels import neurons as lif


def _lava(backend: str) -> None:
    require_backend(backend, ("lava", "lava-fixed"))
    prepare_lava_import()


def _check_fixed_weights(weights: np.ndarray) -> None:
    """Refuse weights that Lava's fixed-point Dense would change (8-bit; mixed-sign weights
    lose their least significant bit), so both simulators see the same numbers."""
    if not np.issubdtype(weights.dtype, np.integer):
        raise ValueError("weights must be integers for the fixed-point LIF.")
    mixed = weights.min() < 0 < weights.max()
    low, high = (-256, 254) if mixed else (-255, 255)
    if weights.min() < low or weights.max() > high or (mixed and np.any(weights % 2)):
        raise ValueError(f"weights must be {'even ' if mixed else ''}integers in "
                         f"[{low}, {high}] so that Lava's fixed-point Dense keeps them, got "
                         f"values in [{weights.min()}, {weights.max()}].")


def lava_lif(weights: np.ndarray, spikes: np.ndarray,
             params: lif.LIFFloat | lif.LIFFixed) -> lif.LIFTrace:
    """Lava's LIF (``lava.proc.lif.process.LIF``) fed by a ``RingBuffer`` source through a
    ``Dense`` synapse; ``LIFFloat`` runs the ``floating_pt`` models, ``LIFFixed`` the
    ``fixed_pt`` ones (``PyLifModelBitAcc``, ``PyDenseModelBitAcc``).

    ``weights`` (n, n_in), ``spikes`` (T, n_in) of 0/1 sent at steps 1..T. Returns u, v
    (after reset) and spikes per step, (T, n), read through ``Monitor`` processes.
    """
    fixed = isinstance(params, lif.LIFFixed)
    _lava("lava-fixed" if fixed else "lava")
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor

    weights, spikes = np.asarray(weights), np.asarray(spikes)
    if weights.ndim != 2 or spikes.ndim != 2 or spikes.shape[1] != weights.shape[1]:
        raise ValueError(f"spikes must be (T, {weights.shape[1] if weights.ndim == 2 else 'n'})"
                         f" to match weights (n, n_in), got shapes {spikes.shape} and "
                         f"{weights.shape}.")
    if fixed:
        _check_fixed_weights(weights)
        neuron = LIF(shape=(weights.shape[0],), du=params.du, dv=params.dv, vth=params.vth,
                     bias_mant=params.bias_mant, bias_exp=params.bias_exp)
    else:
        neuron = LIF(shape=(weights.shape[0],), du=params.du, dv=params.dv, vth=params.vth,
                     bias_mant=params.bias)
    n_steps = spikes.shape[0]
    source = RingBuffer(data=spikes.T.astype(float))  # (n_in, T): time is the last axis
    dense = Dense(weights=weights.astype(float) if not fixed else weights)
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(neuron.a_in)
    monitors = {name: Monitor() for name in ("u", "v", "s_out")}
    for name, monitor in monitors.items():
        monitor.probe(getattr(neuron, name), n_steps)
    try:
        neuron.run(condition=RunSteps(num_steps=n_steps),
                   run_cfg=Loihi2SimCfg(select_tag="fixed_pt" if fixed else "floating_pt"))
        data = {name: np.array(m.get_data()[neuron.name][name]) for name, m in monitors.items()}
    finally:
        neuron.stop()
    if fixed:
        return lif.LIFTrace(data["u"].astype(np.int64), data["v"].astype(np.int64),
                            data["s_out"] != 0)
    return lif.LIFTrace(data["u"], data["v"], data["s_out"] != 0)


def lava_stdp(weights: np.ndarray, pre_spikes: np.ndarray, rule, post) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Lava's ``LearningDense`` with ``STDPLoihi`` (``floating_pt``, learning every step).

    ``weights`` (n_post, n_pre) initial float weights; ``pre_spikes`` (T, n_pre) of 0/1 sent
    by a ``RingBuffer`` at steps 1..T; ``rule`` a :class:`~dynaxx_neuro.crosscheck.stdp.STDPLoihiRule`.
    ``post`` is either a (T, n_post) array of 0/1 post-synaptic spikes sent straight to the
    synapse's back-propagating-spike port, or a ``LIFFloat``: then Lava LIF neurons receive
    the synapse's output and their spikes drive learning. Returns the weights after every
    step (T, n_post, n_pre) and the post spikes (T, n_post).
    """
    _lava("lava")
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer
    from lava.proc.learning_rules.stdp_learning_rule import STDPLoihi
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor

    weights, pre_spikes = np.asarray(weights, dtype=float), np.asarray(pre_spikes)
    n_post, n_steps = weights.shape[0], pre_spikes.shape[0]
    learning_rule = STDPLoihi(learning_rate=rule.learning_rate, A_plus=rule.a_plus,
                              A_minus=-rule.a_minus, tau_plus=rule.tau_plus,
                              tau_minus=rule.tau_minus, x1_impulse=rule.x1_impulse,
                              y1_impulse=rule.y1_impulse)
    source = RingBuffer(data=pre_spikes.T.astype(float))
    synapse = LearningDense(weights=weights, learning_rule=learning_rule)
    source.s_out.connect(synapse.s_in)
    if isinstance(post, lif.LIFFloat):
        neuron = LIF(shape=(n_post,), du=post.du, dv=post.dv, vth=post.vth, bias_mant=post.bias)
        synapse.a_out.connect(neuron.a_in)
        neuron.s_out.connect(synapse.s_in_bap)
        post_port = neuron.s_out
    else:
        teacher = RingBuffer(data=np.asarray(post, dtype=float).T)
        teacher.s_out.connect(synapse.s_in_bap)
        synapse.a_out.connect(Sink(shape=(n_post,), buffer=1).a_in)
        post_port = teacher.s_out
    weight_monitor, spike_monitor = Monitor(), Monitor()
    weight_monitor.probe(synapse.weights, n_steps)
    spike_monitor.probe(post_port, n_steps)
    try:
        synapse.run(condition=RunSteps(num_steps=n_steps),
                    run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
        trajectory = np.array(weight_monitor.get_data()[synapse.name]["weights"])
        post_spikes = np.array(spike_monitor.get_data()[post_port.process.name]["s_out"]) != 0
    finally:
        synapse.stop()
    return trajectory.reshape(n_steps, *weights.shape), post_spikes
