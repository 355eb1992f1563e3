"""Lava Process of the integer EP layer (issue "Equilibrium propagation on Loihi's learning
engine"): an interface only. Its ``fixed_pt`` model (``models/ep_fixed.py``) runs the integer
program of ``kernels.ep_fixed.period_step``, the program a Loihi 2 programmable neuron would
run; its synapses are Lava's own bit-accurate ``Dense`` with graded spikes
(``num_message_bits = rate_bits``), whose outputs sum on ``a_in``.

One sample per period (batch 1); the period of ``kernels.ep.EPSchedule`` is read from the
run's ``cycle.EpochCycle`` (step k of a period: reset, free, +beta, restore, -beta).
"""

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class EPFixedLayer(AbstractProcess):
    """n integer EP units: states ``s`` and biases ``bias`` in units 2^-rate_bits (signed,
    ``fmt.state_bits`` wide), sending their rates r = clip(s, 0, 2^rate_bits - 1) as graded
    spikes on ``s_out`` every step. ``target_in`` (output layer only, ``is_output``) carries
    the one-hot target in rate units; ``beta_shift`` k sets beta = 2^-k.

    For the learning engine of the LearningDense synapses into it (``kernels.ep_fixed.EP_RULE``)
    it sends the post-side factors of a ``Loihi3FLearningRule`` every step: ``s_out_y1`` its
    rate r >> 1 (the 7-bit y1), ``s_out_y2`` the ``third_factor`` c at the last step of the
    +beta phase, ``s_out_y3`` c at the last step of the -beta phase (0 at every other step).

    Parameters: ``schedule`` (``kernels.ep.EPSchedule``), ``cycle`` (``cycle.EpochCycle``),
    ``fmt`` (``kernels.ep_fixed.FixedFormat``).
    """

    def __init__(self, *, n: int, bias, schedule, cycle, fmt, beta_shift: int,
                 is_output: bool, third_factor: int = 0, **kwargs):
        super().__init__(schedule=schedule, cycle=cycle, fmt=fmt, beta_shift=beta_shift,
                         is_output=is_output, third_factor=third_factor, **kwargs)
        self.a_in = InPort(shape=(n,))
        self.target_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        self.s_out_y1 = OutPort(shape=(n,))
        self.s_out_y2 = OutPort(shape=(n,))
        self.s_out_y3 = OutPort(shape=(n,))
        self.s = Var(shape=(n,), init=0)
        self.s_free = Var(shape=(n,), init=0)
        self.r = Var(shape=(n,), init=0)
        self.bias = Var(shape=(n,), init=np.asarray(bias, dtype=np.int64))
