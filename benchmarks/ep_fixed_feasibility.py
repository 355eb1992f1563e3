"""Can EP learn in Loihi 2's integer arithmetic? The integer kernels of
``dynaxx_neuro.kernels.ep_fixed`` in a plain loop: 64-H-10 on digits, batch 1 (one sample
per period, as on chip), 8-bit rates, 8-bit weight mantissas with one exponent per matrix,
stochastically rounded updates, symmetric nudging. A feasibility measurement for the fixed-point EP graph, not yet that graph:
the Lava processes, the learning-rule string and the ``lava-fixed``/``numpy-fixed`` back
ends are still to come.

    python ep_fixed_feasibility.py                       # integer, the settings below
    python ep_fixed_feasibility.py --weight-bits 6 --name ep_fixed_feasibility_w6
"""

import argparse
import time

import numpy as np
from common import write_result

from dynaxx_neuro.cycle import INIT, epoch_order, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.kernels import ep_fixed as fx


def settle(w, q, b, x, state, steps, fmt, target=None, beta_shift=0, sign=0):
    """``steps`` synchronous integer steps from the rates ``state`` = (h, y)."""
    h, y = state
    for _ in range(steps):
        s_h = fx.layer_step(fx.dense_drive(w[0], x, q[0]) + fx.dense_drive(w[1].T, y, q[1]),
                            b[0], fmt)
        s_y = fx.layer_step(fx.dense_drive(w[1], h, q[1]), b[1], fmt)
        if sign:
            s_y = fx.nudge(s_y, y, target, beta_shift, sign, fmt)
        h, y = fx.rate(s_h, fmt), fx.rate(s_y, fmt)
    return h, y


