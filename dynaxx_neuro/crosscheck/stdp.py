"""Pair STDP with Loihi-style traces, as Lava's ``STDPLoihi`` applies it with a learning
epoch of one step (``t_epoch = 1``, the default).

At every step, after the step's pre spikes ``x0`` and post spikes ``y0`` (0/1) are known::

    x1 <- x1 exp(-1 / tau_plus)  + x1_impulse x0      (one trace per pre neuron)
    y1 <- y1 exp(-1 / tau_minus) + y1_impulse y0      (one trace per post neuron)
    w  <- w - lr a_minus x0 y1 + lr a_plus y0 x1      (traces already updated)

so a post spike ``d >= 1`` steps after a lone pre spike changes w by
``lr a_plus x1_impulse exp(-d / tau_plus)`` and a pre spike ``d`` steps after a post spike by
``-lr a_minus y1_impulse exp(-d / tau_minus)``; simultaneous spikes cancel when the two
amplitudes are equal. Weights are not clipped (Lava's default mixed sign mode).

Lava writes ``learning_rate``, ``A_plus`` and ``A_minus`` as ``mantissa * 2^exp`` literals
(``float_to_literal``) and accepts a product ``lr * A`` only as ``m * 2^e`` with m in 1..7 and
e in -7..8, so only such numbers mean what they say; :class:`STDPLoihiRule` refuses others
instead of letting both simulators quietly use different constants. Smaller weight changes
come from smaller trace impulses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def lava_literal(value: float) -> float:
    """The number Lava's ``float_to_literal`` turns ``value`` into (an integer mantissa
    times a power of two)."""
    if value == 0:
        return 0.0
    sign, magnitude = math.copysign(1.0, value), abs(value)
    mantissa = max(int(magnitude), 1)
    remainder = magnitude / mantissa
    if remainder == 1:
        return sign * mantissa
    return sign * mantissa * 2.0 ** int(round(math.log2(remainder)))


def lava_scale_ok(value: float) -> bool:
    """Whether ``value`` is a scale Lava accepts for one term of a learning rule:
    ``m * 2^e`` with integer m in 1..7 and e in -7..8 (``ProductSeries``)."""
    return any(float(value / 2.0 ** e).is_integer() and 1 <= value / 2.0 ** e <= 7
               for e in range(-7, 9))


@dataclass(frozen=True)
class STDPLoihiRule:
    """Constants of Lava's own ``STDPLoihi`` (plain additive pair STDP). The soft-bounded,
    heterosynaptic rule the STDP network learns with is ``kernels.stdp.STDPRule``.

    Pair STDP constants: learning rate, amplitudes (magnitudes; depression is applied
    with a minus sign), trace time constants in steps and trace impulses."""

    learning_rate: float = 2.0 ** -7
    a_plus: float = 1.0
    a_minus: float = 1.0
    tau_plus: float = 10.0
    tau_minus: float = 10.0
    x1_impulse: float = 16.0
    y1_impulse: float = 16.0

    def __post_init__(self):
        for name in ("learning_rate", "a_plus", "a_minus"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
            if lava_literal(value) != value:
                raise ValueError(f"{name} must be an integer times a power of two, as Lava "
                                 f"writes it (mantissa * 2^exp), got {value!r}; the nearest "
                                 f"such value is {lava_literal(value)!r}.")
        for name, value in (("learning_rate * a_plus", self.c_plus),
                            ("learning_rate * a_minus", self.c_minus)):
            if value != 0 and not lava_scale_ok(value):
                raise ValueError(f"{name} must be m * 2^e with m in 1..7 and e in -7..8 "
                                 f"(the scale of a term of Lava's learning rule), got "
                                 f"{value!r}.")
        for name in ("tau_plus", "tau_minus", "x1_impulse", "y1_impulse"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")

    @property
    def c_plus(self) -> float:
        """Potentiation coefficient lr a_plus."""
        return self.learning_rate * self.a_plus

    @property
    def c_minus(self) -> float:
        """Depression coefficient lr a_minus (a magnitude)."""
        return self.learning_rate * self.a_minus

    def pair_dw(self, offset: int) -> float:
        """Weight change of one isolated pre/post pair, ``offset = t_post - t_pre`` steps."""
        if offset > 0:
            return self.c_plus * self.x1_impulse * math.exp(-offset / self.tau_plus)
        if offset < 0:
            return -self.c_minus * self.y1_impulse * math.exp(offset / self.tau_minus)
        return self.c_plus * self.x1_impulse - self.c_minus * self.y1_impulse
