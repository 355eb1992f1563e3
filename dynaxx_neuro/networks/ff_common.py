"""What both forward-forward back ends share: the network configuration, its parameters,
the passes of a period, the inputs the source streams for them, and the monitoring tables.

A *pass* is one forward sweep of a batch through every layer with fixed weights. A
training period streams the passes ``neutral, [label 0 .. C-1,] positive, negative`` (the
label passes only when hard negatives need the goodness of every label); an evaluation
period streams ``neutral, label 0 .. C-1``. The neutral pass (every label entry 1/C)
feeds the softmax readout; the label passes give the goodness prediction. Learning
happens once per training period, after all its passes, from the weights they all used.

One epoch is the shuffled full training batches, then the validation and test samples in
order (the last batch of each split padded with zero rows that nobody counts), like EP.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ff
from dynaxx_neuro.networks.activity import EpochActivity
from dynaxx_neuro.networks.ep_common import n_eval_batches, n_train_batches
from dynaxx_neuro.networks.result import EpochResult

TRAIN, VAL, TEST = "train", "val", "test"
NEUTRAL, POSITIVE, NEGATIVE = "neutral", "positive", "negative"
SEPARATION_WARNING = 10.0   # G_pos / G_neg (or its inverse) above this: separated by > 10x
COLLAPSE_WARNING = 0.01     # |G_pos - G_neg| / (G_pos + G_neg) below this: collapsed together


@dataclass(frozen=True)
class FFConfig:
    """A forward-forward network: ``n_features`` raw inputs, ``hidden`` layer sizes,
    ``n_classes`` labels embedded by ``label_mode`` with value ``label_scale``, and how it
    learns. ``lrs`` holds one rate per FF layer; ``readout_lr`` is the softmax readout's."""

    n_features: int
    hidden: tuple[int, ...]
    n_classes: int
    label_mode: str = "append"
    label_scale: float = 1.0
    goodness: ff.FFGoodness = ff.FFGoodness()
    negatives: ff.FFNegatives = ff.FFNegatives()
    optimizer: ff.FFOptimizer = ff.FFOptimizer()
    schedule: ff.FFSchedule = ff.FFSchedule()
    lrs: tuple[float, ...] = (0.01,)
    readout_lr: float = 0.01
    lr_decay: float = 1.0
    predict: str = "softmax"
    batch_size: int = 50
    seed: int = 0
    image_shape: tuple[int, int] = (8, 8)

    def __post_init__(self):
        if self.n_features < 1 or self.n_classes < 2:
            raise ValueError(f"the data must have >= 1 feature and >= 2 classes, got "
                             f"{self.n_features} and {self.n_classes}.")
        if len(self.hidden) < 1 or any(n < 1 for n in self.hidden):
            raise ValueError(f"hidden must list one or more sizes >= 1, got {self.hidden!r}.")
        if self.label_mode not in ff.LABEL_MODES:
            raise ValueError(f"unknown label_mode {self.label_mode!r}; choose from "
                             f"{', '.join(ff.LABEL_MODES)}.")
        if self.label_mode == "replace" and self.n_classes > self.n_features:
            raise ValueError(f"label embedding of {self.n_classes} entries is wider than the "
                             f"{self.n_features}-feature input; use label_mode 'append'.")
        if not 0 < self.label_scale < float("inf"):
            raise ValueError(f"label_scale must be a finite number > 0, got "
                             f"{self.label_scale!r}.")
        if len(self.lrs) != len(self.hidden):
            raise ValueError(f"lrs must hold {len(self.hidden)} rates (one per layer), got "
                             f"{len(self.lrs)}.")
        for lr in (*self.lrs, self.readout_lr):
            if not 0 <= lr < float("inf"):
                raise ValueError(f"learning rates must be finite and >= 0, got {lr!r}.")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}.")
        if self.predict not in ff.PREDICTIONS:
            raise ValueError(f"unknown prediction {self.predict!r}; choose from "
                             f"{', '.join(ff.PREDICTIONS)}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}.")
        if self.image_shape[0] * self.image_shape[1] != self.n_features:
            raise ValueError(f"image_shape {self.image_shape} does not hold "
                             f"{self.n_features} features.")

    @property
    def n_inputs(self) -> int:
        """Width of the first layer's input: the features with the label embedded."""
        return self.n_features + (self.n_classes if self.label_mode == "append" else 0)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.hidden)

    @property
    def n_layers(self) -> int:
        return len(self.hidden)

    def layer_lr(self, epoch: int, layer: int) -> float:
        """Rate of FF layer ``layer`` in ``epoch``: base rate x decay^epoch x schedule."""
        return (self.lrs[layer] * self.lr_decay ** epoch
                * self.schedule.lr_scale(epoch, layer, self.n_layers))

    def readout_lr_at(self, epoch: int) -> float:
        return self.readout_lr * self.lr_decay ** epoch

    def passes(self, split: str) -> tuple:
        """The passes of a period of ``split``: names and label indices (see module doc)."""
        labels = tuple(range(self.n_classes))
        if split != TRAIN:
            return (NEUTRAL, *labels)
        mining = labels if self.negatives.needs_label_goodness else ()
        return (NEUTRAL, *mining, POSITIVE, NEGATIVE)


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


