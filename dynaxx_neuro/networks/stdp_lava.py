"""A Diehl & Cook (2015)-style spiking network that learns digits with pair STDP, built only
from processes Loihi runs, on Lava's CPU simulator (``floating_pt`` or ``fixed_pt`` models).

Graph of one presentation pass (training, or labelling and evaluation)::

    RateCodedSource --s--> LearningDense W (n, n_in) --a--> ATRLIF (n) --s--+--> SpikeRecorder
          |                (Dense W when not learning) ^        ^          |
          |                        ^-- s_in_bap (post) |        +-- Dense -w_inh (all ones)
          +-------------------------------------------------------------> SpikeRecorder

- Input: the pixels spike with probabilities proportional to their intensities, summing to
  ``input_rate`` expected spikes per step, for ``t_present`` steps, then ``t_rest`` silent
  steps let states decay (``processes.stdp``).
- Excitatory layer: Lava's ATRLIF, whose adaptive threshold is Diehl & Cook's homeostasis:
  theta rises by ``theta_step`` at each spike and relaxes to ``theta_0`` with rate
  ``delta_theta`` (by default not at all, see ``AdaptiveLIF``); ATRLIF's refractory state
  r (r += 2 theta at a spike) replaces the reset.
- Inhibition: a static ``Dense`` from the layer onto itself with weight ``-w_inh`` everywhere,
  the diagonal included: the winner silences the others, as Diehl & Cook's inhibitory pool
  does, and, because ATRLIF has no voltage reset, inhibits itself as much. Without the
  diagonal the winner of one sample keeps the others tens of units below threshold into the
  next sample and wins every sample after (membranes are not reset between samples).
- Learning: ``LearningDense`` with the pair rule of ``kernels.stdp`` as a
  ``Loihi2FLearningRule`` (traces x1/y1, learning epoch of one step); weights are bounded
  by the rule's soft bounds and Lava's excitatory sign mode, and every
  ``normalise_every`` samples the host rescales each neuron's incoming weights to sum to
  ``w_sum``. Diehl & Cook normalise after every sample; here a host read and write of the
  weights costs about 0.8 s (Lava 0.10 moves a Var one element at a time), four training
  samples' worth, and every 10 samples is as accurate as every sample on the digits
  validation split (87.1 % against 86.2 %, three seeds; every 50: 85.2 %).
- Read-out: after training, a pass without learning (static ``Dense``, thresholds frozen),
  whose samples may be shown longer and at a higher rate than in training
  (``Presentation.t_present_eval``, ``input_rate_eval``), labels every neuron with the
  class it answers most (``kernels.stdp.assign_labels``) and classifies validation and
  test samples by the vote of the labelled neurons' spike counts, each neuron weighted by
  its selectivity (``vote="proportion"``, BindsNET's read-out) or all alike (``"mean"``,
  Diehl & Cook's).

``STDPRunner`` holds what every back end shares (epochs, labelling, the vote);
``LavaSTDPRunner`` runs the graph above, ``networks.stdp_numpy.NumpySTDPRunner`` the float
graph as one NumPy loop.

Fixed point (``fixed_pt``): the same graph with weights, thresholds and inhibition scaled
by 255 / w_max to Loihi's 8-bit weights, integer trace impulses (7-bit traces), and the
rule's constants converted accordingly (``STDPRule.lava_dw``); thresholds stay per neuron
(``models.stdp.PyATRLIFModelFixedKeepTheta``). Parameters are stated in float units
everywhere else.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.checks import check_count, check_fraction, check_positive
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels.stdp import (FLOAT_TRACE_IMPULSE, STDPRule, assign_labels,
                                       label_proportions, normalise_rows, vote)
from dynaxx_neuro.networks.result import EpochResult

# Fixed point: the weight bound w_max is the integer weight 255 (8 bits), and traces count
# in units of 1/64 of the float trace impulse (FLOAT_TRACE_IMPULSE 1/4 -> integer 16, which
# leaves the 7-bit traces, max 127, room for about 8 impulses).
FIXED_WEIGHT_MAX = 255
FIXED_TRACE_UNITY = 64
# ATRLIF's fixed-point model aligns theta by 6 bits (theta_unity = 2**6).
FIXED_THETA_UNITY = 64


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

    n_neurons: int = 200
    delta_i: float = 1.0
    delta_v: float = 0.05
    delta_r: float = 0.5
    delta_theta: float = 0.0
    theta_0: float = 4.0
    theta_step: float = 0.5
    w_inh: float = 6.0

    def __post_init__(self):
        check_count("n_neurons", self.n_neurons, 2)
        for name in ("delta_i", "delta_v", "delta_r"):
            check_fraction(name, getattr(self, name))
        check_fraction("delta_theta", self.delta_theta, allow_zero=True)
        check_positive("theta_0", self.theta_0)
        check_positive("theta_step", self.theta_step, allow_zero=True)
        check_positive("w_inh", self.w_inh, allow_zero=True)


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
    """

    t_present: int = 40
    t_rest: int = 10
    input_rate: float = 6.0
    t_present_eval: int | None = None
    t_rest_eval: int | None = None
    input_rate_eval: float | None = None

    def __post_init__(self):
        check_count("t_present", self.t_present, 1)
        check_count("t_rest", self.t_rest, 0)
        check_positive("input_rate", self.input_rate)
        if self.t_present_eval is not None:
            check_count("t_present_eval", self.t_present_eval, 1)
        if self.t_rest_eval is not None:
            check_count("t_rest_eval", self.t_rest_eval, 0)
        if self.input_rate_eval is not None:
            check_positive("input_rate_eval", self.input_rate_eval)

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


