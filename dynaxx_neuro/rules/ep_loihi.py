"""EP's Loihi graph (``dynaxx train ep --graph loihi``): equilibrium propagation made only of
parts a Loihi 2 chip has, beside the float rate network of ``rules/ep.py`` (the reference).

- synapses are Lava's ``LearningDense`` with graded spikes, learning by the rule
  ``kernels.ep_fixed.rule`` in Loihi's sum-of-products grammar; a bias is the weight from an
  always-on input;
- neurons run the integer program of :func:`neuron_step` (``kernels.ep_fixed``): add, shift,
  compare and saturate on 24-bit states, 8-bit graded spikes;
- the host streams one sample per period (batch 1) and reads predictions and, at
  checkpoints, weights.

Back ends: ``lava-fixed`` (the ``fixed_pt`` models, Lava's bit-approximate learning engine),
``numpy-fixed`` (its bit-exact twin, ``networks/ep_loihi_numpy.py``) and ``lava`` (the
``floating_pt`` models of the same processes, float weights and rates: what the graph
learns without quantisation). The period follows ``kernels.ep.EPSchedule``
(``kernels.ep_fixed.GraphTiming``); the defaults were chosen on digits' validation split
(BENCHMARKS.md, "EP on Loihi's learning engine").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.activity import EpochActivity
from dynaxx_neuro.cycle import TRAIN, Slot
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import Bool, Int, Optional, TupleOf, option, validate
from dynaxx_neuro.registry import Backend, ChipGraph, RuleSpec, Stage
from dynaxx_neuro.rules.ep import ep_activity


@dataclass(frozen=True)
class EPLoihiConfig:
    """A layered EP network of Loihi parts, sizes (n_inputs, hidden..., n_classes), with
    lr = 2^-lr_shift, beta = 2^-beta_shift and weights W = w / 2^weight_exp."""

    hidden: tuple[int, ...] = option((256,), "Hidden layer sizes, e.g. 256 or 256,128.",
                                     TupleOf(Int(1)))
    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Output units (from the data).", Int(2),
                                   from_data=True)
    schedule: ep.EPSchedule = ep.EPSchedule()
    fmt: fx.FixedFormat = fx.FixedFormat()
    weight_exp: int = option(9, "e of the weights W = w / 2^e, one per matrix (the weight "
                             "exponent of the synapses).", Int(0, 16))
    lr_shift: int = option(7, "l of the learning rate 2^-l per sample.", Int(0, 24))
    beta_shift: int = option(1, "k of the nudging beta = 2^-k (the output neurons shift "
                             "their error by k).", Int(0, 7))
    train_samples: int | None = option(None, "Training samples per epoch: the first N of "
                                       "the training split [none: all].", Optional(Int(1)))
    replay: bool = option(False, "A replay step after the -beta phase so both terms of the "
                          "update land after every phase settled (the exact contrast; see "
                          "kernels.ep_fixed).", Bool(), cli="--replay/--no-replay")
    decimate_epochs: int = option(5, "Every N epochs, learn from half as many training "
                                  "samples (the neurons send no third factor on the others) "
                                  "[0: every sample].", Int(0))

    def __post_init__(self):
        validate(self)
        self.scale  # refuses a learning rate the engine cannot represent

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.hidden, self.n_classes)

    @property
    def timing(self) -> fx.GraphTiming:
        return fx.GraphTiming(self.schedule, self.replay)

    @property
    def batch_size(self) -> int:
        """One sample per period, as on chip."""
        return 1

    @property
    def n_weight_layers(self) -> int:
        return len(self.hidden) + 1

    @property
    def scale(self) -> fx.LearningScale:
        return fx.learning_scale(self.lr_shift, self.beta_shift, self.weight_exp,
                                 self.schedule.symmetric)

    @property
    def float_third_factor(self) -> float:
        """c of the floating_pt models: the float engine adds 2^(s - 7) x1 y1 c with
        x1 = rho_pre / 2 (Lava's float OVERWRITE halves the payload) and y1 = rho_post, so
        c = 2 lr / (2 beta) / 2^(s - 7) (lr / beta one-sided) is the float EP update."""
        halve = 2 if self.schedule.symmetric else 1
        return 2.0 * 2.0 ** (-self.lr_shift + self.beta_shift) / halve / 2.0 ** (
            self.scale.rule_shift - 7)


@dataclass
class EPLoihiParameters:
    """The engine weights of every synapse: ``weights[l]`` W_l (n_l, n_{l-1}),
    ``backward[l]`` the copy of W_{l+1}^T that drives layer l from above (its own
    LearningDense, so its own stochastic trace reads), ``biases[l]`` (n_l, 1), the weights
    from the always-on input. Integers in [-256, 255] for the fixed-point back ends."""

    weights: list[np.ndarray]
    backward: list[np.ndarray]
    biases: list[np.ndarray]

    @classmethod
    def initial(cls, config: EPLoihiConfig, rng: np.random.Generator) -> "EPLoihiParameters":
        """Glorot-uniform weights quantised once on the host (``quantize_weights``), exact
        transposes as backward copies, zero biases."""
        sizes = config.sizes
        weights = [fx.quantize_weights(ep.glorot_uniform(n_post, n_pre, rng),
                                       config.weight_exp, config.fmt, rng)
                   for n_pre, n_post in zip(sizes, sizes[1:])]
        return cls(weights, [w.T.copy() for w in weights[1:]],
                   [np.zeros((n, 1), dtype=np.int64) for n in sizes[1:]])

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {f"w{i}": w for i, w in enumerate(self.weights)}
        out.update({f"wt{i}": w for i, w in enumerate(self.backward, start=1)})
        out.update({f"b{i}": b for i, b in enumerate(self.biases)})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: EPLoihiConfig
                    ) -> "EPLoihiParameters":
        n = config.n_weight_layers
        take = lambda name, first=0: [np.array(arrays[f"{name}{i}"])  # noqa: E731
                                      for i in range(first, n)]
        return cls(take("w"), take("wt", 1), take("b"))

    def is_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in (*self.weights, *self.biases))

    def require_integers(self) -> None:
        """Refuse float weights (a run of the float models, ``--backend lava``) where the
        fixed-point graph needs engine integers."""
        arrays = (*self.weights, *self.backward, *self.biases)
        if not all(np.array_equal(a, np.round(a)) for a in arrays):
            raise ValueError("these weights are floats, from the graph's float models "
                             "(--backend lava); the fixed-point graph (lava-fixed, "
                             "numpy-fixed) needs a run trained on lava-fixed or numpy-fixed.")

    def as_float(self, config: EPLoihiConfig) -> "EPLoihiParameters":
        """The same weights in float units W = w / 2^e (for the floating_pt models)."""
        scale = 2.0 ** -config.weight_exp
        return EPLoihiParameters(*([a * scale for a in arrays] for arrays in
                                   (self.weights, self.backward, self.biases)))


# --- the neuron program, written once for the Lava models and the NumPy twin -----------------


def third_factor_now(config: EPLoihiConfig, slot: Slot, c) -> int | float:
    """The third factor a neuron sends in ``slot``: ``c`` in training periods whose sample
    learns (``kernels.ep_fixed.learns_sample``), else 0."""
    if slot.split != TRAIN or not fx.learns_sample(slot.batch, slot.epoch,
                                                   config.decimate_epochs):
        return 0
    return c


@dataclass
class NeuronState:
    """What one layer of neurons holds between steps: state, free equilibrium, the state
    held for the replay step (``kernels.ep_fixed.GraphTiming``), last rate."""

    s: np.ndarray
    s_free: np.ndarray
    s_held: np.ndarray
    r: np.ndarray

    @classmethod
    def zeros(cls, shape, dtype=np.int64) -> "NeuronState":
        """Zero states of ``shape``: (n,) for one sample, (B, n) for a batch."""
        return cls(*(np.zeros(shape, dtype=dtype) for _ in range(4)))

    def keep(self, config: "EPLoihiConfig", k: int) -> None:
        """Keep the free equilibrium and the held state when step ``k`` reaches them."""
        if k == config.schedule.free_end:
            self.s_free = self.s.copy()
        if config.replay and k == config.timing.held_step:
            self.s_held = self.s.copy()


def neuron_step(config: EPLoihiConfig, k: int, state: NeuronState, drive: np.ndarray,
                target: np.ndarray | None, c: int) -> tuple[np.ndarray, ...]:
    """One step of a layer's integer program (``kernels.ep_fixed.period_step``, the free
    equilibrium kept at the free end); updates ``state`` and returns the post factors
    (y1, y2, y3, bap) it sends its synapses."""
    state.s = fx.period_step(config.timing, k, state.s, state.s_free, state.s_held, drive,
                             config.fmt, config.beta_shift, target, state.r)
    state.keep(config, k)
    state.r = fx.rate(state.s)
    return fx.post_factors(config.timing, k, state.r, c)


def float_neuron_step(config: EPLoihiConfig, k: int, state: NeuronState, drive: np.ndarray,
                      target: np.ndarray | None, c: float) -> tuple[np.ndarray, ...]:
    """The same step in float (the floating_pt models): s = a (+/- beta (d - r) when
    nudged; reset, restore and replay as in the integer program), r = clip(s, 0, 1);
    y1 = r, y2 / y3 = c at the learning steps, no bap (the float rule needs no floor
    correction; the state width does not apply)."""
    schedule, timing = config.schedule, config.timing
    code = None if k == timing.replay_step else schedule.phase(k)
    if k == timing.replay_step:
        s = state.s_held.copy()
    elif code == ep.RESET:
        s = np.zeros_like(state.s)
    elif code == ep.RESTORE:
        s = state.s_free.copy()
    else:
        s = drive.astype(float)
        sign = {ep.NUDGED: +1, ep.NUDGED_NEG: -1}.get(code, 0)
        if target is not None and sign:
            s = s + sign * 2.0 ** -config.beta_shift * (target - state.r)
    state.s = s
    state.keep(config, k)
    state.r = np.clip(s, 0.0, 1.0)
    plus_end, minus_end = timing.learning_steps
    return (state.r, np.full(len(s), c if k == plus_end else 0.0),
            np.full(len(s), c if k == minus_end else 0.0), np.zeros(len(s)))


def loihi_activity(config: EPLoihiConfig, events: np.ndarray, n_samples: int, period: int,
                   learners: int) -> EpochActivity:
    """The activity of ``n_samples`` periods of ``period`` steps, ``learners`` of them
    learning: ``rules.ep.ep_activity`` of the layers' graded spikes ``events`` (input
    first) plus the always-on bias input (one event into every neuron each step), the
    payload bits of all these graded spikes (8 each), and the learning engine's updates of the two epochs per learning sample whose products are
    non-zero (every synapse of both copies and every bias; with ``t_epoch = 1`` the engine
    also runs in the other steps, where every product is zero)."""
    activity = ep_activity(config.sizes, events, period, n_samples)
    bias_events = period * n_samples
    bias_ops = int(sum(config.sizes[1:])) * bias_events
    per_sample = activity.learning_updates // max(n_samples, 1)
    return dataclasses.replace(activity, synaptic_ops=activity.synaptic_ops + bias_ops,
                               learning_updates=2 * learners * per_sample,
                               payload_bits=fx.RATE_BITS * (int(np.sum(events)) + bias_events))


def training_activity(config: EPLoihiConfig, events: np.ndarray, n_samples: int,
                      epoch: int) -> EpochActivity:
    """:func:`loihi_activity` of an epoch's training periods."""
    learners = sum(fx.learns_sample(j, epoch, config.decimate_epochs) for j in range(n_samples))
    return loihi_activity(config, events, n_samples, config.timing.period, learners)