@dataclass(frozen=True)
class FFCycle:
    """The periods of one epoch in order: training periods, then validation and test
    periods (of another length). ``start_epoch`` is the epoch of a graph's first step."""

    config: FFConfig
    n_train: int
    n_val: int
    n_test: int
    start_epoch: int = 0

    @property
    def n_train_batches(self) -> int:
        return n_train_batches(self.n_train, self.config.batch_size)

    @cached_property
    def train_plan(self) -> PeriodPlan:
        return period_plan(self.config, TRAIN)

    @cached_property
    def eval_plan(self) -> PeriodPlan:
        return period_plan(self.config, VAL)

    @cached_property
    def eval_slots(self) -> list[tuple[str, int]]:
        return eval_slots(self.n_val, self.n_test, self.config.batch_size)

    @property
    def train_steps(self) -> int:
        return self.n_train_batches * self.train_plan.period

    @property
    def steps(self) -> int:
        """Time steps per epoch."""
        return self.train_steps + len(self.eval_slots) * self.eval_plan.period

    def plan(self, split: str) -> PeriodPlan:
        return self.train_plan if split == TRAIN else self.eval_plan

    def locate(self, time_step: int) -> tuple[int, str, int, int]:
        """(epoch, split, batch within the split, period step k) of a Lava time step (from 1)."""
        epoch, t = divmod(time_step - 1, self.steps)
        epoch += self.start_epoch
        if t < self.train_steps:
            batch, k = divmod(t, self.train_plan.period)
            return epoch, TRAIN, batch, k
        slot, k = divmod(t - self.train_steps, self.eval_plan.period)
        split, batch = self.eval_slots[slot]
        return epoch, split, batch, k


@dataclass
class TensorState:
    """A weight matrix or bias vector set with its optimiser moments and step count."""

    w: np.ndarray
    b: np.ndarray
    mw: np.ndarray
    vw: np.ndarray
    mb: np.ndarray
    vb: np.ndarray
    step: int = 0

    @classmethod
    def fresh(cls, w: np.ndarray) -> "TensorState":
        b = np.zeros(w.shape[0])
        return cls(w, b, np.zeros_like(w), np.zeros_like(w), np.zeros_like(b),
                   np.zeros_like(b))

    def updated(self, dw: np.ndarray, db: np.ndarray, lr: float,
                opt: ff.FFOptimizer) -> "TensorState":
        """The state after one optimiser step (a rate of 0 leaves it untouched)."""
        if lr == 0:
            return self
        step = self.step + 1
        w, mw, vw = ff.optimizer_step(self.w, dw, self.mw, self.vw, step, lr, opt)
        b, mb, vb = ff.optimizer_step(self.b, db, self.mb, self.vb, step, lr, opt)
        return TensorState(w, b, mw, vw, mb, vb, step)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        names = ("w", "b", "mw", "vw", "mb", "vb")
        out = {f"{prefix}{n}": getattr(self, n) for n in names}
        out[f"{prefix}step"] = np.array([self.step])
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> "TensorState":
        names = ("w", "b", "mw", "vw", "mb", "vb")
        return cls(*(np.array(arrays[f"{prefix}{n}"], dtype=float) for n in names),
                   int(arrays[f"{prefix}step"][0]))


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
    def from_arrays(cls, arrays: dict, n_layers: int) -> "FFParameters":
        return cls([TensorState.from_arrays(arrays, f"layer{i}_") for i in range(n_layers)],
                   TensorState.from_arrays(arrays, "readout_"))

    def is_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in self.to_arrays().values())


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


def epoch_order(config: FFConfig, n_train: int, epoch: int) -> np.ndarray:
    """Training sample indices (n_batches, B) of an epoch, from (seed, epoch) only."""
    nb = n_train_batches(n_train, config.batch_size)
    order = np.random.default_rng([config.seed, epoch, 0]).permutation(n_train)
    return order[: nb * config.batch_size].reshape(nb, config.batch_size)


def negative_rng(config: FFConfig, epoch: int, batch: int) -> np.random.Generator:
    """The generator of a training batch's negatives (both back ends draw the same)."""
    return np.random.default_rng([config.seed, epoch, batch, 1])


def dropout_rng(config: FFConfig, epoch: int, batch: int, layer: int,
                pass_index: int) -> np.random.Generator:
    """The generator of a layer's dropout mask in one pass of a training period."""
    return np.random.default_rng([config.seed, epoch, batch, 2, layer, pass_index])


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


# --- monitoring -----------------------------------------------------------------------------

MONITOR_FIELDS = ("g_pos", "g_neg", "p_pos", "p_neg", "update_norm", "act_var", "loss")