def accuracy(w, q, b, xs, ys, fmt, t_free, hidden):
    zero = (np.zeros(hidden, np.int64), np.zeros(10, np.int64))
    hits = [settle(w, q, b, fx.quantize_rates(x, fmt), zero, t_free, fmt)[1].argmax() == y
            for x, y in zip(xs, ys)]
    return float(np.mean(hits))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--weight-bits", type=int, default=8)
    parser.add_argument("--rate-bits", type=int, default=8,
                        help="7 fits the learning engine's 7-bit traces")
    parser.add_argument("--weight-exp", type=int, default=8, help="q: W = w / 2^q")
    parser.add_argument("--lr-shift", type=int, default=7, help="lr = 2^-l per sample")
    parser.add_argument("--beta-shift", type=int, default=1, help="beta = 2^-k")
    parser.add_argument("--t-free", type=int, default=12)
    parser.add_argument("--t-nudge", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trace-bits", type=int, default=None,
                        help="the update reads rates >> (rate bits - trace bits), as 7-bit "
                             "learning-engine traces would hold them [none: the full rates]")
    parser.add_argument("--engine", action="store_true",
                        help="weights as Lava's LearningDense holds them, updated as its "
                             "learning engine applies the EP rule "
                             "(kernels.ep_fixed.engine_contrastive_update)")
    parser.add_argument("--lr-halving-epochs", type=int, default=0,
                        help="with --engine: halve the rate (the third factor, and the bias "
                             "rate) every N epochs [0: constant]")
    parser.add_argument("--decimate-epochs", type=int, default=0,
                        help="with --engine: every N epochs, learn on half as many samples "
                             "(the rule's u-dependency; keeps each update's resolution) "
                             "[0: every sample]")
    parser.add_argument("--update-between-phases", action="store_true",
                        help="with --engine: the +beta update lands before the -beta phase "
                             "settles, as LearningDense applies it at the +beta end")
    parser.add_argument("--shared-rounding", action="store_true",
                        help="one rounding draw per update for all synapses, as Lava's "
                             "bit-approximate LearningDense does")
    parser.add_argument("--name", default="ep_fixed_feasibility")
    args = parser.parse_args()
    fmt = fx.FixedFormat(rate_bits=args.rate_bits, weight_bits=args.weight_bits)
    data = prepare_splits("digits", None, 0.1, args.seed)
    sizes = (64, args.hidden, 10)
    rng, draws = stream(args.seed, INIT), np.random.default_rng([args.seed, 17])
    q = (args.weight_exp, args.weight_exp)
    w = [fx.quantize_weights(ep.glorot_uniform(n_post, n_pre, rng), q[i], fmt, draws)
         for i, (n_pre, n_post) in enumerate(zip(sizes, sizes[1:]))]
    b = [np.zeros(n, np.int64) for n in sizes[1:]]
    if args.engine:  # Lava's weights are 2 x the mantissa with exponent -(q + 1)
        c = fx.third_factor(fmt, args.lr_shift, args.beta_shift, q[0])
        w, q = [fx.LAVA_WEIGHT_FACTOR * m for m in w], tuple(qi + 1 for qi in q)
    drop = 0 if args.trace_bits is None else args.rate_bits - args.trace_bits
    n_w = [fx.update_shift(fmt, args.lr_shift, args.beta_shift, qi) - 2 * drop for qi in q]
    n_b = 1 + args.lr_shift - args.beta_shift
    targets = np.eye(10, dtype=np.int64) * fmt.rate_max
    curve, start = [], time.perf_counter()
    c0, n_b0 = (c if args.engine else None), n_b
    for epoch in range(args.epochs):
        correct = 0
        if args.engine and args.lr_halving_epochs:
            halvings = epoch // args.lr_halving_epochs
            c, n_b = max(c0 >> halvings, 1), n_b0 + halvings
        every = 2 ** (epoch // args.decimate_epochs) if args.decimate_epochs else 1
        for j, i in enumerate(epoch_order(args.seed, epoch, len(data.x_train), 1).ravel()):
            x, d = fx.quantize_rates(data.x_train[i], fmt), targets[data.y_train[i]]
            free = settle(w, q, b, x, (np.zeros(args.hidden, np.int64),
                                       np.zeros(10, np.int64)), args.t_free, fmt)
            correct += int(free[1].argmax() == data.y_train[i])
            if j % every:
                continue  # a period without a learning epoch (u = 0)
            plus = settle(w, q, b, x, free, args.t_nudge, fmt, d, args.beta_shift, +1)
            if args.engine and args.update_between_phases:
                below_p = (x, plus[0])
                w = [fx.engine_epoch_update(w[l], plus[l], below_p[l], +1, c, draws.random())
                     for l in range(2)]
            minus = settle(w, q, b, x, free, args.t_nudge, fmt, d, args.beta_shift, -1)
            below_p, below_m = (x, plus[0]), (x, minus[0])
            for l in range(2):
                if args.engine and args.update_between_phases:
                    w[l] = fx.engine_epoch_update(w[l], minus[l], below_m[l], -1, c,
                                                  draws.random())
                elif args.engine:
                    w[l] = fx.engine_contrastive_update(w[l], plus[l], below_p[l], minus[l],
                                                        below_m[l], c, draws.random(2))
                else:
                    dw = fx.contrastive_dw(plus[l] >> drop, below_p[l] >> drop,
                                           minus[l] >> drop, below_m[l] >> drop, n_w[l], draws,
                                           args.shared_rounding)
                    w[l] = fx.apply_dw(w[l], dw, fmt)
                b[l] = fx.saturate(b[l] + fx.stochastic_shift(plus[l] - minus[l], n_b, draws,
                                                               args.shared_rounding or args.engine),
                                   fmt.state_range)
        val = accuracy(w, q, b, data.x_val, data.y_val, fmt, args.t_free, args.hidden)
        test = accuracy(w, q, b, data.x_test, data.y_test, fmt, args.t_free, args.hidden)
        bounds = (-256, 255) if args.engine else fmt.weight_range
        saturated = float(np.mean([np.isin(m, bounds).mean() for m in w]))
        curve.append({"epoch": epoch, "train": correct / len(data.x_train), "val": val,
                      "test": test, "saturated_weight_fraction": saturated})
        print(curve[-1], flush=True)
    write_result(args.name, {"settings": vars(args), "curve": curve,
                             "final": curve[-1], "wall_s": time.perf_counter() - start})


if __name__ == "__main__":
    main()
