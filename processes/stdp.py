"""Lava Processes of the spiking STDP network: interfaces only (ports and Vars).

The network itself uses Lava's own ``ATRLIF``, ``Dense`` and ``LearningDense``; these two
processes are its input and its instrumentation, the parts a chip leaves to the host or
an embedded core. Both follow the schedule of one presentation pass, ``cycle``
(``rules.stdp.pass_cycle``, a ``cycle.EpochCycle`` of one-sample periods): sample k
occupies the steps ``k * period + 1 .. (k + 1) * period`` (Lava counts steps from 1); the
source spikes during the first ``t_present`` steps of a period and is silent during the
rest, which lets membranes and traces decay between samples. A pass runs exactly the
cycle's steps.
"""

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class RateCodedSource(AbstractProcess):
    """Presents ``images`` (n_samples, n_pixels) one per period of ``cycle`` as Poisson
    spike trains, ``input_rate`` spikes per step expected from the whole image, each pixel
    in proportion to its intensity (``kernels.stdp.rate_code``).

    Vars: ``sent`` (n_samples,) counts the input spikes of every sample (for the operation
    counters). Parameters ``cycle``, ``t_present``, ``input_rate`` and ``seed`` (of the
    model's ``numpy`` Generator) go to the model as process parameters.
    """

    LOIHI = "host"

    def __init__(self, *, images: np.ndarray, cycle, t_present: int, input_rate: float,
                 seed: int, name: str = "rate_coded_source"):
        super().__init__(images=images, cycle=cycle, t_present=t_present,
                         input_rate=input_rate, seed=seed, name=name)
        n_samples, n_pixels = images.shape
        self.s_out = OutPort(shape=(n_pixels,))
        self.sent = Var(shape=(max(n_samples, 1),), init=0)


class SpikeRecorder(AbstractProcess):
    """Counts, per sample of ``cycle``, the spikes of ``n_neurons`` neurons, and keeps every
    spike of the cycle's logged samples (``cycle.n_logged``) of both the input and the
    neurons as rasters (time-major, for the run folder's ``spikes`` table).

    Vars: ``counts`` (n_samples, n_neurons); ``in_raster`` (n_logged * period, n_inputs) and
    ``out_raster`` (n_logged * period, n_neurons) as 0/1.
    """

    LOIHI = "host"

    def __init__(self, *, n_inputs: int, n_neurons: int, cycle, name: str = "spike_recorder"):
        super().__init__(n_inputs=n_inputs, n_neurons=n_neurons, cycle=cycle, name=name)
        steps = max(cycle.n_logged * cycle.train_period, 1)
        self.in_spikes = InPort(shape=(n_inputs,))
        self.out_spikes = InPort(shape=(n_neurons,))
        self.counts = Var(shape=(max(cycle.n_train, 1), n_neurons), init=0)
        self.in_raster = Var(shape=(steps, n_inputs), init=0)
        self.out_raster = Var(shape=(steps, n_neurons), init=0)
