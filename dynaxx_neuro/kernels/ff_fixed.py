"""Forward-forward in the integer arithmetic of Loihi 2: the neuron programs of an FF layer
and of its goodness neuron, their graded spikes, and the FF update as a rule of Loihi's
learning engine. Pure NumPy on integer arrays; no float enters a state, a weight or a
message. The Lava models (``models/ff_fixed.py``) and the ``numpy-fixed`` twin
(``networks/ff_loihi_numpy.py``) both call these functions through ``rules.ff_loihi``.

Number formats (``>>`` is an arithmetic shift: it floors):

- a layer's input x_hat = x / ||x|| (unit length) travels as the 8-bit graded payload
  X = x_hat 2^8, capped at 255 (``X_BITS``, what the learning engine reads as its x1 trace);
- weights are the engine's signed 9-bit integers w, W = w / 2^e (one exponent per matrix,
  ``kernels.ep_fixed.quantize_weights``); a bias is the weight from an always-on input X = 255;
- the drive a = sum_pre (w X) >> (e + 2) (Lava's Dense with ``weight_exp = -(e + 2)``)
  is z = W x_hat + b in units 2^-6 (``H_SHIFT``), and the activity h = relu(z) is the
  8-bit r = clip(a, 0, 255), h = r / 64 in [0, 3.98];
- the goodness G = sum h^2 reaches the goodness neuron as S = sum_j (r_j^2 >> 4) (each layer
  neuron sends q = r^2 >> 4, 12 bits; a Dense of ones sums them), G = S / 2^8
  (``G_SHIFT``), saturated at 24 bits;
- p = sigmoid(G - theta) is the integer PLAN approximation (Amin, Curtis and Hayes-Gill 1997,
  slopes 1/4, 1/8, 1/32 and offsets on a power-of-two grid, max error 0.019) in units 2^-7
  (``P_ONE`` = 128), :func:`plan_sigmoid`;
- 1 / sqrt(S) is Lava's own fixed-point inverse square root (``lava.proc.graded.models
  .inv_sqrt`` of its graded ``InvSqrt`` process, fraction 12, five Newton steps after a
  24-entry first guess indexed by the count of leading zeros), :func:`inv_sqrt`: y ~
  2^18 / sqrt(S) within 1 % for 1 <= S < 2^21. Its intermediate products need up to 40 bits
  (Lava's algorithm; a Loihi neuron would run it as multi-word microcode);
- the next layer's input is X' = min((r y) >> 12, 255) = 64 r / sqrt(S) = 2^8 h / ||h||
  (r y < 2^21, since r^2 < 16 (S + 1)).

The integer programs of one time step::

    layer neuron:    r = clip(a, 0, 255);  send X' = min((r y) >> 12, 255) (next layer),
                     q = (r r) >> 4 (goodness Dense), y1 = round(r / 2) (its synapses,
                     ``kernels.ep_fixed.half_rate``), y2 = clip(t, 0, 127), y3 = clip(-t, 0, 127)
    goodness neuron: S = min(sum q, 2^24 - 1);  y = inv_sqrt(S);  P = plan_sigmoid(S - theta 2^8)
                     t = (128 - P) >> (7 - c) at the step before a positive learning step,
                         -(P >> (7 - c)) before a negative one, else 0;  send y, t, S

The update. A layer's LearningDense learns at the end of every step (``t_epoch = 1``) from
its pre trace x1 = round(X / 2) and the factors its post neuron sends. With the rule
(:func:`rule`)::

    dw = 2^s * x0 * x1 * y1 * y2  -  2^s * x0 * x1 * y1 * y3

the engine adds ((x1 y1 y2) >> 10) 2^s to a weight (then rounds stochastically) at the
positive learning step (y2 = (1 - p) 2^c) and subtracts ((x1 y1 y3) >> 10) 2^s at the
negative one (y3 = p 2^c). With x1 ~ 2^7 x_hat and y1 ~ 2^5 h that is, in weight units,

    dW = 2 lr ((1 - p+) h+ x_hat+^T  -  p- h- x_hat-^T),   lr = 2^-l,

one SGD step of the layer's own logistic loss (``kernels.ff``, batch 1, the sum goodness)
once c + s = e - l - 1 (:func:`learning_scale`). The engine floors each product before it
shifts (``>> 10``): with s = -7 a weight loses on average half of 2^-7 of a weight step per
learning event (about 3 % of a typical update; measured on digits in BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.kernels.ep_fixed import TRACE_MAX, saturate

X_BITS = 8
X_MAX = 2 ** X_BITS - 1
H_SHIFT = 6                      # h = r / 2^6
R_MAX = 255                      # the activity's 8 bits
SQUARE_SHIFT = 4                 # q = r^2 >> 4: 12 bits
G_SHIFT = 2 * H_SHIFT - SQUARE_SHIFT   # G = S / 2^8
S_MAX = 2 ** 24 - 1              # the goodness neuron's 24-bit sum
P_BITS = 7
P_ONE = 2 ** P_BITS              # p = 1 in units 2^-7
INV_FRACTION = 12                # Lava's InvSqrt fixed-point base (its default fp_base)
INV_ITERATIONS = 5               # Lava's InvSqrtModelFP
NORM_SHIFT = INV_FRACTION        # X' = (r y) >> 12
RULE_EXP_MIN, RULE_EXP_MAX = -7, 8   # the scaling exponents Lava's grammar accepts


def quantize_inputs(x: np.ndarray) -> np.ndarray:
    """The 8-bit payloads X = min(floor(2^8 x / ||x|| + 1/2), 255) of float input rows x
    (B, n); a zero row stays zero. The host's only float-to-integer conversion of data."""
    x = np.asarray(x, dtype=float)
    norm = np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
    unit = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    return np.minimum(np.floor(unit * 2 ** X_BITS + 0.5), X_MAX).astype(np.int64)


