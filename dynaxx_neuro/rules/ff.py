"""Forward-forward as a rule: its configuration (the only place its defaults live), its
parameters, and its composition, the ``kernels.ff`` calls each part of the graph makes in
a period, written once and called by the Lava models (``models/ff.py``) and the NumPy
runner (``networks/ff_numpy.py``) alike.

A *pass* is one forward sweep of a batch through every layer with fixed weights. A
training period streams the passes ``neutral, [label 0 .. C-1,] positive, negative`` (the
label passes only when hard negatives need the goodness of every label); an evaluation
period streams ``neutral, label 0 .. C-1``. The neutral pass (every label entry 1/C)
feeds the softmax readout; the label passes give the goodness prediction. The pieces:

    source_input    the first layer's input of a pass (the negatives from ``negative_batch``)
    layer_pass      x_hat = normalize(x), h = relu(x_hat W^T + b)
    learn_layer     at the period's end, from the layer's positive and negative passes:
                    dropout masks, dL/dW of the layer's own loss, one optimiser step
    learn_readout   at the period's end: the readout's cross-entropy step on the neutral pass

Learning happens once per training period, after all its passes, from the weights they
all used. Random draws come from the run's streams (``cycle.stream``): the epoch order
from ``[seed, epoch, ORDER]``, a batch's negatives from ``[seed, epoch, batch, SIGNS]``
and a layer's dropout mask in pass j from ``[seed, epoch, batch, DROPOUT, layer, j]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.activity import EpochActivity
from dynaxx_neuro.cycle import DROPOUT, SIGNS, TRAIN, VAL, EpochCycle, stream
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.kernels.optimizer import Optimizer, TensorState
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import (Int, OneOf, Optional, Real, TupleOf, option, require,
                                 validate)
from dynaxx_neuro.registry import Backend, RuleSpec, Stage

NEUTRAL, POSITIVE, NEGATIVE = "neutral", "positive", "negative"
# Rate of every FF layer when --lrs is not given (Adam; chosen on digits, BENCHMARKS.md).
DEFAULT_LR = 0.003
SEPARATION_WARNING = 10.0   # G_pos / G_neg (or its inverse) above this: separated by > 10x
COLLAPSE_WARNING = 0.01     # |G_pos - G_neg| / (G_pos + G_neg) below this: collapsed together


@dataclass(frozen=True)
class FFConfig:
    """A forward-forward network: ``n_inputs`` raw inputs, ``hidden`` layer sizes,
    ``n_classes`` labels embedded by ``label_mode`` with value ``label_scale``, and how it
    learns. ``lrs`` holds one rate per FF layer; ``readout_lr`` is the softmax readout's.
    The defaults were chosen on the validation split of digits (BENCHMARKS.md)."""

    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Labels (from the data).", Int(2), from_data=True)
    image_shape: tuple[int, int] | None = option(
        None, "Image rows and columns (from the data).", TupleOf(Int(1), 2, 2), from_data=True)
    hidden: tuple[int, ...] = option((500, 500), "FF layer sizes, e.g. 500,500.",
                                     TupleOf(Int(1)))
    label_mode: str = option("append", "Label one-hot appended to the input or replacing its "
                             "first entries.", OneOf(ff.LABEL_MODES))
    label_scale: float = option(1.0, "Value of the label's one-hot entry.",
                                Real(0.0, low_open=True))
    goodness: ff.FFGoodness = ff.FFGoodness()
    negatives: ff.FFNegatives = ff.FFNegatives()
    optimizer: Optimizer = Optimizer()
    schedule: ff.FFSchedule = ff.FFSchedule()
    lrs: tuple[float, ...] | None = option(
        None, f"Per-layer learning rates, e.g. 0.003,0.003 [none: {DEFAULT_LR} each].",
        Optional(TupleOf(Real(0.0))))
    readout_lr: float = option(0.01, "Learning rate of the softmax readout.", Real(0.0))
    lr_decay: float = option(1.0, "Per-epoch learning-rate decay factor.",
                             Real(0.0, 1.0, low_open=True))
    predict: str = option("softmax", "Reported prediction: softmax (readout) or goodness "
                          "(label of most goodness).", OneOf(ff.PREDICTIONS))
    batch_size: int = option(50, "Samples per batch (one period each).", Int(1))

    def __post_init__(self):
        validate(self)
        require(self.lrs is None or len(self.lrs) == len(self.hidden),
                f"--lrs must hold {len(self.hidden)} rates (one per layer), got "
                f"{self.lrs and len(self.lrs)}.")
        if self.n_inputs is None:
            return
        require(self.label_mode != "replace" or self.n_classes <= self.n_inputs,
                f"--label-mode replace needs at least {self.n_classes} inputs, the data has "
                f"{self.n_inputs}; use --label-mode append.")
        require(self.image_shape is None
                or self.image_shape[0] * self.image_shape[1] == self.n_inputs,
                f"the image shape {self.image_shape} does not hold the data's "
                f"{self.n_inputs} inputs.")

    @property
    def input_width(self) -> int:
        """Width of the first layer's input: the raw inputs with the label embedded."""
        return self.n_inputs + (self.n_classes if self.label_mode == "append" else 0)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.input_width, *self.hidden)

    @property
    def n_layers(self) -> int:
        return len(self.hidden)

    @property
    def layer_lrs(self) -> tuple[float, ...]:
        """The base rate of every FF layer: ``lrs``, or DEFAULT_LR each."""
        return self.lrs if self.lrs is not None else (DEFAULT_LR,) * self.n_layers

    def layer_lr(self, epoch: int, layer: int) -> float:
        """Rate of FF layer ``layer`` in ``epoch``: base rate x decay^epoch x schedule."""
        return (self.layer_lrs[layer] * self.lr_decay ** epoch
                * self.schedule.lr_scale(epoch, layer, self.n_layers))

    def readout_lr_at(self, epoch: int) -> float:
        return self.readout_lr * self.lr_decay ** epoch

    def passes(self, split: str) -> tuple:
        """The passes of a period of ``split``: names and label indices (module docstring)."""
        labels = tuple(range(self.n_classes))
        if split != TRAIN:
            return (NEUTRAL, *labels)
        mining = labels if self.negatives.needs_label_goodness else ()
        return (NEUTRAL, *mining, POSITIVE, NEGATIVE)


