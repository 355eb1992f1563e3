"""Oja's subspace rule in the integer arithmetic of Loihi 2: the neuron programs of the
hidden units and of the reconstruction-error units, their graded spikes, and the update as
a rule of Loihi's learning engine. Pure NumPy on integer arrays; the Lava models
(``models/hebbian_fixed.py``) and the ``numpy-fixed`` twin
(``networks/hebbian_loihi_numpy.py``) both call these functions (through
``rules.hebbian_loihi``), so the graph's arithmetic is written once.

The rule. The float reference (``kernels.hebbian.oja_dw``, batch 1) is Oja's subspace rule

    y = W x,    x_hat = W^T y,    e = x - x_hat,    dW = lr y e^T          (W: (n, n_in))

for one unit the textbook dw = lr y (x - y w); with several units the reconstruction
x_hat = sum_k w_k y_k replaces y w, which keeps the units from all learning the first
principal component. On the graph every product of the update is one a synapse sees
locally: the forward synapse F (W, pre x, post y) learns y_i e_j once the error units send
e_j as its pre payload, and the reconstruction synapse B (a copy of W^T, pre y, post e)
computes x_hat and learns e_j y_i, the transpose of the same update.

Number formats:

- inputs x are rates r = round(255 x) in [0, 255] (``kernels.ep_fixed.quantize_rates``);
- weights w are the learning engine's signed 9-bit integers [-256, 255], W = w / 2^e, one
  exponent e (``weight_exp``) per matrix;
- the hidden activity is y = sat((w x >> e) >> q), q = ``activity_shift``, in [-255, 255]
  (units 2^q / 255: y_float = y 2^q / 255); it goes out as two graded spikes of 8 bits,
  y+ = max(y, 0) and y- = max(-y, 0), because the learning engine reads a graded payload
  as an unsigned 7-bit trace;
- the reconstruction r = (w^T y+ >> (e - q)) - (w^T y- >> (e - q)) is in input units, so
  e = sat(x - r) in [-255, 255], sent as e+ and e- (8 bits each);
- intermediate sums are saturated at ``state_bits`` bits (24 by default, Loihi 2's neuron
  state); at e = 9, q = 2, 784 inputs and 200 units they stay below 2^17.

The period of one sample (``PERIOD`` = 7 steps, k = 0 .. 6; Dense delays by one step)::

    k = 0      stream sends x  (to F and to the error units E, which keep it)
    k = 1      H: y = sat((F's drive) >> q); sends y+           (F computed w x at k = 0)
    k = 2      H sends y-;  E keeps r+ = B's drive of y+
    k = 3      E: e = sat(x - (r+ - r-))
    k = 3..6   learning: E sends e_a to F and H sends y_b to B, (a, b) = (+, +), (+, -),
               (-, +), (-, -) (``LEARNING_PARTS``)

The update dW = y e^T = (y+ - y-)(e+ - e-)^T is four products of unsigned parts, one per
learning step, with the sign a b. In each, every layer sends its synapse's post factors
(:func:`post_factors`): y1 = round(v_own / 2) of its own part (:func:`kernels.ep_fixed
.half_rate`, rounded as the engine rounds a payload, so y1 of F equals x1 of B and the
other way round) and a gate c on that part's neurons, on y2 if a b = + and on y3 if a b = -.
With the rule (:func:`rule`, ``Loihi3FLearningRule``, ``t_epoch = 1``)::

    dw = 2^(s - 7) * x0 * x1 * y1 * y2  -  2^(s - 7) * x0 * x1 * y1 * y3

F (pre e_a, post y_b) and B (pre y_b, post e_a) add the same product c 2^s e_a y_b / 2^19
with sign a b in the same step, so their stochastic roundings (one shared draw per step,
``kernels.learning_engine``) agree and B stays the transpose of W up to the rare unit its
own trace-decay draws take; with c 2^s = 2^j, j = e + q + 3 - l, the sum over the four
steps is dW = 2^-l y e^T (:func:`learning_scale`). It is the sum-of-products string of EP's
graph (``kernels.ep_fixed.rule``): there y2 / y3 carry the phase, here the sign.
(Learning F's y e+ and y e- in two steps, both signs of y at once, would need half the
steps, but B would then add y+ e and y- e: the same sum, split over other steps, so the
two copies would round apart and drift by a random walk of about 50 units an epoch,
measured.)

Why the 3-factor form (the neuron sends y1 on ``s_out_y1``) and not ``Loihi2FLearningRule``:
a 2-factor rule's post trace is driven by binary back-propagating spikes with a fixed
impulse, so it holds a spike count, never a signed graded value; Oja's y is signed and
graded. A 2-factor Oja would need y rate-coded over a learning epoch of many steps, its
sign on a second population, and the trace reset between samples, which the 2-factor
trace (decay only) cannot do. Loihi's grammar also has a weight factor ``w`` (Lava's
fixed-point applier evaluates it), so the single-unit form dw = x1 y1 - y1 y1 w would
parse, but it is not the subspace rule (every unit would learn the same component) and
``kernels.learning_engine`` (the twin) does not model ``w`` factors.

BCM (``--rule bcm``) fits the same string with other post factors. Its update
dW = lr y (y - theta) x^T needs no reconstruction, so its graph is the stream, F and the
hidden units, with a period of ``BCM_PERIOD`` = 2 steps (x at k = 0 and again at k = 1, so
F's pre trace holds x when it learns). At k = 1 the hidden unit computes
y = max(sat((w x >> e) >> q), 0) and sends y1 = y2 = round(y / 2), y3 = round(theta / 2)
(:func:`bcm_post_factors`), so the engine adds 2^(s - 20) x y (y - theta), lr = 2^-l with
s = e + 2q - 4 - l (:func:`bcm_learning_scale`); then it slides its threshold, a running
mean of y^2 in the units of y (:func:`bcm_threshold`)::

    theta <- sat(theta + (((y y) >> (8 - q)) - theta) >> k)      (about 2^k samples)

KHU does not fit as a rule: its drive is
sum_j sgn(w) |w|^(p - 1) x_j (a power of the weight inside the synapse, which a Dense does
not compute) and its update is normalised by the largest element of the whole update
matrix, a reduction over all synapses the learning engine does not have; its ranking
(+1 for the top unit, -delta for the k-th) would need a competition among the neurons
(a winner-take-all through inhibitory synapses settling over several steps).

Rounding. The engine floors each product (``>> 10``) before it rounds the accumulator
stochastically to a weight, so every non-zero product loses half an accumulator unit
(2^-8 of a weight step) on average, a bias towards negative weights of a few per cent of
a typical product at the default scale (about ten units); unlike EP's graph no floor
correction is added (each synapse has one non-zero product per sample, so a whole unit
back would overcorrect by as much).
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.kernels import ep_fixed as fx

PERIOD = 7                       # steps per sample
X_STEP, Y_STEP, RECON_STEP, ERROR_STEP = range(4)
# (part of e, part of y) of the learning steps ERROR_STEP .. PERIOD - 1: +1 the positive
# part, -1 the negative part.
LEARNING_PARTS = ((+1, +1), (+1, -1), (-1, +1), (-1, -1))
LEARNING_STEPS = tuple(range(ERROR_STEP, PERIOD))
ERROR, HIDDEN = 0, 1              # which of a step's parts a layer sends
INFERENCE_PERIOD = RECON_STEP + 1  # steps per sample without learning: x, y+, y-
BCM_PERIOD = Y_STEP + 1           # BCM: x, then y and the learning epoch
PAYLOAD_BITS = fx.RATE_BITS       # graded spikes: 8-bit magnitudes
PAYLOAD_MAX = fx.RATE_MAX
SIGNED = (-PAYLOAD_MAX, PAYLOAD_MAX)


def state_range(state_bits: int) -> tuple[int, int]:
    """The signed range of a ``state_bits``-bit neuron state."""
    return -(2 ** (state_bits - 1)), 2 ** (state_bits - 1) - 1


def hidden_activity(drive: np.ndarray, activity_shift: int, state_bits: int) -> np.ndarray:
    """y = sat(sat(a) >> q) in [-255, 255]: the hidden units' activity from the summed
    drive a = (w x) >> e of the forward synapse."""
    a = fx.saturate(drive, state_range(state_bits))
    return fx.saturate(a >> activity_shift, SIGNED)


def part(v: np.ndarray, sign: int) -> np.ndarray:
    """The positive (``sign`` +1) or negative (-1) part of v, max(sign v, 0): a signed value
    as an unsigned payload."""
    return np.maximum(sign * v, 0)


def error(x: np.ndarray, r_plus: np.ndarray, r_minus: np.ndarray,
          state_bits: int) -> np.ndarray:
    """e = sat(x - sat(r+ - r-)) in [-255, 255]: the input minus its reconstruction
    (r+ and r- the reconstruction synapse's drives of y+ and y-)."""
    recon = fx.saturate(r_plus - r_minus, state_range(state_bits))
    return fx.saturate(x - recon, SIGNED)


def learning_parts(k: int) -> tuple[int, int]:
    """(part of e, part of y) of learning step ``k``."""
    return LEARNING_PARTS[k - ERROR_STEP]


def selected(k: int, v: np.ndarray, layer: int) -> tuple[np.ndarray, bool]:
    """The neurons of ``layer`` (``ERROR`` or ``HIDDEN``) whose part takes part in learning
    step ``k`` (v in that part), and whether the step's product is positive."""
    parts = learning_parts(k)
    return parts[layer] * v > 0, parts[0] * parts[1] > 0


def payload(k: int, v: np.ndarray, layer: int) -> np.ndarray:
    """The graded spike ``layer`` holding ``v`` sends at learning step ``k``: its part."""
    return part(v, learning_parts(k)[layer])


def post_factors(k: int, v: np.ndarray, layer: int,
                 c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The post factors (y1, y2, y3) ``layer`` holding ``v`` sends its synapse at learning
    step ``k``: y1 = round(v_part / 2) and the gate c on the neurons of its part, on y2 if
    the step's product is positive, on y3 if negative; zeros when ``c`` is 0."""
    zeros = np.zeros_like(v)
    if not c:
        return zeros, zeros, zeros
    chosen, positive = selected(k, v, layer)
    y1 = fx.half_rate(payload(k, v, layer))
    gate = np.where(chosen, c, 0).astype(v.dtype)
    return (y1, gate, zeros) if positive else (y1, zeros, gate)


def learning_scale(lr_shift: int, weight_exp: int, activity_shift: int) -> fx.LearningScale:
    """c and s for lr = 2^-l per sample: j = e + q + 3 - l (x1 y1 ~ e |y| / 4, y in units
    2^q / 255, e and x in 1 / 255), c = 2^min(j, 6), s = j - log2 c. The engine can scale
    x1 y1 by 2^0 .. 2^13; anything else is refused in one sentence."""
    j = weight_exp + activity_shift + 3 - lr_shift
    top = fx.THIRD_FACTOR_BITS + fx.RULE_SHIFT_MAX
    if not 0 <= j <= top:
        raise ValueError(
            f"--lr-shift {lr_shift} with --weight-exp {weight_exp} and --activity-shift "
            f"{activity_shift} asks the learning engine to scale its products by 2^{j}; it "
            f"can scale by 2^0 .. 2^{top} (weight-exp + activity-shift + 3 - lr-shift in "
            "that range).")
    c = min(j, fx.THIRD_FACTOR_BITS)
    return fx.LearningScale(2 ** c, j - c)


def rule(scale: fx.LearningScale) -> str:
    """The update in Loihi's sum-of-products grammar (a ``Loihi3FLearningRule``), the same
    string as EP's graph without its floor correction: ``2^(s-7) * x0 * x1 * y1 * y2 -
    2^(s-7) * x0 * x1 * y1 * y3``."""
    return fx.rule(scale, floor_correction=False)


# --- BCM ------------------------------------------------------------------------------------


def bcm_post_factors(y: np.ndarray, theta: np.ndarray,
                     c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BCM's post factors at its learning step: y1 = y2 = round(y / 2), y3 = round(theta / 2)
    (7 bits each, theta capped there); zeros when ``c`` is 0 (no learning)."""
    if not c:
        zeros = np.zeros_like(y)
        return zeros, zeros, zeros
    half = fx.half_rate(y)
    return half, half.copy(), fx.half_rate(theta)


def bcm_threshold(theta: np.ndarray, y: np.ndarray, activity_shift: int, theta_shift: int,
                  state_bits: int) -> np.ndarray:
    """theta + (((y y) >> (8 - q)) - theta) >> k, saturated at [0, 2^(state_bits - 1) - 1]:
    the running mean of y^2 (in the units of y, 2^q / 255) over about 2^k samples."""
    target = (y * y) >> (fx.RATE_BITS - activity_shift)
    return fx.saturate(theta + ((target - theta) >> theta_shift),
                       (0, state_range(state_bits)[1]))


def bcm_learning_scale(lr_shift: int, weight_exp: int, activity_shift: int) -> fx.LearningScale:
    """The rule's constant 2^(s - 7) for BCM at lr = 2^-l: the engine adds
    (x1 y1 y2 >> 10) 2^s / 2^7 ~ 2^(s - 20) x y y, the float rule lr x y y in these units
    2^(e + 2q - 24 - l) x y y, so s = e + 2q - 4 - l; s must lie in 0 .. 7 (no third
    factor scales it). Refused in one sentence otherwise."""
    s = weight_exp + 2 * activity_shift - 4 - lr_shift
    if not 0 <= s <= fx.RULE_SHIFT_MAX:
        raise ValueError(
            f"--lr-shift {lr_shift} with --weight-exp {weight_exp} and --activity-shift "
            f"{activity_shift} asks BCM's rule for the constant 2^{s - 7}; it can be "
            f"2^-7 .. 2^0 (weight-exp + 2 activity-shift - 4 - lr-shift in 0 .. "
            f"{fx.RULE_SHIFT_MAX}).")
    return fx.LearningScale(1, s)
