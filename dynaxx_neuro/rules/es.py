"""Evolution strategies as a rule: the configuration (the only place its defaults live), the
parameters, the composition of a generation for both strategies, and ``SPEC``. The maths is
``kernels.es``; CMA-ES is the ``cma`` package's.

ES is not a local-plasticity rule: it searches the weights of a whole network from fitness
values alone (no gradient, no neuron-level learning signal), so it has no Lava graph and runs
on the ``numpy`` back end only. What it parallelises is the population's fitness
evaluations, which run through ``executor`` (in this process, or ``--workers N`` local
processes, with the same results bit for bit).

An epoch is ``--generations`` generations, then the validation and test evaluation of the
centroid theta (the mean of the search distribution). Generation k of epoch e (global index
g = e G + k, from 0) is, for the P = ``--population`` candidates::

    rows     = B training samples without replacement from stream(seed, e, k, FITNESS_SAMPLES)
    openai:  eps (P/2, N) from stream(seed, e, k, PERTURBATIONS); sigma_g = sigma decay^g
             candidates theta +- sigma_g eps_j; F = their fitness on rows; u = centered ranks
             theta <- optimiser step (Adam/SGD, step g + 1) on -g_hat(u, eps, sigma_g)
    cma:     candidates = es.ask() with cma's normals from stream(seed, e, k, PERTURBATIONS);
             es.tell(candidates, -F); theta = es.mean

so a resumed run draws what an uninterrupted one does. Fitness is ``kernels.es.fitness`` (the
negative mean cross-entropy of the candidate on ``rows``). The checkpoint holds theta, the
optimiser's moments (openai) or the pickled ``cma.CMAEvolutionStrategy`` (cma) as a uint8
array (``cma_state``), which :func:`load_cma` reads back allowing only cma's classes and
NumPy's array types.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.cycle import stream
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import es
from dynaxx_neuro.kernels.optimizer import Optimizer, optimizer_step
from dynaxx_neuro.memory import MemoryModel
from dynaxx_neuro.params import (Int, OneOf, Real, TupleOf, cli_fields, get_path, option,
                                 option_name, require, validate)
from dynaxx_neuro.registry import Backend, RuleSpec, Stage

STRATEGIES = ("openai", "cma")
COVARIANCES = ("auto", "full", "separable")
# Purposes of ES's random streams (beside cycle.py's): a generation's fitness samples and
# its perturbations (OpenAI-ES's eps, CMA-ES's normals): stream(seed, epoch, k, purpose).
FITNESS_SAMPLES = 29
PERTURBATIONS = 31
# Above this many parameters --covariance auto runs separable CMA-ES (sep-CMA, Ros & Hansen
# 2008: a diagonal covariance). Full CMA-ES learns its N x N covariance at rates c_1, c_mu of
# order 2 / N^2, so beyond a few thousand parameters it would need millions of generations
# to learn it, while holding O(N^2) numbers (32 MB per matrix at N = 2000) and paying
# O(N^3) per eigendecomposition; sep-CMA learns the diagonal about N / 3 times faster in
# O(N) memory and time.
CMA_FULL_MAX_PARAMETERS = 2000
# Modules whose names a pickled CMA state may use (load_cma): cma's own classes, NumPy's
# array types and the eigensolver cma keeps as an option, and this module's StreamNormals.
# NumPy 2 pickles its arrays from numpy._core, NumPy 1 from numpy.core.
_CMA_PICKLE_NAMES = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.linalg", "eigh"),
                     *((f"numpy.{core}.multiarray", name) for core in ("core", "_core")
                       for name in ("_reconstruct", "scalar"))}


@dataclass(frozen=True)
class OpenAIESOptions:
    """OpenAI-ES's own settings (``--strategy openai`` only)."""

    lr: float = option(0.01, "Learning rate of the optimiser on the ES gradient estimate "
                       "(openai only).", Real(0.0, low_open=True))
    sigma_decay: float = option(1.0, "Per-generation decay factor of sigma (openai only).",
                                Real(0.0, 1.0, low_open=True))
    optimizer: Optimizer = Optimizer()

    def __post_init__(self):
        validate(self)


