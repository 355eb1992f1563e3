"""An EP run's trained network, brought back for analysis: its configuration, the weights of
its last checkpoint and its data, and the layer states the NumPy back end settles to.

The states come from the rule's own settling (``rules.ep``: ``free_phase``, ``layer_drives``),
the code the NumPy back end trains with, so what the analysis shows is what the network
computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro import params as P
from dynaxx_neuro.datasets import Splits, prepare_splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.rules.ep import (BackwardCopies, EPConfig, EPParameters, free_phase,
                                   layer_drives)


@dataclass(frozen=True)
class EPNetwork:
    """The network of an EP run after epoch ``epoch`` (numbered from 1, the number of its
    checkpoint), with the run's data."""

    config: EPConfig
    params: EPParameters
    data: Splits
    epoch: int
    seed: int

    @classmethod
    def from_run(cls, run: RunDir) -> "EPNetwork":
        """Load the last checkpoint of an EP run and the data split as run.json says."""
        info = run.info()
        if info.get("rule") != "ep":
            raise ValueError(f"run {str(run.path)!r} has rule {info.get('rule')!r}; only 'ep' "
                             "runs hold an EP network.")
        checkpoint = run.last_checkpoint()
        if checkpoint is None:
            raise ValueError(f"run {str(run.path)!r} has no checkpoint yet; train at least one "
                             "epoch.")
        config, settings = P.from_dict(info["config"]), P.from_dict(info["settings"])
        data = prepare_splits(settings.dataset, settings.data_dir, settings.validation,
                              settings.seed)
        params = EPParameters.from_arrays(checkpoint[1], config)
        return cls(config, params, data, checkpoint[0] + 1, settings.seed)  # index -> number

    def free_layer_rates(self, x: np.ndarray) -> list[np.ndarray]:
        """Rates rho(s_l) of every layer (hidden..., output) at the free equilibrium of the
        samples ``x`` (N, n_in): a list of (N, n_l), from the training code path."""
        return free_phase(self.params, BackwardCopies.of(self.params), x, self.config)

    def test_predictions(self) -> np.ndarray:
        """Predicted labels of the test split (argmax of the free-phase output)."""
        return self.free_layer_rates(self.data.x_test)[-1].argmax(axis=1)

    def settling_trajectories(self, x: np.ndarray, target: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray]:
        """States of all layers, concatenated, at every step of the free and +beta phases.

        Returns ``(free, nudged)``: ``free`` is (t_free + 1, B, n_state) from the reset
        state 0 to the free equilibrium, ``nudged`` is (t_nudge + 1, B, n_state) from the
        free equilibrium to the +beta equilibrium (beta = the run's beta), ``n_state`` =
        sum of the hidden and output sizes. Each step is ``ep.settle_step`` with the drives
        of ``ep_numpy``, as in training.
        """
        schedule, eps, beta = self.config.schedule, self.config.dynamics.eps, \
            self.config.dynamics.beta
        states = [np.zeros((x.shape[0], n)) for n in self.config.sizes[1:]]
        input_drive = ep.drive(self.params.weights[0], x)
        last, backward = len(states) - 1, BackwardCopies.of(self.params)
        recorded = [np.concatenate(states, axis=1)]
        for k in range(schedule.t_free + schedule.t_nudge):
            beta_k = beta if k >= schedule.t_free else 0.0
            drives = layer_drives(self.params, backward, input_drive,
                                  [ep.rho(s) for s in states])
            states = [ep.settle_step(s, d, b, eps, beta_k if l == last else 0.0, target)
                      for l, (s, d, b) in enumerate(zip(states, drives, self.params.biases))]
            recorded.append(np.concatenate(states, axis=1))
        recorded = np.stack(recorded)
        return recorded[: schedule.t_free + 1], recorded[schedule.t_free:]

    def total_energy(self, flat_states: np.ndarray, x: np.ndarray, target: np.ndarray,
                     beta: float) -> np.ndarray:
        """F = E + beta C of concatenated states ``flat_states`` (B, n_state), each with its
        clamped input ``x`` (B, n_in) and target ``target`` (B, n_out); returns (B,)."""
        bounds = np.cumsum(self.config.sizes[1:-1])
        states = np.split(flat_states, bounds, axis=1)
        energy = ep.network_energy(states, x, self.params.weights, self.params.biases)
        return energy + beta * ep.cost(states[-1], target)
