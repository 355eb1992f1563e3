"""The Hebbian rules (Oja, BCM, Krotov & Hopfield's competing hidden units) as a rule: the
configuration (the only place its defaults live), the parameters of its two stages, the
composition of a batch that the Lava models (``models/hebbian.py``) and the NumPy runner
(``networks/hebbian_numpy.py``) both follow, what an epoch logs, and ``SPEC``.

A run has two stages on one epoch axis:

1. ``features``: ``--epochs`` epochs of unsupervised learning on the chosen back end. An
   epoch streams the shuffled full training batches (``cycle.epoch_order``); each batch is
   one learning step of the rule (``kernels.hebbian``), in this order::

       a = rule.drive(W, x)                    the plastic synapse (W x, or KHU's p-currents)
       y = rule.activity(a)                    the layer (linear, rectified, ranking)
       W <- rule.updated_weights(W, x, a, y, theta, lr_e)      the synapse's learning phase
       theta <- rule.threshold(theta, y)       the layer's learning phase (BCM only moves it)

   with lr_e = lr * lr_decay^e, times (1 - e / E) over the E features epochs when
   ``--lr-schedule linear`` (Krotov & Hopfield's schedule). On the Lava graph the batch is
   one period of ``PERIOD_STEPS`` = 2 steps: at k = 0 the synapse computes the drive, at
   k = 1 it sends it (Dense's one-step delay), the layer answers with its activity and both
   learn in that step's learning phase. No labels are used.
2. ``readout``: ``--readout-epochs`` epochs of linear softmax readouts, trained on the host
   whatever the back end (``networks.hebbian_readout``), on the learned features and on the
   baselines (pixels, random features).

With ``--zca-epsilon`` every input, for the layer and for every readout, is ZCA-whitened by
the training split (:func:`whiten_inputs`, ``SPEC.prepare_data``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.activity import EpochActivity
from dynaxx_neuro.cycle import Launch
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import (Fraction, Int, OneOf, Optional, Real, option, require,
                                 validate)
from dynaxx_neuro.records import peak_rss_mb
from dynaxx_neuro.registry import Backend, RuleSpec, Stage

# Steps of one training batch on the Lava graph (see the module docstring).
PERIOD_STEPS = 2
LR_SCHEDULES = ("exponential", "linear")
# The options that belong to one rule only, and the rule's parameter class.
RULE_OPTIONS = {"tau_theta": hb.BCMParams, "p": hb.KHUParams, "k": hb.KHUParams,
                "delta": hb.KHUParams}
FEATURE_SETS = ("hebbian", "pixels", "random")


def _kernel_field(cls, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(cls) if f.name == name)


def _rule_option(name: str):
    """The config field of a rule-only parameter: unset means the rule's default; its help
    and constraint are the kernel field's."""
    cls = RULE_OPTIONS[name]
    field = _kernel_field(cls, name)
    text = field.metadata["help"].rstrip(".")
    return option(None, f"{text} ({cls.name.upper()} only) [{field.default:g}].",
                  Optional(field.metadata["check"]))


def _lr_help() -> str:
    defaults = ", ".join(f"{name} {_kernel_field(cls, 'lr').default:g}"
                         for name, cls in hb.PARAM_CLASSES.items())
    return f"Hebbian learning rate > 0 [the rule's: {defaults}]."


