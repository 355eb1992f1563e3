"""Target propagation as a rule: its configuration (the only place its defaults live), its
parameters, and its composition, the per-process steps of a period written once and called
by the Lava models (``models/tp.py``) and the NumPy runner (``networks/tp_numpy.py``) alike.
The maths is ``kernels.tp``.

A period per batch of B samples, for L weight layers (forward layer l maps h_l to h_{l+1};
feedback layer l, for l >= 1, maps differences at h_{l+1} (DTP) or at the output (DDTP)
back to h_l). Messages carry ``blocks(config)`` stacked copies of the batch: block 0 is the
clean pass; block 1 (DTP) or block l (DDTP-linear) is where forward layer l replaces its
input by h_l + sigma eps, the noise its feedback layer learns from::

    k = 0         the source sends x; forward layer 0 computes f_0(x) (tiled to every block)
    k = l         forward layer l computes its output from its input  (:func:`layer_forward`)
    k = L         the readout takes the logits (block 0) and makes delta_L (:func:`readout_delta`)
    k = arrive(l) delta_{l+1} reaches forward layer l and feedback layer l (:func:`Schedule`);
                  the feedback layer makes delta_l (:func:`feedback_delta`)
    last k        every layer learns from what it kept (:func:`learn_forward`, :func:`learn_feedback`)

Every hop is one time step (each process sends what it computed in the step before), so
DTP's differences walk down one layer per step and DDTP-linear's arrive all at once.
Evaluation periods run the clean forward pass only (L + 1 steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.cycle import NOISE, epoch_order, stream
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import tp
from dynaxx_neuro.kernels.ep import glorot_uniform
from dynaxx_neuro.kernels.optimizer import Optimizer, TensorState
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import (Int, OneOf, Optional, Real, TupleOf, option, require,
                                 validate)
from dynaxx_neuro.registry import Backend, RuleSpec, Stage


@dataclass(frozen=True)
class TPLearning:
    """How targets are made and how every layer learns from them."""

    variant: str = option("dtp", "dtp: learned inverses layer by layer (Lee et al. 2015); "
                          "ddtp-linear: direct linear feedback from the output "
                          "(Meulemans et al. 2020).", OneOf(tp.VARIANTS))
    target_step: float = option(0.5, "eta: the output target's step on the loss, "
                                "tau_L = h_L - eta dL/dh_L.", Real(0.0, low_open=True))
    lr: float = option(1e-3, "Forward learning rate of every layer.", Real(0.0))
    lrs: tuple[float, ...] | None = option(None, "Forward learning rate per weight layer "
                                           "(overrides --lr).", Optional(TupleOf(Real(0.0))))
    feedback_lr: float = option(1e-2, "Learning rate of the inverses (DTP) or the feedback "
                                "matrices (DDTP-linear).", Real(0.0))
    noise: float = option(0.1, "sigma of the noise around h_l the feedback learns from.",
                          Real(0.0, low_open=True))
    optimizer: Optimizer = Optimizer()

    def __post_init__(self):
        validate(self)


@dataclass(frozen=True)
class TPConfig:
    """A tanh network of sizes (n_inputs, hidden..., n_classes) with a linear softmax
    output, trained by target propagation."""

    hidden: tuple[int, ...] = option((256, 256, 256), "Hidden layer sizes, e.g. 256,256,256.",
                                     TupleOf(Int(1)))
    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Output units (from the data).", Int(2),
                                   from_data=True)
    learning: TPLearning = TPLearning()
    batch_size: int = option(32, "Samples per batch (one period each).", Int(1))
    angle_samples: int = option(500, "Training samples on which the angle between the TP "
                                "update and the backprop gradient is measured after every "
                                "epoch (0: not measured).", Int(0))

    def __post_init__(self):
        validate(self)
        lrs = self.learning.lrs
        require(lrs is None or len(lrs) == self.n_layers,
                f"--lrs must hold {self.n_layers} rates (one per weight layer), "
                f"got {lrs and len(lrs)}.")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.hidden, self.n_classes)

    @property
    def n_layers(self) -> int:
        """Weight layers L."""
        return len(self.hidden) + 1

    @property
    def lrs(self) -> tuple[float, ...]:
        return self.learning.lrs or (self.learning.lr,) * self.n_layers

    @property
    def direct(self) -> bool:
        """Whether the feedback is direct from the output (DDTP-linear)."""
        return self.learning.variant == "ddtp-linear"


@dataclass
class TPParameters:
    """Forward layers (W_l (n_{l+1}, n_l), b_l) and feedback layers for l = 1..L-1 (DTP:
    inverse V_l (n_l, n_{l+1}) and c_l; DDTP-linear: Q_l (n_l, n_L), its bias unused at 0),
    each with its optimiser state."""

    forward: list[TensorState]
    feedback: list[TensorState]

    @classmethod
    def initial(cls, config: TPConfig, rng: np.random.Generator) -> "TPParameters":
        """Glorot-uniform weights, zero biases and moments."""
        sizes = config.sizes
        forward = [TensorState.fresh(glorot_uniform(n_post, n_pre, rng))
                   for n_pre, n_post in zip(sizes, sizes[1:])]
        feedback = [TensorState.fresh(glorot_uniform(sizes[l], sizes[-1] if config.direct
                                                     else sizes[l + 1], rng))
                    for l in range(1, config.n_layers)]
        return cls(forward, feedback)

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for l, state in enumerate(self.forward):
            out.update(state.to_arrays(f"forward{l}_"))
        for l, state in enumerate(self.feedback, start=1):
            out.update(state.to_arrays(f"feedback{l}_"))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: TPConfig) -> "TPParameters":
        return cls([TensorState.from_arrays(arrays, f"forward{l}_")
                    for l in range(config.n_layers)],
                   [TensorState.from_arrays(arrays, f"feedback{l}_")
                    for l in range(1, config.n_layers)])


# --- the period ---------------------------------------------------------------------------


def blocks(config: TPConfig) -> int:
    """Stacked copies of the batch in every message: the clean pass and the noisy ones."""
    if config.n_layers == 1:
        return 1
    return config.n_layers if config.direct else 2


def noisy_block(config: TPConfig, l: int) -> int:
    """The block forward layer l (>= 1) replaces by its noisy input."""
    return l if config.direct else 1


@dataclass(frozen=True)
class Schedule:
    """The period steps of a configuration (module docstring)."""

    n_layers: int
    direct: bool

    @classmethod
    def of(cls, config: TPConfig) -> "Schedule":
        return cls(config.n_layers, config.direct)

    @property
    def top(self) -> int:
        """The step at which the readout takes the logits."""
        return self.n_layers

    def arrive(self, l: int) -> int:
        """The step at which delta_{l+1}, the difference at forward layer l's output, reaches
        forward layer l and feedback layer l."""
        last = self.n_layers - 1
        if l == last:
            return self.top + 1
        return self.top + 2 if self.direct else self.top + 1 + last - l

    def feedback_step(self, l: int) -> int:
        """The step at which feedback layer l (>= 1) receives the difference above it and
        makes delta_l (sent in the next step, ``arrive(l - 1)``)."""
        return self.arrive(l) if not self.direct else self.top + 1

    def seen_step(self, l: int) -> int:
        """The step at which feedback layer l receives what it reads: forward layer l's
        output (DTP) or the logits (DDTP-linear)."""
        return self.top if self.direct else l + 1

    @property
    def train_period(self) -> int:
        return self.arrive(0) + 1

    @property
    def eval_period(self) -> int:
        return self.top + 1


def noise_rng(seed: int, epoch: int, batch: int, l: int) -> np.random.Generator:
    """The stream of forward layer l's noise in a training batch."""
    return stream(seed, epoch, batch, l, NOISE)


