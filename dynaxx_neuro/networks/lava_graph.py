"""The one Lava runner of every back end: runs a connected process graph on Lava's CPU
simulator and stops it.

Lava 0.10.0 needs three things handled the same way for every rule: ProcessModels that
live outside their Process's folder are named in ``exception_proc_model_map``, which its
compiler looks up by Process *instance* (``models.model_map`` gives ours per tag; Lava's own
processes, such as LIF or LearningDense, are found by Lava); the runtime starts on the
first ``run`` and must be stopped (:meth:`LavaGraph.stop`, which every runner's ``close``
calls from the training loop's ``finally``; ``lava_teardown`` makes sure it ends, whatever
interrupted it); and every ``Var.get`` is a serial round trip,
so progress is read from a few counters every ``progress_periods`` periods, not per batch.

Graphs run on ``Loihi2SimCfg`` unless a deployment chose a chip: inside
``with on_target(hardware=True)`` every graph a runner builds runs on ``Loihi2HwCfg``
(Loihi 2, with Intel's extension installed), and inside any ``on_target`` block the built
graphs are collected for the deployment's report (``deploy``), with no change to the runners.
:class:`PeriodGraphRunner` is the runner protocol around such a graph for the rate networks
whose graph trains and evaluates in epoch cycles (EP, FF); :class:`EpochGraphRunner` the same
for the graphs of Loihi parts, built anew every epoch.
"""

from __future__ import annotations

import multiprocessing
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from dynaxx_neuro.backends import prepare_lava_import
from dynaxx_neuro.cycle import n_train_batches
from dynaxx_neuro.interrupt import signals_held
from dynaxx_neuro.kernels.optimizer import TensorState
from dynaxx_neuro.networks.lava_teardown import (LavaProcessFailed, WorkerWatch, failures,
                                                 kill_runtime, quiet_workers, stop_runtime)
from dynaxx_neuro.networks.result import EpochResult, require_next_epoch


@dataclass
class ChipTarget:
    """Where the graphs built inside :func:`on_target` run (``hardware``: ``Loihi2HwCfg``,
    else ``Loihi2SimCfg``) and the graphs built there, in order."""

    hardware: bool
    graphs: list["LavaGraph"] = field(default_factory=list)


_TARGET: ContextVar[ChipTarget | None] = ContextVar("dynaxx_chip_target", default=None)


@contextmanager
def on_target(hardware: bool) -> Iterator[ChipTarget]:
    """Run every graph built in this block on Loihi 2 (``hardware``) or on Lava's CPU
    simulator, and collect them; every graph still running at the end is stopped."""
    target = ChipTarget(hardware)
    token = _TARGET.set(target)
    try:
        yield target
    finally:
        _TARGET.reset(token)
        for graph in target.graphs:
            graph.stop()


