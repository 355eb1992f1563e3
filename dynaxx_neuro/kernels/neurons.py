"""Leaky integrate-and-fire neurons as pure NumPy kernels.

Three views of one neuron, each the reference for a cross-check (docs/architecture.md, "Cross-check
contract"):

**Lava's discrete LIF, floating point** (``lava/proc/lif/models.py``, ``PyLifModelFloat``),
one step with input ``a`` (what the synapses sent this step)::

    u <- u (1 - du) + a
    v <- v (1 - dv) + u + bias
    s  = v > vth
    v <- 0 where s

**Lava's discrete LIF, fixed point** (``PyLifModelBitAcc``, bit-accurate with Loihi), in
integers; ``>>`` on a product is a shift of its magnitude (rounds towards zero)::

    u <- sign(p) (|p| >> 12) + (a << 6),  p = u (4096 - (du + 1))   [ds_offset = 1]
    u wraps to 24 bits: u - 2^24 if u > 2^23, u + 2^24 if u <= -2^23
    v <- clip(sign(q) (|q| >> 12) + u + (bias_mant << bias_exp), -(2^23 - 1), 2^23 - 1),
         q = v (4096 - dv)                                           [dm_offset = 0]
    s  = v > (vth << 6)
    v <- 0 where s

The float and fixed models read the same parameter names differently; :class:`FixedPointMap`
is the one place that converts between them (and between their state units).

**The continuous LIF** that the discrete map approximates, with input spikes ``w`` at times
``t_k`` and time in ms::

    du/dt = -u / tau_u + sum_k w_k delta(t - t_k)
    dv/dt = (-v + u + bias) / tau_v
    spike when v crosses vth from below; then v <- 0

:func:`discretise` maps it onto Lava's float LIF for a step ``dt_ms`` (the one place where
``du = dt / tau`` happens); :func:`lif_exact` is its closed-form solution.

A second neuron, **Lava's ATRLIF, floating point** (``lava/proc/atrlif/models.py``,
``PyATRLIFModelFloat``), is the adaptive-threshold neuron of the STDP network (its ``numpy``
back end and the NIR export's interpreter step it with this kernel), one step with input
``a`` (bias 0)::

    i <- (1 - delta_i) i + a              v <- (1 - delta_v) v + i
    theta <- (1 - delta_theta)(theta - theta_0) + theta_0
    r <- (1 - delta_r) r                  s = (v - r >= theta)
    r <- r + 2 theta s                    theta <- theta + theta_step s

There is no voltage reset: the refractory state r, raised by twice the threshold at a
spike, holds the neuron below threshold while it decays (:func:`atrlif_float_step`).

Recordings are time-major: ``(T, n)``. Functions never modify their inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.params import is_int, is_real, require

# Loihi's fixed-point layout as Lava's AbstractPyLifModelFixed sets it.
DECAY_SHIFT = 12
DECAY_UNITY = 1 << DECAY_SHIFT
DS_OFFSET = 1           # added to du: lets the current decay by exactly 4096/4096
DM_OFFSET = 0           # added to dv
VTH_SHIFT = 6           # vth is MSB-aligned with the 24-bit voltage
ACT_SHIFT = 6           # so is the synaptic input
UV_BITS = 24
MAX_UV = 1 << (UV_BITS - 1)
DU_DV_MAX = (1 << 12) - 1        # 12-bit unsigned decays
VTH_MAX = (1 << 17) - 1          # 17-bit unsigned threshold
BIAS_MANT_MIN, BIAS_MANT_MAX = -(1 << 12), (1 << 12) - 1  # 13-bit signed mantissa
BIAS_EXP_MAX = 7                 # 3-bit exponent


@dataclass(frozen=True)
class LIFFloat:
    """Parameters of Lava's float LIF: decays ``du``, ``dv`` in [0, 1], threshold ``vth``
    (``inf`` for a neuron that never spikes),
    ``bias`` (Lava's ``bias_mant``; the float model ignores ``bias_exp``)."""

    du: float = 0.1
    dv: float = 0.1
    vth: float = 1.0
    bias: float = 0.0

    def __post_init__(self):
        for name in ("du", "dv"):
            value = getattr(self, name)
            require(is_real(value) and 0 <= value <= 1,
                    f"{name} must be a number in [0, 1], got {value!r}.")
        require(isinstance(self.vth, (int, float, np.integer, np.floating))
                and not math.isnan(self.vth),
                f"vth must be a number (inf: never spikes), got {self.vth!r}.")
        require(is_real(self.bias), f"bias must be a finite number, got {self.bias!r}.")


@dataclass(frozen=True)
class LIFFixed:
    """Parameters of Lava's bit-accurate LIF, integers within Loihi's widths: ``du``, ``dv``
    12-bit unsigned, ``vth`` 17-bit unsigned, ``bias_mant`` 13-bit signed, ``bias_exp`` 0..7."""

    du: int = 409
    dv: int = 410
    vth: int = 100
    bias_mant: int = 0
    bias_exp: int = 0

    def __post_init__(self):
        for name, low, high in (("du", 0, DU_DV_MAX), ("dv", 0, DU_DV_MAX), ("vth", 0, VTH_MAX),
                                ("bias_mant", BIAS_MANT_MIN, BIAS_MANT_MAX),
                                ("bias_exp", 0, BIAS_EXP_MAX)):
            value = getattr(self, name)
            require(is_int(value) and low <= value <= high,
                    f"{name} must be an integer in [{low}, {high}], got {value!r}.")

    @property
    def effective_bias(self) -> int:
        """What is added to v each step: ``bias_mant << bias_exp``."""
        return int(self.bias_mant) << int(self.bias_exp)

    @property
    def effective_vth(self) -> int:
        """What v is compared with: ``vth << 6``."""
        return int(self.vth) << VTH_SHIFT


@dataclass(frozen=True)
class LIFTrace:
    """A recorded run: ``u``, ``v`` after the step's reset and the spikes ``s``, all (T, n)."""

    u: np.ndarray
    v: np.ndarray
    s: np.ndarray

    def spike_steps(self) -> list[np.ndarray]:
        """For every neuron, the (0-based) steps at which it spiked."""
        return [np.flatnonzero(self.s[:, i]) for i in range(self.s.shape[1])]


def _state(value, n: int, dtype, name: str) -> np.ndarray:
    array = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)) if np.ndim(value) == 0 \
        else np.asarray(value, dtype=dtype)
    require(array.shape == (n,), f"{name} must be a scalar or have shape ({n},), "
                                 f"got shape {np.shape(value)}.")
    return array.copy()


