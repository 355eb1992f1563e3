"""The ``numpy`` back end of the STDP network: the Lava float graph of ``rules.stdp`` as one
plain loop, step for step, for fast sweeps and as the Lava float graph's test oracle.

Step t of a pass (what the float models do in that step, in Lava's order)::

    x0 = RateCodedSource spikes of the current image (zeros in the rest steps)
    layer, y0 = kernels.neurons.atrlif_float_step(layer, a)         ATRLIF, a from step t-1
    a = W x0 - w_inh sum(y0)                                        Dense, LearningDense
    W, x1, y1 = kernels.stdp.stdp_step(W, x1, y1, x0, y0)           learning passes only

The input spikes come from the same random stream as the Lava source
(``rules.stdp.input_seed``, ``kernels.stdp.rate_code``), so a pass here and on Lava's
``floating_pt`` models see the same spikes, and ``tests/test_stdp_backends.py`` finds the
same output spikes, weights and thresholds bit for bit. Fixed point is Lava's alone
(``lava-fixed``).
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.kernels.neurons import ATRLIFState, atrlif_float_step
from dynaxx_neuro.kernels.stdp import normalise_rows, rate_code, stdp_step
from dynaxx_neuro.networks.stdp_common import STDPRunner
from dynaxx_neuro.rules.stdp import PassRecord, STDPParameters, pass_cycle


class NumpySTDPRunner(STDPRunner):
    """The float network in this process."""

    def _pass(self, images: np.ndarray, learn: bool, seed: int, progress=None) -> PassRecord:
        config, shown = self.config, self.config.presentation
        cycle = pass_cycle(config, len(images), learn)
        t_present, period, rate = shown.schedule(learn)[0], cycle.train_period, shown.rate(learn)
        cell, w_inh = config.neurons.atrlif(learn), config.neurons.w_inh
        rng = np.random.default_rng(seed)
        weights, layer = self.params.weights.copy(), ATRLIFState.at_rest(self.params.theta)
        n, n_in = weights.shape
        a, x1, y1 = np.zeros(n), np.zeros(n_in), np.zeros(n)
        counts = np.zeros((len(images), n), dtype=int)
        sent = np.zeros(len(images), dtype=int)
        steps = max(cycle.n_logged * period, 1)
        in_raster = np.zeros((steps, n_in), dtype=bool)
        out_raster = np.zeros((steps, n), dtype=bool)
        every = config.normalise_every if learn else len(images)
        silent = np.zeros(n_in, dtype=bool)
        reported = 0  # samples already passed to ``progress``
        for sample, image in enumerate(images):
            for step in range(period):
                pre = rate_code(image, rate, rng) if step < t_present else silent
                layer, post = atrlif_float_step(layer, a, cell)
                a = weights[:, pre].sum(axis=1) - w_inh * post.sum()
                if learn:
                    weights, x1, y1 = stdp_step(weights, x1, y1, pre, post, config.rule)
                counts[sample] += post
                sent[sample] += int(pre.sum())
                if sample < cycle.n_logged:
                    in_raster[sample * period + step] = pre
                    out_raster[sample * period + step] = post
            done = sample + 1
            if done % every == 0 or done == len(images):
                if learn:
                    weights = normalise_rows(weights, config.w_sum)
                if progress is not None:
                    progress(done - reported)
                reported = done
        params = STDPParameters(weights, layer.theta) if learn else None
        return PassRecord(counts, sent, in_raster, out_raster, params)