# The presentation of a run unless one is given (STDPNetworkConfig, `dynaxx train stdp`),
# chosen on the digits validation split: training samples as Presentation's defaults,
# read-out samples three times as long, with a longer rest and a higher rate (10 instead
# of 6 spikes per step: validation 88.3 % against 87.1 %, mean of three seeds, Diehl &
# Cook's vote).
DEFAULT_PRESENTATION = Presentation(t_present_eval=120, t_rest_eval=30, input_rate_eval=10.0)

# Read-outs of the labelled neurons (``kernels.stdp.vote``): "mean" is Diehl & Cook's vote
# (every labelled neuron counts alike), "proportion" BindsNET's, which weights each neuron
# by how selective it was for its label (``kernels.stdp.label_proportions``). On the
# digits validation split "proportion" was the better one in 71 % of 119 runs of the
# settings search (by 1.0 points on average; at the defaults 89.3 % against 88.7 %, five
# seeds), hence the default.
VOTES = ("mean", "proportion")


@dataclass(frozen=True)
class STDPNetworkConfig:
    """Everything that defines a run of the network (stored in run.json).

    ``vote`` is the read-out, one of ``VOTES``; ``n_label`` training samples (0: all)
    label the neurons. Every ``normalise_every`` training samples the host rescales each
    neuron's weights to sum to ``w_sum`` (see the module docstring for the cost).
    """

    n_inputs: int
    n_classes: int
    neurons: AdaptiveLIF = field(default_factory=AdaptiveLIF)
    presentation: Presentation = DEFAULT_PRESENTATION
    rule: STDPRule = field(default_factory=STDPRule)
    w_sum: float = 8.0
    normalise_every: int = 10
    n_label: int = 0
    vote: str = "proportion"
    n_logged: int = 1
    fixed_point: bool = False
    seed: int = 0

    def __post_init__(self):
        check_count("n_inputs", self.n_inputs, 1)
        check_count("n_classes", self.n_classes, 2)
        check_positive("w_sum", self.w_sum)
        if self.w_sum > self.rule.w_max * self.n_inputs:
            raise ValueError(f"w_sum must be at most w_max * n_inputs = "
                             f"{self.rule.w_max * self.n_inputs:g}, got {self.w_sum!r}.")
        check_count("normalise_every", self.normalise_every, 1)
        check_count("n_label", self.n_label, 0)
        if self.vote not in VOTES:
            raise ValueError(f"vote must be one of {', '.join(VOTES)}, got {self.vote!r}.")
        check_count("n_logged", self.n_logged, 0)

    @classmethod
    def from_dict(cls, values: dict) -> "STDPNetworkConfig":
        """Rebuild a config from its run.json form (``dataclasses.asdict``). Runs written
        before the ``vote`` option voted as Diehl & Cook do ("mean")."""
        return cls(**{"vote": "mean", **values, "neurons": AdaptiveLIF(**values["neurons"]),
                      "presentation": Presentation(**values["presentation"]),
                      "rule": STDPRule(**values["rule"])})


