"""The Hebbian rule's Loihi graph (``dynaxx train hebbian --graph loihi``): Oja's subspace
rule (``--rule oja``) or BCM (``--rule bcm``, the stream, F and the hidden units only; its
program: ``kernels.hebbian_fixed``, "BCM") made only of parts a Loihi 2 chip has, beside
the float rate network of ``rules/hebbian.py`` (the reference, the same ``--rule``).

- synapses are Lava's ``LearningDense`` with graded spikes: the forward synapse F (W) and
  the reconstruction synapse B (its copy of W^T), both learning by the rule
  ``kernels.hebbian_fixed.rule`` in Loihi's sum-of-products grammar (a
  ``Loihi3FLearningRule``: the neurons send their graded post factor on ``s_out_y1`` and
  its sign as a gate on ``s_out_y2`` / ``s_out_y3``; why not a 2-factor rule: the kernel's
  docstring);
- neurons run the integer programs of :func:`hidden_step` (y = (W x) >> q) and
  :func:`error_step` (e = x - W^T y), adds, shifts, compares and saturations on states of
  ``state_bits`` bits, 8-bit graded spikes;
- the host streams one sample per period (batch 1, ``kernels.hebbian_fixed.PERIOD``
  steps) and reads the weights once per epoch.

A run has the float rule's two stages: ``features`` (``--epochs`` epochs on the graph, no
labels) and ``readout`` (``--readout-epochs`` epochs of linear softmax readouts, trained
on the host with ``networks.hebbian_readout`` exactly as for the float rule). The readouts
read what the chip's layer computes, from an inference run of the chosen back end's graph
(``networks.hebbian_loihi_numpy.ChipStages``): for ``lava-fixed`` / ``numpy-fixed`` the
integer activities y = sat(((w r) >> e) >> q) of the quantised inputs r, for ``lava`` the
float activities W x (:class:`ChipFeatures`); the baselines (pixels, random features) are
the float rule's.

The defaults (200 units on digits, lr 2^-9 per sample, q = 2, 10 epochs; BCM's threshold
over 2^4 samples) were chosen on digits' validation split (BENCHMARKS.md, "Oja and BCM on
Loihi's learning engine").

Back ends: ``lava-fixed`` (the ``fixed_pt`` models, Lava's bit-approximate learning
engine), ``numpy-fixed`` (its bit-exact twin, ``networks/hebbian_loihi_numpy.py``) and
``lava`` (the ``floating_pt`` models of the same processes, float weights and activities:
per-sample Oja in float, ``kernels.hebbian.oja_dw`` at batch 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.activity import EpochActivity
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels import hebbian as hb
from dynaxx_neuro.kernels import hebbian_fixed as hf
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import Int, OneOf, Optional, option, require, validate
from dynaxx_neuro.records import peak_rss_mb
from dynaxx_neuro.registry import Backend, ChipGraph, RuleSpec, Stage
from dynaxx_neuro.rules.hebbian import ReadoutConfig, ReadoutParameters


RULES = ("oja", "bcm")


@dataclass(frozen=True)
class HebbianLoihiConfig:
    """A layer of ``hidden`` units on ``n_inputs`` inputs of Loihi parts learning by
    ``rule``, weights W = w / 2^weight_exp, activity y = (W x) >> activity_shift, learning
    rate 2^-lr_shift per sample; then the float rule's readouts."""

    rule: str = option("oja", "oja (Oja's subspace rule) or bcm (BCM with a sliding "
                       "threshold) on the Loihi graph.", OneOf(RULES))
    hidden: int = option(100, "Hebbian units.", Int(1))
    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Classes (from the data).", Int(2), from_data=True)
    weight_exp: int = option(9, "e of the weights W = w / 2^e, one per matrix (the weight "
                             "exponent of both synapses).", Int(1, 16))
    activity_shift: int = option(2, "q of the hidden activity y = sat((w x >> e) >> q), "
                                 "sent as 8-bit graded spikes.", Int(0, 15))
    lr_shift: int = option(9, "l of the learning rate 2^-l per sample.", Int(0, 24))
    state_bits: int = option(24, "Bits of a neuron's summed drive and reconstruction, "
                             "signed.", Int(10, 24))
    theta_shift: int = option(4, "k of BCM's threshold theta += (y^2 - theta) >> k, a "
                              "running mean over about 2^k samples (bcm only).", Int(0, 16))
    train_samples: int | None = option(None, "Training samples the features stage streams "
                                       "per epoch: the first N of the training split "
                                       "[none: all]; the readouts use all.",
                                       Optional(Int(1)))
    readout: ReadoutConfig = ReadoutConfig()

    def __post_init__(self):
        validate(self)
        require(self.activity_shift <= self.weight_exp,
                f"--activity-shift must be at most --weight-exp ({self.weight_exp}), got "
                f"{self.activity_shift}.")
        require(self.rule != "bcm" or self.activity_shift <= fx.RATE_BITS,
                f"--activity-shift must be at most {fx.RATE_BITS} for bcm, got "
                f"{self.activity_shift}.")
        self.scale  # refuses a learning rate the engine cannot represent

    @property
    def batch_size(self) -> int:
        """One sample per period, as on chip."""
        return 1

    @property
    def bcm(self) -> bool:
        return self.rule == "bcm"

    @property
    def period(self) -> int:
        """Steps of a training period."""
        return hf.BCM_PERIOD if self.bcm else hf.PERIOD

    @property
    def scale(self) -> fx.LearningScale:
        scale = hf.bcm_learning_scale if self.bcm else hf.learning_scale
        return scale(self.lr_shift, self.weight_exp, self.activity_shift)

    @property
    def lr(self) -> float:
        return 2.0 ** -self.lr_shift

    @property
    def float_third_factor(self) -> float:
        """c of the floating_pt models: the float engine adds 2^(s - 7) x1 y1 c with
        x1 = payload / 2 (Lava's float OVERWRITE halves it) and y1 = |post value|, so
        c = 2 lr / 2^(s - 7) is lr y e^T (BCM: y2 = c y, y3 = c theta, lr y (y - theta)
        x^T)."""
        return 2.0 * self.lr / 2.0 ** (self.scale.rule_shift - 7)

    @property
    def rule_params(self) -> "ChipFeatures":
        """What the host readouts read as the learned features
        (``networks.hebbian_readout.feature_map`` asks every Hebbian configuration)."""
        return ChipFeatures(self.weight_exp, self.activity_shift, self.state_bits, self.bcm)


