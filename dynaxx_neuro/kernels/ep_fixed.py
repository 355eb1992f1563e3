"""Equilibrium propagation in the integer arithmetic of Loihi 2: the neuron program of a
layer, its graded spikes, and the EP update as a rule of Loihi's learning engine. Pure
NumPy on integer arrays; no float enters a state, a weight or a message. The Lava models
(``models/ep_fixed.py``) and the ``numpy-fixed`` twin (``networks/ep_loihi_numpy.py``) both
call these functions, so the graph's arithmetic is written once.

Number formats:

- rates r (the graded payload a layer sends) are unsigned 8-bit integers (``RATE_BITS``),
  r = clip(s, 0, 255), standing for rho(s) = r / 256: the learning engine holds a graded
  payload as a 7-bit trace round(r / 2), so 8 bits is what it can read;
- states s are signed integers in the same units (2^-8), held in ``state_bits`` bits and
  saturated there (:class:`FixedFormat`);
- weights w are the learning engine's: signed 9-bit integers in [-256, 255] (8 bits and a
  sign), one exponent e per matrix, W = w / 2^e; a bias is the weight from an always-on
  input that sends r = 255.

The integer program of one step, per layer (Lava's LearningDense computes each sum; the
neuron the rest; ``>>`` is an arithmetic shift, i.e. rounds towards -inf)::

    a      = sum_pre (w r_pre) >> e            per synapse, in units 2^-8     (dense_drive)
    s      = sat(a_below + a_above + a_bias)   the free step with eps = 1     (layer_step)
    s_out += +/-((d - r_out) >> k)             the output layer when nudged, beta = 2^-k
    r      = clip(s, 0, 255)                   the graded spike it sends

which is the float network's fixed-point iteration s <- clip(W rho_below + W^T rho_above +
b) (``kernels.ep.settle_step`` with eps = 1) on the integer grid.

The update. Lava's LearningDense applies its rule at the end of every learning epoch
(``t_epoch = 1``: every step) from its pre trace x1 (the graded payload r_pre, stored as
round(r_pre / 2)) and the post factors y1, y2, y3 the post neuron sends. The post neuron
sends y1 = round(r / 2) (:func:`half_rate`, rounded the same way, so a forward synapse and
its backward copy see the same two numbers), y2 = c at the last step of the +beta phase and
y3 = c at the last step of the -beta phase (:func:`post_factors`), 0 elsewhere. With the
rule (:func:`rule`)::

    dw = 2^(s - 7) * x0 * x1 * y1 * y2  -  2^(s - 7) * x0 * x1 * y1 * y3

the engine adds (x1 y1 c >> 10) 2^s / 2^7 to a weight at one step and subtracts the same at
another, rounding each result stochastically to an integer weight, which is,
with x1 y1 ~ r_post r_pre / 4, the symmetric EP rule (Laborieux et al. 2021)::

    dW = lr / (2 beta) (rho_post^+ rho_pre^+ - rho_post^- rho_pre^-),   lr = 2^-l

once c 2^s = 2^j with j = e - l + k + 2 (:func:`learning_scale`).

The engine floors each product (``>> 10``) before its stochastic rounding: the + term loses
frac(a+) and the - term, floored below -a-, another 1 - frac(a-), so a synapse active in
both phases loses about one accumulator unit (2^-7 of a weight step) per sample even when
the two phases agree (a bias with an always-active post neuron: up to -10 weight steps per
digits epoch). The rule's last
term, ``+ 2^-7 * y0 * x0``, gives the unit back: the post neuron sends a back-propagating
spike at the - step when it is active, and every synapse whose pre neuron spiked in that
step gains one accumulator unit.

When the terms land. The engine learns at the end of every step, so by default the + term
lands at the +beta end and the -beta phase then settles on weights the + term already
changed (it sees W + dW+, a smaller contrast: a damping that grows with the update). With
``replay`` (:class:`GraphTiming`) every neuron holds its +beta state and the period has one
more step: the -beta phase settles on the weights the period started with, the - term lands
at its end, and in the replay step every neuron sends its held +beta rate (as graded spike
and as y1) with y2 = c, so the + term sees the +beta rates; the replay's drives only reach
the next sample's reset, so it changes no dynamics. That is the exact symmetric contrast;
measured at batch 1 it learns faster in the first epochs and then drifts into saturation
(BENCHMARKS.md), so it is an option, not the default. ``decimate_epochs`` N anneals the rate without
losing an update's resolution: in epoch E the neurons send c only on every 2^(E // N)-th
training sample (:func:`learns_sample`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.params import Int, option, validate

RATE_BITS = 8
RATE_MAX = 2 ** RATE_BITS - 1
WEIGHT_MIN, WEIGHT_MAX = -256, 255          # the learning engine's 9-bit signed weights
TRACE_MAX = 127                             # its 7-bit traces
THIRD_FACTOR_BITS = 6                       # c = 2^0 .. 2^6 fits a 7-bit y trace
RULE_SHIFT_MAX = 7                          # 2^(s - 7) with s <= 7: the constant 2^0


@dataclass(frozen=True)
class FixedFormat:
    """The widths of the integer graph that are free to choose: the neuron state (Loihi 2's
    programmable neurons hold 24-bit states) and the weight magnitude (8 on the learning
    engine; fewer only on ``numpy-fixed``, which rounds every update to the coarser grid)."""

    weight_bits: int = option(8, "Bits of a weight's magnitude (a sign comes on top); the "
                              "learning engine holds 8, numpy-fixed can emulate fewer.",
                              Int(2, 8))
    state_bits: int = option(24, "Bits of a neuron state, signed.", Int(10, 24))

    def __post_init__(self):
        validate(self)

    @property
    def state_range(self) -> tuple[int, int]:
        return -(2 ** (self.state_bits - 1)), 2 ** (self.state_bits - 1) - 1

    @property
    def weight_step(self) -> int:
        """The grid of the weights: 2^(8 - weight_bits) engine units."""
        return 2 ** (8 - self.weight_bits)


def saturate(x: np.ndarray, bounds: tuple[int, int]) -> np.ndarray:
    """x clipped to [low, high] (Loihi saturates; it does not wrap)."""
    return np.clip(x, bounds[0], bounds[1])


def quantize_weights(w: np.ndarray, weight_exp: int, fmt: FixedFormat,
                     rng: np.random.Generator) -> np.ndarray:
    """Float weights W as engine weights w ~ W 2^e on the ``fmt`` grid, stochastically
    rounded, made even (Lava's LearningDense keeps only even weights at its first step) and
    saturated: the only float-to-integer conversion, done once on the host."""
    step = 2 * fmt.weight_step
    scaled = np.asarray(w, dtype=float) * 2.0 ** weight_exp / step
    low = np.floor(scaled)
    up = rng.random(scaled.shape) < scaled - low
    return saturate((low + up).astype(np.int64) * step, (WEIGHT_MIN, WEIGHT_MAX - 1))


def quantize_rates(x: np.ndarray) -> np.ndarray:
    """Input intensities in [0, 1] as rates r = floor(255 x + 1/2)."""
    return np.clip(np.floor(np.asarray(x, dtype=float) * RATE_MAX + 0.5), 0,
                   RATE_MAX).astype(np.int64)


def dense_drive(w: np.ndarray, r_pre: np.ndarray, weight_exp: int) -> np.ndarray:
    """a = (w r_pre) >> e: a graded synapse's output in units 2^-8 (w: (n_post, n_pre),
    r_pre: (..., n_pre)). The product runs in float64, exact for these integers (|w r| sums
    stay far below 2^53), because NumPy's integer matmul does not use BLAS."""
    acc = np.asarray(r_pre, dtype=np.float64) @ np.asarray(w, dtype=np.float64).T
    return acc.astype(np.int64) >> weight_exp


