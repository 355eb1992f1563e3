"""Ending a Lava 0.10 runtime whatever state it is in, with no process or shared memory left.

A started runtime owns OS processes forked from this one: one worker per ProcessModel and
per runtime service, the shared-memory manager's server, and (with a watchdog) its monitors;
and the ``/dev/shm`` segments of its channels. Lava's own ``Runtime.stop`` sends STOP to the
runtime services, waits for each to answer and joins every worker. It never returns when a
signal interrupted this process in the middle of a channel message, when a worker died, or
when a model raised (Lava then joins the other workers, which wait on their channels
forever). So:

- :func:`stop_runtime` gives Lava's stop :data:`STOP_TIMEOUT_S`, in a thread, and then
  :func:`kill_runtime` kills what is left;
- :func:`kill_runtime` kills the workers, the manager and any process forked while the
  runtime started, and unlinks the segments, for a run that did not end cleanly;
- :class:`WorkerWatch` notices, while a run is in progress, a worker that has ended (a model
  raised, or the OS killed it), kills the others after :data:`GRACE_S` and wakes the main
  thread with :class:`WorkerEnded`, so that the error reaches the caller;
- :func:`quiet_workers` makes the workers forked inside it ignore SIGINT: a terminal's
  Ctrl-C goes to the whole process group, and only the main process should act on it
  (otherwise every worker prints its own traceback).

These reach into Lava's private attributes (``Runtime._messaging_infrastructure``,
``SharedMemoryManager._manager``), which lava-nc 0.10.0 (archived, the version this toolkit
pins) will not change.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from contextlib import contextmanager

# Seconds Lava's own stop gets before the runtime is killed.
STOP_TIMEOUT_S = 5.0
# Seconds a run may go on after one of its workers ended, before the others are killed.
GRACE_S = 1.0
# Seconds to wait for a killed process to be reaped.
_REAP_S = 2.0
_WATCH_PERIOD_S = 0.25


class LavaProcessFailed(RuntimeError):
    """A Lava worker process raised or died; the message names what it raised."""


def _infrastructure(runtime):
    return getattr(runtime, "_messaging_infrastructure", None)


def workers(runtime) -> list:
    """The worker processes (``multiprocessing.Process``) of a runtime, alive or not."""
    infrastructure = _infrastructure(runtime)
    return list(infrastructure.actors) if infrastructure is not None else []


def _alive(process) -> bool:
    """Whether ``process`` runs (Lava closes the workers it joined: those no longer do)."""
    try:
        return process.is_alive()
    except ValueError:  # "process object is closed"
        return False


def failures(runtime) -> list[str]:
    """The last line of each worker's traceback, for the workers that raised."""
    found = []
    for worker in workers(runtime):
        try:
            raised = worker.exception  # (exception, traceback text) sent by the worker
        except (OSError, EOFError, ValueError):  # its pipe is already closed
            raised = None
        if raised:
            found.append(raised[1].strip().splitlines()[-1])
    return found


def kill_runtime(runtime, forked=()) -> None:
    """Kill every process of ``runtime`` and those of ``forked`` (the processes forked
    while it started: a signal during Lava's start can land after a worker's fork and
    before Lava lists it, and Python's exit would wait for that worker forever), and unlink
    its shared memory; Lava will not try to stop it again."""
    procs = [worker for worker in {*workers(runtime), *forked} if _alive(worker)]
    for worker in procs:
        worker.kill()
    for worker in procs:
        multiprocessing.Process.join(worker, timeout=_REAP_S)
    infrastructure = _infrastructure(runtime)
    memory = getattr(infrastructure, "smm", None)
    if memory is not None:
        _release_shared_memory(memory)
    _kill_watchdog(getattr(runtime, "_watchdog_manager", None))
    if runtime is not None:
        runtime._is_started = runtime._is_running = False  # Lava's __del__ would stop it