class LayerMonitor:
    """Sums over an epoch's training periods of one layer: mean goodness and p(positive) of
    both passes, the norm of the applied weight change, the activation variance of the
    positive pass, the loss (``sums``, in MONITOR_FIELDS order), the number of periods, and
    which units were ever active. ``state()`` / ``from_state`` carry it through Lava Vars."""

    def __init__(self, n_units: int):
        self.sums = np.zeros(len(MONITOR_FIELDS))
        self.periods = 0
        self.ever_active = np.zeros(n_units, dtype=bool)

    def add(self, g_pos, g_neg, theta, h_pos, h_neg, update_norm) -> None:
        values = {"g_pos": g_pos.mean(), "g_neg": g_neg.mean(),
                  "p_pos": ff.p_positive(g_pos, theta).mean(),
                  "p_neg": ff.p_positive(g_neg, theta).mean(), "update_norm": update_norm,
                  "act_var": h_pos.var(axis=0).mean(), "loss": ff.ff_loss(g_pos, g_neg, theta)}
        self.sums = self.sums + np.array([values[name] for name in MONITOR_FIELDS])
        self.periods += 1
        self.ever_active = self.ever_active | (h_pos > 0).any(axis=0) | (h_neg > 0).any(axis=0)

    def state(self) -> tuple[np.ndarray, np.ndarray]:
        """(sums followed by the period count, ever-active flags as 0/1 floats)."""
        return np.append(self.sums, self.periods), self.ever_active.astype(float)

    @classmethod
    def from_state(cls, sums: np.ndarray, ever_active: np.ndarray) -> "LayerMonitor":
        monitor = cls(len(ever_active))
        monitor.sums, monitor.periods = np.array(sums[:-1]), int(sums[-1])
        monitor.ever_active = np.asarray(ever_active) > 0
        return monitor

    def row(self) -> dict:
        means = dict(zip(MONITOR_FIELDS, self.sums / max(self.periods, 1)))
        means["dead_fraction"] = float(1.0 - self.ever_active.mean())
        return means


def monitor_tables(epoch: int, rows: list[dict]) -> dict[str, dict]:
    """The ``ff_layers`` table of an epoch (one row per layer) and, when goodness of the
    positive and negative passes separates by more than 10x or collapses together, an
    ``ff_warnings`` table (the run's log of them; the CLI prints them)."""
    if not rows or not any(row for row in rows):
        return {}
    columns = {"epoch": np.full(len(rows), epoch), "layer": np.arange(len(rows))}
    for name in (*MONITOR_FIELDS, "dead_fraction"):
        columns[name] = np.array([row[name] for row in rows])
    g_pos, g_neg = columns["g_pos"], columns["g_neg"]
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["g_ratio"] = g_pos / g_neg
    tables = {"ff_layers": columns}
    warnings = goodness_warnings(epoch, g_pos, g_neg)
    if warnings:
        tables["ff_warnings"] = {"epoch": np.full(len(warnings), epoch),
                                 "layer": np.array([w[0] for w in warnings]),
                                 "message": np.array([w[1] for w in warnings])}
    return tables


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


def prediction_table(epoch: int, accuracies: dict[tuple[str, str], float]) -> dict:
    """``ff_predictions``: accuracy of both predictions on each evaluated split."""
    keys = sorted(accuracies)
    return {"epoch": np.full(len(keys), epoch), "split": np.array([k[0] for k in keys]),
            "method": np.array([k[1] for k in keys]),
            "accuracy": np.array([accuracies[k] for k in keys])}


def eval_slots(n_val: int, n_test: int, batch_size: int) -> list[tuple[str, int]]:
    """(split, batch) of every evaluation period of an epoch, validation first."""
    return ([(VAL, i) for i in range(n_eval_batches(n_val, batch_size))]
            + [(TEST, i) for i in range(n_eval_batches(n_test, batch_size))])


def choose(config: FFConfig, probs: np.ndarray, label_good: np.ndarray) -> np.ndarray:
    """Predicted labels by the configured method."""
    return (probs if config.predict == "softmax" else label_good).argmax(axis=1)


def evaluation_result(config: FFConfig, data: Splits, epoch: int, train_accuracy: float,
                      train_loss: float, outputs: dict, tables: dict) -> EpochResult:
    """The epoch result from each split's (probabilities, label goodness) of every sample;
    both predictions' accuracies go to the ``ff_predictions`` table."""
    accuracies, chosen, losses = {}, {}, {}
    for split, labels in ((VAL, data.y_val), (TEST, data.y_test)):
        probs, label_good = outputs[split]
        chosen[split] = choose(config, probs, label_good)
        losses[split] = (float(ff.cross_entropy(probs, np.eye(config.n_classes)[labels]).mean())
                         if len(labels) else float("nan"))
        if len(labels):
            accuracies[(split, "softmax")] = float((probs.argmax(axis=1) == labels).mean())
            accuracies[(split, "goodness")] = float((label_good.argmax(axis=1) == labels).mean())
    if accuracies:
        tables = {**tables, "ff_predictions": prediction_table(epoch, accuracies)}
    return EpochResult(train_accuracy, train_loss, chosen[VAL], losses[VAL], chosen[TEST],
                       losses[TEST], tables)
