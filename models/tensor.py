"""The ProcessModel side of ``processes.tensor``: the Vars of a weight set and its optimiser
state, read and written as a ``kernels.optimizer.TensorState``."""

import numpy as np
from lava.magma.core.model.py.type import LavaPyType

from dynaxx_neuro.kernels.optimizer import TensorState


class TensorStateModel:
    """A mixin for a ProcessModel whose Process has ``processes.tensor.tensor_vars``."""

    w: np.ndarray = LavaPyType(np.ndarray, float)
    b: np.ndarray = LavaPyType(np.ndarray, float)
    mw: np.ndarray = LavaPyType(np.ndarray, float)
    vw: np.ndarray = LavaPyType(np.ndarray, float)
    mb: np.ndarray = LavaPyType(np.ndarray, float)
    vb: np.ndarray = LavaPyType(np.ndarray, float)
    step: np.ndarray = LavaPyType(np.ndarray, int)

    def tensor_state(self) -> TensorState:
        return TensorState(*(getattr(self, name) for name in TensorState.NAMES),
                           int(self.step[0]))

    def store(self, state: TensorState) -> None:
        for name in TensorState.NAMES:
            setattr(self, name, getattr(state, name))
        self.step[0] = state.step
