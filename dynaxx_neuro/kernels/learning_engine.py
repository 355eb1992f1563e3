"""A NumPy model of lava-nc 0.10.0's fixed-point plastic synapse, bit-exact with Lava's
``LearningDense`` under the ``fixed_pt`` tag (``PyLearningDenseModelBitApproximate``) and
with the bit-accurate ``Dense`` (``PyDenseModelBitAcc``). Pure NumPy, no Lava import: this is
the synapse of the ``numpy-fixed`` twin of issue 12.

Every function below states the integer program it runs and names the Lava function it
mirrors (``lava/proc/dense/models.py``, ``lava/magma/core/model/py/connection.py`` =
``conn``, ``lava/magma/core/learning/learning_rule_applier.py`` = ``applier``,
``lava/magma/core/learning/random.py``, ``lava/magma/core/learning/utils.py``,
``lava/utils/weightutils.py``). The NumPy dtypes are Lava's (int32 weights and drive, int64
traces, uint8 wrap of graded payloads), so overflows wrap where Lava's do.

One time step t = 1, 2, ... of ``PyLearningDenseModelBitApproximate.run_spk`` (then
``run_lrn`` when ``t % t_epoch == 0``), as ``step`` runs it::

    a_out  = a_buff                                   sent first: one step of delay
    t == 1: W = truncate_weights(W, sign_mode, num_weight_bits)
    a_buff = (W @ s_in) << weight_exp   (or >> -weight_exp, arithmetic: floor)
    pre spikes  -> x1/x2/tx (GradedSpikeCfg)            conn._process_pre_spikes
    advance the x and y trace generators               conn._update_trace_randoms
    post spikes -> y0/ty, multi-spike impulses          conn._process_post_spikes
    3-factor: y1, y2, y3 = the values on s_in_y1..3     conn.recv_traces
    advance the x and y trace generators again
    learning epoch (t % t_epoch == 0):                 conn.run_lrn
        advance the synaptic-variable generator
        x0 = tx > 0, y0 = ty > 0
        trace histories over the epoch (decay, impulses at tx/ty, stochastic rounding)
        traces <- last history value (y only for the 2-factor rule)
        W <- saturate(stochastic_round(clip(W << 7 + sum of products)) >> 7)
        tx = ty = x0 = y0 = 0

Random numbers. Lava draws them from NumPy's ``np.random.default_rng`` (PCG64), which NumPy
reproduces exactly, so the stochastic rounding is reproduced bit for bit, not approximated:

- ``TraceRandom`` for the pre traces is seeded ``rng_seed`` (decay: ``random()``) and
  ``rng_seed + 1`` (impulse: ``integers(0, 128)``), for the post traces ``rng_seed + 2`` and
  ``rng_seed + 3``. Each draws once at construction and once per ``advance``; the model
  advances both twice per time step. One scalar serves every neuron and every step of an
  epoch's decay loop.
- ``ConnVarRandom`` for the weight rounding is constructed *without* a seed, so it always
  uses its default seed 2 whatever ``rng_seed`` says: every LearningDense in a graph rounds
  its weights with the same scalar ``default_rng(2).random()`` sequence, one draw per learning
  epoch shared by all synapses (this is why Lava calls the model bit-*approximate*: Loihi
  draws per synapse). Two synapses with the same rule and inputs therefore round alike,
  which keeps a forward and a backward matrix transposes of each other.
- ``rng_seed=None`` makes Lava pick ``np.random.randint(1, 2**31 - 1)`` from NumPy's global
  state; the twin needs the seed, so ``EngineParams.rng_seed`` is required.

The dw grammar supported is the part EP needs: a sum of products, each product a scaling
constant (integers and ``2^e``, combined as Lava combines them into mantissa * 2^exponent),
one dependency first (``x0``, ``y0`` or ``uk``) and factors among ``x0 y0 x1 x2 y1 y2 y3``,
e.g. ``"2^-2 * u0 * x1 * y1 - 2^-2 * u0 * x1 * y2"``. ``w``/``d``/``t`` factors, bracketed
``(x1 + c)`` constants and ``sgn()`` are not modelled (``parse_rule`` refuses them).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace

import numpy as np

# Widths from lava/magma/core/learning/constants.py.
W_TRACE = 7                      # traces x1, x2, y1, y2, y3: 7 bits unsigned
W_TRACE_FRACTIONAL_PART = 8      # impulse fractions in 1/256
W_WEIGHTS_U = 8                  # weights: 8 bits + sign
W_WEIGHTS_S = 9
W_S_MANT = 4                     # width counted for the scaling mantissa
W_ACCUMULATOR_U = 15             # accumulator: 15 bits + sign
W_ACCUMULATOR_S = 16
ACC_MIN, ACC_MAX = -(2 ** W_ACCUMULATOR_U) - 1, 2 ** W_ACCUMULATOR_U - 1   # as Lava clips
WEIGHT_SHIFT = W_ACCUMULATOR_S - W_WEIGHTS_S          # 7: weight <-> accumulator
FACTOR_WIDTH = {"x0": 1, "y0": 1, "x1": W_TRACE, "x2": W_TRACE,
                "y1": W_TRACE, "y2": W_TRACE, "y3": W_TRACE}
CONN_VAR_SEED = 2                # ConnVarRandom()'s default seed, used by the model


class SignMode(enum.IntEnum):
    """``lava.utils.weightutils.SignMode`` (same values)."""
    NULL = 0
    MIXED = 1
    EXCITATORY = 2
    INHIBITORY = 3


class GradedSpikeCfg(enum.IntEnum):
    """``lava.magma.core.learning.constants.GradedSpikeCfg`` (same values)."""
    USE_REGULAR_IMPULSE = 0
    OVERWRITE = 1
    ADD_WITH_SATURATION = 2
    ADD_WITHOUT_SATURATION = 3


# ----------------------------------------------------------------------------------------
# Weights and the graded drive


def truncate_weights(weights: np.ndarray, sign_mode: SignMode,
                     num_weight_bits: int = 8) -> np.ndarray:
    """``weightutils.truncate_weights``: drop the low bits the weight width has no room for.

    ``w = int32(w)``; inhibitory: ``w = -w``; ``k = 8 - num_weight_bits + (mixed ? 1 : 0)``;
    ``w = (w >> k) << k`` (arithmetic shift: floors); inhibitory: ``w = -w``. With MIXED and 8
    bits k = 1: the learning model makes every weight even at its first step."""
    w = np.asarray(weights).copy().astype(np.int32)
    if sign_mode == SignMode.INHIBITORY:
        w = -w
    k = 8 - int(num_weight_bits) + int(sign_mode == SignMode.MIXED)
    w = (w >> k) << k
    if sign_mode == SignMode.INHIBITORY:
        w = -w
    return w


def clip_weights(weights: np.ndarray, sign_mode: SignMode, num_bits: int = W_WEIGHTS_U
                 ) -> np.ndarray:
    """``weightutils.clip_weights`` (``learning_simulation=False``): the weight bounds.

    MIXED: [-2^8, 2^8 - 1] = [-256, 255]; EXCITATORY and NULL: [0, 255]; INHIBITORY:
    [-255, 0] (clipped as -w in [0, 255])."""
    w = np.asarray(weights).copy().astype(np.int32)
    mixed = int(sign_mode == SignMode.MIXED)
    inhibitory = sign_mode == SignMode.INHIBITORY
    if inhibitory:
        w = -w
    w = np.clip(w, (-2 ** num_bits) * mixed, 2 ** num_bits - 1)
    if inhibitory:
        w = -w
    return w


def determine_sign_mode(weights: np.ndarray) -> SignMode:
    """``weightutils.determine_sign_mode``: what the non-learning Dense uses when no
    ``sign_mode`` is given (all >= 0: EXCITATORY, all <= 0: INHIBITORY, else MIXED). The
    learning model instead defaults to MIXED (``conn.PyLearningConnection.__init__``)."""
    if np.min(weights) >= 0:
        return SignMode.EXCITATORY
    if np.max(weights) <= 0:
        return SignMode.INHIBITORY
    return SignMode.MIXED


def dense_weights(weights: np.ndarray, sign_mode: SignMode | None = None,
                  num_weight_bits: int = 8) -> np.ndarray:
    """The weights ``PyDenseModelBitAcc`` uses from its first step on:
    ``truncate_weights(clip_weights(w, mode, 8), mode, num_weight_bits)`` with ``mode`` the
    given sign mode or ``determine_sign_mode(w)``."""
    mode = determine_sign_mode(weights) if sign_mode is None else SignMode(sign_mode)
    return truncate_weights(clip_weights(weights, mode, 8), mode, num_weight_bits)


def graded_drive(weights: np.ndarray, s_in: np.ndarray, weight_exp: int = 0,
                 num_message_bits: int = 1) -> np.ndarray:
    """What Lava's fixed-point Dense puts in ``a_buff`` for input ``s_in`` (and sends on
    ``a_out`` one step later): ``AbstractPyDenseModelBitAcc.run_spk``.

    - graded (``num_message_bits > 0``): ``acc = W @ s`` with ``W`` int32 and ``s`` int32
      (the InPort sums its inputs onto a zero vector of its own dtype, bool, so an int32
      payload stays int32); the product and the sum wrap modulo 2^32 like Lava's;
    - binary: ``acc = sum of the columns of W where s != 0``;
    - ``a = acc << weight_exp`` if ``weight_exp > 0`` else ``acc >> -weight_exp`` (arithmetic
      right shift: floor division by 2^-weight_exp, towards minus infinity).

    ``weights`` are the weights as the model holds them (``dense_weights`` or, for a
    LearningDense, ``truncate_weights`` then learning). Payload bits beyond
    ``num_message_bits`` are not masked: Lava 0.10 uses the number only as graded/binary."""
    w = np.asarray(weights, dtype=np.int32)
    if num_message_bits > 0:
        acc = w.dot(np.asarray(s_in).astype(np.int32))
    else:
        acc = w[:, np.asarray(s_in).astype(bool)].sum(axis=1)
    return np.left_shift(acc, weight_exp) if weight_exp > 0 else np.right_shift(acc, -weight_exp)


# ----------------------------------------------------------------------------------------
# The learning rule string


@dataclass(frozen=True)
class Product:
    """One product of a rule, as ``product_series.Product`` holds it: ``mantissa * 2 **
    exponent * dependency * factors`` (``exponent`` as written; Lava stores exponent + 7)."""
    mantissa: int
    exponent: int
    dependency: str                  # "x0", "y0" or "u"
    factors: tuple[str, ...]
    decimate_exponent: int | None = None


_TOKEN = re.compile(r"^(x0|y0|x1|x2|y1|y2|y3|u\d)$")
_POWER = re.compile(r"^(\d+)\^([+-]?\d+)$")


def parse_rule(rule: str) -> tuple[Product, ...]:
    """Parse a dw string of the supported grammar into products, as
    ``ProductSeries._generate_product`` does: a leading ``-`` negates the mantissa, every
    literal multiplies into the scaling constant (``n`` is n * 2^0, ``2^e`` is 1 * 2^e), the
    first dependency (``x0``, ``y0``, ``uk``) is the product's dependency and a later one a
    1-bit factor; then ``while |m| > 7 and m even and e < 8: m /= 2, e += 1``; the mantissa
    must lie in [-8, 7] and the exponent in [-7, 8]."""
    if not isinstance(rule, str) or not rule.strip():
        raise ValueError(f"The learning rule must be a non-empty string, got {rule!r}.")
    text = rule.replace(" ", "")
    terms, start = [], 0
    for i, ch in enumerate(text):               # split at + and - not after "^"
        if ch in "+-" and i > 0 and text[i - 1] != "^":
            terms.append(text[start:i])
            start = i
    terms.append(text[start:])
    products = []
    for term in terms:
        mantissa, exponent, dependency, decimate, factors = 1, 0, None, None, []
        if term[0] in "+-":
            mantissa = -1 if term[0] == "-" else 1
            term = term[1:]
        for token in term.split("*"):
            if token.isdigit():
                mantissa *= int(token)
            elif _POWER.match(token):
                base, exp = _POWER.match(token).groups()
                if base != "2":
                    raise ValueError(f"Only powers of 2 are constants here, got {token!r}.")
                exponent += int(exp)
            elif _TOKEN.match(token):
                if token in ("x0", "y0") or token.startswith("u"):
                    if dependency is None:
                        dependency = "u" if token.startswith("u") else token
                        decimate = int(token[1]) if token.startswith("u") else None
                    elif token.startswith("u"):
                        raise ValueError(f"A second uk dependency in {term!r} is not modelled.")
                    else:
                        factors.append(token)
                else:
                    factors.append(token)
            else:
                raise ValueError(f"The rule term {token!r} is outside the modelled grammar "
                                 "(constants, x0, y0, uk, x1, x2, y1, y2, y3).")
        while abs(mantissa) > 7 and mantissa % 2 == 0 and exponent < 8:
            mantissa //= 2
            exponent += 1
        if dependency is None:
            raise ValueError(f"The rule term {term!r} has no dependency (x0, y0 or uk).")
        if not -8 <= mantissa < 8 or not -7 <= exponent < 9:
            raise ValueError(f"The scaling constant of {term!r} is not m * 2^e with m in "
                             f"[-8, 7] and e in [-7, 8].")
        products.append(Product(mantissa, exponent, dependency, tuple(factors), decimate))
    return tuple(products)


# ----------------------------------------------------------------------------------------
# Parameters, state, random numbers


@dataclass(frozen=True)
class Trace:
    """One trace's configuration: impulse added per spike (integer part plus a fraction in
    1/256, ``conn._decompose_impulses``) and decay time constant in steps (0: the trace is not
    decayed but *zeroed* in the epoch history, as Lava does)."""
    impulse: float = 0.0
    tau: float = 0.0

    def __post_init__(self):
        if not self.impulse >= 0 or not self.tau >= 0:
            raise ValueError(f"Trace impulse and tau must be >= 0, got {self}.")

    @property
    def impulse_int(self) -> int:
        return int(np.floor(self.impulse))

    @property
    def impulse_frac(self) -> int:
        return int(np.round((self.impulse - np.floor(self.impulse)) * 2 ** W_TRACE_FRACTIONAL_PART))


@dataclass(frozen=True)
class EngineParams:
    """A LearningDense's learning configuration as the fixed-point model reads it.

    ``three_factor``: ``Loihi3FLearningRule`` (y traces come from the post neuron's
    s_in_y1..3 each step; Lava sets their impulses to 0 and taus to 65535) instead of
    ``Loihi2FLearningRule`` (y traces driven by s_in_bap with ``y1..y3``). Lava zeroes
    ``x1.impulse`` whenever ``graded`` is not USE_REGULAR_IMPULSE; so does ``effective``."""
    dw: str
    t_epoch: int = 1
    rng_seed: int = 0
    x1: Trace = Trace()
    x2: Trace = Trace()
    y1: Trace = Trace()
    y2: Trace = Trace()
    y3: Trace = Trace()
    three_factor: bool = False
    graded: GradedSpikeCfg = GradedSpikeCfg.USE_REGULAR_IMPULSE
    sign_mode: SignMode = SignMode.MIXED
    num_weight_bits: int = 8
    weight_exp: int = 0
    num_message_bits: int = 0
    products: tuple[Product, ...] = field(init=False)

    def __post_init__(self):
        if not isinstance(self.t_epoch, int) or self.t_epoch < 1:
            raise ValueError(f"t_epoch must be an int >= 1, got {self.t_epoch!r}.")
        if not isinstance(self.rng_seed, int) or self.rng_seed < 0:
            raise ValueError(f"rng_seed must be an int >= 0, got {self.rng_seed!r}.")
        if not 1 <= self.num_weight_bits <= 8:
            raise ValueError(f"num_weight_bits must be in 1..8, got {self.num_weight_bits!r}.")
        object.__setattr__(self, "graded", GradedSpikeCfg(self.graded))
        object.__setattr__(self, "sign_mode", SignMode(self.sign_mode))
        object.__setattr__(self, "products", parse_rule(self.dw))
        if self.graded != GradedSpikeCfg.USE_REGULAR_IMPULSE:       # LearningDense.__init__
            object.__setattr__(self, "x1", Trace(0.0, self.x1.tau))
        if self.three_factor:                                       # Loihi3FLearningRule
            for name in ("y1", "y2", "y3"):
                object.__setattr__(self, name, Trace(0.0, float(np.iinfo(np.uint16).max)))

    @property
    def x_traces(self) -> tuple[Trace, Trace]:
        return (self.x1, self.x2)

    @property
    def y_traces(self) -> tuple[Trace, Trace, Trace]:
        return (self.y1, self.y2, self.y3)


@dataclass(frozen=True)
class Randoms:
    """Lava's random numbers for ``n_steps`` steps, drawn exactly as Lava draws them (one
    ``random(1)`` or ``integers(0, 128, size=1)`` call per draw, so the streams match call
    for call; NumPy's bounded integers buffer across elements of one call, so one
    ``size=n`` call would not).

    Index ``k`` of the trace streams is the value after ``k`` advances: during step t the
    pre spikes see index 2(t-1), the post spikes 2t-1 and the learning epoch 2t. Index k of
    ``conn`` is the weight-rounding scalar of the k-th learning epoch (k >= 1)."""
    x_decay: np.ndarray
    x_impulse: np.ndarray
    y_decay: np.ndarray
    y_impulse: np.ndarray
    conn: np.ndarray

    @staticmethod
    def for_run(rng_seed: int, n_steps: int, t_epoch: int = 1) -> "Randoms":
        """``random.TraceRandom(seed, seed + 1)`` for x, ``(seed + 2, seed + 3)`` for y,
        ``random.ConnVarRandom()`` (seed 2) for the weights."""
        n = 2 * n_steps + 1

        def floats(seed, count):
            g = np.random.default_rng(seed=seed)
            return np.array([g.random(1)[0] for _ in range(count)])

        def ints(seed, count):
            g = np.random.default_rng(seed=seed)
            return np.array([g.integers(0, 2 ** W_TRACE, size=1, dtype=int)[0]
                             for _ in range(count)])

        return Randoms(floats(rng_seed, n), ints(rng_seed + 1, n),
                       floats(rng_seed + 2, n), ints(rng_seed + 3, n),
                       floats(CONN_VAR_SEED, n_steps // t_epoch + 1))


@dataclass(frozen=True)
class SynapseState:
    """The Vars of a fixed-point LearningDense between steps (``time_step`` steps done)."""
    weights: np.ndarray               # int32 (n_post, n_pre)
    a_buff: np.ndarray                # int32 (n_post,)
    x1: np.ndarray                    # (n_pre,); int64 (uint8 within an epoch in ADD modes)
    x2: np.ndarray
    tx: np.ndarray                    # within-epoch pre spike time, 0: none
    y1: np.ndarray                    # (n_post,)
    y2: np.ndarray
    y3: np.ndarray
    ty: np.ndarray
    y0: np.ndarray                    # bool (n_post,)
    time_step: int = 0

    @staticmethod
    def initial(weights: np.ndarray) -> "SynapseState":
        """Lava's initial Vars: integer weights (as given to LearningDense), all else 0."""
        w = np.asarray(weights)
        if not np.issubdtype(w.dtype, np.integer) and not np.array_equal(w, np.round(w)):
            raise ValueError("Fixed-point weights must be integers.")
        n_post, n_pre = w.shape
        z = lambda n: np.zeros(n, dtype=int)   # noqa: E731
        return SynapseState(w.astype(np.int32), np.zeros(n_post, np.int32), z(n_pre), z(n_pre),
                            z(n_pre), z(n_post), z(n_post), z(n_post), z(n_post),
                            np.zeros(n_post, bool), 0)


