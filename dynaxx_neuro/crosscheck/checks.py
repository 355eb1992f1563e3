"""The comparisons of the cross-check (docs/architecture.md, "Cross-check contract").

Each ``compare_*`` function takes explicit inputs, runs both sides and returns one
:class:`~dynaxx_neuro.crosscheck.record.CheckRecord` whose threshold is written next to it
here with its reason. Each ``*_checks`` function builds seeded inputs for one check name of
``dynaxx crosscheck`` and returns its records; comparisons that need Lava are reported as
skipped where lava-nc cannot be imported.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from dynaxx_neuro.backends import lava_available
from dynaxx_neuro.crosscheck import brian_models
from dynaxx_neuro.crosscheck.record import CheckRecord, skipped, within
from dynaxx_neuro.crosscheck.stdp import STDPLoihiRule
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels import neurons as lif
from dynaxx_neuro.rules.ep import BackwardCopies, EPConfig, EPParameters, free_phase

# Float LIF: both sides do the same float operations, but Lava sums a step's inputs with one
# numpy reduction and Brian2 adds them synapse by synapse, so the last bits may differ;
# 1e-9 is far below any change that could move a spike and far above round-off.
LIF_FLOAT_TOL = 1e-9
# Fixed point: integer arithmetic on both sides, so nothing but equality is right.
LIF_FIXED_TOL = 0
# STDP (float): as for the float LIF, round-off only.
STDP_TOL = 1e-9
# Continuous limit: Brian2's exact integration against the closed form (round-off only), and
# the measured order of the Euler map, 1 in theory; a fit over five halvings lands within
# 0.15 of it once dt is well below both time constants.
EXACT_TOL = 1e-9
ORDER_MIN, ORDER_MAX = 0.85, 1.15
# EP: both sides stop near the same fixed point (residuals below 1e-8); 1e-3 leaves room for
# a slowly converging direction of a trained network's flow.
EP_TOL = 1e-3
# EP on Loihi parts: the same integer program and learning-engine arithmetic with the same
# random numbers on both sides, so nothing but equality is right (weights, states and
# predictions).
EP_FIXED_TOL = 0

LAVA_MISSING = "needs lava-nc (Python 3.10); skipped here"

# The continuous LIF of the continuous-limit check: no threshold, so the whole trajectory
# (not only spike times) measures the error.
CONTINUOUS_MODEL = lif.LIFContinuous(tau_u_ms=5.0, tau_v_ms=10.0, vth=math.inf, bias=0.3)


@dataclasses.dataclass(frozen=True)
class CrosscheckSettings:
    """Sizes and seeds of the default comparisons (smaller ones make quicker tests).

    ``dt_ms`` is the coarsest step of the continuous-limit check, halved ``halvings - 1``
    times; ``ep_hidden`` and ``ep_epochs`` describe the briefly trained EP network;
    ``ep_fixed_hidden``, ``ep_fixed_samples`` (training samples) and ``ep_fixed_epochs`` the
    EP Loihi graph that ``ep-fixed`` trains on Lava and in Brian2.
    """

    seed: int = 0
    target: str = "numpy"
    lif_steps: int = 150
    stdp_steps: int = 300
    dt_ms: float = 0.8
    halvings: int = 5
    ep_hidden: tuple[int, ...] = (16,)
    ep_epochs: int = 1
    ep_fixed_hidden: tuple[int, ...] = (12,)
    ep_fixed_samples: int = 20
    ep_fixed_epochs: int = 2

    def __post_init__(self):
        if self.target not in brian_models.TARGETS:
            raise ValueError(f"target must be one of {', '.join(brian_models.TARGETS)}, "
                             f"got {self.target!r}.")
        shortest = min(CONTINUOUS_MODEL.tau_u_ms, CONTINUOUS_MODEL.tau_v_ms)
        if not (isinstance(self.dt_ms, (int, float)) and 0 < self.dt_ms <= shortest):
            raise ValueError(f"dt_ms must be a number in (0, {shortest:g}] ms (the shortest "
                             f"time constant), got {self.dt_ms!r}.")
        for name, low in (("seed", 0), ("lif_steps", 2), ("stdp_steps", 2), ("halvings", 2),
                          ("ep_epochs", 1), ("ep_fixed_samples", 1), ("ep_fixed_epochs", 1)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
        for name in ("ep_hidden", "ep_fixed_hidden"):
            sizes = getattr(self, name)
            if not sizes or any(not isinstance(n, (int, np.integer)) or n < 1 for n in sizes):
                raise ValueError(f"{name} must list hidden sizes >= 1, got {sizes!r}.")


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _spike_note(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> tuple[bool, str]:
    same = a.shape == b.shape and bool(np.array_equal(a, b))
    if same:
        return True, f"spike steps identical ({int(a.sum())} spikes)"
    differ = int(np.sum(a != b)) if a.shape == b.shape else -1
    return False, (f"spike steps differ: {names[0]} {int(a.sum())} spikes, {names[1]} "
                   f"{int(b.sum())}, {differ} (step, neuron) entries disagree")


# --- LIF, float and fixed ----------------------------------------------------------------
def compare_lif_float(weights: np.ndarray, spikes: np.ndarray, params: lif.LIFFloat,
                      target: str = "numpy") -> CheckRecord:
    """Lava's float LIF (RingBuffer -> Dense -> LIF) and Brian2's version of the same map on
    the same input spikes (T, n_in): identical spike steps and max |dv| <= 1e-9."""
    from dynaxx_neuro.crosscheck.lava_runs import lava_lif
    brian = brian_models.lif_float(weights, spikes, params, target)
    lava = lava_lif(weights, spikes, params)
    dv = float(np.abs(lava.v - brian.v).max())
    same, note = _spike_note(lava.s, brian.s, ("Lava", "Brian2"))
    return CheckRecord("lif", "max |v_lava - v_brian2|", dv, LIF_FLOAT_TOL,
                       same and within(dv, LIF_FLOAT_TOL), note=note,
                       data={"lava": lava, "brian2": brian, "units": "float"})


def compare_lif_fixed(weights: np.ndarray, spikes: np.ndarray, params: lif.LIFFixed,
                      target: str = "numpy") -> CheckRecord:
    """Lava's bit-accurate LIF and Brian2's integer version: u, v and spikes bit for bit."""
    from dynaxx_neuro.crosscheck.lava_runs import lava_lif
    weights = np.asarray(weights)
    brian = brian_models.lif_fixed(weights, spikes, params, target)
    lava = lava_lif(weights, spikes, params)
    dv = int(max(np.abs(lava.v - brian.v).max(), np.abs(lava.u - brian.u).max()))
    same, note = _spike_note(lava.s, brian.s, ("Lava", "Brian2"))
    return CheckRecord("lif-fixed", "max |u, v lava - brian2| (integer units)", float(dv),
                       LIF_FIXED_TOL, same and dv <= LIF_FIXED_TOL, note=note,
                       data={"lava": lava, "brian2": brian, "units": "fixed"})


def lif_inputs(seed: int, n_steps: int = 150, n_in: int = 8, n: int = 4
               ) -> tuple[np.ndarray, np.ndarray, lif.LIFFloat]:
    """Random input spikes (T, n_in), mixed-sign weights (n, n_in) and float LIF parameters
    that make the neurons fire now and then."""
    rng = _rng(seed, 1)
    spikes = (rng.random((n_steps, n_in)) < 0.25).astype(np.int64)
    weights = rng.normal(0.01, 0.04, size=(n, n_in))
    return weights, spikes, lif.LIFFloat(du=0.2, dv=0.1, vth=1.0, bias=0.06)


def fixed_inputs(seed: int, n_steps: int = 150, n_in: int = 8, n: int = 4,
                 scale: lif.FixedPointMap = lif.FixedPointMap(1024.0)
                 ) -> tuple[np.ndarray, np.ndarray, lif.LIFFixed]:
    """The float inputs converted by ``scale``; mixed-sign weights rounded to even numbers
    in [-256, 254], which Lava's 8-bit fixed-point Dense keeps unchanged."""
    weights, spikes, params = lif_inputs(seed, n_steps, n_in, n)
    fixed = np.clip(2 * np.round(scale.weights_to_fixed(weights) / 2), -256, 254)
    return fixed.astype(np.int64), spikes, scale.to_fixed(params)