def layer_step(drive: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """The free step with eps = 1: s = sat(sum of drives), the bias among them."""
    return saturate(drive, fmt.state_range)


def nudge(s: np.ndarray, r_prev: np.ndarray, target: np.ndarray, beta_shift: int,
          sign: int, fmt: FixedFormat) -> np.ndarray:
    """The output layer's nudging force added to its step: s + sign ((d - r_prev) >> k),
    beta = 2^-k, ``target`` d in rate units (0 or 255)."""
    return saturate(s + sign * ((target - r_prev) >> beta_shift), fmt.state_range)


def rate(s: np.ndarray) -> np.ndarray:
    """The graded spike a layer sends: r = clip(s, 0, 255)."""
    return np.clip(s, 0, RATE_MAX)


def half_rate(r: np.ndarray) -> np.ndarray:
    """round(r / 2), halves to even, in 7 bits: the trace the learning engine stores for a
    graded payload r (Lava: ``uint8(round(s / 2))``), computed by the post neuron with
    integer operations as m + (r & 1)(m & 1), m = r >> 1, so y1 of a synapse equals x1 of
    its backward copy."""
    m = r >> 1
    return np.minimum(m + (r & 1) * (m & 1), TRACE_MAX)


@dataclass(frozen=True)
class GraphTiming:
    """The period of the Loihi graph: the EP schedule's steps and, with ``replay``, one more
    step in which every neuron restores the state it held (:attr:`held_step`) and the + term
    of the rule lands (see "When the terms land" above)."""

    schedule: ep.EPSchedule
    replay: bool = False

    @property
    def period(self) -> int:
        return self.schedule.period + (1 if self.replay else 0)

    @property
    def replay_step(self) -> int | None:
        return self.schedule.period if self.replay else None

    @property
    def held_step(self) -> int:
        """The step whose state the replay restores: the +beta end (symmetric nudging) or
        the free end (one-sided)."""
        schedule = self.schedule
        return schedule.nudged_end if schedule.symmetric else schedule.free_end

    @property
    def learning_steps(self) -> tuple[int, int]:
        """The steps whose learning epochs change weights: where y2 is sent (the + term) and
        where y3 is sent (the - term). Without replay: the +beta end, then the -beta end (the
        free end, then the +beta end, one-sided). With replay both come after every phase has
        settled: the -beta end and the replay (the +beta end and the replay, one-sided)."""
        schedule = self.schedule
        if not self.replay:
            minus = schedule.period - 1 if schedule.symmetric else schedule.free_end
            return schedule.nudged_end, minus
        if schedule.symmetric:
            return self.replay_step, schedule.period - 1
        return schedule.nudged_end, self.replay_step


def period_step(timing: GraphTiming, k: int, s: np.ndarray, s_free: np.ndarray | None,
                s_held: np.ndarray | None, drive: np.ndarray, fmt: FixedFormat,
                beta_shift: int, target: np.ndarray | None, r_prev: np.ndarray) -> np.ndarray:
    """The state of a layer after step ``k`` of a period of ``timing``: 0 at the reset, the
    free equilibrium ``s_free`` at the restore step, the held state ``s_held`` at the replay
    step, else :func:`layer_step`, plus for the output layer (``target`` given) the nudging
    of the phase (+ at +beta, - at -beta)."""
    if k == timing.replay_step:
        return s_held.copy()
    schedule = timing.schedule
    code = schedule.phase(k)
    if code == ep.RESET:
        return np.zeros_like(s)
    if code == ep.RESTORE:
        return s_free.copy()
    s = layer_step(drive, fmt)
    sign = {ep.NUDGED: +1, ep.NUDGED_NEG: -1}.get(code, 0)
    if target is not None and sign:
        s = nudge(s, r_prev, target, beta_shift, sign, fmt)
    return s


# --- the update as a rule of the learning engine -------------------------------------------


@dataclass(frozen=True)
class LearningScale:
    """How lr / (2 beta) splits between the third factor c = 2^(j - s) the neurons send and
    the rule's constant 2^(s - 7) (see the module docstring)."""

    third_factor: int
    rule_shift: int


def learning_scale(lr_shift: int, beta_shift: int, weight_exp: int,
                   symmetric: bool = True) -> LearningScale:
    """c and s for lr = 2^-l, beta = 2^-k and weight exponent e: j = e - l + k + 2 (one more
    with one-sided nudging, whose contrast is not halved), c = 2^min(j, 6), s = j - log2 c.
    The engine can scale x1 y1 by 2^0 .. 2^13; anything else is refused in one sentence."""
    j = weight_exp - lr_shift + beta_shift + 2 + (0 if symmetric else 1)
    if not 0 <= j <= THIRD_FACTOR_BITS + RULE_SHIFT_MAX:
        raise ValueError(
            f"--lr-shift {lr_shift} with --beta-shift {beta_shift} and --weight-exp "
            f"{weight_exp} asks the learning engine to scale its products by 2^{j}; it can "
            f"scale by 2^0 .. 2^{THIRD_FACTOR_BITS + RULE_SHIFT_MAX} "
            "(weight-exp - lr-shift + beta-shift + 2 in that range).")
    c = min(j, THIRD_FACTOR_BITS)
    return LearningScale(2 ** c, j - c)


def rule(scale: LearningScale, floor_correction: bool = True) -> str:
    """The EP update in Loihi's sum-of-products grammar (a ``Loihi3FLearningRule``); with
    ``floor_correction`` (the fixed-point graph) the term ``2^-7 * y0 * x0``, one
    accumulator unit for every synapse whose pre neuron spikes when its post neuron sends a
    back-propagating spike (at the - step, when active and not saturated;
    :func:`post_factors`)."""
    constant = f"2^{scale.rule_shift - 7}"
    text = f"{constant} * x0 * x1 * y1 * y2 - {constant} * x0 * x1 * y1 * y3"
    return text + " + 2^-7 * y0 * x0" if floor_correction else text


def learns_sample(sample: int, epoch: int, decimate_epochs: int) -> bool:
    """Whether training sample ``sample`` of ``epoch`` learns: every sample, or with
    ``decimate_epochs`` N every 2^(epoch // N)-th."""
    return not decimate_epochs or sample % 2 ** (epoch // decimate_epochs) == 0


def post_factors(timing: GraphTiming, k: int, r: np.ndarray,
                 c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What a post neuron sends its learning engine at period step ``k`` of a learning
    sample (``c`` = 0 otherwise): y1 = :func:`half_rate`, y2 = c at the step of the + term
    and y3 = c at the step of the - term (``timing.learning_steps``), 0 elsewhere; and a
    back-propagating spike (bap) at the - step where r > 0, for the rule's floor
    correction."""
    plus_step, minus_step = timing.learning_steps
    y2 = np.full_like(r, c if k == plus_step else 0)
    y3 = np.full_like(r, c if k == minus_step else 0)
    bap = (r > 0) & bool(c) & (k == minus_step)
    return half_rate(r), y2, y3, bap.astype(r.dtype)


def coarsen(w: np.ndarray, fmt: FixedFormat, u: float) -> np.ndarray:
    """Weights on the ``fmt.weight_bits`` grid after a learning epoch: stochastic rounding to
    multiples of ``fmt.weight_step`` with rounding numbers ``u`` uniform in [0, 1) (one per
    synapse, independent of the engine's; ``numpy-fixed`` only; identity at 8 bits, what
    the engine holds)."""
    step = fmt.weight_step
    if step == 1:
        return w
    low = w // step
    return saturate((low + (u < (w - low * step) / step)) * step, (WEIGHT_MIN, WEIGHT_MAX))