# ----------------------------------------------------------------------------------------
# Trace arithmetic


def stochastic_round(values, random, probabilities) -> np.ndarray:
    """``learning.utils.stochastic_round``: ``int(values + (random < probabilities))``."""
    return (values + np.asarray(random < probabilities).astype(int)).astype(int)


def add_impulse(trace, random, impulse_int, impulse_frac) -> np.ndarray:
    """``conn._add_impulse``: ``v = trace + impulse_int``; ``v += (random < impulse_frac)``
    with ``random`` an integer in [0, 128) (or 0) against the fraction in 1/256;
    ``v = clip(v, 0, 127)``."""
    v = stochastic_round(trace + impulse_int, random, impulse_frac)
    return np.clip(v, 0, 2 ** W_TRACE - 1)


def decay_trace(trace, tau, random) -> np.ndarray:
    """``conn._decay_trace`` over one step: ``v = exp(-1 / tau) * trace`` in float64;
    ``floor(v) + (random < v mod 1)`` with ``random`` a float in [0, 1)."""
    v = np.exp(-1 / tau) * trace
    return stochastic_round(np.floor(v), random, v % 1)


def trace_history(traces: np.ndarray, configs, t_spike: np.ndarray, t_epoch: int,
                  r_decay: float, r_impulse: int) -> np.ndarray:
    """``conn._compute_trace_histories`` for one side: ``h[0] = traces`` (k, n); for
    t = 1..t_epoch: rows with tau != 0 get ``decay_trace(h[t-1])``, rows with tau == 0 stay
    **0** (Lava fills the history with zeros and decays only tau != 0 rows); then neurons
    whose within-epoch spike time is t get ``add_impulse(h[t], r_impulse, ...)``. One
    ``r_decay`` and one ``r_impulse`` serve the whole epoch."""
    k = traces.shape[0]
    taus = np.array([c.tau for c in configs])
    imp_int = np.array([c.impulse_int for c in configs])[:, None]
    imp_frac = np.array([c.impulse_frac for c in configs])[:, None]
    h = np.full((t_epoch + 1,) + traces.shape, 0, dtype=int)
    h[0] = traces
    live = taus != 0
    for t in range(1, t_epoch + 1):
        h[t][live] = decay_trace(h[t - 1][live], taus[live][:, None], r_decay)
        ids = np.where(t_spike == t)[0]
        h[t][:, ids] = add_impulse(h[t][:, ids], r_impulse, imp_int, imp_frac)
    assert k == len(configs)
    return h