def drive_shift(weight_exp: int) -> int:
    """The right shift of a layer's Dense, e + 2, that puts W x_hat in units 2^-6."""
    return weight_exp + X_BITS - H_SHIFT


def activity(a: np.ndarray) -> np.ndarray:
    """r = clip(a, 0, 255): ReLU saturated to the 8-bit payload."""
    return np.clip(a, 0, R_MAX)


def square(r: np.ndarray) -> np.ndarray:
    """q = (r r) >> 4, what a layer neuron sends its goodness Dense (12 bits)."""
    return (r * r) >> SQUARE_SHIFT


def _bit_length(s: np.ndarray) -> np.ndarray:
    """floor(log2 s) + 1 for integers 1 <= s < 2^24 (what Lava's ``clz`` counts from): the
    binary exponent of s, exact in float64 for these integers."""
    return np.frexp(np.asarray(s, dtype=np.float64))[1].astype(np.int64)


def inv_sqrt_table(fraction: int = INV_FRACTION) -> np.ndarray:
    """Lava's first guesses ``make_fpinv_table``: entry 23 - m is 2 int(2^f / (2^((m - f)
    / 2) 1.238982962)), for m = 0 .. 23."""
    table = np.zeros(24, dtype=np.int64)
    for m in range(24):
        table[23 - m] = 2 * int(2 ** fraction / (2 ** ((m - fraction) / 2) * 1.238982962))
    return table


def inv_sqrt(s: np.ndarray) -> np.ndarray:
    """Lava's integer inverse square root, element by element (0 for s = 0)::

        Y = table[24 - bitlength(s)];  y = Y >> 1;  b = s
        5 times:  b = (((b Y) >> 13) Y) >> 13;  Y = 3 2^12 - b;  y = (y Y) >> 13

    y ~ 2^18 / sqrt(s) (``tests/test_ff_loihi.py`` checks it against Lava's own)."""
    s = np.asarray(s, dtype=np.int64)
    table = inv_sqrt_table()
    live = s > 0
    big_y = table[np.where(live, 24 - _bit_length(np.maximum(s, 1)), 0)]
    y, b = big_y >> 1, s.copy()
    for _ in range(INV_ITERATIONS):
        b = (((b * big_y) >> (INV_FRACTION + 1)) * big_y) >> (INV_FRACTION + 1)
        big_y = (3 << INV_FRACTION) - b
        y = (y * big_y) >> (INV_FRACTION + 1)
    return np.where(live, y, 0)