def lif_checks(settings: CrosscheckSettings, workdir=None) -> list[CheckRecord]:
    if not lava_available():
        return [skipped("lif", "max |v_lava - v_brian2|", LIF_FLOAT_TOL, LAVA_MISSING)]
    return [compare_lif_float(*lif_inputs(settings.seed, settings.lif_steps),
                              target=settings.target)]


def lif_fixed_checks(settings: CrosscheckSettings, workdir=None) -> list[CheckRecord]:
    if not lava_available():
        return [skipped("lif-fixed", "max |u, v lava - brian2| (integer units)",
                        LIF_FIXED_TOL, LAVA_MISSING)]
    return [compare_lif_fixed(*fixed_inputs(settings.seed, settings.lif_steps),
                              target=settings.target)]


# --- STDP ---------------------------------------------------------------------------------
def compare_stdp(name: str, weights: np.ndarray, pre_spikes: np.ndarray, rule: STDPLoihiRule,
                 post, target: str = "numpy") -> CheckRecord:
    """Lava's LearningDense + STDPLoihi (float) and Brian2's synapse model with the same
    trace and weight updates every step: the weights after every step agree to 1e-9 and
    the post spikes are identical."""
    from dynaxx_neuro.crosscheck.lava_runs import lava_stdp
    brian_w, brian_s = brian_models.stdp(weights, pre_spikes, rule, post, target)
    lava_w, lava_s = lava_stdp(weights, pre_spikes, rule, post)
    dw = float(np.abs(lava_w - brian_w).max())
    same, note = _spike_note(lava_s, brian_s, ("Lava", "Brian2"))
    moved = float(np.abs(lava_w[-1] - np.asarray(weights)).max())
    return CheckRecord(name, "max |w_lava - w_brian2| over all steps", dw, STDP_TOL,
                       same and within(dw, STDP_TOL),
                       note=f"{note}; largest total weight change {moved:.3g}",
                       data={"lava": lava_w, "brian2": brian_w, "initial": np.asarray(weights),
                             "pre": np.asarray(pre_spikes),
                             "post": lava_s, "rule": rule})