@dataclass(frozen=True)
class ReadoutConfig:
    """The linear readouts: ``readout_epochs`` epochs of SGD (rate ``readout_lr`` decaying
    by ``readout_lr_decay`` per epoch, momentum, batches of ``readout_batch_size``) on
    features f = max(h - mean_u(h) - c std_u(h), 0)^n, n = ``feature_power``, c =
    ``feature_inhibition`` (unset: f = max(h, 0)^n), h = W x
    (``kernels.hebbian.relu_features``)."""

    readout_epochs: int = option(20, "Epochs of the linear readouts.", Int(1))
    readout_lr: float = option(0.01, "Readout SGD learning rate.", Real(0.0, low_open=True))
    readout_momentum: float = option(0.9, "Readout SGD momentum.", Fraction(open_high=True))
    readout_batch_size: int = option(100, "Readout batch size.", Int(1))
    readout_lr_decay: float = option(0.9, "Per-epoch decay factor of the readout rate.",
                                     Fraction(open_low=True))
    feature_power: float = option(1.0, "Power n of the rectified features max(Wx, 0)^n "
                                  "(learned and random).", Real(1.0))
    feature_inhibition: float | None = option(
        None, "Lateral inhibition c of the rectified features, max(h - mean(h) - c std(h), "
        "0)^n over the units of a sample [none].", Optional(Real(0.0)))

    def __post_init__(self):
        validate(self)

    @property
    def feature_sets(self) -> tuple[str, ...]:
        """The feature sets a run trains readouts on (``random_relu`` only when the
        activation is not plain ReLU, so the learned features always face both)."""
        plain = self.feature_power == 1.0 and self.feature_inhibition is None
        return FEATURE_SETS if plain else FEATURE_SETS + ("random_relu",)

    def memory_numbers(self, n_inputs: int, hidden: int, n_classes: int,
                       n_samples: int) -> int:
        """The numbers the readout stage holds at once besides the layer
        (``memory.MemoryModel``): the standardised features of all ``n_samples`` samples of
        the three splits for every feature set (``hidden`` wide, the pixels ``n_inputs``),
        the random sets' weights R (hidden, n_inputs), and every readout's weights and bias
        with their momentum."""
        widths = [n_inputs if name == "pixels" else hidden for name in self.feature_sets]
        randoms = sum(name.startswith("random") for name in self.feature_sets)
        return (sum(n_samples * width + 2 * n_classes * (width + 1) for width in widths)
                + randoms * hidden * n_inputs)


@dataclass(frozen=True)
class HebbianConfig:
    """A plastic layer of ``hidden`` units on ``n_inputs`` inputs learning by ``rule`` in
    batches of ``batch_size``, then its readouts. The rule's own parameters (``lr``,
    ``tau_theta``, ``p``, ``k``, ``delta``) are unset for the rule's defaults
    (``kernels.hebbian``); a parameter of another rule is refused."""

    rule: str = option("khu", "Hebbian rule: oja, bcm or khu (Krotov & Hopfield's competing "
                       "hidden units).", OneOf(hb.RULE_NAMES))
    hidden: int = option(100, "Hebbian units.", Int(1))
    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Classes (from the data).", Int(2), from_data=True)
    batch_size: int = option(100, "Samples per Hebbian batch (one learning step each).",
                             Int(1))
    lr: float | None = option(None, _lr_help(), Optional(Real(0.0, low_open=True)))
    lr_decay: float = option(1.0, "Per-epoch decay factor of the Hebbian rate.",
                             Fraction(open_low=True))
    lr_schedule: str = option("exponential", "exponential (lr * lr-decay^e) or linear (also "
                              "times 1 - e / epochs, Krotov & Hopfield's schedule).",
                              OneOf(LR_SCHEDULES))
    tau_theta: float | None = _rule_option("tau_theta")
    p: float | None = _rule_option("p")
    k: int | None = _rule_option("k")
    delta: float | None = _rule_option("delta")
    zca_epsilon: float | None = option(
        None, "ZCA-whiten every input by the training split, x -> (x - mean) U (S + eps)^-1/2 "
        "U^T with cov = U S U^T, for the Hebbian layer and all readouts; eps > 0 [none: raw "
        "inputs].", Optional(Real(0.0, low_open=True)))
    readout: ReadoutConfig = ReadoutConfig()

    def __post_init__(self):
        validate(self)
        for name, cls in RULE_OPTIONS.items():
            require(getattr(self, name) is None or cls.name == self.rule,
                    f"--{name.replace('_', '-')} applies only to rule {cls.name}, not to rule "
                    f"{self.rule}.")
        rule = self.rule_params
        if isinstance(rule, hb.KHUParams):  # the k-th unit must exist
            require(rule.k <= self.hidden,
                    f"--k must be at most --hidden ({self.hidden}), got {rule.k}.")

    @property
    def rule_params(self) -> hb.HebbianRule:
        """The rule's parameter dataclass, which carries its behaviour
        (``kernels.hebbian``)."""
        given = {name: getattr(self, name) for name in ("lr", *RULE_OPTIONS)
                 if getattr(self, name) is not None}
        return hb.rule_params(self.rule, **given)

    def epoch_lr(self, epoch: int, n_epochs: int) -> float:
        """The Hebbian rate of ``epoch`` of a features stage of ``n_epochs`` epochs."""
        linear = n_epochs if self.lr_schedule == "linear" else 0
        return hb.epoch_lr(self.rule_params.lr, epoch, self.lr_decay, linear)


