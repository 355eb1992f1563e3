"""The integer EP layer on Lava (``processes/ep_fixed.py``, its ``fixed_pt`` model) wired with
Lava's own bit-accurate graded ``Dense`` synapses, against a NumPy loop of the same integer
kernels (``kernels.ep_fixed.period_step`` and ``kernels.learning_engine.graded_drive``, the
Dense twin): the rates every layer sends agree at every step of two periods, bit for bit."""

import numpy as np
import pytest

from dynaxx_neuro.cycle import EpochCycle
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels import ep_fixed as fx
from dynaxx_neuro.kernels.learning_engine import graded_drive

pytestmark = pytest.mark.lava

FMT = fx.FixedFormat()
SCHEDULE = ep.EPSchedule(t_free=6, t_nudge=3, symmetric=True)


def _problem(seed=0, sizes=(20, 12, 5)):
    rng = np.random.default_rng(seed)
    mantissas = [rng.integers(-128, 128, size=(n_post, n_pre))
                 for n_pre, n_post in zip(sizes, sizes[1:])]
    biases = [rng.integers(-30, 30, size=n) for n in sizes[1:]]
    x = rng.integers(0, 256, size=sizes[0])
    target = np.zeros(sizes[-1], dtype=np.int64)
    target[2] = FMT.rate_max
    return mantissas, biases, x, target


def test_mantissas_as_lava_dense_weights_drive_as_the_kernel_says():
    """An 8-bit mantissa w with exponent q is Lava's MIXED 8-bit weight 2w (Lava keeps even
    weights only) with weight_exp -(q + 1): the drives agree exactly."""
    rng = np.random.default_rng(4)
    w, r = rng.integers(-128, 128, size=(9, 30)), rng.integers(0, 256, size=30)
    for q in (6, 8, 10):
        np.testing.assert_array_equal(graded_drive(2 * w, r, -(q + 1), 8),
                                      fx.dense_drive(w, r, q))


def _numpy_twin(mantissas, biases, x, target, q, beta_shift, steps):
    """Lava's schedule in NumPy: each Dense sends at step t what it computed from the rates
    of step t - 1 (0 at the first step), each layer runs ``period_step``."""
    sent = {"x": np.zeros_like(x), "h": np.zeros(len(biases[0]), np.int64),
            "y": np.zeros(len(biases[1]), np.int64)}
    s = [np.zeros(len(b), np.int64) for b in biases]
    s_free, rates = [None, None], []
    for t in range(1, steps + 1):
        k = (t - 1) % SCHEDULE.period
        a_h = (graded_drive(2 * mantissas[0], sent["x"], -(q + 1), 8)
               + graded_drive(2 * mantissas[1].T, sent["y"], -(q + 1), 8))
        a_y = graded_drive(2 * mantissas[1], sent["h"], -(q + 1), 8)
        for l, (a, tgt, prev) in enumerate(((a_h, None, sent["h"]), (a_y, target, sent["y"]))):
            s[l] = fx.period_step(SCHEDULE, k, s[l], s_free[l], a.astype(np.int64), biases[l],
                                  FMT, beta_shift, tgt, prev)
            if k == SCHEDULE.free_end:
                s_free[l] = s[l].copy()
        sent = {"x": x, "h": fx.rate(s[0], FMT), "y": fx.rate(s[1], FMT)}
        rates.append((sent["h"], sent["y"]))
    return rates


