"""Equilibrium propagation in the integer arithmetic of Loihi 2 (issue "Equilibrium
propagation on Loihi's learning engine", first part): the neuron program, the graded-spike
synapse and the contrastive update with the learning engine's stochastic rounding, for
batch 1 (one sample per period, as on chip). Pure NumPy on int64 arrays; no float enters a
state, a weight or a message.

Number formats (:class:`FixedFormat`):

- rates r (the graded payload a layer sends) are unsigned ``rate_bits``-bit integers,
  r = clip(s, 0, 2^rate_bits - 1), standing for rho(s) = r / 2^rate_bits (the hard sigmoid
  of the float network saturates at 1 - 2^-rate_bits instead of 1);
- states s and biases b are signed integers in the same units (2^-rate_bits), held in
  ``state_bits`` bits and saturated there;
- weights are signed ``weight_bits``-bit mantissas w with one exponent per matrix,
  W = w / 2^q (q = ``weight_exp``), saturated to [-2^(bits-1), 2^(bits-1) - 1].

The integer program of one step, per layer (Lava's graded Dense computes the sum; the
neuron the rest; ``>>`` is an arithmetic shift, i.e. rounds towards -inf)::

    a      = sum_pre (w r_pre) >> q        each synapse, in units 2^-rate_bits   (dense_drive)
    s      = sat(a_below + a_above + b)    the free step with eps = 1           (layer_step)
    s_out += +/-((d - r_out) >> k)         the output layer in a nudged phase, beta = 2^-k
    r      = clip(s, 0, 2^rate_bits - 1)   the graded spike sent

which is the float network's fixed-point iteration s <- clip(W rho_below + W^T rho_above +
b) (``kernels.ep.settle_step`` with eps = 1) on the integer grid.

The update of a synapse after symmetric nudging (rates at the ends of the +beta and -beta
phases), with lr = 2^-l and beta = 2^-k, is the float rule
dW = lr / (2 beta) (rho_post^+ rho_pre^+ - rho_post^- rho_pre^-) on the mantissa grid::

    P     = r_post r_pre^T                    (units 2^-2 rate_bits)
    dw    = SR((P^+ - P^-) / 2^n),  n = 2 rate_bits + 1 + l - k - q
    w    <- sat(w + dw)

with SR the stochastic rounding of the learning engine: floor((x + u) / 2^n), u uniform in
[0, 2^n), which is unbiased (E[SR(x / 2^n)] = x / 2^n). Biases learn alike from r^+ - r^-
with n_b = 1 + l - k. Here the backward copy of a matrix applies the transpose of the same
dw (the same draws), so the two stay exact transposes; two LearningDense processes on chip
draw independently, and how far their copies drift apart is still to be measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.kernels import ep
from dynaxx_neuro.params import Int, option, require, validate


@dataclass(frozen=True)
class FixedFormat:
    """Bit widths of the integer EP graph (Loihi 2: graded payloads of up to 24 bits, 8-bit
    weight mantissas, 24-bit neuron states)."""

    rate_bits: int = option(8, "Bits of a rate (the graded payload), unsigned.", Int(2, 16))
    weight_bits: int = option(8, "Bits of a weight mantissa, signed.", Int(2, 8))
    state_bits: int = option(24, "Bits of a neuron state or bias, signed.", Int(8, 24))

    def __post_init__(self):
        validate(self)
        require(self.state_bits > self.rate_bits + 1,
                f"--state-bits must exceed --rate-bits + 1, got {self.state_bits} and "
                f"{self.rate_bits}.")

    @property
    def rate_max(self) -> int:
        return 2 ** self.rate_bits - 1

    @property
    def weight_range(self) -> tuple[int, int]:
        return -(2 ** (self.weight_bits - 1)), 2 ** (self.weight_bits - 1) - 1

    @property
    def state_range(self) -> tuple[int, int]:
        return -(2 ** (self.state_bits - 1)), 2 ** (self.state_bits - 1) - 1


def saturate(x: np.ndarray, bounds: tuple[int, int]) -> np.ndarray:
    """x clipped to [low, high] (Loihi saturates; it does not wrap)."""
    return np.clip(x, bounds[0], bounds[1])


def stochastic_shift(x: np.ndarray, n: int, rng: np.random.Generator,
                     shared: bool = False) -> np.ndarray:
    """SR(x / 2^n) = floor((x + u) / 2^n) with u uniform in [0, 2^n) (n >= 0): unbiased
    rounding of integers ``x`` to a coarser grid, as the learning engine rounds updates.

    ``shared``: one u for every element, as Lava's bit-approximate LearningDense rounds all
    synapses of a learning epoch with one random number (``kernels.learning_engine``;
    Loihi draws per synapse): each element is still unbiased, but the errors correlate."""
    require(n >= 0, f"the update shift must be >= 0, got {n}; lower the learning rate or the "
            "weight exponent.")
    if n == 0:
        return x.astype(np.int64)
    u = rng.integers(0, 2 ** n, size=() if shared else np.shape(x), dtype=np.int64)
    return (np.asarray(x, dtype=np.int64) + u) >> n


def quantize_weights(w: np.ndarray, weight_exp: int, fmt: FixedFormat,
                     rng: np.random.Generator) -> np.ndarray:
    """Float weights W as saturated mantissas w ~ W 2^q, stochastically rounded (the only
    float-to-integer conversion, done once on the host before a graph starts)."""
    scaled = np.asarray(w, dtype=float) * 2.0 ** weight_exp
    low = np.floor(scaled)
    up = rng.random(scaled.shape) < scaled - low
    return saturate((low + up).astype(np.int64), fmt.weight_range)


def quantize_rates(x: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """Input intensities in [0, 1] as rates r = floor(x 2^rate_bits), saturated."""
    return np.clip(np.floor(np.asarray(x, dtype=float) * 2 ** fmt.rate_bits), 0,
                   fmt.rate_max).astype(np.int64)


def dense_drive(w: np.ndarray, r_pre: np.ndarray, weight_exp: int) -> np.ndarray:
    """a = (w r_pre) >> q: a graded Dense's output in units 2^-rate_bits (w: (n_post, n_pre)
    int mantissas, r_pre: (n_pre,) int rates)."""
    return (w @ r_pre) >> weight_exp


def layer_step(drive: np.ndarray, bias: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """The free step with eps = 1: s = sat(sum of drives + b)."""
    return saturate(drive + bias, fmt.state_range)


def nudge(s: np.ndarray, r_prev: np.ndarray, target: np.ndarray, beta_shift: int,
          sign: int, fmt: FixedFormat) -> np.ndarray:
    """The output layer's nudging force added to its step: s + sign ((d - r_prev) >> k),
    beta = 2^-k, ``target`` d in rate units (0 or the rate maximum)."""
    return saturate(s + sign * ((target - r_prev) >> beta_shift), fmt.state_range)


def rate(s: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """The graded spike a layer sends: r = clip(s, 0, 2^rate_bits - 1)."""
    return np.clip(s, 0, fmt.rate_max)


def update_shift(fmt: FixedFormat, lr_shift: int, beta_shift: int, weight_exp: int) -> int:
    """n of the weight update: 2 rate_bits + 1 + l - k - q (see the module docstring)."""
    return 2 * fmt.rate_bits + 1 + lr_shift - beta_shift - weight_exp


def contrastive_dw(post_plus: np.ndarray, pre_plus: np.ndarray, post_minus: np.ndarray,
                   pre_minus: np.ndarray, n: int, rng: np.random.Generator,
                   shared: bool = False) -> np.ndarray:
    """dw = SR((r_post^+ r_pre^+T - r_post^- r_pre^-T) / 2^n), shape (n_post, n_pre)
    (``shared``: one rounding draw for all synapses, see :func:`stochastic_shift`)."""
    products = np.outer(post_plus, pre_plus) - np.outer(post_minus, pre_minus)
    return stochastic_shift(products, n, rng, shared)


def apply_dw(w: np.ndarray, dw: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """w <- sat(w + dw) on the mantissa range."""
    return saturate(w + dw, fmt.weight_range)


def period_step(schedule: ep.EPSchedule, k: int, s: np.ndarray, s_free: np.ndarray | None,
                drive: np.ndarray, bias: np.ndarray, fmt: FixedFormat, beta_shift: int,
                target: np.ndarray | None, r_prev: np.ndarray) -> np.ndarray:
    """The state of a layer after period step ``k`` of ``schedule`` (the integer twin of
    ``rules.ep.layer_step``): 0 at the reset, the free equilibrium ``s_free`` at the restore
    step, else :func:`layer_step`, plus for the output layer (``target`` given) the nudging
    of the phase, + in the +beta phase and - in the -beta phase."""
    code = schedule.phase(k)
    if code == ep.RESET:
        return np.zeros_like(s)
    if code == ep.RESTORE:
        return s_free.copy()
    s = layer_step(drive, bias, fmt)
    sign = {ep.NUDGED: +1, ep.NUDGED_NEG: -1}.get(code, 0)
    if target is not None and sign:
        s = nudge(s, r_prev, target, beta_shift, sign, fmt)
    return s


# --- the update as Lava's learning engine applies it ---------------------------------------

# The EP update in Loihi's sum-of-products grammar, for a LearningDense with a
# Loihi3FLearningRule, t_epoch = 1, graded pre spikes in OVERWRITE mode and a post neuron that
# sends y1 = r >> 1 every step and the third factor c on y2 at the last step of the +beta phase
# and on y3 at the last step of the -beta phase (0 elsewhere).
EP_RULE = "2^-7 * x0 * x1 * y1 * y2 - 2^-7 * x0 * x1 * y1 * y3"
# Lava's 8-bit MIXED weights are even (kernels.learning_engine.truncate_weights): the engine
# holds 2 w, with weight_exp -(q + 1).
LAVA_WEIGHT_FACTOR = 2


def post_factors(schedule: ep.EPSchedule, k: int, r: np.ndarray,
                 c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a post neuron sends its learning engine at period step ``k``: y1 = r >> 1 (the
    7-bit trace of its rate), y2 = c at the last step of the +beta phase, y3 = c at the last
    step of the -beta phase (symmetric nudging), 0 otherwise."""
    y2 = np.full_like(r, c if k == schedule.nudged_end else 0)
    y3 = np.full_like(r, c if schedule.symmetric and k == schedule.period - 1 else 0)
    return r >> 1, y2, y3