# --- the periods of an epoch --------------------------------------------------------------


@dataclass(frozen=True)
class PeriodPlan:
    """When each pass of a period enters the graph. Pass j leaves the source at period step
    ``source_steps[j]``; layer l computes it at ``source_steps[j] + l`` and the readout
    receives layer l's result one step later (each layer delays by one step, like Lava's
    Dense). With hard negatives the negative pass waits until the readout holds the
    goodness of every label pass from every layer. The period ends when the readout has
    the last pass from the top layer."""

    passes: tuple
    source_steps: tuple[int, ...]
    n_layers: int

    @property
    def period(self) -> int:
        return self.source_steps[-1] + self.n_layers + 1

    def pass_at(self, source_step: int) -> int | None:
        """Index of the pass that left the source at ``source_step``, if any."""
        return (self.source_steps.index(source_step) if source_step in self.source_steps
                else None)


def period_plan(config: FFConfig, split: str) -> PeriodPlan:
    """The PeriodPlan of a training (``TRAIN``) or evaluation period."""
    passes = config.passes(split)
    steps = list(range(len(passes)))
    if split == TRAIN and config.negatives.needs_label_goodness:
        # The last label pass (index C) reaches the readout from the top layer at C + L.
        steps[-1] = max(steps[-1], config.n_classes + config.n_layers)
    return PeriodPlan(passes, tuple(steps), config.n_layers)


def epoch_cycle(config: FFConfig, n_train: int, n_val: int, n_test: int,
                start_epoch: int) -> EpochCycle:
    """The run's clock: training periods of the training plan's length, then validation
    and test periods of the evaluation plan's length."""
    return EpochCycle(n_train, n_val, n_test, config.batch_size,
                      period_plan(config, TRAIN).period, period_plan(config, "val").period,
                      start_epoch)