# --- parameters of the two stages -----------------------------------------------------------


@dataclass
class HebbianParameters:
    """The layer's plastic state: weights W (hidden, n_inputs) and the BCM thresholds theta
    (hidden,) (zeros, unused, for the other rules)."""

    weights: np.ndarray
    theta: np.ndarray

    @classmethod
    def initial(cls, config: HebbianConfig, rng: np.random.Generator) -> "HebbianParameters":
        return cls(config.rule_params.initial_weights(config.hidden, config.n_inputs, rng),
                   np.zeros(config.hidden))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"hebbian_w": self.weights, "hebbian_theta": self.theta}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    config: HebbianConfig | None = None) -> "HebbianParameters":
        return cls(np.array(arrays["hebbian_w"], dtype=float),
                   np.array(arrays["hebbian_theta"], dtype=float))

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.weights).all() and np.isfinite(self.theta).all())


@dataclass
class ReadoutParameters:
    """What a readout epoch's checkpoint holds: the learned layer and, per feature set,
    the readout's weights, bias and their momentum buffers (w, b, vw, vb); ``readouts`` is
    empty before the first readout epoch."""

    layer: HebbianParameters
    readouts: dict[str, tuple[np.ndarray, ...]]

    @classmethod
    def initial(cls, config: HebbianConfig, rng: np.random.Generator) -> "ReadoutParameters":
        """The readouts of a run without features epochs: on the initial layer."""
        return cls(HebbianParameters.initial(config, rng), {})

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = self.layer.to_arrays()
        for name, values in self.readouts.items():
            arrays.update({f"readout_{name}_{part}": value
                           for part, value in zip(("w", "b", "vw", "vb"), values)})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    config: HebbianConfig) -> "ReadoutParameters":
        """From a features checkpoint (no readouts yet) or a readout checkpoint."""
        readouts = {name: tuple(np.array(arrays[f"readout_{name}_{part}"])
                                for part in ("w", "b", "vw", "vb"))
                    for name in config.readout.feature_sets if f"readout_{name}_w" in arrays}
        return cls(HebbianParameters.from_arrays(arrays), readouts)


# --- the composition of a batch --------------------------------------------------------------


def learn_batch(rule: hb.HebbianRule, state: HebbianParameters, x: np.ndarray,
                lr: float) -> tuple[HebbianParameters, np.ndarray]:
    """One learning step on a batch x (B, n_inputs): the new state and the activities
    (B, hidden), in the order of the Lava graph (drive, activity, weights, threshold)."""
    drive = rule.drive(state.weights, x)
    activity = rule.activity(drive)
    weights = rule.updated_weights(state.weights, x, drive, activity, state.theta, lr)
    return HebbianParameters(weights, rule.threshold(state.theta, activity)), activity


def features_epochs(launch: Launch) -> int:
    """The epochs of the features stage a runner serves (what a linear rate falls over)."""
    require(launch.stage_epochs is not None, "the Hebbian features runner needs the epochs "
            "of its stage; pass Launch(..., stage_epochs=(first, end)).")
    return launch.stage_epochs[1] - launch.stage_epochs[0]