# STDPNetworkConfig's defaults by field name (the CLI and benchmarks show them).
CONFIG_DEFAULTS = {f.name: f.default for f in dataclasses.fields(STDPNetworkConfig)
                   if f.default is not dataclasses.MISSING}


@dataclass
class STDPParameters:
    """What training changes: weights (n_neurons, n_inputs) and thresholds (n_neurons,),
    in float units."""

    weights: np.ndarray
    theta: np.ndarray

    @classmethod
    def initial(cls, config: STDPNetworkConfig, rng: np.random.Generator) -> "STDPParameters":
        """Uniform random weights normalised to ``w_sum`` per neuron; thresholds theta_0."""
        n = config.neurons.n_neurons
        weights = normalise_rows(rng.uniform(0.0, 1.0, (n, config.n_inputs)), config.w_sum)
        return cls(np.minimum(weights, config.rule.w_max), np.full(n, config.neurons.theta_0))

    def to_arrays(self) -> dict[str, np.ndarray]:
        # "w0" is the name the plots know for the first weight layer (receptive fields).
        return {"w0": self.weights, "theta": self.theta}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "STDPParameters":
        return cls(np.asarray(arrays["w0"], float), np.asarray(arrays["theta"], float))


@dataclass
class PassRecord:
    """What one presentation pass read back: spike counts (n_samples, n_neurons), input
    spikes per sample, the rasters of the logged samples, and (training) the parameters."""

    counts: np.ndarray
    input_spikes: np.ndarray
    in_raster: np.ndarray
    out_raster: np.ndarray
    params: STDPParameters | None = None


