"""The ``numpy`` back end of the STDP network: the Lava float graph of ``stdp_lava`` as one
plain loop, step for step, for fast sweeps and as the Lava float graph's test oracle.

Step t of a pass (what the float models do in that step, in Lava's order)::

    x0 = RateCodedSource spikes of the current image (zeros in the rest steps)
    i = (1 - delta_i) i + a        v = (1 - delta_v) v + i          ATRLIF, a from step t-1
    theta = (1 - delta_theta)(theta - theta_0) + theta_0            r = (1 - delta_r) r
    y0 = (v - r >= theta);  r += 2 theta y0;  theta += theta_step y0
    a = W x0 - w_inh sum(y0)                                        Dense, LearningDense
    W, x1, y1 = kernels.stdp.stdp_step(W, x1, y1, x0, y0)           learning passes only

The input spikes come from the same random stream as the Lava source (``input_seed``,
``kernels.stdp.rate_code``), so a pass here and on Lava's ``floating_pt`` models see the
same spikes, and ``tests/test_stdp_backends.py`` finds the same output spikes and weights
equal to round-off. Fixed point is Lava's alone (``lava-fixed``).
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.kernels.stdp import normalise_rows, rate_code, stdp_step
from dynaxx_neuro.networks.stdp_lava import (PassRecord, STDPParameters, STDPRunner,
                                             input_seed)


class NumpySTDPRunner(STDPRunner):
    """The float network in this process (``STDPNetworkConfig.fixed_point`` must be False)."""

    def __init__(self, config, data, params, start_epoch):
        if config.fixed_point:
            raise ValueError("the numpy back end runs floating point only; use lava-fixed for "
                             "fixed point.")
        super().__init__(config, data, params, start_epoch)

    def _pass(self, images: np.ndarray, learn: bool, seed: tuple, progress=None) -> PassRecord:
        config, cell, shown = self.config, self.config.neurons, self.config.presentation
        t_present, t_rest = shown.schedule(learn)
        period, rate = t_present + t_rest, shown.rate(learn)
        rng = np.random.default_rng(input_seed(seed))
        weights, theta = self.params.weights.copy(), self.params.theta.copy()
        delta_theta = cell.delta_theta if learn else 0.0
        theta_step = cell.theta_step if learn else 0.0
        n, n_in = weights.shape
        i, v, r, a = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        x1, y1 = np.zeros(n_in), np.zeros(n)
        counts = np.zeros((len(images), n), dtype=int)
        sent = np.zeros(len(images), dtype=int)
        n_logged = min(config.n_logged, len(images))
        steps = max(config.n_logged * period, 1)
        in_raster = np.zeros((steps, n_in), dtype=bool)
        out_raster = np.zeros((steps, n), dtype=bool)
        every = config.normalise_every if learn else len(images)
        silent = np.zeros(n_in, dtype=bool)
        reported = 0  # samples already passed to ``progress``
        for sample, image in enumerate(images):
            for step in range(period):
                pre = rate_code(image, rate, rng) if step < t_present else silent
                i = (1 - cell.delta_i) * i + a
                v = (1 - cell.delta_v) * v + i
                theta = (1 - delta_theta) * (theta - cell.theta_0) + cell.theta_0
                r = (1 - cell.delta_r) * r
                post = (v - r) >= theta
                r = r + 2 * theta * post
                theta = theta + theta_step * post
                a = weights[:, pre].sum(axis=1) - cell.w_inh * post.sum()
                if learn:
                    weights, x1, y1 = stdp_step(weights, x1, y1, pre, post, config.rule)
                counts[sample] += post
                sent[sample] += int(pre.sum())
                if sample < n_logged:
                    in_raster[sample * period + step] = pre
                    out_raster[sample * period + step] = post
            done = sample + 1
            if done % every == 0 or done == len(images):
                if learn:
                    weights = normalise_rows(weights, config.w_sum)
                if progress is not None:
                    progress(done - reported, float("nan"))
                reported = done
        params = STDPParameters(weights, theta) if learn else None
        return PassRecord(counts, sent, in_raster, out_raster, params)