def _run_two_layers(mantissas, biases, x, target, q, beta_shift, periods, rule_seed=None,
                    third_factor=0):
    """Run the 20-12-5 integer graph on Lava for ``periods`` periods: x through Dense into
    the hidden layer, Dense (or, with ``rule_seed``, a LearningDense with ``EP_RULE`` fed by
    the output layer's post factors) into the output, Dense W^T back. Returns the rates both
    layers sent at every step ((n, T) each) and the final hidden-to-output weights."""
    from dynaxx_neuro.backends import prepare_lava_import
    prepare_lava_import()
    from lava.magma.core.learning.constants import GradedSpikeCfg
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    from lava.proc.dense.process import Dense, LearningDense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    from dynaxx_neuro.networks.lava_graph import LavaGraph
    from dynaxx_neuro.processes.ep_fixed import EPFixedLayer

    steps = periods * SCHEDULE.period
    cycle = EpochCycle(periods, 0, 0, 1, SCHEDULE.period)
    common = dict(schedule=SCHEDULE, cycle=cycle, fmt=FMT, beta_shift=beta_shift,
                  third_factor=third_factor)
    hidden = EPFixedLayer(n=len(biases[0]), bias=biases[0], is_output=False, **common)
    output = EPFixedLayer(n=len(biases[1]), bias=biases[1], is_output=True, **common)
    source = Source(data=np.repeat(x[:, None], steps, axis=1))
    targets = Source(data=np.repeat(target[:, None], steps, axis=1))
    dense = dict(num_message_bits=FMT.rate_bits, weight_exp=-(q + 1))
    w0, w1 = (fx.LAVA_WEIGHT_FACTOR * m for m in mantissas)
    forward0 = Dense(weights=w0, **dense)
    backward1 = Dense(weights=w1.T.copy(), **dense)
    extra = []
    if rule_seed is None:
        forward1 = Dense(weights=w1.copy(), **dense)
    else:
        rule = Loihi3FLearningRule(dw=fx.EP_RULE, t_epoch=1, rng_seed=rule_seed,
                                   x1_impulse=0, x1_tau=65535)
        forward1 = LearningDense(weights=w1.copy(), learning_rule=rule,
                                 graded_spike_cfg=GradedSpikeCfg.OVERWRITE, **dense)
        no_bap = Source(data=np.zeros((len(biases[1]), steps), dtype=np.int32))
        no_bap.s_out.connect(forward1.s_in_bap)
        for out_port, in_port in ((output.s_out_y1, forward1.s_in_y1),
                                  (output.s_out_y2, forward1.s_in_y2),
                                  (output.s_out_y3, forward1.s_in_y3)):
            out_port.connect(in_port)
        extra.append(no_bap)
    sinks = [Sink(shape=(len(b),), buffer=steps) for b in biases]
    source.s_out.connect(forward0.s_in)
    forward0.a_out.connect(hidden.a_in)
    hidden.s_out.connect(forward1.s_in)
    forward1.a_out.connect(output.a_in)
    output.s_out.connect(backward1.s_in)
    backward1.a_out.connect(hidden.a_in)
    targets.s_out.connect(output.target_in)
    hidden.s_out.connect(sinks[0].a_in)
    output.s_out.connect(sinks[1].a_in)
    graph = LavaGraph([hidden, output, source, targets, *extra, forward0, forward1,
                       backward1, *sinks], "fixed_pt")
    try:
        graph.run(steps)
        h, y = (sink.data.get().astype(np.int64) for sink in sinks)
        return h, y, forward1.weights.get()
    finally:
        graph.stop()


def test_integer_layers_on_lava_send_what_the_numpy_twin_computes():
    mantissas, biases, x, target = _problem()
    q, beta_shift, periods = 8, 1, 2
    steps = periods * SCHEDULE.period
    got_h, got_y, _ = _run_two_layers(mantissas, biases, x, target, q, beta_shift, periods)
    expected = _numpy_twin(mantissas, biases, x, target, q, beta_shift, steps)
    np.testing.assert_array_equal(got_h.T, np.array([e[0] for e in expected]))
    np.testing.assert_array_equal(got_y.T, np.array([e[1] for e in expected]))
    # The run exercised every phase: the output moved towards the target in +beta and away
    # from it in -beta, and the layers are not all saturated.
    ys = np.array([e[1] for e in expected])
    plus_end, minus_end = SCHEDULE.nudged_end, SCHEDULE.period - 1
    assert ys[plus_end, 2] > ys[minus_end, 2]
    assert 0 < np.mean([(e[0] > 0) & (e[0] < FMT.rate_max) for e in expected]) < 1


def test_a_learning_dense_with_the_ep_rule_learns_what_the_engine_update_says():
    """The hidden-to-output synapse as Lava's LearningDense with ``EP_RULE``, its post factors
    sent by the output layer (y1, and the third factor at the ends of the two nudged phases):
    after one period its weights are ``engine_contrastive_update`` of the rates the layers
    sent at those two steps, with Lava's own rounding draws, bit for bit."""
    from dynaxx_neuro.kernels import learning_engine as le

    mantissas, biases, x, target = _problem(seed=1)
    q, beta_shift, seed = 8, 1, 3
    c = fx.third_factor(FMT, 7, beta_shift, q)
    h, y, learned = _run_two_layers(mantissas, biases, x, target, q, beta_shift, 1, seed, c)
    w1 = fx.LAVA_WEIGHT_FACTOR * mantissas[1]
    plus, minus = SCHEDULE.nudged_end, SCHEDULE.period - 1
    conn = le.Randoms.for_run(seed, SCHEDULE.period, 1).conn
    expected = fx.engine_contrastive_update(w1, y[:, plus], h[:, plus], y[:, minus],
                                            h[:, minus], c, (conn[plus + 1], conn[minus + 1]))
    np.testing.assert_array_equal(learned, expected)
    assert (learned != w1).any()