class STDPRunner:
    """Trains the network one epoch at a time and labels and evaluates it after each; a
    back end supplies :meth:`_pass`, one presentation pass over a list of images."""

    def __init__(self, config: STDPNetworkConfig, data: Splits, params: STDPParameters,
                 start_epoch: int):
        self.config, self.data, self.params = config, data, params
        self.next_epoch = start_epoch

    def _pass(self, images: np.ndarray, learn: bool, seed: tuple, progress=None) -> PassRecord:
        """Show ``images`` (learning when ``learn``), normalising the weights every
        ``normalise_every`` samples and calling ``progress(samples, nan)`` after each chunk;
        ``seed`` seeds the input spikes."""
        raise NotImplementedError

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """Train on the shuffled training split, then :meth:`evaluate`."""
        if epoch != self.next_epoch:
            raise ValueError(f"epoch must be {self.next_epoch} (the runner's next epoch), "
                             f"got {epoch}.")
        config, data = self.config, self.data
        order = np.random.default_rng([config.seed, epoch, 1]).permutation(len(data.x_train))
        start = time.perf_counter()
        trained = self._pass(data.x_train[order], True, (config.seed, epoch, 2), progress)
        seconds = time.perf_counter() - start
        if not (np.all(np.isfinite(trained.params.weights))
                and np.all(np.isfinite(trained.params.theta))):
            return EpochResult.divergence(float("nan"))
        self.params = trained.params
        self.next_epoch += 1
        result = self.evaluate(epoch, len(order) * config.presentation.period)
        tables = pass_tables("train", trained, config, True, epoch)
        tables["timing"] = _timing_row("train", len(order), config, True, seconds)
        return dataclasses.replace(result, tables=_merge(tables, result.tables))

    def evaluate(self, epoch: int, first_step: int = 0) -> EpochResult:
        """Without learning: label the neurons on the first ``n_label`` training samples (all
        when 0), then classify validation and test samples by the labelled neurons' vote.
        The "train" accuracy is the vote's accuracy on the labelling samples."""
        config, data = self.config, self.data
        n_label = config.n_label or len(data.x_train)
        x_label, y_label = data.x_train[:n_label], data.y_train[:n_label]
        images = np.concatenate([x_label, data.x_val, data.x_test])
        start = time.perf_counter()
        evaluated = self._pass(images, False, (config.seed, epoch, 3))
        seconds = time.perf_counter() - start
        label_counts = evaluated.counts[:len(x_label)]
        neuron_labels = assign_labels(label_counts, y_label, config.n_classes)
        weights = (label_proportions(label_counts, y_label, config.n_classes)
                   if config.vote == "proportion" else None)
        predictions = vote(evaluated.counts, neuron_labels, config.n_classes, weights)
        label_accuracy = (float((predictions[:len(x_label)] == y_label).mean())
                          if len(y_label) else float("nan"))
        n_val = len(data.x_val)
        tables = pass_tables("eval", evaluated, config, False, epoch, first_step)
        tables["timing"] = _timing_row("eval", len(images), config, False, seconds)
        return EpochResult(label_accuracy, float("nan"),
                           predictions[len(x_label):len(x_label) + n_val], float("nan"),
                           predictions[len(x_label) + n_val:], float("nan"), tables)

    def parameters(self) -> STDPParameters:
        return self.params

    def close(self) -> None:
        """Nothing stays running between passes."""


class LavaSTDPRunner(STDPRunner):
    """The network as Lava processes on Loihi2SimCfg (``floating_pt`` or ``fixed_pt``);
    each pass builds, runs and stops its own graph."""

    def _pass(self, images: np.ndarray, learn: bool, seed: tuple, progress=None) -> PassRecord:
        prepare_lava_import()
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg

        graph = _Graph(self.config, images, self.params, learn, seed)
        tag = "fixed_pt" if self.config.fixed_point else "floating_pt"
        run_cfg = Loihi2SimCfg(select_tag=tag, exception_proc_model_map=graph.model_map())
        period = sum(self.config.presentation.schedule(learn))
        every = self.config.normalise_every if learn else len(images)
        started = False
        try:
            for start in range(0, len(images), every):
                chunk = min(every, len(images) - start)
                graph.source.run(condition=RunSteps(num_steps=chunk * period), run_cfg=run_cfg)
                started = True
                if learn:
                    graph.normalise_weights()
                if progress is not None:
                    progress(chunk, float("nan"))
            return graph.read(learn)
        finally:
            if started:
                graph.source.stop()


def input_seed(seed: tuple) -> int:
    """The seed of a pass's Poisson input spikes (``RateCodedSource``) from its key."""
    return int(np.random.default_rng(list(seed)).integers(2 ** 31 - 1))