def _inputs(a_in, name: str = "a_in") -> np.ndarray:
    array = np.asarray(a_in)
    require(array.ndim == 2, f"{name} must be a (T, n) array, got shape {array.shape}.")
    return array


# --- float -------------------------------------------------------------------------------
def lif_float_step(u: np.ndarray, v: np.ndarray, a_in: np.ndarray,
                   params: LIFFloat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of Lava's float LIF; returns (u, v after reset, spikes as bool)."""
    u_new = u * (1 - params.du)
    u_new = u_new + a_in
    v_new = v * (1 - params.dv) + u_new + params.bias
    spikes = v_new > params.vth
    return u_new, np.where(spikes, 0.0, v_new), spikes


def lif_float_run(a_in: np.ndarray, params: LIFFloat, u0=0.0, v0=0.0) -> LIFTrace:
    """Run the float LIF over the inputs ``a_in`` (T, n), one row per step."""
    a_in = _inputs(a_in).astype(float)
    n = a_in.shape[1]
    u, v = _state(u0, n, float, "u0"), _state(v0, n, float, "v0")
    us, vs, ss = (np.zeros(a_in.shape) for _ in range(3))
    for t, a in enumerate(a_in):
        u, v, s = lif_float_step(u, v, a, params)
        us[t], vs[t], ss[t] = u, v, s
    return LIFTrace(us, vs, ss.astype(bool))


# --- fixed -------------------------------------------------------------------------------
def _decay(x: np.ndarray, factor: int) -> np.ndarray:
    """sign(x f) (|x f| >> 12) in 64 bits, as Lava does (rounds towards zero)."""
    product = x.astype(np.int64) * factor
    return np.sign(product) * np.right_shift(np.abs(product), DECAY_SHIFT)


def lif_fixed_step(u: np.ndarray, v: np.ndarray, a_in: np.ndarray,
                   params: LIFFixed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of Lava's bit-accurate LIF on int64 arrays; returns (u, v, spikes)."""
    current = _decay(u, DECAY_UNITY - (params.du + DS_OFFSET))
    current = current + np.left_shift(np.asarray(a_in, dtype=np.int64), ACT_SHIFT)
    # Lava wraps into 24 bits with these exact (asymmetric) bounds.
    u_new = np.where(current > MAX_UV, current - 2 * MAX_UV, current)
    u_new = np.where(u_new <= -MAX_UV, current + 2 * MAX_UV, u_new)
    voltage = _decay(v, DECAY_UNITY - (params.dv + DM_OFFSET)) + u_new + params.effective_bias
    v_new = np.clip(voltage, -MAX_UV + 1, MAX_UV - 1)
    spikes = v_new > params.effective_vth
    return u_new, np.where(spikes, 0, v_new), spikes


def lif_fixed_run(a_in: np.ndarray, params: LIFFixed, u0=0, v0=0) -> LIFTrace:
    """Run the fixed-point LIF over integer inputs ``a_in`` (T, n)."""
    a_in = _inputs(a_in)
    require(np.issubdtype(a_in.dtype, np.integer) or np.array_equal(a_in, np.round(a_in)),
            "a_in must hold integers for the fixed-point LIF.")
    a_in = a_in.astype(np.int64)
    n = a_in.shape[1]
    u, v = _state(u0, n, np.int64, "u0"), _state(v0, n, np.int64, "v0")
    us, vs, ss = (np.zeros(a_in.shape, dtype=np.int64) for _ in range(3))
    for t, a in enumerate(a_in):
        u, v, s = lif_fixed_step(u, v, a, params)
        us[t], vs[t], ss[t] = u, v, s
    return LIFTrace(us, vs, ss.astype(bool))


# --- ATRLIF (float) ----------------------------------------------------------------------
@dataclass(frozen=True)
class ATRLIFFloat:
    """Parameters of Lava's float ATRLIF: per-step decays ``delta_i``, ``delta_v``,
    ``delta_r``, ``delta_theta`` in [0, 1], the resting threshold ``theta_0`` the threshold
    relaxes to, and the threshold's rise ``theta_step`` at each spike."""

    delta_i: float
    delta_v: float
    delta_r: float
    delta_theta: float
    theta_0: float
    theta_step: float

    def __post_init__(self):
        for name in ("delta_i", "delta_v", "delta_r", "delta_theta"):
            value = getattr(self, name)
            require(is_real(value) and 0 <= value <= 1,
                    f"{name} must be a number in [0, 1], got {value!r}.")
        for name in ("theta_0", "theta_step"):
            value = getattr(self, name)
            require(is_real(value) and value >= 0,
                    f"{name} must be a finite number >= 0, got {value!r}.")


@dataclass(frozen=True)
class ATRLIFState:
    """Current ``i``, voltage ``v``, refractory state ``r`` and threshold ``theta`` of a
    layer, each (n,), after a step's spike updates."""

    i: np.ndarray
    v: np.ndarray
    r: np.ndarray
    theta: np.ndarray

    @classmethod
    def at_rest(cls, theta: np.ndarray) -> "ATRLIFState":
        """A layer with no current, voltage or refractoriness and thresholds ``theta``."""
        theta = np.asarray(theta, dtype=float)
        return cls(np.zeros(theta.shape), np.zeros(theta.shape), np.zeros(theta.shape),
                   theta.copy())


def atrlif_float_step(state: ATRLIFState, a_in: np.ndarray,
                      params: ATRLIFFloat) -> tuple[ATRLIFState, np.ndarray]:
    """One step of Lava's float ATRLIF (module docstring), in its order of operations, so
    that it matches ``PyATRLIFModelFloat`` to the last bit; returns (state, spikes as bool)."""
    i = (1 - params.delta_i) * state.i + a_in
    v = (1 - params.delta_v) * state.v + i
    theta = (1 - params.delta_theta) * (state.theta - params.theta_0) + params.theta_0
    r = (1 - params.delta_r) * state.r
    spikes = (v - r) >= theta
    return ATRLIFState(i, v, r + 2 * theta * spikes, theta + params.theta_step * spikes), spikes


# --- float <-> fixed ---------------------------------------------------------------------
@dataclass(frozen=True)
class FixedPointMap:
    """The one place where float and fixed LIF parameters and states are converted.

    ``weight_scale`` is the number of fixed-point weight units per float weight unit
    (``w_fixed = round(w_float * weight_scale)``). Since the fixed model shifts its input and
    threshold left by 6 bits, one float unit of u, v, vth and bias is ``weight_scale * 64``
    fixed units of u and v (and ``weight_scale`` units of ``vth``). Decays: the float factor
    ``1 - du`` is ``(4096 - (du_fixed + 1)) / 4096`` and ``1 - dv`` is
    ``(4096 - dv_fixed) / 4096``, so ``du_fixed = round(4096 du) - 1`` (float ``du`` in
    [1/4096, 1]) and ``dv_fixed = round(4096 dv)`` (float ``dv`` in [0, 4095/4096]).
    """

    weight_scale: float = 64.0

    def __post_init__(self):
        require(is_real(self.weight_scale) and self.weight_scale > 0,
                f"weight_scale must be a finite number > 0, got {self.weight_scale!r}.")

    @property
    def state_scale(self) -> float:
        """Fixed units of u and v per float unit."""
        return self.weight_scale * (1 << ACT_SHIFT)

    def to_fixed(self, params: LIFFloat) -> LIFFixed:
        """Fixed-point parameters nearest to ``params`` (a one-sentence error when a value
        has no representation)."""
        du = int(round(params.du * DECAY_UNITY)) - DS_OFFSET
        dv = int(round(params.dv * DECAY_UNITY)) - DM_OFFSET
        require(0 <= du <= DU_DV_MAX, f"du must be in [{1 / DECAY_UNITY}, 1] for the fixed-"
                                      f"point LIF (its current decay has an offset of 1/4096), "
                                      f"got {params.du!r}.")
        require(0 <= dv <= DU_DV_MAX, f"dv must be in [0, {DU_DV_MAX / DECAY_UNITY}] for the "
                                      f"fixed-point LIF, got {params.dv!r}.")
        require(math.isfinite(params.vth), f"vth must be finite for the fixed-point LIF, got "
                                           f"{params.vth!r}.")
        vth = int(round(params.vth * self.weight_scale))
        require(0 <= vth <= VTH_MAX, f"vth * weight_scale must be in [0, {VTH_MAX}], got "
                                     f"{params.vth * self.weight_scale!r}.")
        bias = params.bias * self.state_scale
        for exp in range(BIAS_EXP_MAX + 1):  # the smallest exponent whose mantissa fits
            mant = int(round(bias / (1 << exp)))
            if BIAS_MANT_MIN <= mant <= BIAS_MANT_MAX:
                return LIFFixed(du=du, dv=dv, vth=vth, bias_mant=mant, bias_exp=exp)
        raise ValueError(f"bias * weight_scale * 64 must be within "
                         f"{BIAS_MANT_MIN << BIAS_EXP_MAX}..{BIAS_MANT_MAX << BIAS_EXP_MAX}, "
                         f"got {bias!r}.")

    def to_float(self, params: LIFFixed) -> LIFFloat:
        """The float parameters that ``params`` represent."""
        return LIFFloat(du=(params.du + DS_OFFSET) / DECAY_UNITY,
                        dv=(params.dv + DM_OFFSET) / DECAY_UNITY,
                        vth=params.vth / self.weight_scale,
                        bias=params.effective_bias / self.state_scale)

    def weights_to_fixed(self, weights: np.ndarray) -> np.ndarray:
        """Integer weights ``round(w * weight_scale)``."""
        return np.round(np.asarray(weights, dtype=float) * self.weight_scale).astype(np.int64)

    def state_to_float(self, values: np.ndarray) -> np.ndarray:
        """Fixed-point u or v in float units."""
        return np.asarray(values, dtype=float) / self.state_scale


# --- delivery through a Dense synapse ----------------------------------------------------
def dense_delayed(weights: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """What a neuron receives through Lava's ``Dense`` from spikes (T, n_pre): step t gets
    ``W s[t-1]`` (step 0 gets zeros); weights (n_post, n_pre); result (T, n_post)."""
    weights, spikes = np.asarray(weights), np.asarray(spikes)
    require(weights.ndim == 2, f"weights must be (n_post, n_pre), got shape {weights.shape}.")
    require(spikes.ndim == 2 and spikes.shape[1] == weights.shape[1],
            f"spikes must be (T, {weights.shape[1]}) to match weights {weights.shape}, got "
            f"shape {spikes.shape}.")
    dtype = np.int64 if np.issubdtype(weights.dtype, np.integer) else float
    out = np.zeros((spikes.shape[0], weights.shape[0]), dtype=dtype)
    out[1:] = spikes[:-1] @ weights.T  # (T-1, n_pre) x (n_pre, n_post)
    return out


# --- continuous time ---------------------------------------------------------------------
@dataclass(frozen=True)
class LIFContinuous:
    """The continuous LIF (module docstring): time constants in ms, threshold and bias in
    voltage units."""

    tau_u_ms: float = 5.0
    tau_v_ms: float = 10.0
    vth: float = 1.0
    bias: float = 0.0

    def __post_init__(self):
        for name in ("tau_u_ms", "tau_v_ms"):
            value = getattr(self, name)
            require(is_real(value) and value > 0,
                    f"{name} must be a finite number > 0, got {value!r}.")
        require(isinstance(self.vth, (int, float, np.integer, np.floating)) and self.vth > 0,
                f"vth must be a number > 0 (inf for no spikes), got {self.vth!r}.")
        require(is_real(self.bias), f"bias must be a finite number, got {self.bias!r}.")


@dataclass(frozen=True)
class Discretised:
    """Lava's float LIF for one step ``dt_ms``, and the gain from continuous input weights
    (jumps of u) to Lava's discrete input (``a = input_gain * w``)."""

    params: LIFFloat
    input_gain: float
    dt_ms: float


def discretise(model: LIFContinuous, dt_ms: float) -> Discretised:
    """Forward-Euler step of the continuous LIF written as Lava's LIF.

    Euler gives ``u <- u (1 - dt/tau_u) + w s`` and ``v <- v (1 - dt/tau_v) + dt/tau_v
    (u + bias)``; Lava's u is the continuous u times ``g = dt/tau_v``, so du = dt/tau_u,
    dv = dt/tau_v, bias_lava = g bias and the input weight is ``g w``. Step ``m`` covers
    ``[m dt, (m+1) dt)``: spikes at ``m dt`` enter at step m and ``v[m]`` approximates
    ``v((m+1) dt)``.
    """
    require(is_real(dt_ms) and dt_ms > 0, f"dt_ms must be a finite number > 0, got {dt_ms!r}.")
    require(dt_ms <= min(model.tau_u_ms, model.tau_v_ms),
            f"dt_ms must not exceed the smaller time constant "
            f"({min(model.tau_u_ms, model.tau_v_ms)} ms), got {dt_ms!r}.")
    gain = dt_ms / model.tau_v_ms
    params = LIFFloat(du=dt_ms / model.tau_u_ms, dv=gain, vth=model.vth, bias=gain * model.bias)
    return Discretised(params, gain, dt_ms)


def _free_response(s: np.ndarray, u0: np.ndarray, v0: np.ndarray,
                   model: LIFContinuous) -> tuple[np.ndarray, np.ndarray]:
    """u and v a time ``s`` after (u0, v0) with no input (broadcasts)."""
    tu, tv, b = model.tau_u_ms, model.tau_v_ms, model.bias
    eu, ev = np.exp(-s / tu), np.exp(-s / tv)
    if math.isclose(tu, tv, rel_tol=1e-12):
        v = b + (v0 - b) * ev + u0 * (s / tv) * ev
    else:
        amp = u0 * tu / (tu - tv)  # the u-driven particular solution's amplitude
        v = b + amp * eu + (v0 - b - amp) * ev
    return u0 * eu, v


def _first_crossing(u0: float, v0: float, span: float, model: LIFContinuous) -> float | None:
    """Time of the first upward crossing of vth within [0, span], or None.

    v is a constant plus two exponentials, so it has at most one extremum and crosses vth at
    most twice; a grid of 65 points brackets the first crossing unless v touches vth between
    two grid points and turns back, which a first-order comparison cannot resolve anyway.
    """
    from scipy.optimize import brentq

    grid = np.linspace(0.0, span, 65)
    excess = _free_response(grid, u0, v0, model)[1] - model.vth
    above = np.flatnonzero(excess > 0)
    if above.size == 0:
        return None
    first = int(above[0])
    if first == 0:
        return 0.0
    return brentq(lambda s: float(_free_response(np.float64(s), u0, v0, model)[1]) - model.vth,
                  grid[first - 1], grid[first], xtol=1e-14, rtol=1e-14)


def lif_exact(t_eval_ms: np.ndarray, spike_times_ms: np.ndarray, spike_sources: np.ndarray,
              weights: np.ndarray, model: LIFContinuous, u0=0.0, v0=0.0
              ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Closed-form solution of the continuous LIF.

    ``weights`` (n_post, n_pre); input spike ``k`` from source ``spike_sources[k]`` at
    ``spike_times_ms[k]`` adds ``weights[:, source]`` to u. Returns v at the (sorted) times
    ``t_eval_ms`` (T, n_post) — the value just after any input jump at that time — and each
    neuron's output spike times (threshold crossings, found to 1e-14 ms).
    """
    t_eval = np.asarray(t_eval_ms, dtype=float)
    times = np.asarray(spike_times_ms, dtype=float)
    sources = np.asarray(spike_sources)
    weights = np.asarray(weights, dtype=float)
    require(weights.ndim == 2, f"weights must be (n_post, n_pre), got shape {weights.shape}.")
    require(times.shape == sources.shape and times.ndim == 1,
            f"spike_times_ms and spike_sources must be 1-d of equal length, got shapes "
            f"{times.shape} and {sources.shape}.")
    require(sources.size == 0 or (sources.min() >= 0 and sources.max() < weights.shape[1]),
            f"spike_sources must index the {weights.shape[1]} columns of weights.")
    require(times.size == 0 or times.min() >= 0,
            f"spike_times_ms must be >= 0, got a minimum of {times.min() if times.size else 0}.")
    require(t_eval.ndim == 1 and np.all(np.diff(t_eval) >= 0) and
            (t_eval.size == 0 or t_eval[0] >= 0),
            "t_eval_ms must be a sorted 1-d array of times >= 0.")
    n = weights.shape[0]
    u, v = _state(u0, n, float, "u0"), _state(v0, n, float, "v0")
    event_times = np.unique(times)
    out = np.zeros((t_eval.size, n))
    fired: list[list[float]] = [[] for _ in range(n)]
    now, e, k = 0.0, 0, 0
    # Walk through input events and evaluation times in order; between two of them the
    # neuron evolves freely (with resets at exact crossings).
    while k < t_eval.size:
        next_event = event_times[e] if e < event_times.size else math.inf
        target = min(next_event, t_eval[k])
        if target > now:
            for i in range(n):
                u[i], v[i] = _advance(u[i], v[i], now, target, model, fired[i])
            now = target
        if next_event <= now:  # apply every input spike at this time
            u = u + weights[:, sources[times == next_event]].sum(axis=1)
            e += 1
            continue
        out[k] = v
        k += 1
    return out, [np.asarray(f) for f in fired]


def _advance(u: float, v: float, start: float, end: float, model: LIFContinuous,
             fired: list[float]) -> tuple[float, float]:
    """Evolve one neuron freely from ``start`` to ``end``, resetting v to 0 at each upward
    crossing of vth (vth > 0, so a reset neuron is below threshold again)."""
    while True:
        crossing = None if math.isinf(model.vth) else _first_crossing(u, v, end - start, model)
        if crossing is None:
            new_u, new_v = _free_response(np.float64(end - start), u, v, model)
            return float(new_u), float(new_v)
        u = float(_free_response(np.float64(crossing), u, v, model)[0])
        v = 0.0
        start += crossing
        fired.append(start)