# --- parameters ---------------------------------------------------------------------------


@dataclass
class FFParameters:
    """The FF layers' states (W_l (n_l, n_{l-1})) and the readout's (W_r (C, sum n_l))."""

    layers: list[TensorState]
    readout: TensorState

    @classmethod
    def initial(cls, config: FFConfig, rng: np.random.Generator) -> "FFParameters":
        """He-uniform layer weights, a zero readout, zero biases and moments."""
        sizes = config.sizes
        layers = [TensorState.fresh(ff.he_uniform(n_post, n_pre, rng))
                  for n_pre, n_post in zip(sizes, sizes[1:])]
        readout = TensorState.fresh(np.zeros((config.n_classes, sum(config.hidden))))
        return cls(layers, readout)

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = self.readout.to_arrays("readout_")
        for i, layer in enumerate(self.layers):
            out.update(layer.to_arrays(f"layer{i}_"))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, config: FFConfig) -> "FFParameters":
        return cls([TensorState.from_arrays(arrays, f"layer{i}_")
                    for i in range(config.n_layers)],
                   TensorState.from_arrays(arrays, "readout_"))

    def is_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in self.to_arrays().values())


# --- the composition of a period ----------------------------------------------------------


def pass_input(config: FFConfig, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The first layer's input: x with label rows embedded (label -1 is neutral)."""
    rows = ff.label_rows(labels, config.n_classes, config.label_scale)
    return ff.embed_labels(x, rows, config.label_mode)


def neutral_input(config: FFConfig, x: np.ndarray) -> np.ndarray:
    return pass_input(config, x, np.full(len(x), -1))


def _one_strategy(name: str, config: FFConfig, x: np.ndarray, y: np.ndarray,
                  label_goodness: np.ndarray | None,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of the negatives of one strategy for the whole batch."""
    negatives = config.negatives
    if name == "wrong-label":
        return x, ff.wrong_labels(y, config.n_classes, rng)
    if name == "hard":
        return x, ff.hardest_wrong_labels(label_goodness, y)
    if name == "noise":
        return ff.noisy(x, negatives.noise_std, rng), y
    if name == "permutation":
        return ff.permuted(x, rng), y
    # hybrid: each image mixed with the image one place further in the batch.
    masks = ff.smooth_masks(len(x), config.image_shape, negatives.mask_blurs, rng)
    return ff.hybrid(x, np.roll(x, 1, axis=0), masks), y


def negative_batch(config: FFConfig, x: np.ndarray, y: np.ndarray,
                   label_goodness: np.ndarray | None,
                   rng: np.random.Generator) -> np.ndarray:
    """The negative pass input of a batch: every strategy's negatives drawn in order, then
    each sample takes the first strategy with probability ``ratio`` (two strategies).
    ``label_goodness`` (B, C) is the goodness of every label, summed over layers, under the
    current weights (needed by ``hard`` only)."""
    strategies = config.negatives.strategies
    made = [_one_strategy(name, config, x, y, label_goodness, rng) for name in strategies]
    images, labels = made[0]
    if len(made) == 2:
        first = rng.random(len(x)) < config.negatives.ratio
        images = np.where(first[:, None], images, made[1][0])
        labels = np.where(first, labels, made[1][1])
    return pass_input(config, images, labels)


def source_input(config: FFConfig, name, x: np.ndarray, y: np.ndarray,
                 label_goodness: np.ndarray, seed: int, epoch: int, batch: int) -> np.ndarray:
    """The first layer's input of pass ``name`` of a batch: the neutral label, the true
    label, a negative (from the stream ``[seed, epoch, batch, SIGNS]``; hard negatives from
    ``label_goodness`` (B, C), the goodness of every label pass summed over layers), or
    label ``name``."""
    if name == NEUTRAL:
        return neutral_input(config, x)
    if name == POSITIVE:
        return pass_input(config, x, y)
    if name == NEGATIVE:
        mined = label_goodness if config.negatives.needs_label_goodness else None
        return negative_batch(config, x, y, mined, stream(seed, epoch, batch, SIGNS))
    return pass_input(config, x, np.full(len(x), name))


def layer_pass(state: TensorState, x: np.ndarray, config: FFConfig
               ) -> tuple[np.ndarray, np.ndarray]:
    """(x_hat, h) of a layer for its input x: x_hat = normalize(x), h = relu(x_hat W^T + b)."""
    x_hat = ff.normalize(x, config.goodness.norm_eps)
    return x_hat, ff.layer_activity(state.w, state.b, x_hat)


def learn_layer(state: TensorState, positive: tuple, negative: tuple, config: FFConfig,
                seed: int, epoch: int, batch: int, layer: int,
                monitor: "LayerMonitor | None" = None) -> TensorState:
    """The layer's state after the learning phase of a training period.

    ``positive`` and ``negative`` are (x_hat, h, pass index j) of the two passes; each
    draws its dropout mask from ``[seed, epoch, batch, DROPOUT, layer, j]``. The step is
    ``ff.ff_layer_grads`` then one optimiser step at ``config.layer_lr(epoch, layer)``; the
    period is added to ``monitor`` when one is given.
    """
    good = config.goodness
    (pos_in, pos_h, j_pos), (neg_in, neg_h, j_neg) = positive, negative
    masks = [ff.dropout_mask(pos_h.shape, good.dropout,
                             stream(seed, epoch, batch, DROPOUT, layer, j))
             for j in (j_pos, j_neg)]
    dw, db = ff.ff_layer_grads(pos_in, pos_h, neg_in, neg_h, good, *masks)
    new = state.updated(dw, db, config.layer_lr(epoch, layer), config.optimizer)
    if monitor is not None:
        monitor.add(ff.goodness(pos_h, good, masks[0]), ff.goodness(neg_h, good, masks[1]),
                    good.theta, pos_h, neg_h, float(np.linalg.norm(new.w - state.w)))
    return new


def layer_goodness(h: np.ndarray, config: FFConfig) -> np.ndarray:
    """G of every sample of a pass (no dropout: what the label goodness sums); (B,)."""
    return ff.goodness(h, config.goodness)


def readout_features(acts: list[np.ndarray], config: FFConfig) -> np.ndarray:
    """The readout's input: the normalised activities of all layers side by side."""
    return np.concatenate([ff.normalize(h, config.goodness.norm_eps) for h in acts], axis=1)


def learn_readout(state: TensorState, features: np.ndarray, probs: np.ndarray,
                  targets: np.ndarray, config: FFConfig, epoch: int) -> TensorState:
    """The readout's state after the learning phase: one cross-entropy step on the neutral
    pass's ``features`` and ``probs`` (measured before the step)."""
    dw, db = ff.readout_grads(features, probs, targets)
    return state.updated(dw, db, config.readout_lr_at(epoch), config.optimizer)


def score(probs: np.ndarray, targets: np.ndarray) -> tuple[int, float]:
    """(correct predictions, summed cross-entropy) of the readout on a batch."""
    correct = int((probs.argmax(axis=1) == targets.argmax(axis=1)).sum())
    return correct, float(ff.cross_entropy(probs, targets).sum())


# --- what an epoch logs -------------------------------------------------------------------

MONITOR_FIELDS = ("g_pos", "g_neg", "p_pos", "p_neg", "update_norm", "act_var", "loss")


class LayerMonitor:
    """Sums over an epoch's training periods of one layer: mean goodness and p(positive) of
    both passes, the norm of the applied weight change, the activation variance of the
    positive pass, the loss (``sums``, in MONITOR_FIELDS order), the number of periods,
    which units were ever active, and the goodness of every positive and negative sample of
    the latest period (``sample`` (2, B), the epoch's ``goodness`` table). ``state()`` /
    ``from_state`` carry it through Lava Vars."""

    def __init__(self, n_units: int, batch_size: int):
        self.sums = np.zeros(len(MONITOR_FIELDS))
        self.periods = 0
        self.ever_active = np.zeros(n_units, dtype=bool)
        self.sample = np.zeros((2, batch_size))

    def add(self, g_pos, g_neg, theta, h_pos, h_neg, update_norm) -> None:
        values = {"g_pos": g_pos.mean(), "g_neg": g_neg.mean(),
                  "p_pos": ff.p_positive(g_pos, theta).mean(),
                  "p_neg": ff.p_positive(g_neg, theta).mean(), "update_norm": update_norm,
                  "act_var": h_pos.var(axis=0).mean(), "loss": ff.ff_loss(g_pos, g_neg, theta)}
        self.sums = self.sums + np.array([values[name] for name in MONITOR_FIELDS])
        self.periods += 1
        self.ever_active = self.ever_active | (h_pos > 0).any(axis=0) | (h_neg > 0).any(axis=0)
        self.sample = np.stack([g_pos, g_neg])

    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sums followed by the period count, ever-active flags as 0/1 floats, sample)."""
        return np.append(self.sums, self.periods), self.ever_active.astype(float), self.sample

    @classmethod
    def from_state(cls, sums: np.ndarray, ever_active: np.ndarray,
                   sample: np.ndarray) -> "LayerMonitor":
        monitor = cls(len(ever_active), sample.shape[1])
        monitor.sums, monitor.periods = np.array(sums[:-1]), int(sums[-1])
        monitor.ever_active = np.asarray(ever_active) > 0
        monitor.sample = np.array(sample)
        return monitor

    def row(self) -> dict:
        means = dict(zip(MONITOR_FIELDS, self.sums / max(self.periods, 1)))
        means["dead_fraction"] = float(1.0 - self.ever_active.mean())
        return means


def monitor_tables(epoch: int, monitors: list[LayerMonitor]) -> dict[str, dict]:
    """The tables of an epoch's training periods (none when it had none):

    - ``ff_layers``: one row per layer, the monitor's means and G_pos / G_neg;
    - ``goodness``: epoch, layer, kind (positive/negative), goodness of every sample of the
      epoch's last training batch, per layer (the goodness histograms of ``analysis``);
    - ``ff_warnings``, when goodness of the positive and negative passes separates by more
      than 10x or collapses together (the run's log of them).
    """
    if not monitors or not monitors[0].periods:
        return {}
    rows = [m.row() for m in monitors]
    columns = {"epoch": np.full(len(rows), epoch), "layer": np.arange(len(rows))}
    for name in (*MONITOR_FIELDS, "dead_fraction"):
        columns[name] = np.array([row[name] for row in rows])
    g_pos, g_neg = columns["g_pos"], columns["g_neg"]
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["g_ratio"] = g_pos / g_neg
    tables = {"ff_layers": columns, "goodness": goodness_table(epoch, monitors)}
    warnings = goodness_warnings(epoch, g_pos, g_neg)
    if warnings:
        tables["ff_warnings"] = {"epoch": np.full(len(warnings), epoch),
                                 "layer": np.array([w[0] for w in warnings]),
                                 "message": np.array([w[1] for w in warnings])}
    return tables


def goodness_table(epoch: int, monitors: list[LayerMonitor]) -> dict[str, np.ndarray]:
    """Long-form ``goodness`` rows from every layer's latest positive and negative sample."""
    batch = monitors[0].sample.shape[1]
    n = 2 * batch * len(monitors)
    kinds = np.repeat([POSITIVE, NEGATIVE], batch)
    return {"epoch": np.full(n, epoch),
            "layer": np.repeat(np.arange(len(monitors)), 2 * batch),
            "kind": np.tile(kinds, len(monitors)),
            "goodness": np.concatenate([m.sample.ravel() for m in monitors])}


def goodness_warnings(epoch: int, g_pos: np.ndarray, g_neg: np.ndarray) -> list[tuple[int, str]]:
    """(layer, message) for every layer whose mean positive and negative goodness separate
    by more than SEPARATION_WARNING times or collapse to within COLLAPSE_WARNING."""
    out = []
    for layer, (pos, neg) in enumerate(zip(g_pos, g_neg)):
        low, high = sorted((pos, neg))
        if high > SEPARATION_WARNING * low:
            out.append((layer, f"epoch {epoch + 1}, layer {layer}: positive and negative "
                               f"goodness separate by more than {SEPARATION_WARNING:g}x "
                               f"(G+ {pos:.4g}, G- {neg:.4g}); theta or the rates may be too "
                               "large."))
        elif high - low <= COLLAPSE_WARNING * (high + low):
            out.append((layer, f"epoch {epoch + 1}, layer {layer}: positive and negative "
                               f"goodness collapse together (G+ {pos:.4g}, G- {neg:.4g}); "
                               "the layer no longer tells them apart."))
    return out


def ff_activity(config: FFConfig, events: np.ndarray, n_samples: int) -> EpochActivity:
    """The activity of the training periods of an epoch from ``events[l]``, the graded
    spikes (non-zero values) layer l sent over all passes (l = 0: the source's input with
    its label entries). Layers send only in the steps of a pass.

    With n_l = sizes[l], L layers, C classes, H = sum of the hidden sizes and P passes per
    training period, per epoch of N samples::

        layer l:          events e_l over n_l * P * N neuron-steps
        synaptic_ops    = sum_{l=1..L} e_{l-1} n_l  +  N C H
                          (each event into the next layer's W; the readout's product on the
                          neutral pass counted dense)
        neuron_updates  = N (P H + C)
        learning_updates= N (sum_{l=1..L} (n_{l-1} + 1) n_l + C (H + 1))
                          (one learning epoch per sample on chip, over every weight and bias
                          of the layers and of the readout)

    The readout's feedback of the label goodness to the source (hard negatives) is not
    counted.
    """
    sizes = np.asarray(config.sizes)
    passes, hidden, classes = len(config.passes(TRAIN)), int(sizes[1:].sum()), config.n_classes
    weights = int(((sizes[:-1] + 1) * sizes[1:]).sum()) + classes * (hidden + 1)
    names = ("input", *(f"layer {l}" for l in range(config.n_layers)))
    return EpochActivity(names, sizes, sizes * passes * n_samples, np.asarray(events),
                         synaptic_ops=int(events[:-1] @ sizes[1:]) + n_samples * classes * hidden,
                         neuron_updates=n_samples * (passes * hidden + classes),
                         learning_updates=n_samples * weights, samples=n_samples)


def memory_numbers(config: FFConfig, data: Splits) -> int:
    """The numbers a run of ``config`` holds at once (``memory.MemoryModel``): every weight
    and bias of the layers and of the readout four times (the value, Adam's two moments and
    the gradient); per period of B samples, every pass's input, normalised inputs and
    activities (training or evaluation periods, whichever streams more passes); and the
    readout probabilities and label goodness of every validation and test sample."""
    sizes, classes = config.sizes, config.n_classes
    tensors = (sum((n_pre + 1) * n_post for n_pre, n_post in zip(sizes, sizes[1:]))
               + classes * (sum(config.hidden) + 1))
    passes = max(len(config.passes(TRAIN)), len(config.passes(VAL)))
    buffers = passes * config.batch_size * 2 * sum(sizes)
    return 4 * tensors + buffers + 2 * classes * (len(data.x_val) + len(data.x_test))


MEMORY = MemoryModel(memory_numbers, ("hidden",))

SPEC = RuleSpec(
    name="ff",
    graph="rate",
    summary="Forward-forward (Hinton 2022), supervised with the label in the input.",
    config=FFConfig,
    backends=(Backend("lava", "dynaxx_neuro.networks.ff_lava:FFLavaRunner", "floating_pt"),
              Backend("numpy", "dynaxx_neuro.networks.ff_numpy:FFNumpyRunner", "numpy")),
    stages=(Stage("train", FFParameters),),
    default_epochs=20,
    hidden_sizes=lambda config: config.hidden,
    # benchmarks/ff_fashion.py: batch 100, 10 epochs; its goodness prediction (87.1 %) beats
    # the softmax readout (85.7 %). Digits keeps the fields' defaults (softmax 97.8 %).
    dataset_defaults={"fashion-mnist": {"batch_size": 100, "predict": "goodness",
                                        "epochs": 10}},
    small={"hidden": (24, 16), "batch_size": 100, "epochs": 2},
    memory=MEMORY,
)
