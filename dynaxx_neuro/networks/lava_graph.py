"""The one Lava runner of every back end: runs a connected process graph on Lava's CPU
simulator and stops it.

Lava 0.10.0 needs three things handled the same way for every rule: ProcessModels that
live outside their Process's folder are named in ``exception_proc_model_map``, which its
compiler looks up by Process *instance* (``models.model_map`` gives ours per tag; Lava's own
processes, such as LIF or LearningDense, are found by Lava); the runtime starts on the
first ``run`` and must be stopped (:meth:`LavaGraph.stop`, which every runner's ``close``
calls from the training loop's ``finally``); and every ``Var.get`` is a serial round trip,
so progress is read from a few counters every ``progress_periods`` periods, not per batch.
"""

from __future__ import annotations

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import


class LavaGraph:
    """A connected graph of processes on ``Loihi2SimCfg`` with the models of ``tag``
    (``floating_pt`` or ``fixed_pt``).

    ``processes`` lists every process of the graph, the first one driving the runs.
    """

    def __init__(self, processes: list, tag: str):
        prepare_lava_import()
        from lava.magma.core.run_configs import Loihi2SimCfg

        from dynaxx_neuro.models import model_map
        self.driver = processes[0]
        self.run_cfg = Loihi2SimCfg(select_tag=tag,
                                    exception_proc_model_map=model_map(processes, tag))
        self.started = False

    def run(self, steps: int) -> None:
        """Advance the graph by ``steps`` time steps (starting the runtime the first time)."""
        from lava.magma.core.run_conditions import RunSteps
        self.started = True  # a failed first run still leaves worker processes to stop
        self.driver.run(condition=RunSteps(num_steps=steps), run_cfg=self.run_cfg)

    def require_started(self) -> None:
        """Refuse to read learned Vars before the graph ran (they would be the initial ones)."""
        if not self.started:
            raise RuntimeError("the Lava graph has not run yet; run an epoch first.")

    def stop(self) -> None:
        """Stop the Lava runtime (its OS processes)."""
        if self.started:
            self.started = False
            self.driver.stop()


def run_training_periods(graph: LavaGraph, readout, n_periods: int, period: int,
                         progress_periods: int, loss_var: str,
                         progress=None) -> tuple[float, bool]:
    """Run ``n_periods`` training periods of ``period`` steps, ``progress_periods`` at a
    time, reading the readout's ``train_correct``/``train_seen`` counters after each chunk
    for the progress bar; stop early when the readout's summed loss Var ``loss_var`` is no
    longer finite. Returns (training accuracy so far, whether training diverged)."""
    done, accuracy = 0, float("nan")
    while done < n_periods:
        chunk = min(progress_periods, n_periods - done)
        graph.run(chunk * period)
        done += chunk
        accuracy = readout.train_correct.get()[0] / max(int(readout.train_seen.get()[0]), 1)
        if progress is not None:
            progress(chunk, accuracy)
        if not np.isfinite(getattr(readout, loss_var).get()[0]):
            return accuracy, True
    return accuracy, False