def engine_weights_only(config: EPLoihiConfig) -> None:
    """Refuse weight widths Lava's learning engine does not hold (it keeps 8 bits + sign)."""
    if config.fmt.weight_bits != 8:
        raise ValueError(f"--weight-bits {config.fmt.weight_bits} runs on numpy-fixed only; "
                         "Lava's learning engine holds 8-bit weights.")


def chip_programs(config: EPLoihiConfig) -> dict[str, dict[str, int]]:
    """The widths the neuron program of :func:`neuron_step` uses (``dynaxx deploy``): its
    state, the 8-bit rates it sends and the post factors (y1 <= 127, c = 2^0..2^6)."""
    return {"EPFixedLayer": {"state": config.fmt.state_bits, "payload": fx.RATE_BITS,
                             "post factors": fx.TRACE_MAX.bit_length()}}


def memory_numbers(config: EPLoihiConfig, data: Splits) -> int:
    """The numbers a run of ``config`` holds at once (``memory.MemoryModel``): the engine
    weights of every synapse (forward, backward copy, bias), the learning engine's products
    and updated weights of one synapse (twice the largest matrix), the quantised inputs of
    every sample, and the evaluation of a whole split at once: four neuron states (s,
    s_free, s_held, r) and a drive per neuron for each of its samples."""
    sizes = config.sizes
    matrices = [n_pre * n_post for n_pre, n_post in zip(sizes, sizes[1:])]
    synapses = sum(matrices) + sum(matrices[1:]) + sum(sizes[1:])
    n_samples = len(data.x_train) + len(data.x_val) + len(data.x_test)
    split = max(len(data.x_val), len(data.x_test))
    return (synapses + 2 * max(matrices) + n_samples * sizes[0]
            + 5 * split * sum(sizes[1:]))