def layer_forward(state: TensorState, h_in: np.ndarray, l: int, config: TPConfig,
                  rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Forward layer l's output rows (every block) and, in training (``rng`` given) for
    l >= 1, its probe [h_l; h~_l] (2B rows) with h~_l = h_l + sigma eps in the noisy block.
    Evaluation computes the clean block and tiles it (no noise)."""
    top, batch, n_blocks = l == config.n_layers - 1, config.batch_size, blocks(config)
    if l == 0 or rng is None:
        clean = tp.forward_rows(state.w, state.b, h_in[:batch], top)
        return np.tile(clean, (n_blocks, 1)), None
    rows = h_in.copy()
    clean = h_in[:batch]
    noisy = clean + config.learning.noise * rng.standard_normal(clean.shape)
    block = noisy_block(config, l)
    rows[block * batch:(block + 1) * batch] = noisy
    return tp.forward_rows(state.w, state.b, rows, top), np.concatenate([clean, noisy])


def readout_delta(logits: np.ndarray, targets: np.ndarray, config: TPConfig) -> np.ndarray:
    """delta_L of the clean block's logits."""
    return tp.top_delta(logits[:config.batch_size], targets, config.learning.target_step)


def feedback_delta(state: TensorState, h_rows: np.ndarray, delta_above: np.ndarray,
                   config: TPConfig) -> np.ndarray:
    """delta_l of feedback layer l from the difference above it: DTP from delta_{l+1} at
    forward layer l's output ``h_rows``, DDTP-linear from delta_L."""
    if config.direct:
        return tp.ddtp_delta(state.w, delta_above)
    return tp.dtp_delta(state.w, state.b, h_rows[:config.batch_size], delta_above)


def learn_forward(state: TensorState, h_in: np.ndarray, h_out: np.ndarray, delta: np.ndarray,
                  l: int, config: TPConfig) -> TensorState:
    """Forward layer l's step on its local loss, from the clean block."""
    batch = config.batch_size
    dw, db = tp.forward_grads(h_in[:batch], h_out[:batch], delta, l == config.n_layers - 1)
    return state.updated(dw, db, config.lrs[l], config.learning.optimizer)


def learn_feedback(state: TensorState, probe: np.ndarray, h_rows: np.ndarray, l: int,
                   config: TPConfig) -> TensorState:
    """Feedback layer l's step on its reconstruction loss: DTP from f_l(h~_l) (the noisy
    block of forward layer l's output ``h_rows``), DDTP-linear from the output's response
    (the noisy block of the logits ``h_rows`` minus the clean one)."""
    batch = config.batch_size
    clean, noisy = probe[:batch], probe[batch:]
    block = h_rows[noisy_block(config, l) * batch:][:batch]
    if config.direct:
        dq = tp.feedback_grads(state.w, block - h_rows[:batch], noisy - clean)
        dw, db = dq, np.zeros_like(state.b)
    else:
        dw, db = tp.inverse_grads(state.w, state.b, noisy, block)
    return state.updated(dw, db, config.learning.feedback_lr, config.learning.optimizer)


# --- the alignment with backprop (after every epoch) -----------------------------------------


def alignment(params: TPParameters, x: np.ndarray, targets: np.ndarray,
              config: TPConfig) -> list[float]:
    """Per weight layer, the angle in degrees between the TP update direction (the gradient
    of the layer's local loss, noise-free) and the backprop gradient of the loss, on the
    rows ``x``."""
    weights = [s.w for s in params.forward]
    biases = [s.b for s in params.forward]
    hs = [x]
    for l, (w, b) in enumerate(zip(weights, biases)):
        hs.append(tp.forward_rows(w, b, hs[-1], l == config.n_layers - 1))
    deltas = {config.n_layers - 1: tp.top_delta(hs[-1], targets, config.learning.target_step)}
    for l in range(config.n_layers - 1, 0, -1):
        state = params.feedback[l - 1]
        deltas[l - 1] = (tp.ddtp_delta(state.w, deltas[config.n_layers - 1]) if config.direct
                         else tp.dtp_delta(state.w, state.b, hs[l + 1], deltas[l]))
    backprop = tp.backprop_gradients(weights, biases, x, targets)
    return [tp.angle_degrees(tp.forward_grads(hs[l], hs[l + 1], deltas[l],
                                              l == config.n_layers - 1)[0], backprop[l])
            for l in range(config.n_layers)]


def alignment_table(epoch: int, angles: list[float]) -> dict[str, np.ndarray]:
    """The ``alignment`` table rows of an epoch: one per weight layer (numbered from 1)."""
    return {"epoch": np.full(len(angles), epoch), "layer": np.arange(1, len(angles) + 1),
            "angle_deg": np.asarray(angles, dtype=float)}


def alignment_rows(config: TPConfig, data: Splits) -> np.ndarray:
    """The training samples the alignment is measured on: the first ``angle_samples``."""
    return np.arange(min(config.angle_samples, len(data.x_train)))


def epoch_plan(config: TPConfig, seed: int, n_train: int, epoch: int) -> np.ndarray:
    """Training sample indices (n_batches, B) of an epoch."""
    return epoch_order(seed, epoch, n_train, config.batch_size)


def memory_numbers(config: TPConfig, data: Splits) -> int:
    """The numbers a run holds at once (``memory.MemoryModel``): every forward and feedback
    matrix and bias with its two Adam moments and one gradient, and per batch each layer's
    input, output and probe rows (``blocks`` copies of B rows) and the alignment's
    activations of ``angle_samples`` rows (twice: forward and backprop)."""
    sizes = config.sizes
    forward = sum(n_pre * n_post + n_post for n_pre, n_post in zip(sizes, sizes[1:]))
    feedback = sum(sizes[l] * ((sizes[-1] if config.direct else sizes[l + 1]) + 1)
                   for l in range(1, config.n_layers))
    rows = (2 * blocks(config) + 2) * config.batch_size * sum(sizes)
    return 4 * (forward + feedback) + rows + 2 * min(config.angle_samples,
                                                     len(data.x_train)) * sum(sizes)


MEMORY = MemoryModel(memory_numbers, ("hidden",))

SPEC = RuleSpec(
    name="tp",
    summary="Difference target propagation (Lee et al. 2015; DDTP-linear, Meulemans et al. "
            "2020) on Lava or NumPy.",
    config=TPConfig,
    backends=(Backend("lava", "dynaxx_neuro.networks.tp_lava:TPLavaRunner", "floating_pt"),
              Backend("numpy", "dynaxx_neuro.networks.tp_numpy:TPNumpyRunner", "numpy")),
    stages=(Stage("train", TPParameters),),
    default_epochs=30,
    hidden_sizes=lambda config: config.hidden,
    # Chosen on Fashion-MNIST's validation split (BENCHMARKS.md): DDTP-linear 89.1 % against
    # DTP's 87.4 % after 20 epochs at lr 3e-4 (lr 1e-3 peaks early and falls back).
    dataset_defaults={"fashion-mnist": {"variant": "ddtp-linear", "lr": 3e-4, "epochs": 20},
                      "mnist": {"variant": "ddtp-linear", "lr": 3e-4, "epochs": 20}},
    small={"hidden": (16, 16), "batch_size": 50, "angle_samples": 100, "epochs": 2},
    memory=MEMORY,
)
