"""Lava Processes of the spiking STDP network: interfaces only (ports and Vars).

The network itself uses Lava's own ``ATRLIF``, ``Dense`` and ``LearningDense``; these two
processes are its input and its instrumentation, the parts a chip leaves to the host or
an embedded core. Both follow one presentation schedule: sample k occupies the steps
``k * period + 1 .. (k + 1) * period`` (Lava counts steps from 1), where
``period = t_present + t_rest``; the source spikes during the first ``t_present`` steps and
is silent during the rest, which lets membranes and traces decay between samples.
"""

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class RateCodedSource(AbstractProcess):
    """Presents ``images`` (n_samples, n_pixels) one after the other as Poisson spike
    trains, ``input_rate`` spikes per step expected from the whole image, each pixel in
    proportion to its intensity (``kernels.stdp.rate_code``). After the last image it stays
    silent.

    Vars: ``sent`` (n_samples,) counts the input spikes of every sample (for the operation
    counters). Parameters ``t_present``, ``t_rest``, ``input_rate`` and ``seed`` (of the
    model's ``numpy`` Generator) go to the model as process parameters.
    """

    def __init__(self, *, images: np.ndarray, t_present: int, t_rest: int, input_rate: float,
                 seed: int, name: str = "rate_coded_source"):
        super().__init__(images=images, t_present=t_present, t_rest=t_rest,
                         input_rate=input_rate, seed=seed, name=name)
        n_samples, n_pixels = images.shape
        self.s_out = OutPort(shape=(n_pixels,))
        self.sent = Var(shape=(max(n_samples, 1),), init=0)


class SpikeRecorder(AbstractProcess):
    """Counts, per sample of the schedule above, the spikes of ``n_neurons`` neurons, and
    keeps every spike of the first ``n_logged`` samples of both the input and the neurons
    as rasters (time-major, for the run folder's ``spikes`` table).

    Vars: ``counts`` (n_samples, n_neurons); ``in_raster`` (n_logged * period, n_inputs) and
    ``out_raster`` (n_logged * period, n_neurons) as 0/1.
    """

    def __init__(self, *, n_inputs: int, n_neurons: int, n_samples: int, t_present: int,
                 t_rest: int, n_logged: int, name: str = "spike_recorder"):
        super().__init__(n_inputs=n_inputs, n_neurons=n_neurons, n_samples=n_samples,
                         t_present=t_present, t_rest=t_rest, n_logged=n_logged, name=name)
        steps = max(n_logged * (t_present + t_rest), 1)
        self.in_spikes = InPort(shape=(n_inputs,))
        self.out_spikes = InPort(shape=(n_neurons,))
        self.counts = Var(shape=(max(n_samples, 1), n_neurons), init=0)
        self.in_raster = Var(shape=(steps, n_inputs), init=0)
        self.out_raster = Var(shape=(steps, n_neurons), init=0)