def process_pre_spikes(state: SynapseState, params: EngineParams, s_in: np.ndarray
                       ) -> dict:
    """``LearningConnectionModelBitApproximate._process_pre_spikes``. With ``spiked = s != 0``
    and ``multi = spiked & (tx > 0)`` (a second spike in the epoch), ``p = uint8(round(s / 2))``
    (NumPy rounds halves to even; payloads wrap modulo 256 after halving):

    - USE_REGULAR_IMPULSE: ``x1[multi] = add_impulse(x1, 0, x1 impulse)`` now (the first
      spike's impulse is added in the epoch history at tx);
    - OVERWRITE: ``x1[spiked] = p`` (not clipped to 127 here; the learning engine clips the
      factor to 127, the history clips at tx);
    - ADD_WITH_SATURATION: ``x1 = clip(uint8(x1 + p), 0, 127)`` (the uint8 wraps first: a sum
      of 256 or more saturates from its remainder);
    - ADD_WITHOUT_SATURATION: ``x1 = uint8(x1 + p)``, minus 127 where above 127; only those
      overflowing spikes set tx and add to x2;
    - ``x2[multi'] = add_impulse(x2, 0, x2 impulse)``; ``tx[spiked'] = within-epoch step``."""
    s_in = np.asarray(s_in)
    cfg = params.graded
    x1, x2, tx = state.x1.copy(), state.x2.copy(), state.tx.copy()
    spiked = s_in.astype(bool)
    multi = (tx > 0) & spiked
    scaled = np.round(s_in / 2).astype(np.uint8)
    update_t, x2_idx = spiked, multi
    if cfg == GradedSpikeCfg.USE_REGULAR_IMPULSE:
        x1[multi] = add_impulse(x1[multi], 0, params.x1.impulse_int, params.x1.impulse_frac)
    elif cfg == GradedSpikeCfg.OVERWRITE:
        x1[spiked] = scaled[spiked]
    else:
        sums = (x1 + scaled).astype(np.uint8)
        if cfg == GradedSpikeCfg.ADD_WITH_SATURATION:
            x1 = np.clip(sums, 0, 127)
        else:
            overflow = sums > 127
            update_t, x2_idx = update_t & overflow, x2_idx & overflow
            x1 = sums
            x1[overflow] -= 127
    x2[x2_idx] = add_impulse(x2[x2_idx], 0, params.x2.impulse_int, params.x2.impulse_frac)
    tx[update_t] = _within_epoch(state.time_step + 1, params.t_epoch)
    return {"x1": x1, "x2": x2, "tx": tx}