class _Graph:
    """The processes of one pass, built and connected (Lava imported by the caller)."""

    def __init__(self, config: STDPNetworkConfig, images: np.ndarray, params: STDPParameters,
                 learn: bool, seed: tuple):
        from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
        from lava.proc.atrlif.process import ATRLIF
        from lava.proc.dense.process import Dense, LearningDense
        from lava.utils.weightutils import SignMode

        from dynaxx_neuro.processes.stdp import RateCodedSource, SpikeRecorder

        self.config, self.learn = config, learn
        neurons, shown, rule = config.neurons, config.presentation, config.rule
        n, fixed = neurons.n_neurons, config.fixed_point
        scale = FIXED_WEIGHT_MAX / rule.w_max if fixed else 1.0
        self.scale = scale
        seed_int = input_seed(seed)
        t_present, t_rest = shown.schedule(learn)
        self.source = RateCodedSource(images=np.asarray(images, float),
                                      t_present=t_present, t_rest=t_rest,
                                      input_rate=shown.rate(learn), seed=seed_int)
        weights = params.weights * scale
        if fixed:
            weights = np.clip(np.round(weights), 0, FIXED_WEIGHT_MAX)
        if learn:
            impulse = FLOAT_TRACE_IMPULSE * (FIXED_TRACE_UNITY if fixed else 1)
            learning_rule = Loihi2FLearningRule(
                dw=rule.lava_dw(impulse, rule.w_max * scale, fixed), x1_impulse=impulse,
                x1_tau=rule.tau_pre_steps, y1_impulse=impulse, y1_tau=rule.tau_post_steps,
                t_epoch=1, rng_seed=seed_int)
            self.synapses = LearningDense(weights=weights, learning_rule=learning_rule,
                                          sign_mode=SignMode.EXCITATORY)
        else:
            self.synapses = Dense(weights=weights, sign_mode=SignMode.EXCITATORY)
        theta = params.theta * scale
        self.layer = ATRLIF(
            shape=(n,), theta=np.round(theta) if fixed else theta,
            delta_i=neurons.delta_i, delta_v=neurons.delta_v, delta_r=neurons.delta_r,
            delta_theta=neurons.delta_theta if learn else 0.0,
            theta_0=round(neurons.theta_0 * scale) if fixed else neurons.theta_0,
            theta_step=(round(neurons.theta_step * scale) if fixed else neurons.theta_step)
            if learn else 0.0)
        self.inhibition = _inhibition(Dense, n, neurons.w_inh * scale, fixed)
        self.recorder = SpikeRecorder(n_inputs=config.n_inputs, n_neurons=n,
                                      n_samples=len(images), t_present=t_present,
                                      t_rest=t_rest, n_logged=config.n_logged)
        self.source.s_out.connect(self.synapses.s_in)
        self.synapses.a_out.connect(self.layer.a_in)
        self.layer.s_out.connect(self.inhibition.s_in)
        self.inhibition.a_out.connect(self.layer.a_in)
        if learn:
            self.layer.s_out.connect(self.synapses.s_in_bap)
        self.source.s_out.connect(self.recorder.in_spikes)
        self.layer.s_out.connect(self.recorder.out_spikes)

    def model_map(self) -> dict:
        """Process instance -> ProcessModel (ours live outside the processes' folder; Lava
        0.10.0 looks this map up by instance)."""
        from lava.proc.atrlif.models import PyATRLIFModelFloat
        from lava.proc.dense.models import (PyDenseModelBitAcc, PyDenseModelFloat,
                                            PyLearningDenseModelBitApproximate,
                                            PyLearningDenseModelFloat)

        from dynaxx_neuro.models.stdp import (PyATRLIFModelFixedKeepTheta,
                                              PyRateCodedSourceModel, PySpikeRecorderModel)
        fixed = self.config.fixed_point
        dense = PyDenseModelBitAcc if fixed else PyDenseModelFloat
        learning = PyLearningDenseModelBitApproximate if fixed else PyLearningDenseModelFloat
        return {self.source: PyRateCodedSourceModel, self.recorder: PySpikeRecorderModel,
                self.synapses: learning if self.learn else dense, self.inhibition: dense,
                self.layer: PyATRLIFModelFixedKeepTheta if fixed else PyATRLIFModelFloat}

    def normalise_weights(self) -> None:
        """Rescale each neuron's incoming weights to ``w_sum`` (one host read and write)."""
        w = normalise_rows(self.synapses.weights.get(), self.config.w_sum * self.scale)
        self.synapses.weights.set(np.round(w) if self.config.fixed_point else w)

    def read(self, learn: bool) -> PassRecord:
        """Read counts and rasters (and, after learning, the parameters) in float units."""
        params = None
        if learn:
            theta = self.layer.theta.get()
            if self.config.fixed_point:
                theta = theta / FIXED_THETA_UNITY
            params = STDPParameters(self.synapses.weights.get() / self.scale,
                                    theta / self.scale)
        return PassRecord(self.recorder.counts.get().astype(int),
                          self.source.sent.get().astype(int),
                          self.recorder.in_raster.get().astype(bool),
                          self.recorder.out_raster.get().astype(bool), params)


