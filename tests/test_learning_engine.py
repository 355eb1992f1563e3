"""The NumPy model of Lava's fixed-point plastic synapse (``kernels.learning_engine``) against
lava-nc 0.10.0 itself: Lava's ``Dense``/``LearningDense`` under ``fixed_pt`` driven by stock
``RingBuffer`` sources, weights, traces and sent drives compared with ``assert_array_equal``.
"""

import numpy as np
import pytest

from dynaxx_neuro.kernels import learning_engine as le
from dynaxx_neuro.kernels.learning_engine import EngineParams, GradedSpikeCfg, SignMode, Trace


def _lava():
    from dynaxx_neuro.backends import prepare_lava_import
    prepare_lava_import()


def _run_lava(weights, params: EngineParams, s_in, bap=None, y=None, learning=True):
    """Run Lava for T = s_in.shape[1] steps: RingBuffers into s_in (and s_in_bap, s_in_y1..3),
    a sink on a_out; returns the Vars read after the run and the sink's record."""
    _lava()
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense, LearningDense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.utils.weightutils import SignMode as LavaSignMode

    n_steps = s_in.shape[1]
    common = dict(weights=np.asarray(weights).copy(), num_message_bits=params.num_message_bits,
                  weight_exp=params.weight_exp, num_weight_bits=params.num_weight_bits,
                  sign_mode=LavaSignMode(int(params.sign_mode)))
    if learning:
        traces = dict(x1_impulse=params.x1.impulse, x1_tau=params.x1.tau,
                      x2_impulse=params.x2.impulse, x2_tau=params.x2.tau)
        if params.three_factor:
            rule = Loihi3FLearningRule(dw=params.dw, t_epoch=params.t_epoch,
                                       rng_seed=params.rng_seed, **traces)
        else:
            rule = Loihi2FLearningRule(
                dw=params.dw, t_epoch=params.t_epoch, rng_seed=params.rng_seed,
                y1_impulse=params.y1.impulse, y1_tau=params.y1.tau,
                y2_impulse=params.y2.impulse, y2_tau=params.y2.tau,
                y3_impulse=params.y3.impulse, y3_tau=params.y3.tau, **traces)
        from lava.magma.core.learning.constants import GradedSpikeCfg as LavaCfg
        dense = LearningDense(learning_rule=rule, graded_spike_cfg=LavaCfg(int(params.graded)),
                              **common)
    else:
        dense = Dense(**common)
    pre = Source(data=np.asarray(s_in).astype(np.int32))
    pre.s_out.connect(dense.s_in)
    keep = [pre]
    if learning:
        post = Source(data=(np.zeros((weights.shape[0], n_steps)) if bap is None else bap)
                      .astype(np.int32))
        post.s_out.connect(dense.s_in_bap)
        keep.append(post)
        if params.three_factor:
            for i, port in enumerate((dense.s_in_y1, dense.s_in_y2, dense.s_in_y3)):
                src = Source(data=np.asarray(y[i]).astype(np.int32))
                src.s_out.connect(port)
                keep.append(src)
    sink = Sink(shape=(weights.shape[0],), buffer=n_steps)
    dense.a_out.connect(sink.a_in)
    try:
        dense.run(condition=RunSteps(num_steps=n_steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out = {"a_out": sink.data.get().astype(np.int64), "weights": dense.weights.get()}
        if learning:
            for name in ("x1", "x2", "y1", "y2", "y3"):
                out[name] = getattr(dense, name).get()
    finally:
        dense.stop()
    return out


def _assert_twin(weights, params, s_in, bap=None, y=None):
    lava = _run_lava(weights, params, s_in, bap, y)
    state, sent = le.run(weights, params, s_in, bap, y)
    np.testing.assert_array_equal(state.weights, lava["weights"])
    np.testing.assert_array_equal(sent, lava["a_out"])
    for name in ("x1", "x2", "y1", "y2", "y3"):
        np.testing.assert_array_equal(getattr(state, name), lava[name], err_msg=name)
    return state, lava


def _graded(rng, n, n_steps, high, p=0.5):
    return np.where(rng.random((n, n_steps)) < p, rng.integers(1, high, (n, n_steps)), 0)


# ------------------------------------------------------------------------ no Lava needed

def test_kernel_arithmetic_by_hand():
    """Hand-computed cases of the integer steps (fails if a shift or rounding moves)."""
    # drive: (2*3 + -4*5) = -14, >> 2 floors to -4; << 1 doubles
    w = np.array([[2, -4]])
    np.testing.assert_array_equal(le.graded_drive(w, np.array([3, 5]), -2, 8), [-4])
    np.testing.assert_array_equal(le.graded_drive(w, np.array([3, 5]), 1, 8), [-28])
    np.testing.assert_array_equal(le.graded_drive(w, np.array([3, 0]), 0, 0), [2])
    # MIXED 8-bit weights lose their last bit; 7-bit excitatory weights their last bit
    np.testing.assert_array_equal(le.truncate_weights(np.array([5, -5, 255]), SignMode.MIXED),
                                  [4, -6, 254])
    np.testing.assert_array_equal(le.truncate_weights(np.array([5]), SignMode.EXCITATORY, 7), [4])
    # 2^-2 * u0 * x1 * y1 with x1 = y1 = 100: 100*100 >> 3 << 5 = 40000 -> clipped to 32767
    prods = le.parse_rule("2^-2 * u0 * x1 * y1")
    args = {"shape": (1, 1), "u": 1, "x1_u": np.array([[100]]), "y1_u": np.array([[100]])}
    np.testing.assert_array_equal(le.apply_products(np.zeros((1, 1), np.int32), prods, args),
                                  [[32767]])
    # the accumulator 10 * 128 + 64 rounds to 10 or 11 by the draw, then clips
    acc_w = np.array([[10]], np.int32)
    args["x1_u"] = np.array([[8]])
    args["y1_u"] = np.array([[64]])          # 8*64 >> 3 << 5 = 2048 = 16 weight units
    assert le.update_weights(acc_w, prods, args, SignMode.MIXED, 0.3)[0, 0] == 26
    assert le.update_weights(np.array([[250]], np.int32), prods, args,
                             SignMode.MIXED, 0.3)[0, 0] == 255
    assert le.update_weights(np.array([[-250]], np.int32), le.parse_rule("-2^-2*u0*x1*y1"),
                             args, SignMode.MIXED, 0.3)[0, 0] == -256
    assert le.update_weights(np.array([[5]], np.int32), le.parse_rule("-2^-2*u0*x1*y1"),
                             args, SignMode.EXCITATORY, 0.3)[0, 0] == 0
    # ADD_WITH_SATURATION: round(255/2) = 128 (half to even), 100 + 128 -> 127; 200/2 + 127
    # = 227 -> 127; 600 -> round 300 -> uint8 44
    params = EngineParams(dw="u0*x1*y1", graded=GradedSpikeCfg.ADD_WITH_SATURATION)
    state = le.SynapseState.initial(np.zeros((1, 3), int))
    state = le.replace(state, x1=np.array([100, 0, 0]))
    out = le.process_pre_spikes(state, params, np.array([255, 600, 5]))
    np.testing.assert_array_equal(out["x1"], [127, 44, 2])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no dependency"):
        le.parse_rule("x1 * y1")
    with pytest.raises(ValueError, match="outside the modelled grammar"):
        le.parse_rule("u0 * x1 * w")
    with pytest.raises(ValueError, match="t_epoch"):
        EngineParams(dw="u0*x1", t_epoch=0)


# ------------------------------------------------------------------------------ vs Lava

@pytest.mark.lava
def test_rule_parser_matches_lava():
    _lava()
    from lava.magma.core.learning.product_series import ProductSeries
    from lava.magma.core.learning.symbolic_equation import SymbolicEquation
    for rule in ["2^-2 * u0 * x1 * y1", "-3 * 2^-4 * x0 * y1 + 8 * y0 * x1",
                 "u0 * x1 * y2 - 2^-1 * u0 * x1 * y3", "2^-3 * y0 * x1 * x0 - 6 * x0 * y1",
                 "16 * 2^-7 * u1 * x1 * y1", "- 2 ^ -2 * u0 * x2 * y1 * y2"]:
        ours = le.parse_rule(rule)
        theirs = ProductSeries(SymbolicEquation("dw", rule)).products
        assert len(ours) == len(theirs), rule
        for a, b in zip(ours, theirs):
            assert (a.mantissa, a.exponent + 7, a.dependency, a.decimate_exponent) == \
                (b.s_mantissa, b.s_exp, b.dependency, b.decimate_exponent), rule
            assert a.factors == tuple(f.state_var for f in b.factors), rule


@pytest.mark.lava
def test_random_streams_match_lava_generators():
    _lava()
    from lava.magma.core.learning.random import ConnVarRandom, TraceRandom
    seed, n = 17, 20
    ours = le.Randoms.for_run(seed, n, t_epoch=1)
    x, y, c = TraceRandom(seed, seed + 1), TraceRandom(seed + 2, seed + 3), ConnVarRandom()
    for k in range(2 * n + 1):
        assert (ours.x_decay[k], ours.x_impulse[k]) == (x.random_trace_decay,
                                                        x.random_impulse_addition)
        assert (ours.y_decay[k], ours.y_impulse[k]) == (y.random_trace_decay,
                                                        y.random_impulse_addition)
        x.advance()
        y.advance()
    for k in range(n + 1):
        assert ours.conn[k] == c.random_stochastic_round
        c.advance()


@pytest.mark.lava
def test_graded_dense_drive_matches_lava():
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (5, 7))
    s = _graded(rng, 7, 12, 3000)
    for weight_exp in (-3, 0, 2):
        params = EngineParams(dw="u0*x1", num_message_bits=16, weight_exp=weight_exp)
        lava = _run_lava(w, params, s, learning=False)
        wq = le.dense_weights(w, SignMode.MIXED)
        expected = np.stack([np.zeros(5, np.int64)] + [
            le.graded_drive(wq, s[:, t], weight_exp, 16) for t in range(11)], axis=-1)
        np.testing.assert_array_equal(expected, lava["a_out"])


@pytest.mark.lava
def test_two_factor_overwrite_matches_lava():
    """Graded pre traces overwritten by payload/2, binary post spikes with a fractional
    impulse, both decaying, a 4-term rule over x0, y0 and u0, learning epochs of 5 steps."""
    rng = np.random.default_rng(1)
    w = rng.integers(-100, 100, (4, 6))
    params = EngineParams(dw="2^-2 * u0 * x1 * y1 - 2^-3 * x0 * y1 + 3 * 2^-4 * y0 * x1"
                             " - 2^-4 * u0 * x2 * y2",
                          t_epoch=5, rng_seed=7, x1=Trace(0, 12.0), x2=Trace(6.5, 4.0),
                          y1=Trace(20.25, 10.0), y2=Trace(9.0, 3.0),
                          graded=GradedSpikeCfg.OVERWRITE, num_message_bits=8)
    s = _graded(rng, 6, 50, 256, 0.6)
    bap = (rng.random((4, 50)) < 0.4).astype(int)
    state, _ = _assert_twin(w, params, s, bap)
    assert not np.array_equal(state.weights, le.truncate_weights(w, SignMode.MIXED))


@pytest.mark.lava
@pytest.mark.parametrize("graded", [GradedSpikeCfg.ADD_WITH_SATURATION,
                                    GradedSpikeCfg.ADD_WITHOUT_SATURATION])
def test_two_factor_add_matches_lava(graded):
    """ADD_WITH_SATURATION (and ADD_WITHOUT_SATURATION: overflow above 127 kept, x2 impulse
    and tx only on overflow) with payloads up to 700 (uint8 wrap after halving), excitatory
    weights, epochs of 4 steps."""
    rng = np.random.default_rng(2)
    w = rng.integers(0, 200, (3, 5))
    params = EngineParams(dw="2^-1 * u0 * x1 * y1 - 2^-2 * x0 * y1 + 2^-3 * u0 * x2 * y1",
                          t_epoch=4, rng_seed=3, x1=Trace(0, 6.0), x2=Trace(30.5, 8.0),
                          y1=Trace(15.0, 5.0), graded=graded,
                          sign_mode=SignMode.EXCITATORY, num_message_bits=12)
    s = _graded(rng, 5, 48, 700, 0.5)
    bap = (rng.random((3, 48)) < 0.5).astype(int)
    state, _ = _assert_twin(w, params, s, bap)
    assert not np.array_equal(state.weights, w)


@pytest.mark.lava
def test_regular_impulse_binary_matches_lava():
    """Binary spikes, several per epoch (the immediate multi-spike impulses), fractional
    impulses rounded with the trace generators, 7-bit weights, weight_exp 1."""
    rng = np.random.default_rng(3)
    w = rng.integers(-120, 120, (4, 5))
    params = EngineParams(dw="2^-2 * y0 * x1 - 2^-2 * x0 * y1 + 2^-5 * u0 * x2 * y1",
                          t_epoch=3, rng_seed=11, x1=Trace(10.3, 8.0), x2=Trace(4.7, 16.0),
                          y1=Trace(12.6, 6.0), num_weight_bits=7, weight_exp=1)
    s = (rng.random((5, 51)) < 0.5).astype(int)
    bap = (rng.random((4, 51)) < 0.5).astype(int)
    state, _ = _assert_twin(w, params, s, bap)
    assert not np.array_equal(state.weights, w)


@pytest.mark.lava
@pytest.mark.parametrize("x1_tau", [30.0, 0.0])
def test_three_factor_matches_lava(x1_tau):
    """Loihi3FLearningRule: y1, y2, y3 supplied each step from the post side (as EP's third
    factor would be), graded pre payloads overwriting x1, u0 products at epoch ends."""
    rng = np.random.default_rng(4)
    w = rng.integers(-60, 60, (3, 4))
    params = EngineParams(dw="2^-2 * u0 * x1 * y2 - 2^-2 * u0 * x1 * y3 + 2^-4 * u0 * x1 * y1",
                          t_epoch=5, rng_seed=5, x1=Trace(0, x1_tau), three_factor=True,
                          graded=GradedSpikeCfg.OVERWRITE, num_message_bits=8)
    s = _graded(rng, 4, 50, 256, 0.7)
    bap = (rng.random((3, 50)) < 0.3).astype(int)
    y = rng.integers(0, 128, (3, 3, 50))
    state, _ = _assert_twin(w, params, s, bap, y)
    if x1_tau == 0:      # tau 0 zeroes the trace in the epoch history: u0 products read 0
        np.testing.assert_array_equal(state.weights, le.truncate_weights(w, SignMode.MIXED))
    else:
        assert not np.array_equal(state.weights, le.truncate_weights(w, SignMode.MIXED))


@pytest.mark.lava
@pytest.mark.parametrize("sign_mode", [SignMode.MIXED, SignMode.EXCITATORY, SignMode.INHIBITORY])
def test_weight_saturation_matches_lava(sign_mode):
    """Strong potentiation and depression drive weights onto their bounds ([-256, 255]
    mixed, [0, 255] excitatory, [-255, 0] inhibitory) and the twin holds them there too."""
    rng = np.random.default_rng(5)
    base = {SignMode.MIXED: (-250, 250), SignMode.EXCITATORY: (0, 250),
            SignMode.INHIBITORY: (-250, 1)}[sign_mode]
    w = rng.integers(*base, (4, 6))
    params = EngineParams(dw="4 * u0 * x1 * y1 - 2^-1 * u0 * x1", t_epoch=2, rng_seed=9,
                          x1=Trace(0, 20.0), y1=Trace(60.0, 4.0),
                          graded=GradedSpikeCfg.OVERWRITE, sign_mode=sign_mode,
                          num_message_bits=8)
    s = _graded(rng, 6, 40, 256, 0.9)
    bap = np.zeros((4, 40), int)
    bap[:2, :20] = 1                       # rows 0, 1 potentiate, then depress
    state, _ = _assert_twin(w, params, s, bap)
    lo, hi = {SignMode.MIXED: (-256, 255), SignMode.EXCITATORY: (0, 255),
              SignMode.INHIBITORY: (-255, 0)}[sign_mode]
    assert state.weights.min() >= lo and state.weights.max() <= hi
    assert ((state.weights == lo) | (state.weights == hi)).any()


def test_engine_streams_are_the_randoms_drawn_in_blocks():
    randoms = le.Randoms.for_run(9, 300, 1)
    streams = le.EngineStreams(9)
    streams.BLOCK = 7   # many block boundaries
    for k in range(0, 601, 3):
        assert streams.value("x_decay", k) == randoms.x_decay[k]
        assert streams.value("y_decay", k) == randoms.y_decay[k]
    for t in range(1, 301):
        assert streams.value("conn", t) == randoms.conn[t]
    with pytest.raises(ValueError, match="moved past"):
        streams.value("conn", 0)


def test_the_three_factor_fast_path_is_the_engine_step_bit_for_bit():
    """``three_factor_epoch`` at every step of a random run (graded payloads, y factors
    that are 0 at most steps, bap spikes) against ``step``, the twin validated against
    Lava above, with the EP rule of the Loihi graph."""
    rng = np.random.default_rng(11)
    rule = "2^-7 * x0 * x1 * y1 * y2 - 2^-7 * x0 * x1 * y1 * y3 + 2^-7 * y0 * x0"
    params = EngineParams(dw=rule, t_epoch=1, rng_seed=4, x1=Trace(0, 65535),
                          three_factor=True, graded=GradedSpikeCfg.OVERWRITE,
                          num_message_bits=8, num_weight_bits=8)
    n_pre, n_post, steps = 9, 6, 400
    w = 2 * rng.integers(-128, 128, (n_post, n_pre))
    randoms = le.Randoms.for_run(params.rng_seed, steps, 1)
    streams = le.EngineStreams(params.rng_seed)
    state, fast = le.SynapseState.initial(w), w.copy()
    for t in range(1, steps + 1):
        s_in = rng.integers(0, 256, n_pre) * (rng.random(n_pre) < 0.7)
        third = 32 * (rng.random() < 0.2)
        ys = (rng.integers(0, 128, n_post), np.full(n_post, third),
              np.full(n_post, 32 * (rng.random() < 0.2)))
        bap = (rng.random(n_post) < 0.3).astype(int)
        state, _ = le.step(state, params, randoms, s_in, bap, ys)
        fast = le.three_factor_epoch(fast, params, s_in, ys, bap,
                                     streams.value("x_decay", 2 * t),
                                     streams.value("y_decay", 2 * t), streams.value("conn", t))
        np.testing.assert_array_equal(fast, state.weights, err_msg=f"step {t}")
    assert not np.array_equal(fast, w)
    with pytest.raises(ValueError, match="3-factor rules with t_epoch 1"):
        le.three_factor_epoch(w, EngineParams(dw=rule, t_epoch=2, three_factor=True,
                                              graded=GradedSpikeCfg.OVERWRITE),
                              s_in, ys, bap, 0.5, 0.5, 0.5)