@dataclass(frozen=True)
class ChipFeatures:
    """The activities the chip's layer computes for the readouts: for integer weights
    (``lava-fixed``, ``numpy-fixed``) y = sat(((w r) >> e) >> q) of the input rates
    r = round(255 x) (:func:`kernels.hebbian_fixed.hidden_activity`); for float weights in
    engine units (``lava``) the float activity W x, W = w / 2^e; both rectified for BCM
    (``rectify``). The readouts' power and inhibition apply to their random baselines
    only."""

    weight_exp: int
    activity_shift: int
    state_bits: int
    rectify: bool = False

    def features(self, w: np.ndarray, x: np.ndarray, power: float = 1.0,
                 inhibition: float | None = None) -> np.ndarray:
        if np.issubdtype(np.asarray(w).dtype, np.integer):
            drive = fx.dense_drive(w, fx.quantize_rates(x), self.weight_exp)
            y = hf.hidden_activity(drive, self.activity_shift, self.state_bits).astype(float)
        else:
            y = x @ (np.asarray(w) / 2.0 ** self.weight_exp).T  # (N, n_in) x (n_in, n)
        return np.maximum(y, 0.0) if self.rectify else y


# --- parameters of the two stages -----------------------------------------------------------


@dataclass
class HebbianLoihiParameters:
    """The engine weights of the synapses: ``weights`` W (hidden, n_inputs) and, for Oja,
    ``backward`` the reconstruction synapse's copy of W^T (n_inputs, hidden), its own
    LearningDense (so its own stochastic trace reads; empty for BCM, whose graph has none);
    ``theta`` (hidden,) the BCM thresholds the hidden units hold (zeros for Oja). Integers
    in [-256, 255] for the fixed-point back ends; for ``lava`` floats, the weights in the
    same units (W 2^e), the thresholds in the float graph's own (y^2)."""

    weights: np.ndarray
    backward: np.ndarray
    theta: np.ndarray

    @classmethod
    def initial(cls, config: HebbianLoihiConfig,
                rng: np.random.Generator) -> "HebbianLoihiParameters":
        """The float rule's initial weights (``kernels.hebbian``: Oja N(0, 1 / n_inputs),
        BCM U(0, 1 / sqrt(n_inputs))) quantised once on the host
        (``kernels.ep_fixed.quantize_weights``), Oja's exact transpose, zero thresholds."""
        rule = hb.rule_params(config.rule)
        w = rule.initial_weights(config.hidden, config.n_inputs, rng)
        weights = fx.quantize_weights(w, config.weight_exp, fx.FixedFormat(), rng)
        backward = np.zeros((0, 0), np.int64) if config.bcm else weights.T.copy()
        return cls(weights, backward, np.zeros(config.hidden, np.int64))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"hebbian_w": self.weights, "hebbian_wt": self.backward,
                "hebbian_theta": self.theta}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    config: HebbianLoihiConfig | None = None) -> "HebbianLoihiParameters":
        return cls(*(np.array(arrays[f"hebbian_{name}"]) for name in ("w", "wt", "theta")))

    def is_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in (self.weights, self.backward, self.theta))

    def as_float(self, config: HebbianLoihiConfig) -> "HebbianLoihiParameters":
        """The weights in float units W = w / 2^e (for the floating_pt models); the
        thresholds as they are."""
        scale = 2.0 ** -config.weight_exp
        return HebbianLoihiParameters(self.weights * scale, self.backward * scale,
                                      self.theta * 1.0)


