"""Equilibrium propagation as a rule: its configuration (the only place its defaults live),
its parameters, and its composition, the sequence of ``kernels.ep`` calls a period makes,
written once and called by the Lava models (``models/ep.py``) and the NumPy runner
(``networks/ep_numpy.py``) alike.

One period per batch (``kernels.ep.EPSchedule``): k = 0 resets the states, then t_free free
steps, t_nudge steps at +beta and, with symmetric nudging, a restore step and t_nudge steps
at -beta. Each layer step is :func:`layer_step`; the rates at the phase ends are recorded
(:class:`PhaseRates`) and, at the last step, every synapse and bias learns from the
contrast of two of them (:func:`contrast`, :func:`synapse_update`, :func:`bias_update`)::

    (a, b, scale) = (free, +beta, beta)          one-sided nudging
                    (-beta, +beta, 2 beta)       symmetric nudging (Laborieux et al. 2021)
    dW = (rho(s_post^b) rho(s_pre^b)^T - rho(s_post^a) rho(s_pre^a)^T) / scale
    v <- mu v + dW,  W <- W + lr_e v,  lr_e = lr * lr_decay^epoch
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.activity import EpochActivity
from dynaxx_neuro.cycle import SIGNS, epoch_order, stream
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import Int, TupleOf, option, require, validate
from dynaxx_neuro.registry import Backend, RuleSpec, Stage


@dataclass(frozen=True)
class EPConfig:
    """A layered EP network, sizes (n_inputs, hidden..., n_classes), and how it learns.
    The defaults were chosen on the validation split of digits (BENCHMARKS.md)."""

    hidden: tuple[int, ...] = option((512,), "Hidden layer sizes, e.g. 500,500.",
                                     TupleOf(Int(1)))
    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Output units (from the data).", Int(2),
                                   from_data=True)
    schedule: ep.EPSchedule = ep.EPSchedule()
    dynamics: ep.EPDynamics = ep.EPDynamics()
    learning: ep.EPLearning = ep.EPLearning()
    batch_size: int = option(20, "Samples per batch (one period each).", Int(1))
    log_batches: int = option(2, "Training batches per epoch whose settling energies are "
                              "logged.", Int(0))

    def __post_init__(self):
        validate(self)
        lrs = self.learning.lrs
        require(lrs is None or len(lrs) == len(self.hidden) + 1,
                f"--lrs must hold {len(self.hidden) + 1} rates (one per weight layer), "
                f"got {lrs and len(lrs)}.")
        # With symmetric nudging a batch at -beta runs the -beta phase first and divides
        # by -2 beta: the same update, bit for bit, so the sign drawn changes nothing.
        require(not (self.learning.random_sign and self.schedule.symmetric),
                "--random-sign has no effect with symmetric nudging (the +beta and -beta "
                "phases swap and the update stays the same); add --one-sided or leave it out.")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.hidden, self.n_classes)

    @property
    def n_weight_layers(self) -> int:
        return len(self.hidden) + 1

    @property
    def lrs(self) -> tuple[float, ...]:
        return self.learning.layer_lrs(self.n_weight_layers)


@dataclass
class EPParameters:
    """Weights ``W_l`` (n_l, n_{l-1}), biases ``b_l`` and their momentum velocities."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    weight_velocities: list[np.ndarray]
    bias_velocities: list[np.ndarray]

    @classmethod
    def initial(cls, config: EPConfig, rng: np.random.Generator) -> "EPParameters":
        """Glorot-uniform weights, zero biases, zero velocities."""
        sizes = config.sizes
        weights = [ep.glorot_uniform(n_post, n_pre, rng) for n_pre, n_post in zip(sizes, sizes[1:])]
        biases = [np.zeros(n) for n in sizes[1:]]
        return cls(weights, biases, [np.zeros_like(w) for w in weights],
                   [np.zeros_like(b) for b in biases])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat name -> array mapping for checkpoints."""
        out = {}
        for name, values in (("w", self.weights), ("b", self.biases),
                             ("vw", self.weight_velocities), ("vb", self.bias_velocities)):
            out.update({f"{name}{i}": v for i, v in enumerate(values)})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: EPConfig) -> "EPParameters":
        def take(name):
            return [np.array(arrays[f"{name}{i}"], dtype=float)
                    for i in range(config.n_weight_layers)]
        return cls(take("w"), take("b"), take("vw"), take("vb"))

    def is_finite(self) -> bool:
        """Whether weights and biases are finite (velocities feed them, so they follow)."""
        return all(np.isfinite(a).all() for a in (*self.weights, *self.biases))


# --- the epoch plan ---------------------------------------------------------------------------


def epoch_plan(config: EPConfig, seed: int, n_train: int,
               epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Training sample indices (n_batches, B) and signed betas (n_batches,) of an epoch,
    from the run's ORDER and SIGNS streams (a resumed run streams the same)."""
    index = epoch_order(seed, epoch, n_train, config.batch_size)
    betas = ep.batch_betas(len(index), config.dynamics.beta, epoch, config.learning,
                           stream(seed, epoch, SIGNS))
    return index, betas