MEMORY = MemoryModel(memory_numbers, ("hidden",))

SPEC = RuleSpec(
    name="ep",
    graph="loihi",
    summary="Equilibrium propagation on Loihi parts: LearningDense synapses with an EP "
            "learning rule, integer neurons, batch 1.",
    config=EPLoihiConfig,
    backends=(Backend("lava-fixed", "dynaxx_neuro.networks.ep_loihi_lava:EPLoihiLavaRunner",
                      "fixed_pt", engine_weights_only),
              Backend("numpy-fixed",
                      "dynaxx_neuro.networks.ep_loihi_numpy:EPLoihiNumpyRunner", "numpy"),
              Backend("lava", "dynaxx_neuro.networks.ep_loihi_lava:EPLoihiLavaRunner",
                      "floating_pt", engine_weights_only)),
    stages=(Stage("train", EPLoihiParameters),),
    default_epochs=10,
    hidden_sizes=lambda config: config.hidden,
    equal_backends=(("numpy-fixed", "lava-fixed"),),
    chip=ChipGraph(backend="lava-fixed", reference="numpy-fixed", programs=chip_programs,
                   steps=lambda config: (config.timing.period, config.schedule.free_end + 1)),
    prepare_data=lambda config, splits: splits.first_train(config.train_samples),
    small={"hidden": (12,), "t_free": 4, "t_nudge": 2, "epochs": 2, "train_samples": 40},
    memory=MEMORY,
)
