"""FF's Loihi graph (``dynaxx train ff --graph loihi``): forward-forward made only of parts a
Loihi 2 chip has, beside the float rate network of ``rules/ff.py`` (the reference).

Per FF layer l (sizes (n_in, hidden...)), batch 1::

    x_hat_{l-1} --> LearningDense W_l --> layer neurons --x_hat_l--> (next layer)
    always-on  --> LearningDense b_l -->   |   ^   ^
                                          q|   |y  |t
                                           v   |   |
                  Dense of ones (q -> S) --> goodness neuron l --> Dense of ones (y, t)

- the synapses W_l and b_l are Lava's ``LearningDense`` with graded spikes, learning by
  ``kernels.ff_fixed.rule``; the Dense of ones sum the squares and broadcast back;
- the layer neurons and the goodness neurons (one per layer, all in one process) run the
  integer programs of :func:`layer_step` and :func:`goodness_step` (``kernels.ff_fixed``);
- the host streams one sample per period and reads the goodness of every layer.

A training period is two windows of ``3 L + 1`` steps (:class:`Timing`): the image with its
label embedded (positive), then with a wrong label drawn from ``cycle.stream(seed, epoch,
sample, SIGNS)`` (negative). The graph is a pure feed-forward pipeline, each layer three
steps deep (drive, goodness sum, inverse square root back), so by a window's last step
every signal is the one of its input; there the layer's synapses learn, with the third
factor (1 - p) in the positive window and p in the negative one (the positive update lands
before the negative window, which then runs on the updated weights). An evaluation period
is C windows, one per label; the prediction is the label of most goodness summed over the
layers (``--predict goodness`` of the float rule; the softmax readout has no Loihi part
here).

The input's length normalisation is the host's: the appended one-hot label (value 1) does
not change ||x||, so x_hat of every pass of a sample is the sample's fixed encoding,
quantised once (``kernels.ff_fixed.quantize_inputs``). Between layers the graph normalises.

The rate can halve every N epochs (``--halve-epochs``; one graph per epoch, so each
epoch's synapses get the rule of its rate): the rule's exponent s falls first, to 2^-7,
then the third factor's width (``kernels.ff_fixed.learning_scale``).

Back ends: ``lava-fixed`` (``fixed_pt`` models, Lava's bit-approximate learning engine),
``numpy-fixed`` (its bit-exact twin) and ``lava`` (the ``floating_pt`` models of the same
processes: float weights and activities, the exact sigmoid and square root). Learning is
SGD at batch 1 (the engine has no Adam) with wrong-label negatives only (the float rule's
hard negatives need C more passes per training sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.activity import EpochActivity
from dynaxx_neuro.cycle import SIGNS, TRAIN, Slot, stream
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep_fixed, ff
from dynaxx_neuro.kernels import ff_fixed as fx
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import Int, Optional, Real, TupleOf, option, validate
from dynaxx_neuro.registry import Backend, ChipGraph, RuleSpec, Stage


@dataclass(frozen=True)
class FFLoihiConfig:
    """An FF network of Loihi parts on ``n_inputs`` inputs with the ``n_classes`` one-hot
    appended, ``hidden`` layer sizes, goodness threshold ``theta`` (the sum goodness),
    lr = 2^-lr_shift and weights W = w / 2^weight_exp. The rate, its halving and the
    exponent were chosen on digits' validation split (BENCHMARKS.md, "FF on Loihi's
    learning engine"); the rest are the float rule's defaults."""

    hidden: tuple[int, ...] = option((500, 500), "FF layer sizes, e.g. 500,500.",
                                     TupleOf(Int(1, 4096)))
    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Labels (from the data).", Int(2), from_data=True)
    theta: float = option(5.0, "Goodness threshold of p = sigmoid(G - theta).",
                          Real(0.0, 60.0, low_open=True))
    weight_exp: int = option(9, "e of the weights W = w / 2^e, one per matrix (the weight "
                             "exponent of the synapses).", Int(0, 14))
    lr_shift: int = option(4, "l of the learning rate 2^-l per sample (SGD).", Int(0, 24))
    halve_epochs: int = option(5, "Every N epochs the learning rate halves, down to the "
                               "smallest the engine scales to [0: never].", Int(0))
    train_samples: int | None = option(None, "Training samples per epoch: the first N of "
                                       "the training split [none: all].", Optional(Int(1)))

    def __post_init__(self):
        validate(self)
        self.scale  # refuses a learning rate the engine cannot represent

    @property
    def input_width(self) -> int:
        return self.n_inputs + self.n_classes

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.input_width, *self.hidden)

    @property
    def n_layers(self) -> int:
        return len(self.hidden)

    @property
    def batch_size(self) -> int:
        """One sample per period, as on chip."""
        return 1

    @property
    def timing(self) -> "Timing":
        return Timing(self.n_layers, self.n_classes)

    @property
    def scale(self) -> fx.LearningScale:
        return fx.learning_scale(self.lr_shift, self.weight_exp)

    def lr_shift_at(self, epoch: int) -> int:
        """l of the rate of ``epoch``: ``lr_shift`` plus one every ``halve_epochs`` epochs,
        at most the l whose products the engine scales by 2^-7 (``kernels.ff_fixed``)."""
        halvings = epoch // self.halve_epochs if self.halve_epochs else 0
        return min(self.lr_shift + halvings, self.weight_exp - 1 + fx.P_BITS)

    def scale_at(self, epoch: int) -> fx.LearningScale:
        """The third factor's width and the rule's exponent in ``epoch`` (one graph per
        epoch, so each epoch's LearningDense gets its own rule)."""
        return fx.learning_scale(self.lr_shift_at(epoch), self.weight_exp)

    @property
    def theta_units(self) -> int:
        """theta in the goodness neuron's units 2^-8."""
        return int(round(self.theta * 2 ** fx.G_SHIFT))

    def float_factor(self, epoch: int) -> float:
        """c of the floating_pt models in ``epoch``: the float engine adds 2^s (X / 2) y1 y2
        (Lava's float OVERWRITE halves the payload), so y2 = (1 - p) c with c = 4 lr / 2^s
        is the SGD step 2 lr (1 - p) h x_hat."""
        return 4.0 * 2.0 ** -self.lr_shift_at(epoch) / 2.0 ** self.scale_at(epoch).rule_exp


