"""Pair-based STDP with Loihi-style traces, rate coding, and the neuron-to-class read-out of
a Diehl & Cook (2015) network. Pure NumPy: the single statement of the rule that
``networks.stdp_lava`` hands to Lava's ``LearningDense`` as a ``Loihi2FLearningRule``
(the network is described in ``rules.stdp``).

Traces (Loihi's x1 for the presynaptic side, y1 for the postsynaptic side), one step of
Lava's floating-point learning engine with a learning epoch of one step::

    x1[t] = x1[t-1] * exp(-1 / tau_pre_steps)  + x0[t]        x0: pre spikes at t
    y1[t] = y1[t-1] * exp(-1 / tau_post_steps) + y0[t]        y0: post spikes at t

Weight update of synapse (post j, pre i), evaluated on the weights before the step::

    dw_ji = a_plus * y0_j * x1_i * (w_max - w_ji)   potentiation (pre before post)
          - a_minus * x0_i * y1_j * w_ji            depression   (post before pre)
          - a_hetero * y0_j * w_ji                  heterosynaptic depression at a post spike
    w_ji  <- max(w_ji + dw_ji, 0)                   Lava's excitatory sign mode

Lava's rule strings take scaling constants m * 2**e with a 3-bit mantissa only, so the
kernel uses the rates as Lava applies them (``STDPRule.effective_rates``; a rate moves by at
most 1/6 of itself, e.g. 0.02 becomes 0.01953).

The factors (w_max - w) and w are soft bounds: with a_plus * x1 < 1 and a_minus * y1 < 1 the
weights stay in [0, w_max]. For one pre spike and one post spike dt = t_post - t_pre apart
the change is the classic window ``a * exp(-|dt| / tau)`` with a = a_plus (w_max - w),
tau = tau_pre_steps for dt > 0 and a = -a_minus w, tau = tau_post_steps for dt < 0 (and
-a_hetero w at the post spike itself).

The heterosynaptic term plays the part of Diehl & Cook's target trace x_tar: at each post
spike a synapse settles where a_plus x1 (w_max - w) = a_hetero w, so a neuron's weights grow
with how active each input was before it fired, and inputs that were silent fade. The
default a_hetero = 2 a_plus puts that point at w = w_max x1 / (x1 + 2), which saturates
less on bold pixels than a_hetero = a_plus (w_max x1 / (x1 + 1)). Summed over a neuron's
inputs, each post spike also pulls the neuron's weight sum towards the level where
a_hetero sum(w) = a_plus sum(x1 (w_max - w)), and since every rate-coded image brings the
same expected input, that level is about the same for every sample: the rule keeps rows
near a common sum between the host's normalisations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.params import Real, option, option_name, require, validate


@dataclass(frozen=True)
class STDPRule:
    """Parameters of the pair rule above (time constants in simulation steps).

    The default rates are exact Lava constants in floating and in fixed point (2**-6 to
    2**-8)."""

    a_plus: float = option(2.0 ** -7, "Potentiation rate.", Real(0, low_open=True))
    a_minus: float = option(2.0 ** -8, "Depression rate (pair, post before pre).", Real(0))
    tau_pre_steps: float = option(8.0, "Time constant of the pre trace x1, steps.",
                                  Real(0, low_open=True), cli="--tau-pre")
    tau_post_steps: float = option(8.0, "Time constant of the post trace y1, steps.",
                                   Real(0, low_open=True), cli="--tau-post")
    w_max: float = option(1.0, "Upper weight bound.", Real(0, low_open=True))
    a_hetero: float = option(2.0 ** -6, "Heterosynaptic depression rate at a post spike.",
                             Real(0))

    def __post_init__(self):
        validate(self)
        # Soft bounds keep w in [0, w_max] only while a trace times a rate stays below one;
        # a trace of regular spikes every step peaks at 1 / (1 - exp(-1/tau)).
        for rate, tau, name in ((self.a_plus, self.tau_pre_steps, "a_plus"),
                                (self.a_minus, self.tau_post_steps, "a_minus")):
            peak = 1.0 / (1.0 - np.exp(-1.0 / tau))
            require(rate * peak < 1.0,
                    f"{_cli(name)} must be below {1.0 / peak:.4g} (one over the largest trace "
                    f"for its time constant {tau}), got {rate!r}.")
        _literal_text(self.w_max, exact=True)
        self.effective_rates()

    def effective_rates(self) -> tuple[float, float, float]:
        """(a_plus, a_minus, a_hetero) as Lava applies them in floating point, after
        :meth:`lava_dw` rounds their scaling constants (see :func:`loihi_literal`)."""
        return (loihi_literal(self.a_plus / FLOAT_TRACE_IMPULSE, _cli("a_plus"))
                * FLOAT_TRACE_IMPULSE,
                loihi_literal(self.a_minus / FLOAT_TRACE_IMPULSE, _cli("a_minus"))
                * FLOAT_TRACE_IMPULSE,
                loihi_literal(self.a_hetero, _cli("a_hetero")))

    def lava_dw(self, trace_impulse: float, weight_max: float, fixed_point: bool) -> str:
        """The rule as a ``Loihi2FLearningRule(dw=...)`` string for traces of impulse
        ``trace_impulse`` and weights whose upper bound is stored as ``weight_max``.

        Floating point: x1 = impulse * (the unit traces above), so each rate is divided by
        the impulse (the heterosynaptic term has no trace). Fixed point (Lava's
        bit-approximate engine): a product of a 7-bit trace, the 9-bit weight and the 4-bit
        mantissa (20 bits) is shifted right by 5 to fit the 15-bit accumulator, so the two
        trace terms' rates are multiplied by 2**5 as well (the 13-bit w * mantissa product of
        the heterosynaptic term is not shifted).
        """
        shift = 2.0 ** FIXED_PRODUCT_SHIFT if fixed_point else 1.0
        c_plus = loihi_literal(self.a_plus * shift / trace_impulse, _cli("a_plus"))
        c_minus = loihi_literal(self.a_minus * shift / trace_impulse, _cli("a_minus"))
        c_hetero = loihi_literal(self.a_hetero, _cli("a_hetero"))
        terms = [f"{_literal_text(c_plus)}*x1*y0*({_literal_text(weight_max, exact=True)} - w)"]
        if c_minus:
            terms.append(f"{_literal_text(c_minus)}*y1*x0*w")
        if c_hetero:
            terms.append(f"{_literal_text(c_hetero)}*y0*w")
        return " - ".join(terms)


# Lava's trace impulse in floating point: rates are a / impulse, and Lava's smallest scaling
# constant is 2**-7, so an impulse of 1/4 lets rates down to 2**-9 through.
FLOAT_TRACE_IMPULSE = 0.25
# Right shift of a (7-bit trace) x (9-bit weight) x (4-bit mantissa) product in Lava's
# fixed-point learning engine (W_ACCUMULATOR_U = 15 bits): 7 + 9 + 4 - 15.
FIXED_PRODUCT_SHIFT = 5


def _cli(name: str) -> str:
    """The CLI option of an ``STDPRule`` field, for error messages."""
    return option_name(STDPRule.__dataclass_fields__[name])


def loihi_literal(value: float, name: str) -> float:
    """``value`` rounded to the nearest scaling constant Lava's learning rules accept,
    m * 2**e with integer 1 <= m <= 7 and -7 <= e <= 8 (a 4-bit signed mantissa); 0 stays 0.
    ``name`` is the parameter the value came from, for the error message."""
    if value == 0:
        return 0.0
    candidates = np.array([m * 2.0 ** e for m in range(1, 8) for e in range(-7, 9)])
    if value < candidates.min() / 2 or value > candidates.max():
        raise ValueError(f"{name} gives a learning-rule constant {value:.4g} outside what "
                         f"Lava's learning engine represents ({candidates.min():g} to "
                         f"{candidates.max():g}); choose a rate about 1e-3 to 1.")
    return float(candidates[np.argmin(np.abs(np.log(candidates / value)))])


def _literal_text(value: float, exact: bool = False) -> str:
    """A constant in Lava's rule syntax, e.g. ``5*2^-6`` (``exact``: any dyadic value)."""
    for exponent in range(8, -13, -1):
        mantissa = value / 2.0 ** exponent
        if mantissa == int(mantissa) and (exact or 1 <= mantissa <= 7):
            return f"{int(mantissa)}*2^{exponent}" if exponent else str(int(mantissa))
    raise ValueError(f"{_cli('w_max')} must be a multiple of 2**-12 to appear in a Lava "
                     f"learning rule, got {value!r}.")