@dataclass(frozen=True)
class ESConfig:
    """An MLP of sizes (n_inputs, hidden..., n_classes) searched by evolution strategies.
    The defaults (64-32-10 tanh, OpenAI-ES) were chosen on the validation split of digits
    (BENCHMARKS.md)."""

    strategy: str = option("openai", "openai: antithetic ES with centered ranks and Adam/SGD "
                           "(Salimans et al. 2017); cma: CMA-ES (the cma package).",
                           OneOf(STRATEGIES))
    hidden: tuple[int, ...] = option((32,), "Hidden layer sizes, e.g. 32 or 64,32; empty "
                                     "(\"\") for a linear softmax classifier.",
                                     TupleOf(Int(1), 0))
    activation: str = option("tanh", "Hidden units' activation.", OneOf(es.ACTIVATIONS))
    n_inputs: int | None = option(None, "Input width (from the data).", Int(1), from_data=True)
    n_classes: int | None = option(None, "Output units (from the data).", Int(2),
                                   from_data=True)
    population: int = option(100, "Candidates per generation (openai: pairs theta +- sigma "
                             "eps, so even).", Int(2))
    sigma: float = option(0.05, "Perturbation standard deviation (openai) or initial step "
                          "size (cma).", Real(0.0, low_open=True))
    batch_size: int = option(200, "Training samples every candidate of a generation is "
                             "scored on (drawn anew each generation).", Int(1))
    generations: int = option(50, "Generations per epoch (each epoch then evaluates the "
                              "centroid).", Int(1))
    covariance: str = option("auto", f"CMA-ES covariance: full, separable (sep-CMA, "
                             f"diagonal), or auto: full up to {CMA_FULL_MAX_PARAMETERS} "
                             "parameters, separable above (cma only).", OneOf(COVARIANCES))
    workers: int = option(0, "Local worker processes for the fitness evaluations (0: this "
                          "process); the results are the same bit for bit.", Int(0))
    openai: OpenAIESOptions = OpenAIESOptions()

    def __post_init__(self):
        validate(self)
        if self.strategy == "openai":
            require(self.population % 2 == 0, "--population must be even with --strategy "
                    "openai (antithetic pairs theta +- sigma eps), got "
                    f"{self.population}.")
            require(self.covariance == "auto", f"--covariance {self.covariance} applies only "
                    "to --strategy cma.")
        else:
            changed = _changed_options(self.openai)
            require(not changed, f"{', '.join(changed)} appl{'ies' if len(changed) == 1 else 'y'}"
                    " only to --strategy openai, not to --strategy cma.")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.hidden, self.n_classes)

    @property
    def n_parameters(self) -> int:
        return es.n_parameters(self.sizes)

    @property
    def separable(self) -> bool:
        """Whether CMA-ES runs with a diagonal covariance (sep-CMA)."""
        if self.covariance == "auto":
            return self.n_parameters > CMA_FULL_MAX_PARAMETERS
        return self.covariance == "separable"


def _changed_options(group) -> list[str]:
    """The option names of the fields of a configuration group (nested groups included)
    that differ from their defaults."""
    default = type(group)()
    return [option_name(field) for field, path in cli_fields(type(group))
            if get_path(group, path) != get_path(default, path)]


# --- parameters -----------------------------------------------------------------------------


@dataclass
class ESParameters:
    """The centroid theta (N,) and the strategy's state: OpenAI-ES's optimiser moments
    (``moments``: m, v), or the pickled CMA-ES object (``cma_state``, None before the first
    CMA generation, which starts it from theta)."""

    theta: np.ndarray
    moments: tuple[np.ndarray, np.ndarray] | None = None
    cma_state: bytes | None = None

    @classmethod
    def initial(cls, config: ESConfig, rng: np.random.Generator) -> "ESParameters":
        """Glorot-uniform weights, zero biases; zero moments for OpenAI-ES."""
        theta = es.initial_theta(config.sizes, rng)
        if config.strategy == "cma":
            return cls(theta)
        return cls(theta, (np.zeros_like(theta), np.zeros_like(theta)))

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"theta": self.theta}
        if self.moments is not None:
            arrays.update(moment1=self.moments[0], moment2=self.moments[1])
        if self.cma_state is not None:
            arrays["cma_state"] = np.frombuffer(self.cma_state, dtype=np.uint8)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: ESConfig) -> "ESParameters":
        theta = np.array(arrays["theta"], dtype=float)
        if config.strategy == "openai":
            return cls(theta, (np.array(arrays["moment1"], dtype=float),
                               np.array(arrays["moment2"], dtype=float)))
        state = arrays.get("cma_state")
        return cls(theta, cma_state=None if state is None else np.asarray(state).tobytes())