class LoihiReadoutParameters(ReadoutParameters):
    """The readout stage's checkpoint (``rules.hebbian.ReadoutParameters``) around the
    chip's layer."""

    @classmethod
    def initial(cls, config: HebbianLoihiConfig,
                rng: np.random.Generator) -> "LoihiReadoutParameters":
        return cls(HebbianLoihiParameters.initial(config, rng), {})

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    config: HebbianLoihiConfig) -> "LoihiReadoutParameters":
        readouts = {name: tuple(np.array(arrays[f"readout_{name}_{part}"])
                                for part in ("w", "b", "vw", "vb"))
                    for name in config.readout.feature_sets if f"readout_{name}_w" in arrays}
        return cls(HebbianLoihiParameters.from_arrays(arrays), readouts)


# --- the neuron programs, written once for the Lava models and the NumPy twin ---------------


@dataclass
class HiddenState:
    """What a hidden unit holds between steps: its activity y of the current sample and its
    BCM threshold theta (unused by Oja)."""

    y: np.ndarray
    theta: np.ndarray


@dataclass
class ErrorState:
    """What an error unit holds between steps: the input x of the sample, the
    reconstruction's drive r+ of y+, and the error e."""

    x: np.ndarray
    r_plus: np.ndarray
    e: np.ndarray


def _send(fixed: bool, k: int, v: np.ndarray, layer: int, c) -> tuple[np.ndarray, ...]:
    """(payload, y1, y2, y3) of ``layer`` holding ``v`` at learning step ``k``: the integer
    program's (``kernels.hebbian_fixed.payload`` and ``post_factors``) or the float one's
    (y1 = the part itself, the same gates)."""
    if fixed:
        return (hf.payload(k, v, layer), *hf.post_factors(k, v, layer, c))
    out = hf.payload(k, v, layer)
    chosen, positive = hf.selected(k, v, layer)
    gate, zeros = chosen * float(c), np.zeros_like(out)
    return (out, out, gate, zeros) if positive else (out, out, zeros, gate)


def bcm_hidden_step(config: HebbianLoihiConfig, k: int, state: HiddenState,
                    drive: np.ndarray, c, fixed: bool = True) -> tuple[np.ndarray, ...]:
    """Step ``k`` of a BCM unit's program (``kernels.hebbian_fixed``, "BCM"): at ``Y_STEP``
    y = max(sat((drive) >> q), 0) (float: max(drive, 0)), send y and, when learning (c != 0),
    the post factors (y, y, theta) and then slide theta (float: theta += (y^2 - theta) /
    2^k); else nothing. Returns (payload, y1, y2, y3)."""
    zeros = np.zeros_like(state.y)
    if k != hf.Y_STEP:
        return zeros, zeros, zeros, zeros
    if fixed:
        state.y = np.maximum(hf.hidden_activity(drive, config.activity_shift,
                                                config.state_bits), 0)
        factors = hf.bcm_post_factors(state.y, state.theta, c)
        if c:
            state.theta = hf.bcm_threshold(state.theta, state.y, config.activity_shift,
                                           config.theta_shift, config.state_bits)
        return (state.y, *factors)
    state.y = np.maximum(np.asarray(drive, dtype=float), 0.0)
    factors = (state.y.copy(), state.y * float(c), state.theta * float(c))
    if c:
        state.theta = state.theta + (state.y ** 2 - state.theta) / 2.0 ** config.theta_shift
    return (state.y, *factors)