def _within_epoch(time_step: int, t_epoch: int) -> int:
    """``conn._within_epoch_time_step``: t mod t_epoch, with 0 read as t_epoch."""
    return time_step % t_epoch or t_epoch


def process_post_spikes(state: SynapseState, params: EngineParams, bap: np.ndarray,
                        r_impulse: int) -> dict:
    """``LearningConnectionModelBitApproximate._process_post_spikes``: ``y0 |= bap``; a second
    post spike in the epoch adds each y trace's impulse now
    (``add_impulse(y, r_impulse, ...)``, the post generator's current integer);
    ``ty[bap] = within-epoch step``."""
    bap = np.asarray(bap).astype(bool)
    y0, ty = state.y0.copy(), state.ty.copy()
    y0[bap] = True
    multi = (ty > 0) & bap
    ys = np.stack([state.y1, state.y2, state.y3]).copy()
    imp_int = np.array([c.impulse_int for c in params.y_traces])[:, None]
    imp_frac = np.array([c.impulse_frac for c in params.y_traces])[:, None]
    ys[:, multi] = add_impulse(ys[:, multi], r_impulse, imp_int, imp_frac)
    ty[bap] = _within_epoch(state.time_step + 1, params.t_epoch)
    return {"y0": y0, "ty": ty, "y1": ys[0], "y2": ys[1], "y3": ys[2]}