# --- the composition of a period --------------------------------------------------------------


def layer_step(schedule: ep.EPSchedule, k: int, s: np.ndarray, s_free: np.ndarray | None,
               total_drive: np.ndarray, bias: np.ndarray, eps: float, beta_k: float,
               target: np.ndarray) -> np.ndarray:
    """The state of a layer after period step ``k``: reset to 0, restore the free
    equilibrium ``s_free``, or one settling step on F (``beta_k`` is 0 except for the output
    layer in a nudged phase)."""
    code = schedule.phase(k)
    if code == ep.RESET:
        return np.zeros_like(s)
    if code == ep.RESTORE:
        return s_free.copy()
    return ep.settle_step(s, total_drive, bias, eps, beta_k, target)


class PhaseRates:
    """The rates a process saw at the ends of the free, +beta and -beta phases of a period,
    and the contrastive pair they give (one object per layer or synapse)."""

    def __init__(self, schedule: ep.EPSchedule):
        self.schedule = schedule
        self.ends = (schedule.free_end, schedule.nudged_end, schedule.period - 1)
        self.rates: dict[int, tuple[np.ndarray, ...]] = {}

    def record(self, k: int, *rates: np.ndarray) -> None:
        if k in self.ends:
            self.rates[k] = tuple(r.copy() for r in rates)

    def contrast(self, beta: float):
        """((rates of phase a), (rates of phase b), scale) of this period's update."""
        schedule = self.schedule
        phase_a = schedule.period - 1 if schedule.symmetric else schedule.free_end
        return (self.rates[phase_a], self.rates[schedule.nudged_end],
                ep.contrast_scale(beta, schedule.symmetric))