class LavaGraph:
    """A connected graph of processes with the models of ``tag`` (``floating_pt`` or
    ``fixed_pt``) on ``Loihi2SimCfg``, or on ``Loihi2HwCfg`` inside ``on_target(True)``.

    ``processes`` lists every process of the graph, the first one driving the runs;
    ``steps_run`` counts the time steps run so far.
    """

    def __init__(self, processes: list, tag: str):
        prepare_lava_import()
        from lava.magma.core import run_configs

        from dynaxx_neuro.models import model_map
        target = _TARGET.get()
        config_class = (run_configs.Loihi2HwCfg if target is not None and target.hardware
                        else run_configs.Loihi2SimCfg)
        self.driver, self.tag = processes[0], tag
        self.run_cfg = config_class(select_tag=tag,
                                    exception_proc_model_map=model_map(processes, tag))
        self.started, self.steps_run, self._before = False, 0, set()
        if target is not None:
            target.graphs.append(self)

    def run(self, steps: int) -> None:
        """Advance the graph by ``steps`` time steps (starting the runtime the first time).

        Whatever interrupts a run (a signal, a model that raised, a worker that died) kills
        the runtime before it propagates (``lava_teardown``); a worker's failure is raised
        as :class:`LavaProcessFailed` naming what it raised."""
        from lava.magma.core.run_conditions import RunSteps
        if not self.started:  # a failed first run still leaves worker processes to stop
            self.started, self._before = True, set(multiprocessing.active_children())
        watch = WorkerWatch(self.driver)
        try:
            if self.driver.runtime is None:
                self._start()
            with watch:
                self.driver.run(condition=RunSteps(num_steps=steps))
        except BaseException as error:
            failed = failures(self.driver.runtime) or [
                f"a worker ended with exit code {code}" for code in watch.ended]
            with signals_held():
                self._kill()
            if failed and not isinstance(error, KeyboardInterrupt):
                raise LavaProcessFailed(f"a Lava process failed: {failed[0]}") from None
            raise
        self.steps_run += steps

    def _start(self) -> None:
        """Compile the graph, then start its runtime with signals held: the runtime forks
        its workers, and a signal raised inside a fork's handlers would be lost, leaving a
        lock held that the workers then wait on forever (logging's, for one)."""
        executable = self.driver.compile(self.run_cfg)
        with signals_held(), quiet_workers():
            self.driver.create_runtime(executable=executable)

    def processes(self) -> list:
        """Every process connected to the driver (what Lava's compiler would map)."""
        from lava.magma.compiler.compiler_graphs import find_processes
        return find_processes(self.driver)

    def require_started(self) -> None:
        """Refuse to read learned Vars before the graph ran (they would be the initial ones)."""
        if not self.started:
            raise RuntimeError("the Lava graph has not run yet; run an epoch first.")

    def stop(self) -> None:
        """Stop the Lava runtime (its OS processes and shared memory): killed at once when
        called while an exception propagates (a signal may have cut a channel message in
        half), else by Lava's own stop, killed if that does not return in
        ``lava_teardown.STOP_TIMEOUT_S``."""
        if not self.started:
            return
        with signals_held():
            if sys.exc_info()[0] is not None or self.driver.runtime is None:
                self._kill()
            else:
                self.started = False
                stop_runtime(self.driver.runtime)

    def _kill(self) -> None:
        self.started = False
        forked = set(multiprocessing.active_children()) - self._before
        kill_runtime(self.driver.runtime, forked)


def read_tensor_state(process) -> TensorState:
    """The weight set and optimiser state of a process with ``processes.tensor.tensor_vars``
    (one Var read each)."""
    arrays = [getattr(process, name).get() for name in TensorState.NAMES]
    return TensorState(*arrays, int(process.step.get()[0]))


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


def run_epoch_cycle(graph: LavaGraph, readout, cycle, progress_periods: int, loss_var: str,
                    progress=None) -> tuple[float, bool]:
    """Run an epoch cycle: its training periods (``run_training_periods``), then, unless
    training diverged, its evaluation periods. Returns (training accuracy, diverged)."""
    accuracy, diverged = run_training_periods(graph, readout, cycle.n_train_batches,
                                              cycle.train_period, progress_periods, loss_var,
                                              progress)
    if not diverged:
        graph.run(cycle.eval_steps)
    return accuracy, diverged