def hidden_step(config: HebbianLoihiConfig, k: int, state: HiddenState, drive: np.ndarray,
                c, fixed: bool = True) -> tuple[np.ndarray, ...]:
    """Step ``k`` of a hidden unit's program (``kernels.hebbian_fixed`` module docstring):
    at ``Y_STEP`` y = sat((drive) >> q) (float: y = drive) and send y+; at ``RECON_STEP``
    send y-; at the learning steps send the step's part of y and F's post factors; else
    nothing (BCM: :func:`bcm_hidden_step`). Returns (payload, y1, y2, y3)."""
    if config.bcm:
        return bcm_hidden_step(config, k, state, drive, c, fixed)
    zeros = np.zeros_like(state.y)
    if k == hf.Y_STEP:
        state.y = (hf.hidden_activity(drive, config.activity_shift, config.state_bits)
                   if fixed else np.asarray(drive, dtype=float).copy())
        return hf.part(state.y, +1), zeros, zeros, zeros
    if k == hf.RECON_STEP:
        return hf.part(state.y, -1), zeros, zeros, zeros
    if k in hf.LEARNING_STEPS:
        return _send(fixed, k, state.y, hf.HIDDEN, c)
    return zeros, zeros, zeros, zeros


def error_step(config: HebbianLoihiConfig, k: int, state: ErrorState, x: np.ndarray,
               drive: np.ndarray, c, fixed: bool = True) -> tuple[np.ndarray, ...]:
    """Step ``k`` of an error unit's program: keep the input at ``X_STEP`` and B's drive
    r+ at ``RECON_STEP``; at ``ERROR_STEP`` e = sat(x - (r+ - r-)) (float: no
    saturation) with r- this step's drive; at the learning steps send the step's part of e
    and B's post factors. Returns (payload, y1, y2, y3)."""
    zeros = np.zeros_like(state.e)
    if k == hf.X_STEP:
        state.x = np.asarray(x).copy()
    elif k == hf.RECON_STEP:
        state.r_plus = np.asarray(drive).copy()
    elif k in hf.LEARNING_STEPS:
        if k == hf.ERROR_STEP:
            state.e = (hf.error(state.x, state.r_plus, drive, config.state_bits) if fixed
                       else state.x - (state.r_plus - drive))
        return _send(fixed, k, state.e, hf.ERROR, c)
    return zeros, zeros, zeros, zeros


# --- what an epoch logs ---------------------------------------------------------------------


def loihi_activity(config: HebbianLoihiConfig, events: np.ndarray,
                   n_samples: int) -> EpochActivity:
    """The activity of ``n_samples`` periods from ``events`` = the graded spikes the
    stream, the hidden units and (Oja) the error units sent. Every event into a synapse
    costs one synaptic operation per post neuron (the stream's and the error units' into
    F's ``hidden``, Oja's hidden units' into B's ``n_inputs``); every neuron updates each
    step; the learning engine updates the synapses whose pre and post neurons both took
    part in a learning step, bounded here by every hidden event times ``n_inputs`` (Oja:
    plus every error event times ``hidden``); payloads are 8 bits."""
    n_in, n = config.n_inputs, config.hidden
    stream_events, hidden_events, error_events = (int(e) for e in events)
    layers, sizes = ("input", "hebbian"), [n_in, n]
    if not config.bcm:
        layers, sizes = layers + ("error",), sizes + [n_in]
    sizes = np.array(sizes)
    into_b = 0 if config.bcm else hidden_events * n_in
    return EpochActivity(
        layers, sizes, sizes * config.period * n_samples, np.asarray(events)[:len(layers)],
        synaptic_ops=(stream_events + error_events) * n + into_b,
        neuron_updates=int(sizes[1:].sum()) * config.period * n_samples,
        learning_updates=error_events * n + hidden_events * n_in, samples=n_samples,
        payload_bits=hf.PAYLOAD_BITS * int(np.sum(events)))


def epoch_tables(config: HebbianLoihiConfig, epoch: int, before: HebbianLoihiParameters,
                 after: HebbianLoihiParameters, events: np.ndarray, n_samples: int,
                 seconds: float) -> dict[str, dict]:
    """The tables of a features epoch: its ``hebbian`` row (learning rate, the Frobenius
    norm of the weight change and the row 2-norms of W in float units, the largest
    difference between B and W^T in engine units (Oja; nan for BCM), the mean BCM
    threshold, wall time, samples/s, peak RSS) and its ``spikes`` and ``ops`` rows
    (:func:`loihi_activity`)."""
    scale = 2.0 ** -config.weight_exp
    w, w0 = after.weights * scale, before.weights * scale
    norms = np.linalg.norm(w, axis=1)
    drift = (float("nan") if config.bcm
             else float(np.abs(after.backward - after.weights.T).max()))
    row = {"epoch": [epoch], "lr": [config.lr],
           "weight_change": [float(np.linalg.norm(w - w0))],
           "weight_norm_mean": [float(norms.mean())], "weight_norm_min": [float(norms.min())],
           "weight_norm_max": [float(norms.max())], "backward_drift_max": [drift],
           "theta_mean": [float(np.mean(after.theta))], "time_s": [seconds],
           "samples_per_s": [n_samples / seconds if seconds > 0 else float("nan")],
           "peak_rss_mb": [peak_rss_mb()]}
    return {"hebbian": row, **loihi_activity(config, events, n_samples).tables(epoch)}