def synapse_update(w: np.ndarray, velocity: np.ndarray, pair, lr: float,
                   momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """The contrastive update of a synapse from ``PhaseRates.contrast`` of its (post, pre)
    rates, with momentum."""
    (post_a, pre_a), (post_b, pre_b), scale = pair
    dw = ep.contrastive_dw(post_a, pre_a, post_b, pre_b, scale)
    return ep.momentum_step(w, velocity, dw, lr, momentum)


def bias_update(b: np.ndarray, velocity: np.ndarray, pair, lr: float,
                momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """The contrastive update of a layer's bias from ``PhaseRates.contrast`` of its rates."""
    (post_a,), (post_b,), scale = pair
    return ep.momentum_step(b, velocity, ep.contrastive_db(post_a, post_b, scale), lr,
                            momentum)


# --- the network's settling (the NumPy runner and the analysis layer) ----------------------


@dataclass
class BackwardCopies:
    """The backward synapses' W_l^T and momentum velocities for l >= 1, as contiguous
    arrays of their own (what ``EPLavaRunner``'s backward synapse processes hold)."""

    weights: list[np.ndarray]
    velocities: list[np.ndarray]

    @classmethod
    def of(cls, params: EPParameters) -> "BackwardCopies":
        """Fresh copies of the transposes of ``params``' weights above the first layer."""
        return cls([w.T.copy() for w in params.weights[1:]],
                   [v.T.copy() for v in params.weight_velocities[1:]])


def layer_drives(params: EPParameters, backward: BackwardCopies, input_drive: np.ndarray,
                 rates: list[np.ndarray]) -> list[np.ndarray]:
    """Total drive of every layer from the rates rho(s) the layers sent in the previous
    step: from below (W_l) plus from above (the backward copy of W_{l+1}^T).

    ``input_drive`` is W_0 x: the input is clamped and W_0 changes only when learning, so
    it is computed once per period (the Lava synapse recomputes the same product each step).
    """
    out = []
    for l in range(len(params.weights)):
        total = input_drive if l == 0 else ep.drive(params.weights[l], rates[l - 1])
        if l + 1 < len(params.weights):
            total = total + ep.drive(backward.weights[l], rates[l + 1])
        out.append(total)
    return out


def free_phase(params: EPParameters, backward: BackwardCopies, x: np.ndarray,
               config: EPConfig) -> np.ndarray:
    """Rates of every layer (hidden..., output) at the free equilibrium (reset, then t_free
    synchronous steps)."""
    states = [np.zeros((x.shape[0], n)) for n in config.sizes[1:]]
    input_drive = ep.drive(params.weights[0], x)
    for _ in range(config.schedule.t_free):
        drives = layer_drives(params, backward, input_drive, [ep.rho(s) for s in states])
        states = [ep.settle_step(s, d, b, config.dynamics.eps)
                  for s, d, b in zip(states, drives, params.biases)]
    return [ep.rho(s) for s in states]


# --- what an epoch logs -----------------------------------------------------------------------


def energy_table(epoch: int, energies: np.ndarray, schedule: ep.EPSchedule) -> dict:
    """Long-form settling energies of the logged batches of an epoch.

    ``energies`` is (3, n_logged, period, B): E, C and F at every period step. One row per
    (batch, period step, sample) with the phase and the step index inside the phase.
    """
    _, n_batches, period, batch = energies.shape
    grid = np.indices((n_batches, period, batch)).reshape(3, -1)
    steps = grid[1]
    phases = np.array([ep.PHASE_NAMES[schedule.phase(k)] for k in range(period)])
    phase_steps = np.array([schedule.phase_step(k) for k in range(period)])
    energy, cost, total = (values.ravel() for values in energies)
    return {"epoch": np.full(steps.size, epoch), "batch": grid[0], "sample": grid[2],
            "period_step": steps, "phase": phases[steps], "step": phase_steps[steps],
            "E": energy, "C": cost, "F": total}


def layer_names(n_layers: int) -> list[str]:
    """Names of the layers of ``sizes`` in order: input, hidden 1, ..., output."""
    return ["input", *(f"hidden {j}" for j in range(1, n_layers - 1)), "output"]


def ep_activity(sizes: tuple[int, ...], events: np.ndarray, period: int,
                n_samples: int) -> EpochActivity:
    """The activity of the training periods of an epoch from ``events[j]``, the graded
    spikes (non-zero rates) layer j sent in them (j = 0: the clamped input, sent at every
    period step).

    With n_j = sizes[j], L = len(sizes) - 1 and P = period, per epoch of N samples::

        layer j:          events e_j over n_j * P * N neuron-steps
        synaptic_ops    = sum_{j<L} e_j n_{j+1}  +  sum_{j>=2} e_j n_{j-1}
                          (forward synapse into layer j+1, backward copy into layer j-1;
                          the input receives nothing)
        neuron_updates  = sum_{j>=1} n_j * P * N
        learning_updates= N * (sum_{j<L} n_j n_{j+1} + sum_{1<=j<L} n_j n_{j+1}
                          + sum_{j>=1} n_j)
                          (on chip one sample is one learning epoch, and the learning engine
                          visits every synapse of both copies and every bias)
    """
    sizes = np.asarray(sizes)
    steps = sizes * period * n_samples
    synapses = sizes[:-1] @ sizes[1:] + sizes[1:-1] @ sizes[2:] + sizes[1:].sum()
    return EpochActivity(tuple(layer_names(len(sizes))), sizes, steps, np.asarray(events),
                         synaptic_ops=int(events[:-1] @ sizes[1:] + events[2:] @ sizes[1:-1]),
                         neuron_updates=int(steps[1:].sum()),
                         learning_updates=int(n_samples * synapses), samples=n_samples)


def memory_numbers(config: EPConfig, data: Splits) -> int:
    """The numbers a run of ``config`` holds at once (``memory.MemoryModel``): the weights
    and biases with their momentum velocities, the backward copies of W_l^T (l >= 1) with
    theirs, one contrastive dW per synapse (the update's), and per batch of B samples eight
    (B, n) arrays per layer (states, drives, rates, the free equilibrium, the three
    recorded phase ends) and the logged settling energies."""
    sizes, batch = config.sizes, config.batch_size
    synapses = sum(n_pre * n_post for n_pre, n_post in zip(sizes, sizes[1:]))
    backward = synapses - sizes[0] * sizes[1]
    buffers = 8 * batch * sum(sizes) + 3 * config.log_batches * config.schedule.period * batch
    return 2 * (synapses + backward + sum(sizes[1:])) + synapses + backward + buffers


MEMORY = MemoryModel(memory_numbers, ("hidden",))

SPEC = RuleSpec(
    name="ep",
    graph="rate",
    summary="Equilibrium propagation (Scellier & Bengio 2017) on Lava or NumPy.",
    config=EPConfig,
    backends=(Backend("lava", "dynaxx_neuro.networks.ep_lava:EPLavaRunner", "floating_pt"),
              Backend("numpy", "dynaxx_neuro.networks.ep_numpy:EPNumpyRunner", "numpy")),
    stages=(Stage("train", EPParameters),),
    default_epochs=30,
    hidden_sizes=lambda config: config.hidden,
    dataset_defaults={"fashion-mnist": {"hidden": (500,)}, "mnist": {"hidden": (500,)}},
    small={"hidden": (12,), "t_free": 4, "t_nudge": 2, "batch_size": 50, "epochs": 2},
    memory=MEMORY,
)