@dataclass(frozen=True)
class Timing:
    """The periods of the graph: windows of ``3 L + 1`` steps (the pipeline's depth plus
    one), two per training period (positive, negative), C per evaluation period (label 0 ..
    C-1). In every window the goodness neurons send the third factor at ``factor_step`` and
    the synapses learn, and the host reads the goodness, at ``read_step`` (its last)."""

    n_layers: int
    n_classes: int

    @property
    def window(self) -> int:
        return 3 * self.n_layers + 1

    @property
    def train_period(self) -> int:
        return 2 * self.window

    @property
    def eval_period(self) -> int:
        return self.n_classes * self.window

    @property
    def read_step(self) -> int:
        return self.window - 1

    @property
    def factor_step(self) -> int:
        return self.window - 2

    def window_of(self, k: int) -> tuple[int, int]:
        """(window index, step within it) of period step ``k``."""
        return divmod(k, self.window)


@dataclass
class FFLoihiParameters:
    """The engine weights of every synapse: ``weights[l]`` W_l (n_l, n_{l-1}) and
    ``biases[l]`` (n_l, 1), the weights from the always-on input. Integers in [-256, 255]
    for the fixed-point back ends, W 2^e (floats) for the float one."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @classmethod
    def initial(cls, config: FFLoihiConfig, rng: np.random.Generator) -> "FFLoihiParameters":
        """He-uniform weights (``kernels.ff.he_uniform``, as the float rule) quantised once
        on the host (``kernels.ep_fixed.quantize_weights``), zero biases."""
        sizes, fmt = config.sizes, ep_fixed.FixedFormat()
        weights = [ep_fixed.quantize_weights(ff.he_uniform(n_post, n_pre, rng),
                                             config.weight_exp, fmt, rng)
                   for n_pre, n_post in zip(sizes, sizes[1:])]
        return cls(weights, [np.zeros((n, 1), dtype=np.int64) for n in sizes[1:]])

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {f"w{i}": w for i, w in enumerate(self.weights)}
        out.update({f"b{i}": b for i, b in enumerate(self.biases)})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: FFLoihiConfig
                    ) -> "FFLoihiParameters":
        n = config.n_layers
        return cls([np.array(arrays[f"w{i}"]) for i in range(n)],
                   [np.array(arrays[f"b{i}"]) for i in range(n)])

    def is_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in (*self.weights, *self.biases))

    def as_float(self, config: FFLoihiConfig) -> "FFLoihiParameters":
        """The same weights in float units W = w / 2^e (for the floating_pt models)."""
        scale = 2.0 ** -config.weight_exp
        return FFLoihiParameters([w * scale for w in self.weights],
                                 [b * scale for b in self.biases])


# --- what the host streams ----------------------------------------------------------------


def window_label(config: FFLoihiConfig, slot: Slot, label: int, seed: int) -> int:
    """The label embedded in the input of the window of ``slot``: in a training period the
    sample's ``label`` (positive window), then a wrong label from ``stream(seed, epoch,
    sample, SIGNS)`` (negative window); in an evaluation period label j in window j."""
    window, _ = config.timing.window_of(slot.k)
    if slot.split != TRAIN:
        return window
    if window == 0:
        return label
    rng = stream(seed, slot.epoch, slot.batch, SIGNS)
    return int(ff.wrong_labels(np.array([label]), config.n_classes, rng)[0])


def embedded(config: FFLoihiConfig, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """x (B, n_inputs) with the one-hot of ``labels`` (B,) appended (value 1)."""
    return ff.embed_labels(x, ff.label_rows(labels, config.n_classes, 1.0), "append")


def fixed_inputs(config: FFLoihiConfig, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The payloads the fixed-point stream sends: ``kernels.ff_fixed.quantize_inputs`` of
    the embedded rows."""
    return fx.quantize_inputs(embedded(config, x, labels))