def n_streamed(config: HebbianLoihiConfig, n_train: int) -> int:
    """Training samples the features stage streams per epoch."""
    return n_train if config.train_samples is None else min(config.train_samples, n_train)


def chip_programs(config: HebbianLoihiConfig) -> dict[str, dict[str, int]]:
    """The widths of the graph's neuron programs (``registry.ChipGraph``): their states,
    the 8-bit graded spikes they send and the post factors (y1 <= 127, c = 2^0..2^6)."""
    widths = {"state": config.state_bits, "payload": hf.PAYLOAD_BITS,
              "post factors": fx.TRACE_MAX.bit_length()}
    programs = {"HebbianFixedHidden": dict(widths)}
    if not config.bcm:
        programs["HebbianFixedError"] = dict(widths)
    return programs


def prepare_data(config: HebbianLoihiConfig, data):
    """The readouts' batch must fit the training split."""
    n = len(data.x_train)
    size = config.readout.readout_batch_size
    require(size <= n, f"--readout-batch-size must be at most the {n} training samples, got "
            f"{size}.")
    return data


def memory_numbers(config: HebbianLoihiConfig, data: Splits) -> int:
    """The numbers a run of ``config`` holds at once (``memory.MemoryModel``), the larger of
    its two stages: the features stage holds the engine weights of F and (Oja) B, the
    thresholds, the learning engine's products and updated weights of one synapse (twice
    W) and the quantised inputs it streams; the readout stage holds the layer and
    ``ReadoutConfig.memory_numbers`` (``rules.hebbian``)."""
    n_inputs, hidden = config.n_inputs, config.hidden
    layer = (1 if config.bcm else 2) * hidden * n_inputs + hidden
    streamed = n_streamed(config, len(data.x_train)) * n_inputs
    n_samples = len(data.x_train) + len(data.x_val) + len(data.x_test)
    return max(layer + 2 * hidden * n_inputs + streamed,
               layer + config.readout.memory_numbers(n_inputs, hidden, config.n_classes,
                                                     n_samples))


MEMORY = MemoryModel(memory_numbers, ("hidden",))

_RUNNERS = "dynaxx_neuro.networks.hebbian_loihi_"

SPEC = RuleSpec(
    name="hebbian",
    graph="loihi",
    summary="Oja's subspace rule or BCM on Loihi parts: LearningDense synapses with a "
            "graded 3-factor rule, integer neurons, batch 1; then linear readouts on the "
            "host.",
    config=HebbianLoihiConfig,
    backends=(Backend("lava-fixed", _RUNNERS + "lava:HebbianLoihiLavaRunner", "fixed_pt"),
              Backend("numpy-fixed", _RUNNERS + "numpy:HebbianLoihiNumpyRunner", "numpy"),
              Backend("lava", _RUNNERS + "lava:HebbianLoihiLavaRunner", "floating_pt")),
    stages=(Stage("features", HebbianLoihiParameters),
            # The readouts train on the host, but on the features the chosen back end's
            # graph computes, so its runner serves this stage too
            # (networks.hebbian_loihi_numpy.ChipStages).
            Stage("readout", LoihiReadoutParameters, epochs_option="readout_epochs")),
    default_epochs=10,
    hidden_sizes=lambda config: (config.hidden,),
    dataset_defaults={"digits": {"hidden": 200}},
    prepare_data=prepare_data,
    label=lambda config: f"hebbian-{config.rule}-loihi",
    equal_backends=(("numpy-fixed", "lava-fixed"),),
    # A training sample takes the period; an inference sample the steps that send x, y+
    # and y-.
    chip=ChipGraph(backend="lava-fixed", reference="numpy-fixed", programs=chip_programs,
                   steps=lambda config: (config.period, hf.INFERENCE_PERIOD)),
    small={"hidden": 8, "epochs": 2, "train_samples": 30, "readout_epochs": 2},
    memory=MEMORY,
)