# --- fitness (what the executor runs) ---------------------------------------------------------


@dataclass(frozen=True)
class FitnessData:
    """What every fitness evaluation reads, sent to each worker once: the training split
    and the network's shape."""

    x: np.ndarray
    y: np.ndarray
    sizes: tuple[int, ...]
    activation: str


def candidate_fitness(data: FitnessData, task: tuple[np.ndarray, np.ndarray]) -> float:
    """The fitness of one candidate on a generation's samples; ``task`` = (rows, theta)."""
    rows, theta = task
    return es.fitness(theta, data.sizes, data.activation, data.x[rows], data.y[rows])


def generation_rows(config: ESConfig, seed: int, epoch: int, k: int, n_train: int) -> np.ndarray:
    """The training samples generation k of ``epoch`` scores its candidates on."""
    return stream(seed, epoch, k, FITNESS_SAMPLES).choice(n_train, config.batch_size,
                                                          replace=False)


def population_fitness(executor, candidates: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(P,) fitness of every candidate on ``rows``, through ``executor``."""
    return np.array(executor.map(candidate_fitness, [(rows, c) for c in candidates]))


# --- the strategies -----------------------------------------------------------------------------


@dataclass
class Generation:
    """What a generation reports: the population's fitness, the step size it sampled with
    and the norm of the centroid's move."""

    fitness: np.ndarray
    sigma: float
    update_norm: float


class OpenAISearch:
    """OpenAI-ES (module docstring): :meth:`ask` the candidates of a generation, then
    :meth:`tell` their fitness."""

    def __init__(self, config: ESConfig, params: ESParameters):
        self.config, self.theta = config, params.theta
        self.m, self.v = params.moments
        self._eps = self._sigma = self._step = None

    @property
    def centroid(self) -> np.ndarray:
        return self.theta

    def ask(self, seed: int, epoch: int, k: int) -> np.ndarray:
        config = self.config
        g = epoch * config.generations + k
        self._sigma = es.sigma_at(config.sigma, config.openai.sigma_decay, g)
        self._eps = stream(seed, epoch, k, PERTURBATIONS).standard_normal(
            (config.population // 2, len(self.theta)))
        self._step = g + 1
        return es.antithetic_candidates(self.theta, self._eps, self._sigma)

    def tell(self, fitness: np.ndarray) -> Generation:
        opts, pairs = self.config.openai, len(self._eps)
        ranks = es.centered_ranks(fitness)
        ascent = es.antithetic_gradient(self._eps, ranks[:pairs], ranks[pairs:], self._sigma)
        theta, self.m, self.v = optimizer_step(self.theta, -ascent, self.m, self.v, self._step,
                                               opts.lr, opts.optimizer)
        moved = float(np.linalg.norm(theta - self.theta))
        self.theta = theta
        return Generation(fitness, self._sigma, moved)

    def parameters(self) -> ESParameters:
        return ESParameters(self.theta, (self.m, self.v))


class StreamNormals:
    """cma's ``randn`` option: standard normals (lam, N) from the generator :meth:`start`
    set for a generation, so CMA-ES samples from the run's streams and never from NumPy's
    global one. Pickled with the CMA state without its generator (each generation sets
    its own)."""

    def __init__(self):
        self.rng = None

    def start(self, seed: int, epoch: int, k: int) -> None:
        self.rng = stream(seed, epoch, k, PERTURBATIONS)

    def __call__(self, lam: int, n: int) -> np.ndarray:
        return self.rng.standard_normal((lam, n))

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.rng = None


class _CMAUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module.split(".")[0] == "cma" or (module, name) in _CMA_PICKLE_NAMES
                or (module, name) == (__name__, "StreamNormals")):
            return super().find_class(module, name)
        raise ValueError(f"the checkpoint's cma_state names {module}.{name}, which no CMA-ES "
                         "state holds; use a checkpoint written by dynaxx train es.")


def load_cma(state: bytes):
    """The ``cma.CMAEvolutionStrategy`` pickled in ``state`` (only cma's classes, NumPy's
    array types and :class:`StreamNormals` may appear in it)."""
    return _CMAUnpickler(io.BytesIO(state)).load()


def new_cma(config: ESConfig, theta: np.ndarray):
    """A CMA-ES started at theta with step size sigma and the configured population and
    covariance, drawing from a :class:`StreamNormals`; quiet and writing no files."""
    import cma
    return cma.CMAEvolutionStrategy(theta, config.sigma, {
        "popsize": config.population, "CMA_diagonal": config.separable,
        "randn": StreamNormals(), "seed": np.nan, "verbose": -9, "verb_log": 0,
        "verb_disp": 0})


class CMASearch:
    """CMA-ES through the ``cma`` package, with :class:`OpenAISearch`'s interface."""

    def __init__(self, config: ESConfig, params: ESParameters):
        self.es = (new_cma(config, params.theta) if params.cma_state is None
                   else load_cma(params.cma_state))
        self._asked = self._sigma = None

    @property
    def centroid(self) -> np.ndarray:
        return np.array(self.es.mean)

    def ask(self, seed: int, epoch: int, k: int) -> np.ndarray:
        self.es.opts["randn"].start(seed, epoch, k)
        self._sigma = float(self.es.sigma)
        self._asked = self.es.ask()
        return np.array(self._asked)

    def tell(self, fitness: np.ndarray) -> Generation:
        before = np.array(self.es.mean)
        self.es.tell(self._asked, list(-fitness))  # cma minimises
        return Generation(fitness, self._sigma, float(np.linalg.norm(self.es.mean - before)))

    def parameters(self) -> ESParameters:
        return ESParameters(np.array(self.es.mean), cma_state=pickle.dumps(self.es))


def search(config: ESConfig, params: ESParameters):
    """The strategy of ``config`` continuing from ``params``."""
    return OpenAISearch(config, params) if config.strategy == "openai" else CMASearch(config,
                                                                                      params)


# --- what an epoch logs -----------------------------------------------------------------------


def evolution_table(config: ESConfig, epoch: int, generations: list[Generation]) -> dict:
    """The ``evolution`` rows of an epoch: one per generation, numbered globally from 1,
    with the fitness evaluations so far, the population's best, mean and standard deviation
    of fitness, the step size sigma it sampled with and ||theta_{g+1} - theta_g||."""
    first = epoch * config.generations + 1
    numbers = np.arange(first, first + len(generations))
    fitness = np.array([g.fitness for g in generations])
    return {"epoch": np.full(len(generations), epoch), "generation": numbers,
            "evaluations": numbers * config.population,
            "fitness_best": fitness.max(axis=1), "fitness_mean": fitness.mean(axis=1),
            "fitness_std": fitness.std(axis=1),
            "sigma": np.array([g.sigma for g in generations]),
            "update_norm": np.array([g.update_norm for g in generations])}


def memory_numbers(config: ESConfig, data: Splits) -> int:
    """The numbers a run holds at once (``memory.MemoryModel``): theta, its update and
    (openai) two moments and the gradient estimate (5 N); the candidates (P N), the tasks'
    copies of them in flight to workers (P N) and OpenAI-ES's perturbations (P N / 2); for
    full CMA-ES the covariance, its eigenvectors, the eigensolver's input and output copies
    and the checkpoint's pickled copy of the first two (6 N^2; sep-CMA: 10 N); each worker's
    copy of the training split; and every candidate's activations on a batch."""
    n, pop = config.n_parameters, config.population
    state = (10 * n if config.separable else 6 * n * n) if config.strategy == "cma" else 0
    data_copies = config.workers * (data.x_train.size + data.y_train.size)
    activations = max(config.workers, 1) * config.batch_size * sum(config.sizes) * 2
    return 5 * n + 2 * pop * n + pop * n // 2 + state + data_copies + activations


MEMORY = MemoryModel(memory_numbers, ("hidden", "population"))

SPEC = RuleSpec(
    name="es",
    summary="Evolution strategies (OpenAI-ES, Salimans et al. 2017; CMA-ES via cma) on an "
            "MLP, fitness evaluations in this process or in local workers.",
    config=ESConfig,
    backends=(Backend("numpy", "dynaxx_neuro.networks.es_numpy:ESNumpyRunner", "numpy"),),
    stages=(Stage("train", ESParameters),),
    default_epochs=20,
    hidden_sizes=lambda config: config.hidden,
    small={"hidden": (8,), "population": 20, "batch_size": 50, "generations": 5,
           "epochs": 2},
    equal_backends=(),
    memory=MEMORY,
)
