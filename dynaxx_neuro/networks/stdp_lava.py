"""The ``lava`` and ``lava-fixed`` back ends of the STDP network: the graph of
``rules.stdp`` as Lava processes on Lava's CPU simulator (``networks.lava_graph``), with
``floating_pt`` or ``fixed_pt`` models as the run's tag says. Each presentation pass builds,
runs and stops its own graph; the host normalises the weights between chunks of
``normalise_every`` training samples.

Fixed point (``fixed_pt``): the same graph with weights, thresholds and inhibition scaled
by 255 / w_max to Loihi's 8-bit weights, integer trace impulses (7-bit traces), and the
rule's constants converted accordingly (``STDPRule.lava_dw``); thresholds stay per neuron
(``models.stdp.PyATRLIFModelFixedKeepTheta``). Parameters are stated in float units
everywhere else: this module is the one place that converts them.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.kernels.stdp import FLOAT_TRACE_IMPULSE, normalise_rows
from dynaxx_neuro.networks.lava_graph import LavaGraph
from dynaxx_neuro.networks.stdp_common import STDPRunner
from dynaxx_neuro.rules.stdp import PassRecord, STDPConfig, STDPParameters, pass_cycle

# Fixed point: the weight bound w_max is the integer weight 255 (8 bits), and traces count
# in units of 1/64 of the float trace impulse (FLOAT_TRACE_IMPULSE 1/4 -> integer 16, which
# leaves the 7-bit traces, max 127, room for about 8 impulses).
FIXED_WEIGHT_MAX = 255
FIXED_TRACE_UNITY = 64
# ATRLIF's fixed-point model aligns theta by 6 bits (theta_unity = 2**6).
FIXED_THETA_UNITY = 64


class LavaSTDPRunner(STDPRunner):
    """The network as Lava processes with the models of the launch's tag."""

    def __init__(self, config, data, params, launch):
        super().__init__(config, data, params, launch)
        self.graph: LavaGraph | None = None

    def _pass(self, images: np.ndarray, learn: bool, seed: int, progress=None) -> PassRecord:
        network = _Network(self.config, images, self.params, learn, seed,
                           self.launch.tag == "fixed_pt")
        self.graph = LavaGraph(network.processes, self.launch.tag)
        period = network.cycle.train_period
        every = self.config.normalise_every if learn else len(images)
        try:
            for start in range(0, len(images), every):
                chunk = min(every, len(images) - start)
                self.graph.run(chunk * period)
                if learn:
                    network.normalise_weights()
                if progress is not None:
                    progress(chunk)
            return network.read(learn)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the graph of a pass that is still running (every pass ends here)."""
        if self.graph is not None:
            self.graph.stop()
            self.graph = None


class _Network:
    """The processes of one pass, built and connected, the source first."""

    def __init__(self, config: STDPConfig, images: np.ndarray, params: STDPParameters,
                 learn: bool, seed: int, fixed: bool):
        prepare_lava_import()
        from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
        from lava.proc.atrlif.process import ATRLIF
        from lava.proc.dense.process import Dense, LearningDense
        from lava.utils.weightutils import SignMode

        from dynaxx_neuro.processes.stdp import RateCodedSource, SpikeRecorder

        self.config, self.fixed = config, fixed
        neurons, rule = config.neurons, config.rule
        cell = neurons.atrlif(learn)
        self.cycle = pass_cycle(config, len(images), learn)
        scale = FIXED_WEIGHT_MAX / rule.w_max if fixed else 1.0
        self.scale = scale
        self.source = RateCodedSource(images=np.asarray(images, float), cycle=self.cycle,
                                      t_present=config.presentation.schedule(learn)[0],
                                      input_rate=config.presentation.rate(learn), seed=seed)
        weights = params.weights * scale
        if fixed:
            weights = np.clip(np.round(weights), 0, FIXED_WEIGHT_MAX)
        if learn:
            impulse = FLOAT_TRACE_IMPULSE * (FIXED_TRACE_UNITY if fixed else 1)
            learning_rule = Loihi2FLearningRule(
                dw=rule.lava_dw(impulse, rule.w_max * scale, fixed), x1_impulse=impulse,
                x1_tau=rule.tau_pre_steps, y1_impulse=impulse, y1_tau=rule.tau_post_steps,
                t_epoch=1, rng_seed=seed)
            self.synapses = LearningDense(weights=weights, learning_rule=learning_rule,
                                          sign_mode=SignMode.EXCITATORY, name="W")
        else:
            self.synapses = Dense(weights=weights, sign_mode=SignMode.EXCITATORY, name="W")
        theta = params.theta * scale
        self.layer = ATRLIF(
            shape=(neurons.n_neurons,), theta=np.round(theta) if fixed else theta,
            delta_i=cell.delta_i, delta_v=cell.delta_v, delta_r=cell.delta_r,
            delta_theta=cell.delta_theta,
            theta_0=round(cell.theta_0 * scale) if fixed else cell.theta_0,
            theta_step=round(cell.theta_step * scale) if fixed else cell.theta_step,
            name="excitatory")
        self.inhibition = _inhibition(Dense, neurons.n_neurons, neurons.w_inh * scale, fixed)
        self.recorder = SpikeRecorder(n_inputs=config.n_inputs, n_neurons=neurons.n_neurons,
                                      cycle=self.cycle)
        self.source.s_out.connect(self.synapses.s_in)
        self.synapses.a_out.connect(self.layer.a_in)
        self.layer.s_out.connect(self.inhibition.s_in)
        self.inhibition.a_out.connect(self.layer.a_in)
        if learn:
            self.layer.s_out.connect(self.synapses.s_in_bap)
        self.source.s_out.connect(self.recorder.in_spikes)
        self.layer.s_out.connect(self.recorder.out_spikes)
        self.processes = [self.source, self.synapses, self.layer, self.inhibition,
                          self.recorder]

    def normalise_weights(self) -> None:
        """Rescale each neuron's incoming weights to ``w_sum`` (one host read and write)."""
        w = normalise_rows(self.synapses.weights.get(), self.config.w_sum * self.scale)
        self.synapses.weights.set(np.round(w) if self.fixed else w)

    def read(self, learn: bool) -> PassRecord:
        """Read counts and rasters (and, after learning, the parameters) in float units."""
        params = None
        if learn:
            theta = self.layer.theta.get()
            if self.fixed:
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
        return dense_class(weights=-w_inh * mask, sign_mode=SignMode.INHIBITORY,
                           name="inhibition")
    exponent = max(0, int(np.ceil(np.log2(max(w_inh, 1.0) / 255.0))))
    mantissa = np.round(w_inh / 2 ** exponent)
    return dense_class(weights=-mantissa * mask, weight_exp=exponent, num_weight_bits=8,
                       sign_mode=SignMode.INHIBITORY, name="inhibition")
