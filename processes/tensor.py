"""Vars of a weight set with its optimiser state (``kernels.optimizer.TensorState``), for the
processes that learn by optimiser steps on local losses (forward-forward, target
propagation); ``models.tensor.TensorStateModel`` is their ProcessModel side."""

import numpy as np
from lava.magma.core.process.variable import Var


def tensor_vars(process, state) -> None:
    """Give ``process`` one Var per array of ``state`` (w, b, mw, vw, mb, vb) and ``step``."""
    for name in state.NAMES:
        value = getattr(state, name)
        setattr(process, name, Var(shape=value.shape, init=value))
    process.step = Var(shape=(1,), init=np.array([state.step]))
