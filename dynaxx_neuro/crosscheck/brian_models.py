"""Brian2 versions of the dynamics that the cross-check compares with (docs/architecture.md,
"Cross-check contract").

Discrete maps (Lava's LIF in float and in fixed point) are written with ``run_regularly`` at
the start of every Brian2 time step, and input spikes reach the neuron through ``Synapses``
that add into an input variable ``a``; the step's update consumes ``a`` and clears it before
this step's spikes are delivered, which gives the one-step delay of Lava's ``Dense``. Brian2
step ``n`` is Lava step ``n + 1`` (Lava counts from 1). The Brian2 clock is 1 ms per step:
only the step count matters.

Continuous models (the continuous LIF, the EP gradient flow) are ODEs that Brian2 integrates
itself: ``exact`` for the linear LIF, Euler with a projection onto [0, 1] after every step for
the EP flow.

Every simulation collects its objects in an explicit ``Network`` and runs with an empty
namespace, so nothing is picked up from the caller's variables. The code-generation target
is set for the duration of one simulation and restored afterwards (``numpy`` by default: no
compiler, no cache).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels import neurons as lif
from dynaxx_neuro.rules.ep import EPParameters

TARGETS = ("numpy", "cython")
STEP_MS = 1.0


def _brian2():
    """Import Brian2 (a second or two, so only when a simulation runs)."""
    import brian2
    return brian2


@contextmanager
def codegen_target(target: str):
    """Use Brian2's code-generation ``target`` inside the block, then restore the previous."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}.")
    b2 = _brian2()
    previous = b2.prefs.codegen.target
    b2.prefs.codegen.target = target
    try:
        yield b2
    finally:
        b2.prefs.codegen.target = previous


def _check_drive(weights: np.ndarray, spikes: np.ndarray) -> None:
    weights, spikes = np.asarray(weights), np.asarray(spikes)
    if weights.ndim != 2:
        raise ValueError(f"weights must be (n_post, n_pre), got shape {weights.shape}.")
    if spikes.ndim != 2 or spikes.shape[1] != weights.shape[1]:
        raise ValueError(f"spikes must be (T, {weights.shape[1]}) to match weights "
                         f"{weights.shape}, got shape {spikes.shape}.")
    if not np.isin(spikes, (0, 1)).all():
        raise ValueError("spikes must hold only 0 and 1.")


def _spike_source(b2, spikes: np.ndarray, dt):
    """A SpikeGeneratorGroup emitting ``spikes`` (T, n_in): Brian2 step n emits row n."""
    steps, index = np.nonzero(spikes)
    return b2.SpikeGeneratorGroup(spikes.shape[1], index, steps * dt, dt=dt, name="source")


def _raster(b2, monitor, n: int, n_steps: int, dt) -> np.ndarray:
    out = np.zeros((n_steps, n), dtype=bool)
    out[np.round(monitor.t[:] / dt).astype(int), monitor.i[:]] = True
    return out


def _float_lif_group(b2, n: int, params: lif.LIFFloat, dt):
    """``n`` neurons of Lava's float LIF: at the start of each step (before synapses add
    into ``a`` for the next one) u <- u (1 - du) + a, v <- v (1 - dv) + u + bias, a <- 0;
    spike when v > vth, then v <- 0."""
    group = b2.NeuronGroup(n, """u : 1
                                 v : 1
                                 a : 1
                                 du : 1 (shared, constant)
                                 dv : 1 (shared, constant)
                                 vth : 1 (shared, constant)
                                 bias : 1 (shared, constant)""",
                           threshold="v > vth", reset="v = 0", dt=dt, name="lif")
    group.du, group.dv, group.vth, group.bias = params.du, params.dv, params.vth, params.bias
    group.run_regularly("""u = u * (1 - du) + a
                           v = v * (1 - dv) + u + bias
                           a = 0""", when="start", name="lif_step")
    return group


