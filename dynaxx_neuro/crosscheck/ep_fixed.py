"""EP's Loihi graph (``rules/ep_loihi.py``, ``lava-fixed``) re-simulated in Brian2 with integer
arithmetic: the neuron program of ``rules.ep_loihi.neuron_step`` and the learning rule of
every ``LearningDense`` (``kernels.ep_fixed.rule`` as Lava's fixed-point learning engine
applies it, ``kernels.learning_engine``), written as Brian2 equations and code, for the
``ep-fixed`` cross-check (``crosscheck.checks.ep_fixed_checks``).

The Brian2 network of one epoch's graph (sizes n_0, ..., n_L; one graph per epoch, as the
Lava runner builds one, so the clock, the states and the engine's random streams restart
every epoch)::

    input  (n_0)   r = x_in(t, i)                      the host's stream (a TimedArray)
    bias   (1)     r = 255                             the always-on input
    layer_l (n_l)  integer s, s_free, s_held, r, y1, y2, y3, bap; sums fwd, bwd, bias
    fwd_l   Synapses(layer_{l-1} or input -> layer_l), w = W_l          sum_fwd_post
    bwd_l   Synapses(layer_{l+1} -> layer_l), w = W_{l+1}^T (its copy)   sum_bwd_post
    bias_l  Synapses(bias -> layer_l), w = b_l                           sum_bias_post

Brian2 step n is Lava step t = n + 1 (dt = one step; only the count matters). Its
schedule is Lava's order within a step:

1. ``start``, every layer (``run_regularly``): the program below on the sums its synapses
   made in step n - 1 (the one-step delay of Lava's ``a_buff``), the previous rate r and
   the host's target; the input group reads this step's sample;
2. ``groups``: every synapse's summed variable ``sum_*_post = w r_pre`` from this step's
   rates and the weights before this step's learning (Lava's next ``a_buff``);
3. ``end``, every synapse (``run_regularly``): the learning epoch of step t, with t_epoch =
   1, every step (a step with no third factor and no bap has all products 0 and leaves w
   as it is, in Brian2 as in Lava's engine).

The neuron program (``kernels.ep_fixed``: ``period_step``, ``rate``, ``half_rate``,
``post_factors``, ``GraphTiming``), integers only, ``>>`` an arithmetic shift (floor)::

    k      = period step of n: training periods of ``GraphTiming.period`` steps (the
             schedule's P, and with --replay a replay step), then evaluation periods of
             t_free + 1, from Brian2's integer clock ``t_in_timesteps``
    c      = the third factor in training periods whose sample learns (``learns_sample``)
    a      = (sum_fwd >> e) + (sum_bwd >> e) + (sum_bias >> e)   each LearningDense shifts
    k = 0           : s = 0
    restore step    : s = s_free
    replay step (P) : s = s_held                        (with --replay)
    otherwise       : s = sat(a); the output layer in the +beta / -beta phase:
                      s = sat(s +/- ((d - r) >> k_beta))
    k = free end : s_free = s;   with --replay, k = held step (+beta end; free end
                   one-sided): s_held = s
    r  = clip(s, 0, 255)
    y1 = min((r >> 1) + (r & 1)((r >> 1) & 1), 127);  y2 = c at the + step, y3 = c at the
    - step (``GraphTiming.learning_steps``: the +beta and the -beta end, with --replay the
    replay and the -beta end), else 0;
    bap = (r > 0) at the - step when c > 0

The learning epoch of one synapse (``learning_engine.three_factor_epoch`` and
``update_weights``; u_x = x_decay[2t], u_y = y_decay[2t], u_c = conn[t], Lava's random
numbers)::

    x0 = r_pre != 0;  x1 = clip(decay(round_half_even(r_pre / 2), u_x), 0, 127)
    y0 = bap_post;    y_i = decay(y_i_post, u_y), clipped to [0, 127] where y0
    decay(v, u) = floor(v exp(-1/tau)) + (u < frac(v exp(-1/tau)))          (tau = 65535)
    per product m * 2^x * dep * f1 * f2 ...:  p = dep * clip(f1) * clip(f2) ... * m
        p = clip((p >> (sum of factor widths + 4 - 15)) << (x + 7), -2^15 - 1, 2^15 - 1)
        acc = clip(acc + p, -2^15 - 1, 2^15 - 1)          acc starts at w << 7
    w = clip((acc >> 7) + (u_c < (acc mod 2^7) / 2^7), -256, 255)

How each operation is written in Brian2 code (numpy target, int64 variables):

- ``x >> k``: ``x // 2**k`` (Brian2 keeps ``//`` and numpy floors: exact on int64);
  ``x << k``: ``x * 2**k``; ``r & 1``: ``r % 2`` (floor modulo, also for the accumulator's
  negative values); saturation: ``clip``; comparisons: ``int(...)`` of a boolean;
- the sums over synapses are Brian2 summed variables; the numpy target adds them with
  ``numpy.bincount`` in float64 and stores the result in the int64 variable, exact while
  |sum| < 2^53 (here below 2^23);
- Lava's ``uint8(round(r / 2))`` (NumPy rounds halves to even) is
  ``r // 2 + (r % 2) * ((r // 2) % 2)``; the uint8 wrap never acts, r <= 255 giving <= 128;
- the stochastic weight rounding: Lava computes q = acc / 128 in float64 and rounds
  ``floor(q) + (u < q mod 1)``; acc / 128 is exact in float64, so this is the integer
  ``acc // 128`` plus ``u < (acc % 128) / 128``, a float comparison of exact values;
- not integer, and cannot be: the trace decay. Lava multiplies the 7-bit trace by the float
  ``exp(-1 / tau)`` and rounds stochastically, so the Brian2 code does the same float64
  multiply, ``floor`` and comparison (one operation per statement, so Brian2's
  expression optimiser cannot reassociate them), with ``exp(-1 / tau)`` held in a shared
  variable set from NumPy's value, the very float Lava multiplies by;
- not Brian2's own: the random numbers. Lava draws them from NumPy's PCG64 streams
  (``learning_engine.EngineStreams``), which Brian2's ``rand()`` cannot reproduce; they
  are fed in as TimedArrays indexed by the step (float64, exact), as are the host's
  samples and targets (integer rates, exact in float64). No ``network_operation`` runs.

The engine's pre trace x1 is modelled only where the rule reads it (the step's payload of
a spiking pre neuron, ``x0 = 1``), as ``three_factor_epoch`` does; the weights are the
engine's 9-bit ones (``num_weight_bits = 9`` keeps them as given at the first step), so
``weight_bits`` must be 8.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.crosscheck.brian_models import STEP_MS, codegen_target
from dynaxx_neuro.cycle import TRAIN, engine_seed, epoch_order
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels import learning_engine as le
from dynaxx_neuro.networks.ep_loihi_lava import X1_TAU, graph_cycle, graph_inputs
from dynaxx_neuro.rules.ep_loihi import EPLoihiConfig, EPLoihiParameters

# Lava's learning-engine widths (kernels.learning_engine).
ACC_MIN, ACC_MAX = le.ACC_MIN, le.ACC_MAX
ACC_UNIT = 2 ** le.WEIGHT_SHIFT                     # 128: one weight step in the accumulator
FACTOR_NAMES = {"x0": "x0", "y0": "y0", "x1": "x1", "y1": "y1d", "y2": "y2d", "y3": "y3d"}


@dataclass(frozen=True)
class HostStream:
    """What the host sends one epoch's graph at Brian2 step n (Lava step n + 1): the input
    rates ``x`` (T, n_0) and the output target ``target`` (T, n_L), 255 for the sample's
    class in training periods, else 0 (``models/ep_fixed.py``, the stream's model)."""

    x: np.ndarray
    target: np.ndarray


@dataclass(frozen=True)
class EngineDraws:
    """The learning engine's random numbers of step n (Lava step t = n + 1) of one epoch's
    graph, every LearningDense sharing them: the x and y trace decays (``x_decay[2t]``,
    ``y_decay[2t]``) and the weight rounding (``conn[t]``)."""

    x_decay: np.ndarray
    y_decay: np.ndarray
    conn: np.ndarray

    @classmethod
    def for_graph(cls, rng_seed: int, n_steps: int) -> "EngineDraws":
        streams = le.EngineStreams(rng_seed)
        steps = range(1, n_steps + 1)
        return cls(*(np.array([streams.value(name, index(t)) for t in steps])
                     for name, index in (("x_decay", lambda t: 2 * t),
                                         ("y_decay", lambda t: 2 * t),
                                         ("conn", lambda t: t))))


@dataclass
class GraphEpoch:
    """What one epoch's graph leaves, on either simulator: the weights when it stops, the
    layers' states then (``last_states``), the states of every layer after every step
    (``step_states``, (T, n_l); None where not recorded), the class read at the free end of
    every training period (``train_predictions``) and of every evaluation period
    (``eval_predictions``: validation then test), the training accuracy and the wall time
    of the epoch (building the graph included)."""

    params: EPLoihiParameters
    last_states: list[np.ndarray]
    step_states: list[np.ndarray] | None
    train_predictions: np.ndarray | None
    eval_predictions: np.ndarray
    train_accuracy: float
    seconds: float


def host_stream(config: EPLoihiConfig, data, seed: int, epoch: int) -> HostStream:
    """The samples and targets the Lava stream sends in ``epoch`` (``EPFixedStream``): the
    training samples in the epoch's order, one period each, then validation and test,
    one evaluation period each."""
    cycle = graph_cycle(config, data, True, epoch)
    inputs = graph_inputs(data, fixed=True, trains=True)
    order = epoch_order(seed, epoch, len(data.x_train), 1).ravel()
    rows = [(TRAIN, row, cycle.train_period) for row in order]
    rows += [(split, b, cycle.eval_period) for split, b in cycle.eval_batches]
    x, target = [], []
    for split, row, steps in rows:
        d = np.zeros(data.n_classes, dtype=np.int64)
        if split == TRAIN:
            d[data.y_train[row]] = fx.RATE_MAX
        x += [inputs[split][row]] * steps
        target += [d] * steps
    return HostStream(np.array(x, dtype=np.int64), np.array(target, dtype=np.int64))


def free_end_predictions(rates: np.ndarray, config: EPLoihiConfig, cycle
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The readout's reading of the output rates ``rates`` (T, n_L): the argmax at the free
    end of every training period and of every evaluation period."""
    free_end = config.schedule.free_end
    train = np.arange(cycle.n_train_batches) * cycle.train_period + free_end
    evals = cycle.train_steps + np.arange(len(cycle.eval_batches)) * cycle.eval_period + free_end
    return np.argmax(rates[train], axis=1), np.argmax(rates[evals], axis=1)


# --- the Brian2 code -------------------------------------------------------------------------


def _clock_code(config: EPLoihiConfig, cycle, epoch: int) -> str:
    """The period step k and the third factor c of the current step, from the integer
    clock (``cycle.EpochCycle.slot``, ``rules.ep_loihi.third_factor_now``)."""
    every = 2 ** (epoch // config.decimate_epochs) if config.decimate_epochs else 1
    return f"""
n_step = t_in_timesteps
training = int(n_step < {cycle.train_steps})
train_k = n_step % {cycle.train_period}
eval_k = (n_step - {cycle.train_steps}) % {cycle.eval_period}
k = training * train_k + (1 - training) * eval_k
learns = int((n_step // {cycle.train_period}) % {every} == 0)
c_now = {config.scale.third_factor} * training * learns
"""


def layer_code(config: EPLoihiConfig, cycle, epoch: int, has_above: bool,
               is_output: bool) -> str:
    """The neuron program of a layer (module docstring) as Brian2 abstract code."""
    schedule, e = config.schedule, config.weight_exp
    low, high = config.fmt.state_range
    timing = config.timing
    plus_step, minus_step = timing.learning_steps
    replay = -1 if timing.replay_step is None else timing.replay_step
    restore = schedule.nudged_end + 1 if schedule.symmetric else -1
    negative_from = schedule.nudged_end + 2 if schedule.symmetric else schedule.period
    drive = f"sum_fwd // {2 ** e} + sum_bias // {2 ** e}"
    if has_above:
        drive += f" + sum_bwd // {2 ** e}"
    nudge = ""
    if is_output:
        nudge = f"""
d = int(target_in(t, i))
plus_phase = int(k > {schedule.free_end} and k <= {schedule.nudged_end})
minus_phase = int(k >= {negative_from} and k < {schedule.period})
sgn = plus_phase - minus_phase
s_next = clip(s_next + sgn * ((d - r) // {2 ** config.beta_shift}), {low}, {high})"""
    return _clock_code(config, cycle, epoch) + f"""
s_next = clip({drive}, {low}, {high}){nudge}
reset = int(k == 0)
restore = int(k == {restore})
replay = int(k == {replay})
s = (1 - reset) * ((1 - restore - replay) * s_next + restore * s_free + replay * s_held)
s_free = s_free + int(k == {schedule.free_end}) * (s - s_free)
s_held = s_held + int(k == {timing.held_step if timing.replay else -1}) * (s - s_held)
r = clip(s, 0, {fx.RATE_MAX})
half = r // 2
y1 = clip(half + (r % 2) * (half % 2), 0, {fx.TRACE_MAX})
y2 = c_now * int(k == {plus_step})
y3 = c_now * int(k == {minus_step})
bap = int(r > 0) * int(c_now > 0) * int(k == {minus_step})
"""


def _decay(target: str, value: str, factor: str, draw: str) -> str:
    """Lava's one-step stochastic trace decay (``learning_engine.decay_trace``), one
    float64 operation per statement."""
    return f"""
v_{target} = {factor} * {value}
low_{target} = floor(v_{target})
frac_{target} = v_{target} - low_{target}
{target} = int(low_{target}) + int({draw} < frac_{target})"""


def learning_code(products) -> str:
    """The learning epoch of a synapse (module docstring) for the parsed rule ``products``
    (``learning_engine.parse_rule``) as Brian2 abstract code."""
    top = 2 ** le.W_TRACE - 1
    code = "x0 = int(r_pre != 0)\ny0 = bap_post\nhalf = r_pre // 2"
    code += "\nx1_raw = half + (r_pre % 2) * (half % 2)"
    code += _decay("x1", "x1_raw", "x_factor", "x_draw(t)") + f"\nx1 = clip(x1, 0, {top})"
    for name in ("y1", "y2", "y3"):
        code += _decay(f"{name}d", f"{name}_post", "y_factor", "y_draw(t)")
        code += f"\n{name}d = {name}d + y0 * (clip({name}d, 0, {top}) - {name}d)"
    code += f"\nacc = w * {ACC_UNIT}"
    for j, p in enumerate(products):
        width = sum(le.FACTOR_WIDTH[f] for f in p.factors) + le.W_S_MANT
        factors = [f"clip({FACTOR_NAMES[f]}, {-2 ** le.FACTOR_WIDTH[f]}, "
                   f"{2 ** le.FACTOR_WIDTH[f] - 1})" for f in p.factors]
        code += f"\np{j} = {' * '.join([p.dependency, *factors, f'({p.mantissa})'])}"
        code += (f"\np{j} = clip((p{j} // {2 ** max(0, width - le.W_ACCUMULATOR_U)}) * "
                 f"{2 ** (p.exponent + 7)}, {ACC_MIN}, {ACC_MAX})")
        code += f"\nacc = clip(acc + p{j}, {ACC_MIN}, {ACC_MAX})"
    code += (f"\nw = clip(acc // {ACC_UNIT} + int(conn_draw(t) < (acc % {ACC_UNIT}) / "
             f"{float(ACC_UNIT)}), {fx.WEIGHT_MIN}, {fx.WEIGHT_MAX})")
    return code + "\n"


def engine_params(config: EPLoihiConfig) -> le.EngineParams:
    """The learning configuration of every LearningDense of the graph (as the Lava runner
    and the NumPy twin set it)."""
    return le.EngineParams(dw=fx.rule(config.scale), x1=le.Trace(0.0, X1_TAU),
                           three_factor=True, graded=le.GradedSpikeCfg.OVERWRITE,
                           weight_exp=-config.weight_exp, num_message_bits=fx.RATE_BITS)


def _modelled_products(params: le.EngineParams):
    """The rule's products, refused unless they are the kind ``three_factor_epoch`` reads
    (x0 * x1 * y.. and y0 * x0)."""
    for p in params.products:
        if (p.dependency, "x2" in p.factors) != ("x0", False) and \
                (p.dependency, p.factors) != ("y0", ("x0",)):
            raise ValueError(f"the Brian2 learning rule models products of x0 * x1 * y.. and "
                             f"y0 * x0 only, got {p}.")
    return params.products


def run_epoch(config: EPLoihiConfig, data, params: EPLoihiParameters, seed: int, epoch: int,
              target: str = "numpy") -> GraphEpoch:
    """One epoch's graph of ``config`` in Brian2 from the weights ``params``: the training
    periods of the epoch's order, then validation and test (the Lava runner's cycle, with
    ``cycle.engine_seed(seed, epoch)`` for the engine's draws)."""
    if config.fmt.weight_bits != 8:
        raise ValueError(f"weight_bits must be 8 (the learning engine's), got "
                         f"{config.fmt.weight_bits}.")
    started = time.perf_counter()
    cycle = graph_cycle(config, data, True, epoch)
    stream = host_stream(config, data, seed, epoch)
    draws = EngineDraws.for_graph(engine_seed(seed, epoch), cycle.steps)
    engine = engine_params(config)
    products = _modelled_products(engine)
    sizes, n_layers = config.sizes, config.n_weight_layers
    integers = ("s", "s_free", "s_held", "r", "y1", "y2", "y3", "bap", "sum_fwd", "sum_bwd",
                "sum_bias")
    with codegen_target(target) as b2:
        dt = STEP_MS * b2.ms
        namespace = {"x_in": b2.TimedArray(stream.x, dt=dt),
                     "target_in": b2.TimedArray(stream.target, dt=dt),
                     "x_draw": b2.TimedArray(draws.x_decay, dt=dt),
                     "y_draw": b2.TimedArray(draws.y_decay, dt=dt),
                     "conn_draw": b2.TimedArray(draws.conn, dt=dt)}
        source = b2.NeuronGroup(sizes[0], "r : integer", dt=dt, name="ep_input",
                                dtype={"r": np.int64})
        source.run_regularly("r = int(x_in(t, i))", when="start", order=-1,
                             name="ep_input_stream")
        bias = b2.NeuronGroup(1, "r : integer (constant)", dt=dt, name="ep_bias",
                              dtype={"r": np.int64})
        bias.r = fx.RATE_MAX
        layers = []
        for l, n in enumerate(sizes[1:]):
            has_above = l + 1 < n_layers
            names = [v for v in integers if has_above or v != "sum_bwd"]
            group = b2.NeuronGroup(n, "\n".join(f"{v} : integer" for v in names), dt=dt,
                                   name=f"ep_layer{l}", dtype={v: np.int64 for v in names})
            group.run_regularly(layer_code(config, cycle, epoch, has_above, l == n_layers - 1),
                                when="start", order=0, name=f"ep_layer{l}_program")
            layers.append(group)
        below = [source, *layers[:-1]]
        plan = ([("fwd", l, below[l], params.weights[l]) for l in range(n_layers)]
                + [("bwd", l, layers[l + 1], params.backward[l]) for l in range(n_layers - 1)]
                + [("bias", l, bias, params.biases[l]) for l in range(n_layers)])
        rule = learning_code(products)
        synapses = []
        for group_name, l, pre, weights in plan:
            model = f"""w : integer
                        x_factor : 1 (shared, constant)
                        y_factor : 1 (shared, constant)
                        sum_{group_name}_post = w * r_pre : integer (summed)"""
            syn = b2.Synapses(pre, layers[l], model, dt=dt, name=f"ep_{group_name}{l}",
                              dtype={"w": np.int64})
            syn.connect()
            syn.w[:] = np.asarray(weights)[syn.j[:], syn.i[:]]
            syn.x_factor = np.exp(-1 / engine.x1.tau)
            syn.y_factor = np.exp(-1 / engine.y1.tau)
            syn.run_regularly(rule, when="end", order=0, name=f"ep_{group_name}{l}_learning")
            synapses.append((group_name, l, syn, np.shape(weights)))
        monitors = [b2.StateMonitor(g, "s", record=True, when="end", order=1,
                                    name=f"ep_states{l}") for l, g in enumerate(layers)]
        rates = b2.StateMonitor(layers[-1], "r", record=True, when="end", order=1,
                                name="ep_output_rates")
        net = b2.Network(source, bias, *layers, *(s for _, _, s, _ in synapses), *monitors,
                         rates)
        net.run(cycle.steps * dt, namespace=namespace)
        learned = {"fwd": list(params.weights), "bwd": list(params.backward),
                   "bias": list(params.biases)}
        for group_name, l, syn, shape in synapses:
            w = np.zeros(shape, dtype=np.int64)
            w[syn.j[:], syn.i[:]] = syn.w[:]
            learned[group_name][l] = w
        step_states = [np.array(m.s[:].T, dtype=np.int64) for m in monitors]
        out_rates = np.array(rates.r[:].T, dtype=np.int64)
        last = [np.array(g.s[:], dtype=np.int64) for g in layers]
    train_pred, eval_pred = free_end_predictions(out_rates, config, cycle)
    order = epoch_order(seed, epoch, len(data.x_train), 1).ravel()
    accuracy = float(np.mean(train_pred == data.y_train[order])) if len(order) else float("nan")
    return GraphEpoch(EPLoihiParameters(learned["fwd"], learned["bwd"], learned["bias"]), last,
                      step_states, train_pred, eval_pred, accuracy,
                      time.perf_counter() - started)


def train(config: EPLoihiConfig, data, params: EPLoihiParameters, seed: int, epochs: int,
          target: str = "numpy") -> list[GraphEpoch]:
    """``epochs`` epochs of the graph in Brian2, each a new network started from the
    weights the last one ended with (epochs counted from 0)."""
    results = []
    for epoch in range(epochs):
        results.append(run_epoch(config, data, params, seed, epoch, target))
        params = results[-1].params
    return results


__all__ = ["EngineDraws", "GraphEpoch", "HostStream", "free_end_predictions", "host_stream",
           "layer_code", "learning_code", "run_epoch", "train"]