# ----------------------------------------------------------------------------------------
# The learning epoch


def _evaluated_traces(xh: np.ndarray, yh: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> dict:
    """``conn._extract_applier_evaluated_traces``: each trace read at the time its product's
    dependency names: at the pre spike time tx (``x*_x0`` (1, n_pre), ``y*_x0`` (n_post,
    n_pre)), at the post spike time ty, or at the epoch's end (``*_u``). A time of 0 (no
    spike) reads ``h[0]``, the value before the epoch's decay."""
    out = {}
    for i, name in enumerate(("x1", "x2")):
        out[f"{name}_x0"] = xh[tx, i].diagonal()[np.newaxis, :]
        out[f"{name}_y0"] = xh[ty, i]
        out[f"{name}_u"] = xh[-1, i][np.newaxis, :]
    for i, name in enumerate(("y1", "y2", "y3")):
        out[f"{name}_x0"] = yh[tx, i].T
        out[f"{name}_y0"] = yh[ty, i].diagonal()[:, np.newaxis]
        out[f"{name}_u"] = yh[-1, i][:, np.newaxis]
    return out


def apply_products(accumulator: np.ndarray, products, args: dict) -> np.ndarray:
    """``applier.LearningRuleApplierBitApprox.apply``, per product, in int32::

        m = 1 * dependency                          (x0, y0: 0/1; u: 0/1 from uk)
        for each factor f: m *= clip(f, -2^w, 2^w - 1)   w = 7 for traces, 1 for x0/y0
        m *= mantissa
        m >>= max(0, sum(w) + 4 - 15)               e.g. x1*y1: 7 + 7 + 4 - 15 = 3
        m <<= exponent + 7
        m = clip(m, -2^15 - 1, 2^15 - 1)
        acc = clip(acc + m, -2^15 - 1, 2^15 - 1)

    so one product changes a weight by ``mantissa * 2^exponent * f1 * f2 / 2^(7 + shift)`` in
    weight units before the rounding (x1*y1 scaled 2^-2: x1 y1 / 2^12)."""
    result = accumulator
    for p in products:
        m = np.ones(args["shape"], dtype=np.int32)
        m *= args["u"] if p.dependency == "u" else args[p.dependency]
        width = 0
        for f in p.factors:
            w = FACTOR_WIDTH[f]
            width += w
            val = args[f] if f in ("x0", "y0") else args[f"{f}_{p.dependency}"]
            m *= np.clip(val, -(2 ** w), 2 ** w - 1).astype(np.int32)
        width += W_S_MANT
        m *= p.mantissa
        m = np.right_shift(m, max(0, width - W_ACCUMULATOR_U))
        m = np.left_shift(m, p.exponent + 7)
        m = np.clip(m, ACC_MIN, ACC_MAX)
        result = np.clip(result + m, ACC_MIN, ACC_MAX)
    return result


def update_weights(weights: np.ndarray, products, args: dict, sign_mode: SignMode,
                   random: float) -> np.ndarray:
    """``LearningConnectionModelBitApproximate._apply_learning_rules`` for ``weights``::

        acc = W << 7                                 (16-bit accumulator, 9-bit weight)
        acc = apply_products(acc)
        EXCITATORY: acc = max(0, acc); INHIBITORY: acc = min(0, acc)   (accumulator sign)
        q = acc / 128;  acc = 128 * (floor(q) + (random < q mod 1))   (stochastic rounding,
                                                     one float per epoch for all synapses)
        W = clip_weights(acc >> 7, sign_mode, 8)     (MIXED [-256, 255], EXC [0, 255], ...)
    """
    acc = weights.copy() << WEIGHT_SHIFT
    acc = apply_products(acc, products, args)
    if sign_mode == SignMode.EXCITATORY:
        acc = np.maximum(0, acc)
    elif sign_mode == SignMode.INHIBITORY:
        acc = np.minimum(0, acc)
    exp_mant = 2 ** (W_ACCUMULATOR_U - W_WEIGHTS_U)
    q = acc / exp_mant
    acc = (stochastic_round(np.floor(q), random, q % 1) * exp_mant).astype(acc.dtype)
    return clip_weights(acc >> WEIGHT_SHIFT, sign_mode, W_WEIGHTS_U)


def learning_epoch(state: SynapseState, params: EngineParams, randoms: Randoms) -> SynapseState:
    """``PyLearningConnection.run_lrn`` at the end of step ``state.time_step`` (a multiple of
    t_epoch): weight-rounding draw of this epoch; ``x0 = tx > 0``, ``y0 = ty > 0``; both
    trace histories (``trace_history`` with the generators' values after 2t advances);
    traces set to the last history row (the y traces only for the 2-factor rule: with the
    3-factor rule they keep the values received from the post neuron); ``update_weights``;
    then tx, ty, y0 reset to 0."""
    t = state.time_step
    k = 2 * t
    x0, y0 = state.tx > 0, state.ty > 0
    xs = np.stack([state.x1, state.x2]).astype(int)
    ys = np.stack([state.y1, state.y2, state.y3]).astype(int)
    xh = trace_history(xs, params.x_traces, state.tx, params.t_epoch,
                       randoms.x_decay[k], randoms.x_impulse[k])
    yh = trace_history(ys, params.y_traces, state.ty, params.t_epoch,
                       randoms.y_decay[k], randoms.y_impulse[k])
    u = 0
    decimate = next((p.decimate_exponent for p in params.products
                     if p.decimate_exponent is not None), None)
    if decimate is not None:
        u = 1 if int(t / params.t_epoch) % 2 ** decimate == 0 else 0
    args = {"shape": state.weights.shape, "x0": x0[np.newaxis, :], "y0": y0[:, np.newaxis],
            "u": u}
    args.update(_evaluated_traces(xh, yh, state.tx, state.ty))
    weights = update_weights(state.weights, params.products, args, params.sign_mode,
                             randoms.conn[t // params.t_epoch])
    new = dict(x1=xh[-1][0], x2=xh[-1][1])
    if not params.three_factor:
        new.update(y1=yh[-1][0], y2=yh[-1][1], y3=yh[-1][2])
    return replace(state, weights=weights, tx=np.zeros_like(state.tx),
                   ty=np.zeros_like(state.ty), y0=np.zeros_like(state.y0), **new)


def step(state: SynapseState, params: EngineParams, randoms: Randoms, s_in: np.ndarray,
         bap: np.ndarray | None = None, y: tuple | None = None
         ) -> tuple[SynapseState, np.ndarray]:
    """One time step of ``PyLearningDenseModelBitApproximate`` (program in the module
    docstring). ``s_in``: the pre payloads (int) of this step; ``bap``: post spikes (0/1);
    ``y``: for the 3-factor rule, the (y1, y2, y3) values received this step. Returns the new
    state and ``a_out``, the drive sent this step (computed from the previous step's input)."""
    t = state.time_step + 1
    if 2 * t >= len(randoms.x_decay):
        raise ValueError(f"The Randoms cover {(len(randoms.x_decay) - 1) // 2} steps; "
                         f"step {t} needs more.")
    n_post = state.weights.shape[0]
    weights = state.weights
    if t == 1:
        weights = truncate_weights(weights, params.sign_mode, params.num_weight_bits)
    a_out = state.a_buff
    a_buff = graded_drive(weights, s_in, params.weight_exp, params.num_message_bits)
    state = replace(state, weights=weights, a_buff=a_buff)
    state = replace(state, **process_pre_spikes(state, params, s_in))
    bap = np.zeros(n_post, bool) if bap is None else bap
    state = replace(state, **process_post_spikes(state, params, bap, randoms.y_impulse[2 * t - 1]))
    if params.three_factor:
        y1, y2, y3 = (np.zeros(n_post, int),) * 3 if y is None else y
        state = replace(state, y1=np.asarray(y1).astype(int).copy(),
                        y2=np.asarray(y2).astype(int).copy(),
                        y3=np.asarray(y3).astype(int).copy())
    state = replace(state, time_step=t)
    if t % params.t_epoch == 0:
        state = learning_epoch(state, params, randoms)
    return state, a_out


def run(weights: np.ndarray, params: EngineParams, s_in: np.ndarray,
        bap: np.ndarray | None = None, y: np.ndarray | None = None
        ) -> tuple[SynapseState, np.ndarray]:
    """Run ``step`` over inputs given as (n, T) arrays (``y``: (3, n_post, T)), like Lava
    ring buffers feeding a LearningDense for T steps. Returns the final state and the sent
    drives (n_post, T)."""
    s_in = np.asarray(s_in)
    n_steps = s_in.shape[-1]
    randoms = Randoms.for_run(params.rng_seed, n_steps, params.t_epoch)
    state = SynapseState.initial(weights)
    sent = []
    for t in range(n_steps):
        state, a_out = step(state, params, randoms, s_in[:, t],
                            None if bap is None else bap[:, t],
                            None if y is None else tuple(y[:, :, t]))
        sent.append(a_out)
    return state, np.stack(sent, axis=-1)


# ----------------------------------------------------------------------------------------
# A fast exact path for long runs: one learning epoch of a 3-factor rule with t_epoch = 1


class EngineStreams:
    """The random numbers one LearningDense draws from its start, read by index as
    ``Randoms`` holds them (index k: the value after k advances) but drawn in blocks, for
    runs of millions of steps: the x and y trace decay streams (seeds ``rng_seed`` and
    ``rng_seed + 2``) and the weight-rounding stream (seed 2). Doubles come one per draw, so
    a block of n equals n single draws. Indices must not fall behind the oldest block kept."""

    BLOCK = 2 ** 16

    def __init__(self, rng_seed: int):
        self._streams = {name: [np.random.default_rng(seed), 0, np.zeros(0)]
                         for name, seed in (("x_decay", rng_seed), ("y_decay", rng_seed + 2),
                                            ("conn", CONN_VAR_SEED))}

    def value(self, name: str, index: int) -> float:
        entry = self._streams[name]
        generator, start, block = entry
        if index < start:
            raise ValueError(f"stream {name} has moved past index {index}.")
        while index >= start + len(block):
            start += len(block)
            block = generator.random(self.BLOCK)
        entry[1], entry[2] = start, block
        return float(block[index - start])


def three_factor_epoch(weights: np.ndarray, params: EngineParams, s_in: np.ndarray,
                       ys: tuple[np.ndarray, np.ndarray, np.ndarray], bap: np.ndarray,
                       r_x_decay: float, r_y_decay: float, r_conn: float) -> np.ndarray:
    """The weights after the learning epoch that ends step t, for a ``Loihi3FLearningRule``
    with ``t_epoch = 1``, OVERWRITE graded pre spikes, products of ``x0 * x1 * y..`` and
    products ``y0 * x0``: the part of :func:`step` and :func:`learning_epoch` that such a
    rule reads, bit for bit (``tests/test_learning_engine.py``), without the per-step
    bookkeeping. ``s_in`` are the pre payloads of step t, ``ys`` the post factors received
    in it, ``bap`` its post spikes, ``r_*`` the stream values of the epoch
    (``EngineStreams``: indices 2t, 2t and t)::

        x1 = clip(decay(uint8(round(s_in / 2))), 0, 127),  x0 = s_in != 0,  y0 = bap
        y_i = decay(y_i), clipped to [0, 127] where y0  (decay: the one-step stochastic decay)
        W  = update_weights(W, products(x0, y0, x1, y1, y2, y3))

    A step whose products are all zero (no third factor, no bap) leaves W as it is, so a
    caller may skip those steps."""
    if params.t_epoch != 1 or not params.three_factor or \
            params.graded != GradedSpikeCfg.OVERWRITE:
        raise ValueError("three_factor_epoch models 3-factor rules with t_epoch 1 and "
                         "OVERWRITE graded spikes only.")
    if any((p.dependency, "x2" in p.factors) != ("x0", False)
           and (p.dependency, p.factors) != ("y0", ("x0",)) for p in params.products):
        raise ValueError("three_factor_epoch models products of x0 * x1 * y.. and y0 * x0 "
                         "only.")
    s_in = np.asarray(s_in)
    x1 = np.round(s_in / 2).astype(np.uint8).astype(int)
    x1 = add_impulse(decay_trace(x1, params.x1.tau, r_x_decay), 0, 0, 0)
    y0 = np.asarray(bap).astype(bool)
    args = {"shape": weights.shape, "x0": s_in.astype(bool)[np.newaxis, :],
            "y0": y0[:, np.newaxis], "x1_x0": x1[np.newaxis, :]}
    for name, y, trace in zip(("y1", "y2", "y3"), ys, params.y_traces):
        value = decay_trace(np.asarray(y).astype(int), trace.tau, r_y_decay)
        value[y0] = np.clip(value[y0], 0, 2 ** W_TRACE - 1)   # the impulse step at ty
        args[f"{name}_x0"] = value[:, np.newaxis]
    return update_weights(weights, params.products, args, params.sign_mode, r_conn)