def _run_dense_drive(b2, source, group, weights: np.ndarray, n_steps: int, dt,
                     dtype) -> lif.LIFTrace:
    """Connect ``source`` to the LIF ``group`` all-to-all like Lava's Dense (a_post += w,
    ``weights`` (n, n_in) of ``dtype``: float, or np.int64 for integer arithmetic), run
    ``n_steps`` and return u and v at the end of each step and the spikes, (T, n)."""
    integer = dtype is not float
    synapses = b2.Synapses(source, group, "w : integer" if integer else "w : 1",
                           on_pre="a_post += w", dt=dt, name="dense",
                           dtype={"w": np.int64} if integer else None)
    synapses.connect()
    synapses.w[:] = weights[synapses.j[:], synapses.i[:]]
    states = b2.StateMonitor(group, ["u", "v"], record=True, when="end", name="states")
    fired = b2.SpikeMonitor(group, name="fired")
    b2.Network(source, group, synapses, states, fired).run(n_steps * dt, namespace={})
    return lif.LIFTrace(np.array(states.u[:].T, dtype=dtype),
                        np.array(states.v[:].T, dtype=dtype),
                        _raster(b2, fired, group.N, n_steps, dt))


def lif_float(weights: np.ndarray, spikes: np.ndarray, params: lif.LIFFloat,
              target: str = "numpy") -> lif.LIFTrace:
    """Lava's float LIF driven through a Dense synapse, in Brian2.

    ``weights`` (n, n_in) float, ``spikes`` (T, n_in) of 0/1 as the source sends them at
    Lava steps 1..T. Returns u, v (after reset) and spikes per step, (T, n).
    """
    _check_drive(weights, spikes)
    weights, spikes = np.asarray(weights, dtype=float), np.asarray(spikes)
    n, n_steps = weights.shape[0], spikes.shape[0]
    with codegen_target(target) as b2:
        dt = STEP_MS * b2.ms
        source = _spike_source(b2, spikes, dt)
        group = _float_lif_group(b2, n, params, dt)
        return _run_dense_drive(b2, source, group, weights, n_steps, dt, float)


def lif_fixed(weights: np.ndarray, spikes: np.ndarray, params: lif.LIFFixed,
              target: str = "numpy") -> lif.LIFTrace:
    """Lava's bit-accurate LIF driven through a fixed-point Dense synapse, in Brian2 with
    integer (int64) arithmetic only.

    ``weights`` (n, n_in) integers as the Dense applies them (already within Loihi's weight
    grid), ``spikes`` (T, n_in) of 0/1. Returns integer u, v and spikes per step, (T, n).
    """
    _check_drive(weights, spikes)
    weights = np.asarray(weights)
    if not np.issubdtype(weights.dtype, np.integer):
        raise ValueError("weights must be integers for the fixed-point LIF.")
    spikes = np.asarray(spikes)
    n, n_steps = weights.shape[0], spikes.shape[0]
    names = ("u", "v", "a", "cu", "cv", "du", "dv", "vth", "bias")
    with codegen_target(target) as b2:
        dt = STEP_MS * b2.ms
        source = _spike_source(b2, spikes, dt)
        group = b2.NeuronGroup(n, """u : integer
                                     v : integer
                                     a : integer
                                     cu : integer
                                     cv : integer
                                     du : integer (shared, constant)
                                     dv : integer (shared, constant)
                                     vth : integer (shared, constant)
                                     bias : integer (shared, constant)""",
                               threshold="v > vth", reset="v = 0", dt=dt, name="lif",
                               dtype={name: np.int64 for name in names})
        # Decay factors with Lava's offsets, vth and bias as Lava scales them.
        group.du = lif.DECAY_UNITY - (params.du + lif.DS_OFFSET)
        group.dv = lif.DECAY_UNITY - (params.dv + lif.DM_OFFSET)
        group.vth = params.effective_vth
        group.bias = params.effective_bias
        m, shift = lif.MAX_UV, lif.DECAY_UNITY
        group.run_regularly(f"""cu = u * du
                                cu = sign(cu) * (abs(cu) // {shift}) + a * {1 << lif.ACT_SHIFT}
                                u = cu - {2 * m} * int(cu > {m}) + {2 * m} * int(cu <= -{m})
                                cv = v * dv
                                cv = sign(cv) * (abs(cv) // {shift}) + u + bias
                                v = clip(cv, {-m + 1}, {m - 1})
                                a = 0""", when="start", name="lif_step")
        return _run_dense_drive(b2, source, group, weights, n_steps, dt, np.int64)