def normalised(r: np.ndarray, y: np.ndarray) -> np.ndarray:
    """X' = min((r y) >> 12, 255) = 2^8 h / ||h||: the next layer's input payload."""
    return np.minimum((r * y) >> NORM_SHIFT, X_MAX)


def goodness_sum(a: np.ndarray) -> np.ndarray:
    """S = min(sum q, 2^24 - 1): the goodness in units 2^-8 (a >= 0)."""
    return saturate(a, (0, S_MAX))


def plan_sigmoid(z: np.ndarray) -> np.ndarray:
    """p = sigmoid(z / 2^8) in units 2^-7 by PLAN: with u = |z|,

        u >= 5:          128
        2.375 <= u < 5:  (u >> 6) + 108          (u / 32 + 0.84375)
        1 <= u < 2.375:  (u >> 4) + 80           (u / 8 + 0.625)
        u < 1:           (u >> 3) + 64           (u / 4 + 0.5)

    (thresholds 1280, 608, 256 in units 2^-8) and 128 - p(u) for z < 0."""
    z = np.asarray(z, dtype=np.int64)
    u = np.abs(z)
    p = np.where(u >= 1280, P_ONE,
                 np.where(u >= 608, (u >> 6) + 108,
                          np.where(u >= 256, (u >> 4) + 80, (u >> 3) + 64)))
    return np.where(z < 0, P_ONE - p, p)


def logistic_term(s: np.ndarray, theta: int, positive: bool, c: int) -> np.ndarray:
    """The signed third factor t of a layer: (1 - p) 2^c for a positive pass, -p 2^c for a
    negative one, p = ``plan_sigmoid(S - theta)`` (``theta`` in units 2^-8), each capped at
    the 7-bit trace."""
    p = plan_sigmoid(np.asarray(s, dtype=np.int64) - theta)
    shift = P_BITS - c
    return np.minimum((P_ONE - p) >> shift, TRACE_MAX) if positive else \
        -np.minimum(p >> shift, TRACE_MAX)


def third_factors(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y2, y3) = (clip(t, 0, 127), clip(-t, 0, 127)): the sign of t picks the rule's term."""
    return np.clip(t, 0, TRACE_MAX), np.clip(-t, 0, TRACE_MAX)


# --- the update as a rule of the learning engine -------------------------------------------


@dataclass(frozen=True)
class LearningScale:
    """How lr splits between the third factor's width c (t carries (1 - p) 2^c) and the
    rule's constant 2^s (see the module docstring)."""

    factor_bits: int
    rule_exp: int


def learning_scale(lr_shift: int, weight_exp: int) -> LearningScale:
    """c and s with c + s = e - l - 1: c = min(7, j + 7), s = j - c (the smallest s, so the
    engine's floor of each product is as fine as it can be). Rates the engine cannot scale
    to are refused in one sentence."""
    j = weight_exp - lr_shift - 1
    if not -P_BITS <= j <= P_BITS + RULE_EXP_MAX:
        raise ValueError(
            f"--lr-shift {lr_shift} with --weight-exp {weight_exp} asks the learning engine "
            f"to scale its products by 2^{j}; it can scale by 2^-{P_BITS} .. "
            f"2^{P_BITS + RULE_EXP_MAX} (weight-exp - lr-shift - 1 in that range).")
    c = min(P_BITS, j + P_BITS)
    return LearningScale(c, j - c)


def rule(scale: LearningScale) -> str:
    """The FF update in Loihi's sum-of-products grammar (a ``Loihi3FLearningRule``)."""
    constant = f"2^{scale.rule_exp}"
    return f"{constant} * x0 * x1 * y1 * y2 - {constant} * x0 * x1 * y1 * y3"