def third_factor(fmt: FixedFormat, lr_shift: int, beta_shift: int, weight_exp: int) -> int:
    """The value c = 2^j the post neuron sends on y2 / y3 at the phase ends.

    The engine changes a 9-bit weight by floor(x1 y1 c / 2^10) 2^-7 per product
    (``kernels.learning_engine.apply_products``: three 7-bit factors shift by 10; the
    ``2^-7`` constant scales the result), with x1 ~ r_pre / 2 and y1 ~ r_post / 2, i.e. by
    about r_post r_pre c / 2^19. The float rule on the 9-bit grid is 2 (P^+ - P^-) / 2^n
    (:func:`update_shift`), so c = 2^(20 - n); c must fit the 7-bit y trace (j in [0, 6])."""
    j = 20 - update_shift(fmt, lr_shift, beta_shift, weight_exp)
    require(fmt.rate_bits == 8 and 0 <= j <= 6,
            f"--lr-shift {lr_shift} with --beta-shift {beta_shift} and weight exponent "
            f"{weight_exp} needs the third factor 2^{j}, outside the 7-bit y trace "
            "(2^0 .. 2^6, with 8-bit rates).")
    return 2 ** j


def engine_contrastive_update(w_lava: np.ndarray, post_plus: np.ndarray, pre_plus: np.ndarray,
                              post_minus: np.ndarray, pre_minus: np.ndarray, c: int,
                              draws: tuple[float, float]) -> np.ndarray:
    """The update ``EP_RULE`` makes in Lava's bit-approximate LearningDense over the two
    learning epochs at the ends of the +beta and -beta phases, on the engine's 9-bit weights
    ``w_lava`` (``LAVA_WEIGHT_FACTOR`` x the mantissa)::

        x1 = round_half_even(r_pre / 2), y1 = r_post >> 1   (read as 7 bits, x0 = r_pre != 0)
        m  = (+/- y1 x1^T c) >> 10                 (floored; + at the +beta end, - at -beta)
        acc = (W << 7) + m;  W = floor(acc / 2^7) + (u < frac(acc / 2^7));  W in [-256, 255]

    with ``draws`` the two rounding numbers u (one per learning epoch, shared by every
    synapse, as Lava draws them). Bit-exact with ``kernels.learning_engine.step`` on this
    rule (``tests/test_ep_fixed_kernels.py``)."""
    w_lava = engine_epoch_update(w_lava, post_plus, pre_plus, +1, c, draws[0])
    return engine_epoch_update(w_lava, post_minus, pre_minus, -1, c, draws[1])


def engine_epoch_update(w_lava: np.ndarray, post: np.ndarray, pre: np.ndarray, sign: int,
                        c: int, u: float) -> np.ndarray:
    """One learning epoch of ``EP_RULE`` (the +beta end: ``sign`` +1, the -beta end: -1),
    with the epoch's shared rounding number ``u`` (see :func:`engine_contrastive_update`)."""
    x1 = np.clip(np.round(pre / 2), 0, 127).astype(np.int64)
    y1 = np.clip(post >> 1, 0, 127)
    m = (sign * np.outer(y1, x1) * c) >> 10
    acc = np.clip((w_lava << 7) + m, -2 ** 15 - 1, 2 ** 15 - 1)
    return np.clip((acc >> 7) + (u < (acc & 127) / 128), -256, 255)
