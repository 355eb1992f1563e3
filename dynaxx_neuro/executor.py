"""Where independent tasks run: one interface, :class:`Executor`, for mapping a pure function
over tasks in order, in this process (:class:`InProcess`) or in local worker processes
(:class:`LocalProcesses`); a cluster engine can stand behind the same interface.

A function run by an executor is ``function(shared, task) -> result``: ``shared`` is what
every task reads (e.g. the training data), handed to each worker once when it starts, and
``task`` the small part that differs. The function must be pure and importable by name (a
module-level function), so a worker can unpickle it. Results come back in the order of the
tasks and are the same, bit for bit, whichever executor computed them, because:

- a task's result depends on its function, ``shared`` and the task only (no state between
  tasks, no random draws but those the task names);
- every task runs on one BLAS thread wherever it runs: how BLAS splits a product among
  threads can change its rounding, and the parallelism is the executor's anyway.

Worker processes end with the executor on every path: :meth:`LocalProcesses.close` (the
runner's ``close()``, called in the training loop's ``finally``), an exception raised by a
task or a signal (``KeyboardInterrupt``, and ``interrupt.Interrupted`` for SIGTERM) arriving
during :meth:`~LocalProcesses.map`, which terminates them before the exception goes on. A
worker that dies (a crash, a script that starts workers outside ``if __name__ ==
"__main__"``) raises :class:`WorkerDied` in the map rather than leaving it waiting. Workers
ignore SIGINT (a terminal's Ctrl-C reaches the whole process group; the main process
acts on it), die on SIGTERM, and on Linux get SIGTERM when the process that started them
dies, even by SIGKILL; they are daemonic, so Python's exit terminates any left.
"""

from __future__ import annotations

import ctypes
import math
import multiprocessing
import os
import signal
import sys
from typing import Any, Callable, Protocol, Sequence

from threadpoolctl import ThreadpoolController, threadpool_limits

from dynaxx_neuro.interrupt import signals_held

# A fresh interpreter per worker: no threads, locks or signal handlers inherited from the
# main process (fork copies them, and a lock held at the fork stays held in the child), and
# the same start on every platform; it costs about a second per run.
START_METHOD = "spawn"
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies (Linux)


class Executor(Protocol):
    """Maps ``function(shared, task)`` over tasks; ``workers`` is how many run at once."""

    workers: int

    def map(self, function: Callable, tasks: Sequence) -> list:
        """``[function(shared, task) for task in tasks]``, in order."""

    def close(self) -> None:
        """Release the workers (idempotent)."""


class InProcess:
    """Runs every task in this process, one after another, on one BLAS thread."""

    workers = 1

    def __init__(self, shared: Any):
        self.shared = shared
        self._blas = ThreadpoolController()

    def map(self, function: Callable, tasks: Sequence) -> list:
        with self._blas.limit(limits=1, user_api="blas"):
            return [function(self.shared, task) for task in tasks]

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- worker processes -----------------------------------------------------------------------


class WorkerDied(RuntimeError):
    """A worker process ended before it returned its chunk's results."""


def _serve(connection, shared: Any) -> None:
    """A worker: take one BLAS thread, leave SIGINT to the main process, die on SIGTERM and
    (Linux) when the main process dies; then answer every ``(function, chunk)`` received
    with ``(True, results)`` or ``(False, the exception a task raised)`` until the main
    process closes the connection."""
    threadpool_limits(limits=1, user_api="blas")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the main process died before prctl took effect
            return
    while True:
        try:
            function, chunk = connection.recv()
        except EOFError:
            return
        try:
            reply = (True, [function(shared, task) for task in chunk])
        except Exception as error:  # the main process re-raises it
            reply = (False, error)
        connection.send(reply)


class LocalProcesses:
    """Runs tasks in ``workers`` local processes (started at the first :meth:`map`), each
    given ``shared`` once; a map hands each worker one contiguous chunk of the tasks."""

    def __init__(self, workers: int, shared: Any):
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}.")
        self.workers, self.shared = workers, shared
        self._processes: list = []  # (process, connection) of every running worker

    def map(self, function: Callable, tasks: Sequence) -> list:
        tasks = list(tasks)
        if not tasks:
            return []
        size = math.ceil(len(tasks) / self.workers)
        chunks = [tasks[i:i + size] for i in range(0, len(tasks), size)]
        try:
            busy = list(zip(self._started(), chunks))
            for (process, connection), chunk in busy:
                try:
                    connection.send((function, chunk))
                except ConnectionError:
                    raise _died(process) from None
            results = [self._receive(process, connection) for (process, connection), _ in busy]
        except BaseException:  # a task's error, a dead worker or a signal: no worker stays
            self.close()
            raise
        return [result for chunk in results for result in chunk]

    def _started(self) -> list:
        if not self._processes:
            # Held signals: a signal landing between two starts would leave a worker that
            # nothing knows of, and nothing would end.
            with signals_held():
                context = multiprocessing.get_context(START_METHOD)
                for _ in range(self.workers):
                    mine, theirs = context.Pipe()
                    process = context.Process(target=_serve, args=(theirs, self.shared),
                                              daemon=True)
                    process.start()
                    theirs.close()
                    self._processes.append((process, mine))
        return self._processes

    @staticmethod
    def _receive(process, connection) -> list:
        """A worker's results, its task's exception raised, or WorkerDied (the main process
        holds no copy of the worker's end of the pipe, so a dead worker is an end of file)."""
        try:
            ok, value = connection.recv()
        except (EOFError, ConnectionError):
            raise _died(process) from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Terminate the workers and wait for them to end (a map in flight is abandoned)."""
        processes, self._processes = self._processes, []
        with signals_held():
            for process, _ in processes:
                process.terminate()
            for process, connection in processes:
                process.join()
                connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _died(process) -> WorkerDied:
    process.join()
    return WorkerDied(f"a worker process ended (exit code {process.exitcode}) before it "
                      "returned its results; a script that starts workers must run them from "
                      "under if __name__ == '__main__'.")


def make_executor(workers: int, shared: Any) -> Executor:
    """:class:`InProcess` for ``workers`` = 0, else :class:`LocalProcesses` (``workers``)."""
    return InProcess(shared) if workers == 0 else LocalProcesses(workers, shared)