def float_inputs(config: FFLoihiConfig, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The payloads of the float stream: the embedded rows of unit length."""
    return ff.normalize(embedded(config, x, labels), 1e-12)


# --- the neuron programs, written once for the Lava models and the NumPy twin --------------


def layer_step(drive: np.ndarray, y: np.ndarray, t: np.ndarray
               ) -> tuple[np.ndarray, ...]:
    """One step of a layer's integer program from its summed synaptic ``drive``, the
    inverse square root ``y`` and the third factor ``t`` its goodness neuron broadcast
    (``kernels.ff_fixed``): returns (X', q, y1, y2, y3), its payload to the next layer, to
    the goodness Dense and the post factors of its synapses."""
    r = fx.activity(drive)
    y2, y3 = fx.third_factors(t)
    return fx.normalised(r, y), fx.square(r), ep_fixed.half_rate(r), y2, y3


def float_layer_step(drive: np.ndarray, y: np.ndarray, t: np.ndarray
                     ) -> tuple[np.ndarray, ...]:
    """The same step in float: h = max(a, 0), x_hat = h y, q = h^2, y1 = h, (y2, y3) =
    (max(t, 0), max(-t, 0))."""
    h = np.maximum(drive, 0.0)
    return h * y, h * h, h, np.maximum(t, 0.0), np.maximum(-t, 0.0)


def learns_now(config: FFLoihiConfig, slot: Slot) -> tuple[bool, bool]:
    """(whether the goodness neurons send the third factor in ``slot``, whether it is the
    positive window's)."""
    window, k = config.timing.window_of(slot.k)
    return slot.split == TRAIN and k == config.timing.factor_step, window == 0


def goodness_step(config: FFLoihiConfig, slot: Slot, summed: np.ndarray
                  ) -> tuple[np.ndarray, ...]:
    """One step of the goodness neurons' integer program (one neuron per layer) from the
    summed squares of their layers: returns (y, t, S), the inverse square root and the third
    factor they broadcast and the goodness the host reads (``kernels.ff_fixed``); t has
    the epoch's ``factor_bits`` (``FFLoihiConfig.scale_at``)."""
    s = fx.goodness_sum(summed)
    sends, positive = learns_now(config, slot)
    bits = config.scale_at(slot.epoch).factor_bits
    t = (fx.logistic_term(s, config.theta_units, positive, bits)
         if sends else np.zeros_like(s))
    return fx.inv_sqrt(s), t, s


def float_goodness_step(config: FFLoihiConfig, slot: Slot, summed: np.ndarray
                        ) -> tuple[np.ndarray, ...]:
    """The same in float: G = sum h^2, y = 1 / sqrt(G) (0 for G = 0), p = sigmoid(G -
    theta), t = (1 - p) c or -p c (``FFLoihiConfig.float_factor``)."""
    g = np.asarray(summed, dtype=float)
    y = np.divide(1.0, np.sqrt(g), out=np.zeros_like(g), where=g > 0)
    sends, positive = learns_now(config, slot)
    p = ff.p_positive(g, config.theta)
    c = config.float_factor(slot.epoch)
    t = ((1.0 - p) if positive else -p) * c if sends else np.zeros_like(g)
    return y, t, g


def goodness_value(config: FFLoihiConfig, s: np.ndarray, fixed: bool) -> np.ndarray:
    """G in float from what the goodness neurons send (S / 2^8 in fixed point)."""
    return np.asarray(s, dtype=float) / (2 ** fx.G_SHIFT if fixed else 1.0)


def pair_score(config: FFLoihiConfig, g_pos: np.ndarray, g_neg: np.ndarray
               ) -> tuple[int, float]:
    """(1 if the summed goodness of the positive pass beats the negative's, the summed FF
    loss of all layers, sum_l softplus(theta - G+_l) + softplus(G-_l - theta)): the
    training score of one period (the graph's training accuracy and loss)."""
    won = int(np.sum(g_pos) > np.sum(g_neg))
    loss = float(np.sum(ff.softplus(config.theta - g_pos) + ff.softplus(g_neg - config.theta)))
    return won, loss


def loihi_activity(config: FFLoihiConfig, events: np.ndarray, n_samples: int,
                   period: int, learners: int) -> EpochActivity:
    """The activity of ``n_samples`` periods of ``period`` steps, ``learners`` of them
    learning, from ``events[l]``, the graded spikes (non-zero payloads) the input (l = 0) and
    each layer sent to the layer above over them (the last layer's go nowhere).

    With n_l = sizes[l] (l = 0: the input), L layers and N P neuron steps::

        synaptic_ops    = sum_{l<L} e_l n_{l+1}        (W_{l+1})
                          + N P sum_{l>=1} n_l          (the always-on bias input)
                          + N P sum_{l>=1} (1 + 2 n_l)  (squares summed, y and t broadcast)
        neuron_updates  = N P (sum_{l>=1} n_l + L)      (layer and goodness neurons)
        learning_updates= learners * 2 * sum_{l>=1} (n_{l-1} + 1) n_l
                          (two learning epochs with non-zero products per learning sample)
        payload_bits    = 8 (sum_l e_l + N P sum n_l) + 24 N P (L + 2 sum n_l)

    counted dense for the goodness messages (every neuron sends q, every goodness neuron S,
    y and t each step)."""
    sizes = np.asarray(config.sizes)
    steps = period * n_samples
    hidden = int(sizes[1:].sum())
    names = ("input", *(f"layer {l}" for l in range(config.n_layers)))
    events = np.asarray(events)
    learning = 2 * learners * int(((sizes[:-1] + 1) * sizes[1:]).sum())
    return EpochActivity(names, sizes, sizes * steps, events,
                         synaptic_ops=int(events[:-1] @ sizes[1:]) + steps * hidden
                         + steps * (config.n_layers + 2 * hidden),
                         neuron_updates=steps * (hidden + config.n_layers),
                         learning_updates=learning, samples=n_samples,
                         payload_bits=fx.X_BITS * (int(events.sum()) + steps * hidden)
                         + 24 * steps * (config.n_layers + 2 * hidden))


def training_activity(config: FFLoihiConfig, events: np.ndarray, n_samples: int
                      ) -> EpochActivity:
    """:func:`loihi_activity` of an epoch's training periods (every sample learns)."""
    return loihi_activity(config, events, n_samples, config.timing.train_period, n_samples)


def chip_programs(config: FFLoihiConfig) -> dict:
    """The widths of the graph's neuron programs (``registry.ChipGraph``): a layer neuron
    keeps no state between steps, its widest register is the product r y (21 bits), it
    sends 8-bit payloads and 12-bit squares and 7-bit post factors; a goodness neuron holds
    the 24-bit sum S and sends S, y (19 bits) and t (8 bits signed). Lava's inverse square
    root, which it runs, multiplies to 40 bits in between (``kernels.ff_fixed``), as in
    Lava's own ``InvSqrt``, listed as a stock Loihi 2 process."""
    return {"FFFixedLayer": {"state": 21, "payload": 12, "post factors": 7},
            "FFFixedGoodness": {"state": 24, "payload": 24}}


def chip_steps(config: FFLoihiConfig) -> tuple[int, int]:
    """(training, inference) time steps of one sample."""
    return config.timing.train_period, config.timing.eval_period


def memory_numbers(config: FFLoihiConfig, data: Splits) -> int:
    """The numbers a run of ``config`` holds at once (``memory.MemoryModel``): the engine
    weights and biases of every layer twice (the integers and the float copy the drives
    use), the learning engine's products and updated weights of one synapse (twice the
    largest matrix), and the evaluation of a whole split one label at a time: its inputs
    with the label embedded, three arrays of the widest layer (activity, squares,
    normalised payload) and every layer's goodness of every label, per sample."""
    sizes = config.sizes
    matrices = [(n_pre + 1) * n_post for n_pre, n_post in zip(sizes, sizes[1:])]
    split = max(len(data.x_val), len(data.x_test))
    per_sample = sizes[0] + 3 * max(config.hidden) + config.n_classes * config.n_layers
    return 2 * sum(matrices) + 2 * max(matrices) + split * per_sample


MEMORY = MemoryModel(memory_numbers, ("hidden",))

SPEC = RuleSpec(
    name="ff",
    graph="loihi",
    summary="Forward-forward on Loihi parts: LearningDense synapses with the FF rule as "
            "third factor, integer layer and goodness neurons, batch 1, SGD.",
    config=FFLoihiConfig,
    backends=(Backend("lava-fixed", "dynaxx_neuro.networks.ff_loihi_lava:FFLoihiLavaRunner",
                      "fixed_pt"),
              Backend("numpy-fixed",
                      "dynaxx_neuro.networks.ff_loihi_numpy:FFLoihiNumpyRunner", "numpy"),
              Backend("lava", "dynaxx_neuro.networks.ff_loihi_lava:FFLoihiLavaRunner",
                      "floating_pt")),
    stages=(Stage("train", FFLoihiParameters),),
    default_epochs=20,
    hidden_sizes=lambda config: config.hidden,
    equal_backends=(("numpy-fixed", "lava-fixed"),),
    prepare_data=lambda config, splits: splits.first_train(config.train_samples),
    # One layer: an evaluation sample takes C windows of 3 L + 1 steps on Lava, so the
    # conformance suite's full validation and test splits cost 40 steps per sample here.
    small={"hidden": (8,), "epochs": 2, "train_samples": 30},
    chip=ChipGraph(backend="lava-fixed", reference="numpy-fixed", programs=chip_programs,
                   steps=chip_steps),
    memory=MEMORY,
)