def lif_continuous(weights: np.ndarray, spike_times_ms: np.ndarray, spike_sources: np.ndarray,
                   model: lif.LIFContinuous, dt_ms: float, duration_ms: float,
                   target: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """The continuous LIF below threshold, integrated by Brian2's ``exact`` method.

    Input spike k adds ``weights[:, spike_sources[k]]`` to u at ``spike_times_ms[k]``; the
    times must lie on the grid of ``dt_ms`` and be >= ``dt_ms``. Returns the grid times
    ``n dt`` (n = 0 .. duration/dt) and v there, (T, n_post), each value taken just after
    any input jump at that time. ``model.vth`` is not used: this is the sub-threshold flow.

    Brian2 delivers a spike emitted at step n after integrating to (n + 1) dt, so each input
    is emitted one step early; then every jump lands exactly at its time.
    """
    weights = np.asarray(weights, dtype=float)
    times = np.asarray(spike_times_ms, dtype=float)
    sources = np.asarray(spike_sources, dtype=int)
    if not np.isfinite(dt_ms) or dt_ms <= 0:
        raise ValueError(f"dt_ms must be a finite number > 0, got {dt_ms!r}.")
    if not np.isfinite(duration_ms) or duration_ms <= 0:
        raise ValueError(f"duration_ms must be a finite number > 0, got {duration_ms!r}.")
    if weights.ndim != 2:
        raise ValueError(f"weights must be (n_post, n_pre), got shape {weights.shape}.")
    if times.shape != sources.shape or times.ndim != 1:
        raise ValueError(f"spike_times_ms and spike_sources must be 1-d of equal length, got "
                         f"shapes {times.shape} and {sources.shape}.")
    steps = np.round(times / dt_ms).astype(int)
    if times.size and (not np.allclose(steps * dt_ms, times, rtol=0, atol=1e-9 * dt_ms)
                       or steps.min() < 1):
        raise ValueError(f"spike_times_ms must be multiples of dt_ms = {dt_ms} and >= dt_ms.")
    n_steps = int(round(duration_ms / dt_ms))
    with codegen_target(target) as b2:
        dt = dt_ms * b2.ms
        source = b2.SpikeGeneratorGroup(weights.shape[1], sources, (steps - 1) * dt, dt=dt,
                                        name="source")
        group = b2.NeuronGroup(weights.shape[0], """du/dt = -u / tau_u : 1
                                                   dv/dt = (-v + u + bias) / tau_v : 1
                                                   tau_u : second (shared, constant)
                                                   tau_v : second (shared, constant)
                                                   bias : 1 (shared, constant)""",
                               method="exact", dt=dt, name="lif")
        group.tau_u, group.tau_v = model.tau_u_ms * b2.ms, model.tau_v_ms * b2.ms
        group.bias = model.bias
        synapses = b2.Synapses(source, group, "w : 1", on_pre="u_post += w", dt=dt,
                               name="input")
        synapses.connect()
        synapses.w[:] = weights[synapses.j[:], synapses.i[:]]
        states = b2.StateMonitor(group, "v", record=True, when="start", name="states")
        net = b2.Network(source, group, synapses, states)
        net.run((n_steps + 1) * dt, namespace={})
        return np.arange(n_steps + 1) * dt_ms, np.array(states.v[:].T)


def ep_equilibrium(params: EPParameters, x: np.ndarray, tau_ms: float = 1.0,
                   dt_ms: float = 0.05, tol: float = 1e-9, chunk_ms: float = 20.0,
                   max_ms: float = 2000.0, target: str = "numpy"
                   ) -> tuple[list[np.ndarray], float, float]:
    """The free-phase equilibrium of EP's continuous gradient flow, in Brian2.

    Every layer l is a NeuronGroup of B * n_l units (unit ``b * n_l + k``: sample b,
    neuron k) following the flow of F = E (beta = 0), projected onto [0, 1]::

        tau ds_l/dt = -s_l + rho'(s_l) (W_l rho(s_{l-1}) + W_{l+1}^T rho(s_{l+1}) + b_l)

    with ``s_0 = x`` clamped. Synapses within each sample carry W_l upwards and W_l^T
    downwards as summed variables; Euler steps of ``dt_ms`` are followed by ``s = clip(s,
    0, 1)``. The run goes on in chunks of ``chunk_ms`` until the largest fixed-point
    residual ``|s - clip(s - dF/ds, 0, 1)|`` is below ``tol`` or ``max_ms`` is reached.
    Returns the states per layer (B, n_l), the residual and the simulated time in ms.
    """
    x = np.asarray(x, dtype=float)
    weights, biases = params.weights, params.biases
    if x.ndim != 2 or x.shape[1] != weights[0].shape[1]:
        raise ValueError(f"x must be (B, {weights[0].shape[1]}) to match the first weight "
                         f"matrix {weights[0].shape}, got shape {x.shape}.")
    for name, value in (("tau_ms", tau_ms), ("dt_ms", dt_ms), ("chunk_ms", chunk_ms),
                        ("max_ms", max_ms), ("tol", tol)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    if dt_ms >= tau_ms:
        raise ValueError(f"dt_ms must be smaller than tau_ms = {tau_ms} for a stable Euler "
                         f"flow, got {dt_ms!r}.")
    batch, sizes = x.shape[0], [w.shape[0] for w in weights]
    with codegen_target(target) as b2:
        dt = dt_ms * b2.ms
        clamp = b2.NeuronGroup(batch * x.shape[1], "r : 1", dt=dt, name="input")
        clamp.r = x.reshape(-1)
        layers = []
        for l, n in enumerate(sizes):
            has_above = l + 1 < len(sizes)
            drive = "I_up" + (" + I_down" if has_above else "")
            group = b2.NeuronGroup(batch * n, f"""
                ds/dt = (-s + rho_prime * ({drive} + b)) / tau : 1
                rho_prime = int(s >= 0) * int(s <= 1) : 1
                r = clip(s, 0, 1) : 1
                I_up : 1
                {'I_down : 1' if has_above else ''}
                b : 1 (constant)
                tau : second (shared, constant)""", method="euler", dt=dt, name=f"layer{l}")
            group.tau = tau_ms * b2.ms
            group.b = np.tile(biases[l], batch)
            group.run_regularly("s = clip(s, 0, 1)", when="end", name=f"project{l}")
            layers.append(group)
        synapses = []
        below = [clamp] + layers[:-1]
        for l, w in enumerate(weights):
            up = b2.Synapses(below[l], layers[l], "w : 1 (constant)\n"
                             "I_up_post = w * r_pre : 1 (summed)", dt=dt, name=f"up{l}")
            down = None
            if l >= 1:
                down = b2.Synapses(layers[l], below[l], "w : 1 (constant)\n"
                                   "I_down_post = w * r_pre : 1 (summed)", dt=dt,
                                   name=f"down{l}")
            n_post, n_pre = w.shape
            # Connect (sample b, pre k) to (sample b, post j) only.
            sample, post, pre = np.meshgrid(np.arange(batch), np.arange(n_post),
                                            np.arange(n_pre), indexing="ij")
            pre_index, post_index = (sample * n_pre + pre).ravel(), (sample * n_post + post).ravel()
            up.connect(i=pre_index, j=post_index)
            up.w = w[post.ravel(), pre.ravel()]
            synapses.append(up)
            if down is not None:
                down.connect(i=post_index, j=pre_index)
                down.w = w[post.ravel(), pre.ravel()]
                synapses.append(down)
        net = b2.Network(clamp, *layers, *synapses)
        elapsed, residual = 0.0, np.inf
        while elapsed < max_ms:
            net.run(chunk_ms * b2.ms, namespace={})
            elapsed += chunk_ms
            states = [np.array(g.s[:]).reshape(batch, n) for g, n in zip(layers, sizes)]
            residual = fixed_point_residual(params, x, states)
            if residual < tol:
                break
        return states, residual, elapsed


def fixed_point_residual(params: EPParameters, x: np.ndarray, states: list[np.ndarray]) -> float:
    """Largest ``|s - clip(s - dF/ds, 0, 1)|`` over all units (0 exactly at a fixed point of
    both the projected flow and the discrete settling), with F = E."""
    rates_below = [x] + [ep.rho(s) for s in states[:-1]]
    worst = 0.0
    for l, s in enumerate(states):
        total = ep.drive(params.weights[l], rates_below[l])
        if l + 1 < len(states):
            total = total + ep.drive(params.weights[l + 1].T, ep.rho(states[l + 1]))
        step = ep.settle_step(s, total, params.biases[l], 1.0)  # clip(s - dF/ds, 0, 1)
        worst = max(worst, float(np.abs(step - s).max()))
    return worst


def stdp(weights: np.ndarray, pre_spikes: np.ndarray, rule, post,
         target: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """Pair STDP with Loihi-style traces applied every step (``crosscheck.stdp``), in Brian2.

    ``weights`` (n_post, n_pre), ``pre_spikes`` (T, n_pre) of 0/1. ``post`` is a (T, n_post)
    array of 0/1 post spikes, or a ``LIFFloat``: then LIF neurons (as in :func:`lif_float`)
    receive ``a_post += w`` from the synapses and their spikes drive learning.

    Order within a step: the LIF update (start), spikes, delivery with the weights of the
    previous step and the ``x0``/``y0`` flags (synapses), then traces and weights
    (``run_regularly`` at the end), then the weight monitor. Returns the weights after
    every step (T, n_post, n_pre) and the post spikes (T, n_post).
    """
    weights = np.asarray(weights, dtype=float)
    _check_drive(weights, pre_spikes)
    pre_spikes = np.asarray(pre_spikes)
    n_post, n_pre = weights.shape
    n_steps = pre_spikes.shape[0]
    with codegen_target(target) as b2:
        dt = STEP_MS * b2.ms
        source = _spike_source(b2, pre_spikes, dt)
        if isinstance(post, lif.LIFFloat):
            group = _float_lif_group(b2, n_post, post, dt)
            on_pre = "x0 = 1\na_post += w"
        else:
            post = np.asarray(post)
            if post.shape != (n_steps, n_post) or not np.isin(post, (0, 1)).all():
                raise ValueError(f"post must be a LIFFloat or a (T, n_post) = "
                                 f"({n_steps}, {n_post}) array of 0/1, got "
                                 f"{getattr(post, 'shape', post)!r}.")
            steps, index = np.nonzero(post)
            group = b2.SpikeGeneratorGroup(n_post, index, steps * dt, dt=dt, name="teacher")
            on_pre = "x0 = 1"
        synapses = b2.Synapses(source, group, """w : 1
                                                 x1 : 1
                                                 y1 : 1
                                                 x0 : 1
                                                 y0 : 1
                                                 decay_x : 1 (shared, constant)
                                                 decay_y : 1 (shared, constant)
                                                 c_plus : 1 (shared, constant)
                                                 c_minus : 1 (shared, constant)
                                                 impulse_x : 1 (shared, constant)
                                                 impulse_y : 1 (shared, constant)""",
                               on_pre=on_pre, on_post="y0 = 1", dt=dt, name="stdp")
        synapses.connect()
        synapses.w[:] = weights[synapses.j[:], synapses.i[:]]
        synapses.decay_x = np.exp(-1 / rule.tau_plus)
        synapses.decay_y = np.exp(-1 / rule.tau_minus)
        synapses.c_plus, synapses.c_minus = rule.c_plus, -rule.c_minus
        synapses.impulse_x, synapses.impulse_y = rule.x1_impulse, rule.y1_impulse
        synapses.run_regularly("""x1 = x1 * decay_x + impulse_x * x0
                                  y1 = y1 * decay_y + impulse_y * y0
                                  w = w + c_minus * x0 * y1 + c_plus * y0 * x1
                                  x0 = 0
                                  y0 = 0""", when="end", order=0, name="learn")
        recorder = b2.StateMonitor(synapses, "w", record=True, when="end", order=1,
                                   name="weights")
        fired = b2.SpikeMonitor(group, name="fired")
        net = b2.Network(source, group, synapses, recorder, fired)
        net.run(n_steps * dt, namespace={})
        trajectory = np.zeros((n_steps, n_post, n_pre))
        trajectory[:, synapses.j[:], synapses.i[:]] = np.array(recorder.w[:]).T
        return trajectory, _raster(b2, fired, n_post, n_steps, dt)