def pair_inputs(offsets=range(-20, 21), start: int = 25, weight: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pre and one post spike per pair k, ``offsets[k] = t_post - t_pre`` steps apart.

    Pairs share no neuron, and w[k, k] sees only pair k (its pre neuron k and post neuron k),
    so the diagonal's final change is the STDP window. Returns (offsets, weights (K, K),
    pre spikes (T, K), post spikes (T, K)).
    """
    offsets = np.asarray(list(offsets))
    if offsets.size == 0 or start + offsets.min() < 0:
        raise ValueError(f"offsets must be non-empty and >= -{start}, got {offsets.tolist()}.")
    n_steps = start + max(int(offsets.max()), 0) + 5
    pre, post = np.zeros((n_steps, offsets.size), int), np.zeros((n_steps, offsets.size), int)
    for k, offset in enumerate(offsets):
        pre[start, k] = 1
        post[start + offset, k] = 1
    return offsets, np.full((offsets.size, offsets.size), weight), pre, post


def poisson_inputs(seed: int, n_steps: int = 300, n_pre: int = 8, n_post: int = 3,
                   rate: float = 0.1) -> tuple[np.ndarray, np.ndarray, lif.LIFFloat]:
    """Poisson (Bernoulli per step) pre spikes, initial weights and LIF post neurons that
    fire now and then."""
    rng = _rng(seed, 2)
    pre = (rng.random((n_steps, n_pre)) < rate).astype(np.int64)
    weights = rng.uniform(0.0, 0.08, size=(n_post, n_pre))
    return weights, pre, lif.LIFFloat(du=0.2, dv=0.1, vth=1.0, bias=0.0)


def stdp_checks(settings: CrosscheckSettings, workdir=None) -> list[CheckRecord]:
    target = settings.target
    metric = "max |w_lava - w_brian2| over all steps"
    if not lava_available():
        return [skipped("stdp-pairs", metric, STDP_TOL, LAVA_MISSING),
                skipped("stdp-poisson", metric, STDP_TOL, LAVA_MISSING)]
    rule = STDPLoihiRule()
    offsets, weights, pre, post = pair_inputs()
    pairs = compare_stdp("stdp-pairs", weights, pre, rule, post, target)
    window = np.array([rule.pair_dw(int(d)) for d in offsets])
    measured = np.diag(pairs.data["lava"][-1]) - np.diag(weights)
    window_err = float(np.abs(measured - window).max())
    pairs = dataclasses.replace(
        pairs, passed=bool(pairs.passed and window_err <= STDP_TOL),
        note=f"{pairs.note}; Lava's window vs the closed form: max error {window_err:.2e}")
    pairs.data.update(offsets=offsets, window=window)
    weights, pre, post_lif = poisson_inputs(settings.seed, settings.stdp_steps)
    slow = dataclasses.replace(rule, x1_impulse=2.0, y1_impulse=2.0)  # keeps weights in range
    return [pairs, compare_stdp("stdp-poisson", weights, pre, slow, post_lif, target)]


# --- continuous limit --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ContinuousSetup:
    """Inputs of the continuous-limit comparison: spikes on the grid of the coarsest step."""

    model: lif.LIFContinuous
    weights: np.ndarray
    spike_times_ms: np.ndarray
    spike_sources: np.ndarray
    duration_ms: float
    dts_ms: tuple[float, ...]

    @property
    def reference_dt_ms(self) -> float:
        """The Brian2 reference's step: half the finest step (its grid holds every point
        the discrete runs produce)."""
        return min(self.dts_ms) / 2


def continuous_inputs(seed: int, dt_ms: float = 0.8, halvings: int = 5,
                      duration_ms: float = 80.0, n_in: int = 4, n: int = 3) -> ContinuousSetup:
    """Random input spikes on the grid of ``dt_ms`` and steps dt_ms / 2^k, k < halvings."""
    if not math.isfinite(dt_ms) or dt_ms <= 0:
        raise ValueError(f"dt_ms must be a finite number > 0, got {dt_ms!r}.")
    if halvings < 2:
        raise ValueError(f"halvings must be >= 2 to measure an order, got {halvings!r}.")
    rng = _rng(seed, 3)
    duration_ms = dt_ms * max(8, round(duration_ms / dt_ms))  # whole coarse steps
    grid = np.arange(1, int(round(duration_ms / dt_ms))) * dt_ms
    step, source = np.nonzero(rng.random((grid.size, n_in)) < 0.05)
    weights = rng.normal(0.5, 0.5, size=(n, n_in))
    return ContinuousSetup(CONTINUOUS_MODEL, weights, grid[step], source, duration_ms,
                           tuple(dt_ms / 2 ** k for k in range(halvings)))


def discrete_on_grid(setup: ContinuousSetup, dt_ms: float) -> np.ndarray:
    """Our discrete LIF kernel (Lava's float map, ``discretise``d) for step ``dt_ms``;
    row m approximates v((m + 1) dt). Returns (duration/dt, n)."""
    step = lif.discretise(setup.model, dt_ms)
    n_steps = int(round(setup.duration_ms / dt_ms))
    a_in = np.zeros((n_steps, setup.weights.shape[0]))
    index = np.round(setup.spike_times_ms / dt_ms).astype(int)
    np.add.at(a_in, index, step.input_gain * setup.weights[:, setup.spike_sources].T)
    return lif.lif_float_run(a_in, step.params).v


def continuous_reference(setup: ContinuousSetup, target: str = "numpy"
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Brian2's exact integration on the reference grid: (times (T,), v (T, n))."""
    return brian_models.lif_continuous(setup.weights, setup.spike_times_ms,
                                       setup.spike_sources, setup.model,
                                       setup.reference_dt_ms, setup.duration_ms, target)


def compare_continuous_exact(setup: ContinuousSetup, reference=None,
                             target: str = "numpy") -> CheckRecord:
    """Brian2's exact integration against the closed form of the continuous LIF."""
    times, v_brian = reference if reference is not None else continuous_reference(setup, target)
    v_exact, _ = lif.lif_exact(times, setup.spike_times_ms, setup.spike_sources,
                               setup.weights, setup.model)
    error = float(np.abs(v_brian - v_exact).max())
    return CheckRecord("continuous-exact", "max |v_brian2 - v_closed_form|", error, EXACT_TOL,
                       within(error, EXACT_TOL),
                       note=f"Brian2 method 'exact', dt {setup.reference_dt_ms:g} ms",
                       data={"times": times, "brian2": v_brian, "exact": v_exact})


def compare_continuous_order(setup: ContinuousSetup, reference=None,
                             target: str = "numpy") -> CheckRecord:
    """Our discrete LIF against Brian2's exact solution as dt halves: the error must shrink
    at every halving and its fitted order (slope of log error vs log dt) be near 1."""
    times, v_ref = reference if reference is not None else continuous_reference(setup, target)
    errors, traces = [], {}
    for dt in setup.dts_ms:
        v = discrete_on_grid(setup, dt)
        index = np.round(np.arange(1, v.shape[0] + 1) * dt / setup.reference_dt_ms).astype(int)
        errors.append(float(np.abs(v - v_ref[index]).max()))
        traces[dt] = v
    errors_arr, dts = np.array(errors), np.array(setup.dts_ms)
    order = float(np.polyfit(np.log(dts), np.log(errors_arr), 1)[0])
    shrinking = bool(np.all(np.diff(errors_arr) < 0))
    halving = ", ".join(f"{e:.2e}" for e in errors)
    return CheckRecord("continuous", "order of max |v_discrete - v_exact| in dt", order,
                       ORDER_MIN, shrinking and ORDER_MIN <= order <= ORDER_MAX, ">=",
                       note=f"errors at dt = {', '.join(f'{d:g}' for d in dts)} ms: {halving}"
                            f"{'' if shrinking else ' (not shrinking)'}; order must be in "
                            f"[{ORDER_MIN}, {ORDER_MAX}]",
                       data={"dts": dts, "errors": errors_arr, "order": order,
                             "times": times, "reference": v_ref, "discrete": traces})


def continuous_checks(settings: CrosscheckSettings, workdir=None) -> list[CheckRecord]:
    setup = continuous_inputs(settings.seed, settings.dt_ms, settings.halvings)
    reference = continuous_reference(setup, settings.target)
    return [compare_continuous_exact(setup, reference, settings.target),
            compare_continuous_order(setup, reference, settings.target)]


# --- EP -----------------------------------------------------------------------------------
def our_free_phase(params: EPParameters, x: np.ndarray, eps: float = 0.5,
                   t_free: int = 300) -> list[np.ndarray]:
    """Rates of every layer at the end of our free phase (the rule's settling, as the NumPy
    back end trains with it: ``t_free`` steps of size ``eps`` from the reset)."""
    sizes = (params.weights[0].shape[1], *(w.shape[0] for w in params.weights))
    config = EPConfig(hidden=sizes[1:-1], n_inputs=sizes[0], n_classes=sizes[-1],
                      schedule=ep.EPSchedule(t_free, 1, False), dynamics=ep.EPDynamics(1.0, eps),
                      batch_size=len(x))
    return free_phase(params, BackwardCopies.of(params), x, config)


def smallest_curvature(params: EPParameters) -> float:
    """Smallest eigenvalue of the Hessian of E inside the box, ``I - A`` with A the
    symmetric coupling of the layers by W_1 .. W_L (W_0 only adds a constant drive).
    Positive: E is strictly convex on [0, 1]^n and the fixed point is unique."""
    sizes = [w.shape[0] for w in params.weights]
    offsets = np.cumsum([0, *sizes])
    hessian = np.eye(offsets[-1])
    for l in range(1, len(sizes)):
        rows = slice(offsets[l], offsets[l + 1])
        cols = slice(offsets[l - 1], offsets[l])
        hessian[rows, cols] -= params.weights[l]  # (n_l, n_{l-1}) block
        hessian[cols, rows] -= params.weights[l].T
    return float(np.linalg.eigvalsh(hessian)[0])


def compare_ep(name: str, params: EPParameters, x: np.ndarray, eps: float = 0.5,
               t_free: int = 300, target: str = "numpy") -> CheckRecord:
    """The free-phase fixed point of our layers against the equilibrium of Brian2's
    continuous gradient flow ds/dt = -dF/ds (projected onto [0, 1]): max |ds| <= 1e-3.

    Both start from s = 0. Where E is not convex the two paths may end in different
    minima; the note says which case holds (:func:`smallest_curvature`).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != params.weights[0].shape[1]:
        raise ValueError(f"x must be (B, {params.weights[0].shape[1]}) to match the first "
                         f"weight matrix {params.weights[0].shape}, got shape {x.shape}.")
    ours = our_free_phase(params, x, eps, t_free)
    theirs, residual, elapsed = brian_models.ep_equilibrium(params, x, target=target)
    ds = float(max(np.abs(a - b).max() for a, b in zip(ours, theirs)))
    ours_residual = brian_models.fixed_point_residual(params, x, ours)
    curvature = smallest_curvature(params)
    shape = ("E strictly convex, unique fixed point" if curvature > 0 else
             "E not convex, the fixed point may depend on the path")
    return CheckRecord(name, "max |s_ours - s_brian2| over all units", ds, EP_TOL,
                       within(ds, EP_TOL),
                       note=f"fixed-point residuals: ours {ours_residual:.1e} after {t_free} "
                            f"steps of eps {eps:g}, Brian2 {residual:.1e} after {elapsed:g} "
                            f"tau; smallest Hessian eigenvalue {curvature:.3f} ({shape})",
                       data={"ours": ours, "brian2": theirs})


def random_ep_network(seed: int, sizes=(20, 16, 10, 5), batch: int = 6,
                      curvature: float = 0.2) -> tuple[EPParameters, np.ndarray]:
    """Glorot weights, random biases and inputs; the couplings between state layers are
    scaled down where needed so that E's smallest curvature is at least ``curvature`` > 0,
    which makes the fixed point unique: then any disagreement is an error, not a choice
    between minima."""
    rng = _rng(seed, 4)
    params = EPParameters.initial(EPConfig(hidden=tuple(sizes[1:-1]), n_inputs=sizes[0],
                                           n_classes=sizes[-1]), rng)
    params.biases = [rng.normal(0.0, 0.3, size=b.shape) for b in params.biases]
    coupling = 1.0 - smallest_curvature(params)  # largest eigenvalue of A
    if coupling > 1.0 - curvature:
        factor = (1.0 - curvature) / coupling
        params.weights = [params.weights[0]] + [factor * w for w in params.weights[1:]]
    return params, rng.uniform(0.0, 1.0, size=(batch, sizes[0]))


def trained_ep_network(workdir, seed: int = 0, hidden=(16,), epochs: int = 1, batch: int = 6
                       ) -> tuple[EPParameters, np.ndarray, float]:
    """Train EP on digits with the NumPy back end into ``workdir/ep-training``; returns the
    trained parameters, the first ``batch`` test images and the run's eps."""
    from dynaxx_neuro.datasets import prepare_splits
    from dynaxx_neuro.train import RunSettings, train
    if workdir is None:
        raise ValueError("workdir must name a folder for the EP training run.")
    settings = RunSettings(dataset="digits", backend="numpy", epochs=epochs, seed=seed)
    config = EPConfig(hidden=tuple(hidden))
    run = train(config, settings, Path(workdir) / "ep-training", show_progress=False)
    _, arrays = run.last_checkpoint()
    data = prepare_splits("digits", None, settings.validation, seed)
    params = EPParameters.from_arrays(arrays, EPConfig(hidden=tuple(hidden)))
    return params, data.x_test[:batch], config.dynamics.eps


def ep_checks(settings: CrosscheckSettings, workdir=None) -> list[CheckRecord]:
    params, x = random_ep_network(settings.seed)
    records = [compare_ep("ep-random", params, x, target=settings.target)]
    params, x, eps = trained_ep_network(workdir, settings.seed, settings.ep_hidden,
                                        settings.ep_epochs)
    records.append(compare_ep("ep-trained", params, x, eps=eps, target=settings.target))
    return records


# --- EP on Loihi parts, fixed point -------------------------------------------------------
def ep_fixed_problem(seed: int = 0, hidden=(12,), n_train: int = 20, n_eval: int = 5):
    """A tiny EP Loihi graph on digits: sizes 64-hidden-10, t_free 4, t_nudge 2, the first
    ``n_train`` training samples, ``n_eval`` validation and ``n_eval`` test samples, halving
    the learning samples every epoch (``decimate_epochs`` 1, so the second epoch sends no
    third factor on every other sample). Returns (config, data, initial parameters)."""
    from dynaxx_neuro.cycle import INIT, stream
    from dynaxx_neuro.datasets import prepare_splits
    from dynaxx_neuro.registry import bind_data
    from dynaxx_neuro.rules.ep_loihi import SPEC, EPLoihiParameters
    config = SPEC.configure("digits", {"hidden": tuple(hidden), "t_free": 4, "t_nudge": 2,
                                       "train_samples": n_train, "decimate_epochs": 1})
    data = SPEC.data(config, prepare_splits("digits", None, 0.1, seed))
    data = dataclasses.replace(data, x_val=data.x_val[:n_eval], y_val=data.y_val[:n_eval],
                               x_test=data.x_test[:n_eval], y_test=data.y_test[:n_eval])
    config = bind_data(config, data)
    return config, data, EPLoihiParameters.initial(config, stream(seed, INIT))


def lava_ep_fixed(config, data, params, seed: int, epochs: int) -> list:
    """``epochs`` epochs of the real ``lava-fixed`` graph (``EPLoihiLavaRunner``, tag
    ``fixed_pt``) from ``params``, with Lava ``Monitor``s on every layer's ``s`` and the
    output layer's ``r``, read before each epoch's graph stops. Returns one
    ``crosscheck.ep_fixed.GraphEpoch`` per epoch: weights and final states as the runner
    reads them, evaluation predictions from its readout, training predictions from the
    monitored output rates at the free ends."""
    import time

    from dynaxx_neuro.crosscheck.ep_fixed import GraphEpoch, free_end_predictions
    from dynaxx_neuro.cycle import Launch
    from dynaxx_neuro.networks.ep_loihi_lava import EPLoihiLavaRunner
    from dynaxx_neuro.rules.ep_loihi import EPLoihiParameters

    class MonitoredRunner(EPLoihiLavaRunner):
        """The lava-fixed runner with monitors on the layers (nothing else changed)."""

        def _build(self, trains, epoch):
            super()._build(trains, epoch)
            from lava.proc.monitor.process import Monitor
            self.probes = []
            for layer, var in [*((layer, "s") for layer in self.layers), (self.layers[-1], "r")]:
                monitor = Monitor()
                monitor.probe(getattr(layer, var), self.cycle.steps)
                self.probes.append((layer, var, monitor))

        def _read_parameters(self):
            # Called by run_epoch after the evaluation periods, before the graph stops.
            self.recorded = [np.asarray(m.get_data()[layer.name][var]).astype(np.int64)
                             for layer, var, m in self.probes]
            return super()._read_parameters()

    copy = EPLoihiParameters.from_arrays(params.to_arrays(), config)
    runner = MonitoredRunner(config, data, copy, Launch(seed, 0, "fixed_pt"))
    results = []
    try:
        for epoch in range(epochs):
            started = time.perf_counter()
            result = runner.run_epoch(epoch)
            seconds = time.perf_counter() - started
            *states, rates = runner.recorded
            train_pred, _ = free_end_predictions(rates, config, runner.cycle)
            results.append(GraphEpoch(
                runner.parameters(), [s.copy() for s in runner.last_states], states,
                train_pred, np.concatenate([result.val_predictions, result.test_predictions]),
                float(result.train_accuracy), seconds))
    finally:
        runner.close()
    return results


def _differing(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """(max |a - b|, number of differing entries); NaN and -1 when the shapes differ."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return float("nan"), -1
    if not a.size:
        return 0.0, 0
    return float(np.abs(a.astype(np.int64) - b.astype(np.int64)).max()), int(np.sum(a != b))


def compare_ep_fixed(reference: list, brian: list, initial, name: str = "Lava"
                     ) -> list[CheckRecord]:
    """EP's Loihi graph on ``reference`` (``name``, normally Lava's ``lava-fixed``) against
    Brian2, epoch lists of ``crosscheck.ep_fixed.GraphEpoch`` from the same ``initial``
    parameters: every final weight matrix, the final layer states, every layer's state at
    every step of every epoch, and the free-phase predictions of the training and the
    evaluation samples, each equal or FAIL."""
    records = []
    last_ref, last_brian = reference[-1], brian[-1]
    start, ref_w, brian_w = (p.to_arrays() for p in (initial, last_ref.params,
                                                       last_brian.params))
    for matrix in ref_w:
        value, count = _differing(ref_w[matrix], brian_w[matrix])
        learned = int(np.sum(ref_w[matrix] != start[matrix]))
        records.append(CheckRecord(
            f"ep-fixed-{matrix}", f"max |{matrix}_lava - {matrix}_brian2| (engine units)",
            value, EP_FIXED_TOL, count == 0 and within(value, EP_FIXED_TOL),
            note=f"{count} of {ref_w[matrix].size} entries differ after {len(reference)} "
                 f"epochs; {learned} moved from their initial value on {name}",
            data={"lava": ref_w[matrix], "brian2": brian_w[matrix], "initial": start[matrix]}))
    diffs = [_differing(a, b) for a, b in zip(last_ref.last_states, last_brian.last_states)]
    value = max(d[0] for d in diffs)
    records.append(CheckRecord(
        "ep-fixed-states", "max |s_lava - s_brian2| when the graph stops (2^-8 units)", value,
        EP_FIXED_TOL, all(d[1] == 0 for d in diffs) and within(value, EP_FIXED_TOL),
        note="differing units per layer: " + ", ".join(
            f"{d[1]} of {a.size}" for d, a in zip(diffs, last_ref.last_states)),
        data={"lava": last_ref.last_states, "brian2": last_brian.last_states}))
    if any(e.step_states is None for e in (*reference, *brian)):
        records.append(skipped("ep-fixed-steps", "max |s_lava - s_brian2| at every step",
                               EP_FIXED_TOL, f"{name} recorded no per-step states"))
    else:
        worst, first, total = 0.0, None, 0
        for epoch, (a, b) in enumerate(zip(reference, brian)):
            for layer, (x, y) in enumerate(zip(a.step_states, b.step_states)):
                value, count = _differing(x, y)
                worst = max(worst, 0.0 if math.isnan(value) else value)  # NaN: shapes
                total += x.size
                if count and first is None:
                    where = ("the recordings differ in shape" if count < 0 else
                             f"Lava step {int(np.nonzero((x != y).any(axis=1))[0][0]) + 1}")
                    first = f"first difference: epoch {epoch}, layer {layer + 1}, {where}"
        records.append(CheckRecord(
            "ep-fixed-steps", "max |s_lava - s_brian2| at every step (2^-8 units)", worst,
            EP_FIXED_TOL, first is None and within(worst, EP_FIXED_TOL),
            note=first or f"{total} (step, unit) states identical over {len(reference)} epochs"))
    for kind, key in (("train", "train_predictions"), ("eval", "eval_predictions")):
        pairs = [(getattr(a, key), getattr(b, key)) for a, b in zip(reference, brian)]
        if any(a is None or b is None for a, b in pairs):
            records.append(skipped(f"ep-fixed-{kind}-pred", "samples predicted differently",
                                   EP_FIXED_TOL, f"{name} recorded no {kind} predictions"))
            continue
        counts = [_differing(a, b)[1] for a, b in pairs]
        value = float(sum(c if c >= 0 else max(len(a), len(b))
                          for c, (a, b) in zip(counts, pairs)))
        n = sum(len(a) for a, _ in pairs)
        note = f"{n} free-phase readings over {len(pairs)} epochs"
        if kind == "train":
            note += ("; training accuracy per epoch " + name + " " + ", ".join(
                f"{e.train_accuracy:.3f}" for e in reference) + ", Brian2 " + ", ".join(
                f"{e.train_accuracy:.3f}" for e in brian))
            per_sample = [sum(e.seconds for e in side) / max(sum(len(e.train_predictions)
                                                                  for e in side), 1)
                          for side in (reference, brian)]
            note += (f"; seconds per training sample (whole epochs: build, training, "
                     f"evaluation) {name} {per_sample[0]:.3f}, Brian2 {per_sample[1]:.3f}")
        else:
            note += " (validation then test)"
        records.append(CheckRecord(
            f"ep-fixed-{kind}-pred", f"{kind} samples predicted differently", value,
            EP_FIXED_TOL, within(value, EP_FIXED_TOL), note=note,
            data={"lava": [a for a, _ in pairs], "brian2": [b for _, b in pairs]}))
    return records


def ep_fixed_checks(settings: CrosscheckSettings, workdir=None) -> list[CheckRecord]:
    """``ep-fixed``: EP's Loihi graph trained on Lava (``lava-fixed``) and in Brian2
    (``crosscheck.ep_fixed``) from the same weights, compared bit for bit."""
    if not lava_available():
        return [skipped("ep-fixed", "weights, states, predictions: brian2 - lava-fixed",
                        EP_FIXED_TOL, LAVA_MISSING)]
    from dynaxx_neuro.crosscheck import ep_fixed
    config, data, params = ep_fixed_problem(settings.seed, settings.ep_fixed_hidden,
                                            settings.ep_fixed_samples)
    lava = lava_ep_fixed(config, data, params, settings.seed, settings.ep_fixed_epochs)
    brian = ep_fixed.train(config, data, params, settings.seed, settings.ep_fixed_epochs,
                           settings.target)
    return compare_ep_fixed(lava, brian, params)


CHECKS = {"lif": lif_checks, "lif-fixed": lif_fixed_checks, "stdp": stdp_checks,
          "continuous": continuous_checks, "ep": ep_checks, "ep-fixed": ep_fixed_checks}
CHECK_NAMES = (*CHECKS, "all")