def _release_shared_memory(memory) -> None:
    """Unlink the segments of Lava's shared-memory manager and end its server process."""
    for handle in memory._shared_memory_handles:
        try:
            handle.close()
        except BufferError:  # a NumPy view of the segment still exists; unlink anyway
            pass
        try:
            handle.unlink()
        except FileNotFoundError:
            pass
    memory._shared_memory_handles.clear()
    if memory._manager is not None:
        _end_manager(memory._manager)
        memory._manager = None


def _kill_watchdog(watchdog) -> None:
    """End a watchdog manager's monitor and manager processes (the default, a no-op
    watchdog, has none)."""
    for name in ("_lm", "_sm"):
        _kill(getattr(watchdog, name, None))
    manager = getattr(watchdog, "_mp_manager", None)
    if manager is not None:
        _end_manager(manager)
        watchdog._mp_manager = None


def _kill(process) -> None:
    """Kill ``process`` (if there is one and it runs) and reap it."""
    if process is not None and _alive(process):
        process.kill()
        process.join(_REAP_S)


def _end_manager(manager) -> None:
    """Kill a ``multiprocessing`` manager's server process; its ``shutdown`` then only
    forgets the dead server (it would wait on a live one that may not answer)."""
    _kill(getattr(manager, "_process", None))
    manager.shutdown()


def stop_runtime(runtime, timeout: float = STOP_TIMEOUT_S) -> None:
    """Stop ``runtime`` with Lava's own stop if it returns within ``timeout`` seconds and
    leaves nothing running, else kill it."""
    errors: list[BaseException] = []

    def lava_stop():
        try:
            runtime.stop()
        except BaseException as error:  # noqa: BLE001 - reported by killing instead
            errors.append(error)

    thread = threading.Thread(target=lava_stop, name="lava-stop", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive() or errors or any(_alive(w) for w in workers(runtime)):
        kill_runtime(runtime)
        thread.join(_REAP_S)


class WorkerEnded(Exception):
    """Raised in the main thread by :class:`WorkerWatch`: a worker of the run has ended."""


class WorkerWatch:
    """While a run is in progress (a ``with`` block), watch the workers of ``process``'s
    runtime: once one has ended for :data:`GRACE_S` seconds, kill the others and raise
    :class:`WorkerEnded` in the main thread, which Lava's runtime would otherwise leave
    waiting for their answers forever (the main thread is woken by SIGUSR1, whose handler
    the block sets; a run outside the main thread is watched but cannot be woken).
    ``ended`` lists the exit codes of the workers that ended first."""

    def __init__(self, process):
        self.process, self.ended = process, []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lava-watch", daemon=True)
        self._main = threading.current_thread() is threading.main_thread()

    def __enter__(self):
        if self._main:
            self._previous = signal.signal(signal.SIGUSR1, self._raise)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        if self._main:
            signal.signal(signal.SIGUSR1, self._previous)

    @staticmethod
    def _raise(signum, frame):
        raise WorkerEnded()

    def _watch(self) -> None:
        first_seen = None
        while not self._done.wait(_WATCH_PERIOD_S):
            procs = workers(getattr(self.process, "runtime", None))
            if all(_alive(w) for w in procs):
                continue
            first_seen = first_seen if first_seen is not None else time.monotonic()
            if time.monotonic() - first_seen < GRACE_S:
                continue
            self.ended = [w.exitcode for w in procs if not _alive(w)]
            for worker in filter(_alive, procs):
                worker.kill()
            if self._main and not self._done.is_set():
                signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
            return


_forking_workers = False


def _ignore_sigint_in_worker() -> None:
    if _forking_workers:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


os.register_at_fork(after_in_child=_ignore_sigint_in_worker)


@contextmanager
def quiet_workers():
    """Processes forked inside this block ignore SIGINT and die on SIGTERM."""
    global _forking_workers
    _forking_workers = True
    try:
        yield
    finally:
        _forking_workers = False