def winner_counts(activity: np.ndarray, hidden: int) -> np.ndarray:
    """(hidden,) how many samples of a batch each unit was the most active in."""
    return np.bincount(activity.argmax(axis=1), minlength=hidden)


# --- what an epoch logs ----------------------------------------------------------------------


def hebbian_activity(config: HebbianConfig, events: np.ndarray,
                     n_samples: int) -> EpochActivity:
    """The activity of an epoch from ``events`` = (graded spikes of the input, sent on both
    steps of every period; non-zero activities the layer sent). With n_in inputs, n units,
    P = PERIOD_STEPS and N samples::

        input:            e_in over n_in * P * N neuron-steps
        layer:            e_out over n * P * N neuron-steps
        synaptic_ops    = e_in n             (every input event into every unit)
        neuron_updates  = n P N
        learning_updates= e_out n_in         (a unit with zero activity has dW = 0 in all
                                              three rules: Oja y (...), BCM y (y - theta) x,
                                              KHU g (...))
    """
    sizes = np.array([config.n_inputs, config.hidden])
    return EpochActivity(("input", "hebbian"), sizes, sizes * PERIOD_STEPS * n_samples,
                         np.asarray(events), synaptic_ops=int(events[0]) * config.hidden,
                         neuron_updates=config.hidden * PERIOD_STEPS * n_samples,
                         learning_updates=int(events[1]) * config.n_inputs, samples=n_samples)


def epoch_tables(config: HebbianConfig, epoch: int, lr: float, before: HebbianParameters,
                 after: HebbianParameters, winners: np.ndarray, events: np.ndarray,
                 n_samples: int, seconds: float) -> dict[str, dict]:
    """The tables of a features epoch: its ``hebbian`` row (the epoch's learning rate, the
    Frobenius norm of its weight change, the row p-norms of W (p = 2 except for KHU), the
    mean BCM threshold, the fraction of units that were ever most active in a sample
    (``winners``: (hidden,) samples each unit won), wall time, samples/s, peak RSS) and its
    ``spikes`` and ``ops`` rows (:func:`hebbian_activity`)."""
    p = config.rule_params.norm_order
    norms = np.sum(np.abs(after.weights) ** p, axis=1) ** (1.0 / p)
    row = {"epoch": [epoch], "lr": [lr],
           "weight_change": [float(np.linalg.norm(after.weights - before.weights))],
           "weight_norm_mean": [float(norms.mean())], "weight_norm_min": [float(norms.min())],
           "weight_norm_max": [float(norms.max())], "theta_mean": [float(after.theta.mean())],
           "active_fraction": [float(np.mean(winners > 0))], "time_s": [seconds],
           "samples_per_s": [n_samples / seconds if seconds > 0 else float("nan")],
           "peak_rss_mb": [peak_rss_mb()]}
    return {"hebbian": row, **hebbian_activity(config, events, n_samples).tables(epoch)}


# --- the data ---------------------------------------------------------------------------------


def whiten_inputs(data: Splits, zca_epsilon: float | None) -> Splits:
    """The splits as they are when ``zca_epsilon`` is None, else with every input
    ZCA-whitened by the training split's statistics::

        x -> (x - m) Z,   Z = U (S + eps)^(-1/2) U^T,   U S U^T = cov(x_train),  m = mean(x_train)

    No labels are used. ``eps`` (``zca_epsilon``) > 0 keeps the low-variance directions
    (pixel noise) from being blown up; the whitened training inputs have covariance
    U S / (S + eps) U^T. Every feature set of a run (learned, pixels, random) reads the same
    whitened inputs."""
    if zca_epsilon is None:
        return data
    mean = data.x_train.mean(axis=0)
    variances, directions = np.linalg.eigh(np.cov(data.x_train - mean, rowvar=False))
    # (n_in, n_in) x (n_in, n_in): U scaled column-wise by (S + eps)^(-1/2), times U^T
    zca = (directions / np.sqrt(np.maximum(variances, 0.0) + zca_epsilon)) @ directions.T
    return dataclasses.replace(data, x_train=(data.x_train - mean) @ zca,
                               x_val=(data.x_val - mean) @ zca,
                               x_test=(data.x_test - mean) @ zca)