def decay(tau_steps: float) -> float:
    """Per-step decay factor exp(-1 / tau) of a trace."""
    return float(np.exp(-1.0 / tau_steps))


def stdp_step(w: np.ndarray, x1: np.ndarray, y1: np.ndarray, pre: np.ndarray,
              post: np.ndarray, rule: STDPRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of traces and weights: ``(w (n_post, n_pre), x1 (n_pre,), y1 (n_post,))``
    and this step's spikes ``pre (n_pre,)``, ``post (n_post,)`` -> new ``(w, x1, y1)``."""
    x0, y0 = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    x1 = x1 * decay(rule.tau_pre_steps) + x0
    y1 = y1 * decay(rule.tau_post_steps) + y0
    a_plus, a_minus, a_hetero = rule.effective_rates()
    potentiation = a_plus * np.outer(y0, x1) * (rule.w_max - w)   # (n_post, n_pre)
    depression = a_minus * np.outer(y1, x0) * w                   # (n_post, n_pre)
    heterosynaptic = a_hetero * y0[:, None] * w                   # (n_post, n_pre)
    # w + dw with dw summed first, in the order of the rule string, as Lava's float learning
    # engine adds it (traces scaled by the impulse 1/4, a power of two, round alike): the
    # numpy back end then equals Lava's LearningDense bit for bit.
    dw = potentiation - depression - heterosynaptic
    return np.maximum(w + dw, 0.0), x1, y1


def pair_dw(dt_steps: int, w: float, rule: STDPRule) -> float:
    """Weight change of one synapse from one pre and one post spike ``dt_steps`` = t_post -
    t_pre apart, by running :func:`stdp_step` over the pair (no closed form used)."""
    t_pre, t_post = (0, dt_steps) if dt_steps >= 0 else (-dt_steps, 0)
    weights, x1, y1 = np.array([[w]]), np.zeros(1), np.zeros(1)
    for t in range(max(t_pre, t_post) + 1):
        weights, x1, y1 = stdp_step(weights, x1, y1, np.array([t == t_pre]),
                                    np.array([t == t_post]), rule)
    return float(weights[0, 0] - w)


def normalise_rows(w: np.ndarray, total: float) -> np.ndarray:
    """Scale each neuron's incoming weights (a row of ``w``) to sum to ``total``, as Diehl &
    Cook do between samples; rows that are all zero stay zero."""
    sums = w.sum(axis=1, keepdims=True)
    return np.where(sums > 0, w * (total / np.where(sums > 0, sums, 1.0)), 0.0)


def rate_code(image: np.ndarray, input_rate: float, rng: np.random.Generator) -> np.ndarray:
    """One step of Poisson (Bernoulli) spikes of an image (pixels >= 0) whose expected total
    is ``input_rate`` spikes per step: pixel i spikes with probability
    ``min(1, input_rate * image_i / sum(image))``. Every image thus brings the same input,
    however much ink it has (a blank image brings none)."""
    total = image.sum()
    if total <= 0:
        return np.zeros(image.shape, dtype=bool)
    return rng.random(image.shape) < np.minimum(1.0, input_rate * image / total)


def _class_means(counts: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean spike count of every neuron per class, (n_classes, n_neurons)."""
    return np.stack([counts[labels == c].mean(axis=0) if np.any(labels == c)
                     else np.zeros(counts.shape[1]) for c in range(n_classes)])


def assign_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Diehl & Cook's labelling: each neuron gets the class for which its mean spike count
    over the labelling samples is highest. counts (n_samples, n_neurons) -> (n_neurons,);
    neurons that never fire get -1 and never vote."""
    means = _class_means(counts, labels, n_classes)
    return np.where(means.max(axis=0) > 0, means.argmax(axis=0), -1)


def label_proportions(counts: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """How selective each neuron is for its own label: the share of its class means that
    the largest one holds, max_c m_c / sum_c m_c in [1 / n_classes, 1] (0 for neurons that
    never fire). These are the vote weights of BindsNET's proportion-weighted read-out."""
    means = _class_means(counts, labels, n_classes)
    totals = means.sum(axis=0)
    return np.where(totals > 0, means.max(axis=0) / np.where(totals > 0, totals, 1.0), 0.0)


def vote(counts: np.ndarray, neuron_labels: np.ndarray, n_classes: int,
         weights: np.ndarray | None = None) -> np.ndarray:
    """Predicted class per sample: the class c with the highest score
    s_c = mean over the neurons labelled c of weight_j * count_j. Without ``weights``
    (all ones) this is Diehl & Cook's vote; with :func:`label_proportions` it is BindsNET's
    proportion-weighted vote, in which a neuron that also answers other classes counts
    less. counts (n_samples, n_neurons) -> (n_samples,)."""
    weighted = counts if weights is None else counts * weights
    scores = np.zeros((len(counts), n_classes))
    for c in range(n_classes):
        members = neuron_labels == c
        if members.any():
            scores[:, c] = weighted[:, members].mean(axis=1)
    return scores.argmax(axis=1)
