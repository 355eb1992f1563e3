"""Spiking STDP as a rule: a Diehl & Cook (2015)-style network that learns with pair STDP,
built only from processes Loihi runs. This module holds its configuration (the only place
its defaults live), its parameters, and its composition: the order of samples, the
schedule of a presentation pass, the read-out and what a pass logs, shared by the Lava
graph (``networks/stdp_lava.py``, ``floating_pt`` or ``fixed_pt`` models) and the NumPy
loop (``networks/stdp_numpy.py``).

Graph of one presentation pass (training, or labelling and evaluation)::

    RateCodedSource --s--> LearningDense W (n, n_in) --a--> ATRLIF (n) --s--+--> SpikeRecorder
          |                (Dense W when not learning) ^        ^          |
          |                        ^-- s_in_bap (post) |        +-- Dense -w_inh (all ones)
          +-------------------------------------------------------------> SpikeRecorder

- Input: the pixels spike with probabilities proportional to their intensities, summing to
  ``input_rate`` expected spikes per step, for ``t_present`` steps, then ``t_rest`` silent
  steps let states decay (``processes.stdp``). One sample per period: a pass over N samples
  is one ``cycle.EpochCycle`` of N one-sample periods (:func:`pass_cycle`).
- Excitatory layer: Lava's ATRLIF (``kernels.neurons.atrlif_float_step``), whose adaptive
  threshold is Diehl & Cook's homeostasis: theta rises by ``theta_step`` at each spike and
  relaxes to ``theta_0`` with rate ``delta_theta`` (by default not at all, see
  :class:`AdaptiveLIF`); ATRLIF's refractory state r (r += 2 theta at a spike) replaces the
  reset.
- Inhibition: a static ``Dense`` from the layer onto itself with weight ``-w_inh``
  everywhere, the diagonal included: the winner silences the others, as Diehl & Cook's
  inhibitory pool does, and, because ATRLIF has no voltage reset, inhibits itself as much.
  Without the diagonal the winner of one sample keeps the others tens of units below
  threshold into the next sample and wins every sample after (membranes are not reset
  between samples).
- Learning: ``LearningDense`` with the pair rule of ``kernels.stdp`` as a
  ``Loihi2FLearningRule`` (traces x1/y1, learning epoch of one step); weights are bounded
  by the rule's soft bounds and Lava's excitatory sign mode, and every ``normalise_every``
  samples the host rescales each neuron's incoming weights to sum to ``w_sum``. Diehl &
  Cook normalise after every sample; here a host read and write of the weights costs
  about 0.8 s (Lava 0.10 moves a Var one element at a time), four training samples' worth,
  and every 10 samples is as accurate as every sample on the digits validation split
  (87.1 % against 86.2 %, three seeds; every 50: 85.2 %).
- Read-out: after training, a pass without learning (static ``Dense``, thresholds frozen),
  whose samples may be shown longer and at a higher rate than in training
  (:class:`Presentation`), labels every neuron with the class it answers most
  (``kernels.stdp.assign_labels``) and classifies validation and test samples by the vote
  of the labelled neurons' spike counts, each neuron weighted by its selectivity
  (``vote="proportion"``, BindsNET's read-out) or all alike (``"mean"``, Diehl & Cook's);
  see :func:`read_out`.

Random streams (``cycle.stream``): the training order is the run's shared shuffle
(``cycle.epoch_order``, batch 1); the Poisson input spikes of the training and the
read-out pass of an epoch come from ``stream(seed, epoch, TRAIN_SPIKES)`` and
``stream(seed, epoch, EVAL_SPIKES)``, so evaluating a checkpoint again draws the spikes
its run drew; subsets (``n_train``, ``n_test``) from ``stream(seed, SUBSET)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.cycle import SUBSET, EpochCycle, epoch_order, stream
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels.neurons import ATRLIFFloat
from dynaxx_neuro.kernels.stdp import (STDPRule, assign_labels, label_proportions,
                                       normalise_rows, vote)
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import (Fraction, Int, OneOf, Optional, Real, option, require,
                                 validate)
from dynaxx_neuro.registry import Backend, ChipGraph, RuleSpec, Stage

# Purposes of the input-spike streams of an epoch's two passes (``stream(seed, epoch, key)``,
# the keys these passes have always used; no other stream of an STDP run shares them).
TRAIN_SPIKES, EVAL_SPIKES = 2, 3


@dataclass(frozen=True)
class AdaptiveLIF:
    """The excitatory ATRLIF layer (decays are per-step fractions, Lava's ``delta_*``)::

        i[t] = (1 - delta_i) i[t-1] + a[t]        v[t] = (1 - delta_v) v[t-1] + i[t]
        theta[t] = (1 - delta_theta)(theta[t-1] - theta_0) + theta_0
        r[t] = (1 - delta_r) r[t-1]               spike: v - r >= theta
        at a spike: r += 2 theta, theta += theta_step

    ``w_inh`` is the inhibition each spike sends to every neuron of the layer, itself
    included.

    Defaults (chosen on the digits validation split, mean of three network seeds): the
    thresholds never relax (``delta_theta`` 0), as in Diehl & Cook, whose theta decays with
    a time constant of 10**7 ms, far beyond a run: thresholds then climb from ``theta_0``
    4 to about 25 over the epoch, and about six neurons fire, mostly once each, per
    training sample (``w_inh`` 6). Relaxing at 2**-12 per step (the smallest decay
    ATRLIF's fixed point has) they stay near 9, about 18 neurons fire and learn per
    sample, and validation accuracy falls from 87 % to 73 %.
    """

    n_neurons: int = option(200, "Excitatory ATRLIF neurons.", Int(2), cli="--neurons")
    delta_i: float = option(1.0, "Per-step current decay.", Fraction(open_low=True))
    delta_v: float = option(0.05, "Per-step voltage decay.", Fraction(open_low=True))
    delta_r: float = option(0.5, "Per-step refractory decay.", Fraction(open_low=True))
    delta_theta: float = option(0.0, "Per-step relaxation of the threshold to theta-0.",
                                Fraction())
    theta_0: float = option(4.0, "Resting threshold.", Real(0, low_open=True))
    theta_step: float = option(0.5, "Threshold increase per spike (homeostasis).", Real(0))
    w_inh: float = option(6.0, "Lateral inhibition per spike.", Real(0))

    def __post_init__(self):
        validate(self)

    def atrlif(self, learn: bool) -> ATRLIFFloat:
        """The layer's ATRLIF parameters in a training pass (``learn``) or in the read-out
        pass, where thresholds are frozen (no relaxation, no rise)."""
        return ATRLIFFloat(self.delta_i, self.delta_v, self.delta_r,
                           self.delta_theta if learn else 0.0, self.theta_0,
                           self.theta_step if learn else 0.0)


@dataclass(frozen=True)
class Presentation:
    """How a sample is shown: ``t_present`` steps of Poisson spikes, ``input_rate`` spikes
    per step expected from the whole image (``kernels.stdp.rate_code``), then ``t_rest``
    silent steps. The labelling and evaluation pass shows each sample for
    ``t_present_eval`` steps at ``input_rate_eval`` spikes per step and rests
    ``t_rest_eval`` steps (None: as in training).

    A longer or denser read-out presentation brings more output spikes per sample (at the
    defaults about 35 instead of the 6 of a training sample), and the labelled-neuron vote
    is a vote on counts, whose sampling noise falls as they grow (Diehl & Cook re-present
    a sample that brings fewer than 5 spikes). Training keeps the lower rate: there fewer
    spikes per sample mean fewer neurons learn each sample. A longer rest lets the
    membranes, which are never reset, decay further between samples: v shrinks by
    (1 - delta_v)**t_rest.

    Defaults, chosen on the digits validation split: read-out samples three times as long
    as training ones, with a longer rest and a higher rate (10 instead of 6 spikes per
    step: validation 88.3 % against 87.1 %, mean of three seeds, Diehl & Cook's vote).
    """

    t_present: int = option(40, "Steps each sample is shown.", Int(1))
    t_rest: int = option(10, "Silent steps after each sample.", Int(0))
    input_rate: float = option(6.0, "Input spikes per step expected from a whole image.",
                               Real(0, low_open=True))
    t_present_eval: int | None = option(120, "Steps each sample is shown when labelling and "
                                        "evaluating.", Optional(Int(1)))
    t_rest_eval: int | None = option(30, "Silent steps after each sample when labelling and "
                                     "evaluating.", Optional(Int(0)))
    input_rate_eval: float | None = option(10.0, "Input spikes per step when labelling and "
                                           "evaluating.",
                                           Optional(Real(0, low_open=True)))

    def __post_init__(self):
        validate(self)

    @property
    def period(self) -> int:
        """Steps of a training sample."""
        return self.t_present + self.t_rest

    def schedule(self, learn: bool) -> tuple[int, int]:
        """(steps shown, silent steps) of a sample in a training pass (``learn``) or in the
        labelling and evaluation pass."""
        if learn:
            return self.t_present, self.t_rest
        return (self.t_present if self.t_present_eval is None else self.t_present_eval,
                self.t_rest if self.t_rest_eval is None else self.t_rest_eval)

    def rate(self, learn: bool) -> float:
        """Input spikes per step expected from an image in a training pass (``learn``) or
        in the labelling and evaluation pass."""
        return self.input_rate if learn or self.input_rate_eval is None else self.input_rate_eval


# Read-outs of the labelled neurons (``kernels.stdp.vote``): "mean" is Diehl & Cook's vote
# (every labelled neuron counts alike), "proportion" BindsNET's, which weights each neuron
# by how selective it was for its label (``kernels.stdp.label_proportions``). On the
# digits validation split "proportion" was the better one in 71 % of 119 runs of the
# settings search (by 1.0 points on average; at the defaults 89.3 % against 88.7 %, five
# seeds), hence the default.
VOTES = ("mean", "proportion")


@dataclass(frozen=True)
class STDPConfig:
    """Everything that defines a run of the network (stored in run.json); the same for the
    float and the fixed-point back ends. The defaults were chosen on the digits validation
    split (BENCHMARKS.md).

    ``n_label`` training samples (0: all) label the neurons; every ``normalise_every``
    training samples the host rescales each neuron's weights to sum to ``w_sum`` (see the
    module docstring for the cost); ``n_train``/``n_test`` take random subsets of the data
    (:func:`subsets`).
    """

    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Classes (from the data).", Int(2), from_data=True)
    neurons: AdaptiveLIF = AdaptiveLIF()
    presentation: Presentation = Presentation()
    rule: STDPRule = STDPRule()
    w_sum: float = option(8.0, "Sum of each neuron's incoming weights after normalisation.",
                          Real(0, low_open=True))
    normalise_every: int = option(10, "Samples between two weight normalisations.", Int(1))
    n_label: int = option(0, "Training samples that label the neurons (0: all).", Int(0))
    vote: str = option("proportion", "Read-out: mean (Diehl & Cook: labelled neurons count "
                       "alike) or proportion (BindsNET: each weighted by how selective it is "
                       "for its label).", OneOf(VOTES))
    n_logged: int = option(1, "Samples per pass whose spikes are logged.", Int(0))
    n_train: int = option(0, "Random subset of training samples (0: all).", Int(0))
    n_test: int = option(0, "Random subset of test samples (0: all).", Int(0))

    def __post_init__(self):
        validate(self)
        if self.n_inputs is not None:
            most = self.rule.w_max * self.n_inputs
            require(self.w_sum <= most, f"--w-sum must be at most --w-max times the input "
                                        f"width ({most:g}), got {self.w_sum!r}.")


@dataclass
class STDPParameters:
    """What training changes: weights (n_neurons, n_inputs) and thresholds (n_neurons,),
    in float units."""

    weights: np.ndarray
    theta: np.ndarray

    @classmethod
    def initial(cls, config: STDPConfig, rng: np.random.Generator) -> "STDPParameters":
        """Uniform random weights normalised to ``w_sum`` per neuron; thresholds theta_0."""
        n = config.neurons.n_neurons
        weights = normalise_rows(rng.uniform(0.0, 1.0, (n, config.n_inputs)), config.w_sum)
        return cls(np.minimum(weights, config.rule.w_max), np.full(n, config.neurons.theta_0))

    def to_arrays(self) -> dict[str, np.ndarray]:
        # "w0" is the name the plots know for the first weight layer (receptive fields).
        return {"w0": self.weights, "theta": self.theta}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: STDPConfig) -> "STDPParameters":
        return cls(np.asarray(arrays["w0"], float), np.asarray(arrays["theta"], float))

    def is_finite(self) -> bool:
        return bool(np.all(np.isfinite(self.weights)) and np.all(np.isfinite(self.theta)))


@dataclass
class PassRecord:
    """What one presentation pass read back: spike counts (n_samples, n_neurons), input
    spikes per sample, the rasters of the logged samples, and (training) the parameters."""

    counts: np.ndarray
    input_spikes: np.ndarray
    in_raster: np.ndarray
    out_raster: np.ndarray
    params: STDPParameters | None = None


# --- the composition of an epoch ---------------------------------------------------------------


def training_order(seed: int, epoch: int, n_train: int) -> np.ndarray:
    """Training sample indices of an epoch in the order shown, one per period: the run's
    shared shuffle (``cycle.epoch_order`` with batch 1)."""
    return epoch_order(seed, epoch, n_train, 1).ravel()


def input_seed(seed: int, epoch: int, learn: bool) -> int:
    """The seed of the Poisson input spikes of an epoch's training pass (``learn``) or
    read-out pass, for the source model's and the NumPy loop's Generator."""
    key = TRAIN_SPIKES if learn else EVAL_SPIKES
    return int(stream(seed, epoch, key).integers(2 ** 31 - 1))


def pass_cycle(config: STDPConfig, n_samples: int, learn: bool) -> EpochCycle:
    """The schedule of a pass over ``n_samples`` samples: one sample per period of
    ``sum(presentation.schedule(learn))`` steps, the first ``n_logged`` logged."""
    return EpochCycle(n_train=n_samples, n_val=0, n_test=0, batch_size=1,
                      train_period=sum(config.presentation.schedule(learn)),
                      log_batches=config.n_logged)


def read_out(counts: np.ndarray, y_label: np.ndarray, config: STDPConfig) -> np.ndarray:
    """Predicted class of every counted sample: the neurons are labelled on the first
    ``len(y_label)`` rows of ``counts`` (their labelling samples), then every row is
    classified by the vote of ``config.vote``. counts (n_samples, n_neurons) ->
    (n_samples,)."""
    label_counts = counts[:len(y_label)]
    neuron_labels = assign_labels(label_counts, y_label, config.n_classes)
    weights = (label_proportions(label_counts, y_label, config.n_classes)
               if config.vote == "proportion" else None)
    return vote(counts, neuron_labels, config.n_classes, weights)


def pass_tables(phase: str, record: PassRecord, config: STDPConfig, learn: bool,
                epoch: int, first_step: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """The ``spikes`` (events of the logged samples: epoch, phase, sample, step, layer,
    neuron; steps count within the epoch from ``first_step``; recorded_steps, the steps of
    the pass recorded, which firing rates divide by; layer_size, the layer's neurons, silent
    ones included) and ``ops`` (one row per sample, the
    columns of ``analysis.energy_cost``) rows of one pass.

    Counters per sample: synaptic_ops = input spikes x n_neurons (feed-forward fan-out) +
    neuron spikes x (n_neurons - 1) (inhibition fan-out); neuron_updates = n_neurons x
    period; learning_updates = synapses whose pre or post neuron spiked (input spikes x
    n_neurons + neuron spikes x n_inputs; Lava's engine visits every synapse each step, a
    chip only the active ones), zero without learning; spikes = input + neuron spikes.
    """
    n, n_in = config.neurons.n_neurons, config.n_inputs
    period = sum(config.presentation.schedule(learn))
    steps, layers, neurons, sizes = [], [], [], []
    for layer, raster, size in (("input", record.in_raster, n_in),
                                ("excitatory", record.out_raster, n)):
        rows, columns = np.nonzero(raster)
        steps.append(rows)
        layers.append(np.full(len(rows), layer))
        neurons.append(columns)
        sizes.append(np.full(len(rows), size))
    steps = np.concatenate(steps)
    n_samples = len(record.counts)
    recorded = pass_cycle(config, n_samples, learn).n_logged * period
    spikes = {"epoch": np.full(len(steps), epoch), "phase": np.full(len(steps), phase),
              "sample": steps // period, "step": steps + first_step,
              "layer": np.concatenate(layers).astype(str), "neuron": np.concatenate(neurons),
              "recorded_steps": np.full(len(steps), recorded),
              "layer_size": np.concatenate(sizes)}
    inputs, outputs = record.input_spikes[:n_samples], record.counts.sum(axis=1)
    ops = {"epoch": np.full(n_samples, epoch), "phase": np.full(n_samples, phase),
           "sample": np.arange(n_samples), "samples": np.ones(n_samples, dtype=int),
           "input_spikes": inputs, "neuron_spikes": outputs,
           "synaptic_ops": inputs * n + outputs * (n - 1),
           "neuron_updates": np.full(n_samples, n * period),
           "learning_updates": (inputs * n + outputs * n_in) if learn
           else np.zeros(n_samples, dtype=int),
           "spikes": inputs + outputs}
    return {"spikes": spikes, "ops": ops}


def timing_row(phase: str, n_samples: int, config: STDPConfig, learn: bool,
               seconds: float) -> dict[str, np.ndarray]:
    """Wall time of one pass (graph build, compile, run and reads) per sample and per step."""
    steps = n_samples * sum(config.presentation.schedule(learn))
    return {"phase": np.array([phase]), "samples": np.array([n_samples]),
            "steps": np.array([steps]), "seconds": np.array([seconds]),
            "s_per_sample": np.array([seconds / max(n_samples, 1)]),
            "ms_per_step": np.array([1000 * seconds / max(steps, 1)])}


def merge_tables(first: dict, second: dict) -> dict:
    """Tables (or columns) of ``first`` followed by those of ``second``, row-wise."""
    merged = dict(first)
    for name, value in second.items():
        if name not in merged:
            merged[name] = value
        elif isinstance(value, dict):
            merged[name] = merge_tables(merged[name], value)
        else:
            merged[name] = np.concatenate([merged[name], value])
    return merged


# --- the data of a run -------------------------------------------------------------------------


def subsets(config: STDPConfig, data: Splits) -> Splits:
    """A random subset of ``n_train`` training and ``n_test`` test samples (0 keeps a split
    whole), drawn from ``stream(seed, SUBSET)``; the validation split is cut in proportion
    to the training one."""
    rng = stream(data.seed, SUBSET)

    def subset(x, y, n):
        if n == 0 or n >= len(x):
            return x, y
        keep = np.sort(rng.permutation(len(x))[:n])
        return x[keep], y[keep]

    x_train, y_train = subset(data.x_train, data.y_train, config.n_train)
    n_val = 0 if config.n_train == 0 else max(1, round(config.n_train * len(data.x_val)
                                                        / max(len(data.x_train), 1)))
    x_val, y_val = subset(data.x_val, data.y_val, n_val if len(data.x_val) else 0)
    x_test, y_test = subset(data.x_test, data.y_test, config.n_test)
    return dataclasses.replace(data, x_train=x_train, y_train=y_train, x_val=x_val,
                               y_val=y_val, x_test=x_test, y_test=y_test)


def memory_numbers(config: STDPConfig, data: Splits) -> int:
    """The numbers a run of ``config`` holds at once (``memory.MemoryModel``): the weights
    three times (the pass's own copy, the pair rule's update, the weights it hands back),
    the thresholds and the traces, a pass's images (the shuffled training split, or the
    labelling, validation and test samples, copied) with their spike counts, and the
    rasters of the logged samples."""
    n, n_inputs = config.neurons.n_neurons, config.n_inputs
    n_train = len(data.x_train)
    labelling = min(config.n_label or n_train, n_train)
    images = max(n_train, labelling + len(data.x_val) + len(data.x_test))
    period = max(sum(config.presentation.schedule(True)),
                 sum(config.presentation.schedule(False)))
    return (3 * n * n_inputs + 4 * (n + n_inputs) + images * (n_inputs + n)
            + config.n_logged * period * (n + n_inputs))


MEMORY = MemoryModel(memory_numbers, ("n_neurons",))


SPEC = RuleSpec(
    name="stdp",
    summary="Pair STDP in a Diehl & Cook network of Lava's ATRLIF and LearningDense "
            "processes: lava (floating_pt models), lava-fixed (fixed_pt models) or numpy "
            "(the float graph as one NumPy loop).",
    config=STDPConfig,
    backends=(Backend("lava", "dynaxx_neuro.networks.stdp_lava:LavaSTDPRunner", "floating_pt"),
              Backend("lava-fixed", "dynaxx_neuro.networks.stdp_lava:LavaSTDPRunner",
                      "fixed_pt"),
              Backend("numpy", "dynaxx_neuro.networks.stdp_numpy:NumpySTDPRunner", "numpy")),
    stages=(Stage("train", STDPParameters),),
    default_epochs=1,
    hidden_sizes=lambda config: (config.neurons.n_neurons,),
    # On chip: the lava-fixed graph (Dense / LearningDense with a 2-factor rule, ATRLIF);
    # its own CPU simulation is the bit-accurate reference.
    chip=ChipGraph(backend="lava-fixed", reference="lava-fixed", programs=lambda config: {},
                   steps=lambda config: (sum(config.presentation.schedule(True)),
                                         sum(config.presentation.schedule(False)))),
    # digits: the fields' defaults (BENCHMARKS.md, 89.4 % test); Fashion-MNIST: the subset
    # of BENCHMARKS.md's figure, whose 28x28 images need more input to drive the layer.
    dataset_defaults={"digits": {},
                      "fashion-mnist": {"input_rate": 8.0, "w_sum": 50.0, "n_train": 1000,
                                        "n_test": 500, "n_neurons": 200}},
    prepare_data=subsets,
    small={"n_neurons": 8, "n_train": 20, "n_test": 10, "t_present": 8, "t_rest": 2,
           "t_present_eval": 8, "t_rest_eval": 2, "input_rate": 8.0, "epochs": 2},
    memory=MEMORY,
)