class PeriodGraphRunner:
    """The Lava runner of a rule whose graph runs epoch cycles of periods and keeps its
    training counters in a readout (EP, FF): the runner protocol of ``registry`` around a
    graph that a subclass builds.

    The graph is built on the first ``run_epoch`` (its cycle: the training periods, then
    validation and test) or on ``evaluate`` (a cycle of evaluation periods only), so one
    runner either trains or evaluates a checkpoint. A subclass sets ``LOSS_VAR`` (the
    readout's summed training loss) and defines ``_build(trains, first_epoch)`` (setting
    ``graph``, ``cycle`` and ``readout``), ``_result(epoch)`` and ``_read_parameters()``.
    """

    LOSS_VAR: str
    # Training periods run between two progress reads.
    PROGRESS_PERIODS = 10

    def __init__(self, config, data, params, launch):
        self.config, self.data, self.params, self.launch = config, data, params, launch
        self.batch_size = config.batch_size
        self.batches_per_epoch = n_train_batches(len(data.x_train), config.batch_size)
        self.next_epoch = launch.first_epoch
        self.graph, self.trains = None, None

    def _graph_for(self, trains: bool, epoch: int) -> None:
        """Build the graph of a training (``trains``) or evaluation-only run; refuse the
        other kind once built (a graph's next periods are what its cycle says)."""
        if self.graph is None:
            self._build(trains, epoch)
            self.trains = trains
        elif self.trains and not trains:
            raise RuntimeError("this runner's graph has trained and would train again; make "
                               "a new runner to evaluate.")
        elif trains and not self.trains:
            raise RuntimeError("this runner's graph was built by evaluate() and trains "
                               "nothing; make a new runner to train.")

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """Run one epoch cycle on the graph: training periods, then validation and test."""
        require_next_epoch(self.next_epoch, epoch)
        self._graph_for(True, epoch)
        accuracy, diverged = run_epoch_cycle(self.graph, self.readout, self.cycle,
                                             self.PROGRESS_PERIODS, self.LOSS_VAR, progress)
        if diverged:
            return EpochResult.divergence(accuracy)
        self.next_epoch += 1
        return self._result(epoch)

    def evaluate(self, epoch: int) -> EpochResult:
        """Validation and test predictions of the runner's parameters on a graph of
        evaluation periods."""
        self._graph_for(False, epoch)
        self.graph.run(self.cycle.eval_steps)
        return self._result(epoch)

    def parameters(self):
        """The parameters read from the graph (the runner's own before it ran)."""
        if self.graph is None:
            return self.params
        self.graph.require_started()
        return self._read_parameters()

    def close(self) -> None:
        """Stop the Lava runtime (its OS processes)."""
        if self.graph is not None:
            self.graph.stop()


class EpochGraphRunner:
    """The Lava runner of a graph of Loihi parts (EP's, FF's), built anew for every epoch
    from the weights the last epoch ended with, run, read and stopped: a chip would be
    loaded the same way between epochs, and the learning engine's random streams start with
    the graph, so a resumed run draws as an uninterrupted one (``cycle.engine_seed``).

    A subclass sets ``LOSS_VAR`` (the readout's summed training loss) and defines
    ``_build(trains, epoch)`` (setting ``graph``, ``cycle`` and ``readout``),
    ``_result(epoch)`` and ``_read_parameters()``; ``_read_after_epoch`` reads what the
    runner keeps of a trained graph before it stops (its weights)."""

    LOSS_VAR: str
    PROGRESS_PERIODS = 100

    def __init__(self, config, data, params, launch):
        self.config, self.data, self.params, self.launch = config, data, params, launch
        self.batch_size, self.batches_per_epoch = 1, len(data.x_train)
        self.fixed = launch.tag == "fixed_pt"
        self.next_epoch = launch.first_epoch
        self.graph = None

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """Build the epoch's graph, run its training periods, then validation and test."""
        require_next_epoch(self.next_epoch, epoch)
        self._build(True, epoch)
        try:
            accuracy, diverged = run_epoch_cycle(self.graph, self.readout, self.cycle,
                                                 self.PROGRESS_PERIODS, self.LOSS_VAR, progress)
            if diverged:
                return EpochResult.divergence(accuracy)
            result = self._result(epoch)
            self._read_after_epoch()
        finally:
            self.close()
        self.next_epoch += 1
        return result

    def evaluate(self, epoch: int) -> EpochResult:
        """Validation and test predictions of the runner's weights on a graph of evaluation
        periods."""
        self._build(False, epoch)
        try:
            self.graph.run(self.cycle.eval_steps)
            return self._result(epoch)
        finally:
            self.close()

    def parameters(self):
        """The weights the last epoch's graph ended with (the runner's own before)."""
        return self.params

    def close(self) -> None:
        """Stop the Lava runtime (its OS processes)."""
        if self.graph is not None:
            self.graph.stop()
            self.graph = None

    def _read_after_epoch(self) -> None:
        self.params = self._read_parameters()