def _inhibition(dense_class, n: int, w_inh: float, fixed: bool):
    """Global inhibition -w_inh from every neuron to every neuron (itself included). Fixed
    point stores it as an 8-bit mantissa with a shared exponent: w_inh = mantissa *
    2**weight_exp."""
    from lava.utils.weightutils import SignMode
    mask = np.ones((n, n))
    if not fixed:
        return dense_class(weights=-w_inh * mask, sign_mode=SignMode.INHIBITORY)
    exponent = max(0, int(np.ceil(np.log2(max(w_inh, 1.0) / 255.0))))
    mantissa = np.round(w_inh / 2 ** exponent)
    return dense_class(weights=-mantissa * mask, weight_exp=exponent, num_weight_bits=8,
                       sign_mode=SignMode.INHIBITORY)


def _merge(first: dict, second: dict) -> dict:
    """Tables (or columns) of ``first`` followed by those of ``second``, row-wise."""
    merged = dict(first)
    for name, value in second.items():
        if name not in merged:
            merged[name] = value
        elif isinstance(value, dict):
            merged[name] = _merge(merged[name], value)
        else:
            merged[name] = np.concatenate([merged[name], value])
    return merged


def _timing_row(phase: str, n_samples: int, config: STDPNetworkConfig, learn: bool,
                seconds: float) -> dict[str, np.ndarray]:
    """Wall time of one pass (graph build, compile, run and reads) per sample and per step."""
    steps = n_samples * sum(config.presentation.schedule(learn))
    return {"phase": np.array([phase]), "samples": np.array([n_samples]),
            "steps": np.array([steps]), "seconds": np.array([seconds]),
            "s_per_sample": np.array([seconds / max(n_samples, 1)]),
            "ms_per_step": np.array([1000 * seconds / max(steps, 1)])}


def pass_tables(phase: str, record: PassRecord, config: STDPNetworkConfig, learn: bool,
                epoch: int, first_step: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """The ``spikes`` (events of the logged samples: epoch, phase, sample, step, layer,
    neuron; steps count within the epoch from ``first_step``) and ``ops`` (one row per
    sample, the columns of ``analysis.energy_cost``) rows of one pass.

    Counters per sample: synaptic_ops = input spikes x n_neurons (feed-forward fan-out) +
    neuron spikes x (n_neurons - 1) (inhibition fan-out); neuron_updates = n_neurons x
    period; learning_updates = synapses whose pre or post neuron spiked (input spikes x
    n_neurons + neuron spikes x n_inputs; Lava's engine visits every synapse each step, a
    chip only the active ones), zero without learning; spikes = input + neuron spikes.
    """
    n, n_in = config.neurons.n_neurons, config.n_inputs
    period = sum(config.presentation.schedule(learn))
    steps, layers, neurons = [], [], []
    for layer, raster in (("input", record.in_raster), ("excitatory", record.out_raster)):
        rows, columns = np.nonzero(raster)
        steps.append(rows)
        layers.append(np.full(len(rows), layer))
        neurons.append(columns)
    steps = np.concatenate(steps)
    spikes = {"epoch": np.full(len(steps), epoch), "phase": np.full(len(steps), phase),
              "sample": steps // period, "step": steps + first_step,
              "layer": np.concatenate(layers).astype(str), "neuron": np.concatenate(neurons)}
    n_samples = len(record.counts)
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