def prepare_data(config: HebbianConfig, data: Splits) -> Splits:
    """The run's inputs (whitened with ``--zca-epsilon``); both batch sizes must fit the
    training split."""
    n = len(data.x_train)
    for name, size in (("--batch-size", config.batch_size),
                       ("--readout-batch-size", config.readout.readout_batch_size)):
        require(size <= n, f"{name} must be at most the {n} training samples, got {size}.")
    return whiten_inputs(data, config.zca_epsilon)


def memory_numbers(config: HebbianConfig, data: Splits) -> int:
    """The numbers a run of ``config`` holds at once (``memory.MemoryModel``), the larger of
    its two stages: the features stage holds the weights three times (W, the rule's update
    and the products it is built from) and the thresholds, and per batch of B samples the
    inputs and four (B, hidden) arrays (drive, activity and the rule's two terms); the
    readout stage holds the layer and ``ReadoutConfig.memory_numbers``."""
    n_inputs, hidden, batch = config.n_inputs, config.hidden, config.batch_size
    layer = hidden * n_inputs + hidden
    features = 3 * layer + batch * (4 * hidden + n_inputs)
    n_samples = len(data.x_train) + len(data.x_val) + len(data.x_test)
    return max(features, layer + config.readout.memory_numbers(n_inputs, hidden,
                                                               config.n_classes, n_samples))


MEMORY = MemoryModel(memory_numbers, ("hidden",))

# The settings of README.md's and BENCHMARKS.md's KHU Fashion-MNIST run ("Hebbian features",
# 88.2 % test): 2000 units, lr 0.04 falling linearly over 40 epochs, whitened inputs,
# inhibited squared features, readout decay 0.92 over 30 epochs. MNIST has no Hebbian figure
# yet; it takes the 28x28 settings of Fashion-MNIST. Digits: README.md's 200 units in
# batches of 20.
_FASHION = {"hidden": 2000, "lr_schedule": "linear", "epochs": 40, "zca_epsilon": 0.1,
            "feature_power": 2.0, "feature_inhibition": 0.75, "readout_lr_decay": 0.92,
            "readout_epochs": 30}

SPEC = RuleSpec(
    name="hebbian",
    graph="rate",
    summary="Hebbian features (Oja, BCM or competing hidden units), then linear readouts on "
            "them, on raw pixels and on random features.",
    config=HebbianConfig,
    # numpy first, the default: Lava's element-wise Var reads make reading a 2000x784 layer
    # back cost about 30 s per epoch (BENCHMARKS.md).
    backends=(Backend("numpy", "dynaxx_neuro.networks.hebbian_numpy:HebbianNumpyRunner",
                      "numpy"),
              Backend("lava", "dynaxx_neuro.networks.hebbian_lava:HebbianLavaRunner",
                      "floating_pt")),
    stages=(Stage("features", HebbianParameters),
            Stage("readout", ReadoutParameters,
                  Backend("numpy", "dynaxx_neuro.networks.hebbian_readout:ReadoutRunner",
                          "numpy"), epochs_option="readout_epochs")),
    default_epochs=20,
    hidden_sizes=lambda config: (config.hidden,),
    dataset_defaults={"digits": {"hidden": 200, "batch_size": 20},
                      "fashion-mnist": _FASHION, "mnist": dict(_FASHION)},
    prepare_data=prepare_data,
    label=lambda config: f"hebbian-{config.rule}",
    small={"hidden": 16, "batch_size": 50, "readout_epochs": 2, "epochs": 2},
    memory=MEMORY,
)
