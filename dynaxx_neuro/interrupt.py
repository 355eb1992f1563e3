"""How a run stops on a signal: SIGINT (Ctrl-C) and SIGTERM take the same path.

SIGINT raises ``KeyboardInterrupt`` as Python does; inside :func:`terminate_as_interrupt`
(every ``dynaxx`` command) SIGTERM raises :class:`Interrupted`, a ``KeyboardInterrupt`` too,
so the training loop's ``finally`` blocks stop the Lava runtime, and the command ends with
one line and :data:`EXIT_INTERRUPTED`. Cleanup runs inside :func:`signals_held`, so a second
Ctrl-C cannot cut it short (the cause of half-stopped Lava runtimes and leaked workers).

Signal handlers belong to the main thread; elsewhere both context managers do nothing.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

# Exit status of a command stopped by SIGINT or SIGTERM (the shell's 128 + SIGINT).
EXIT_INTERRUPTED = 130
_STOPPING = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A signal stopped the run; ``args[0]`` names it (``"SIGTERM"``)."""

    @property
    def signal_name(self) -> str:
        return self.args[0] if self.args else "SIGINT"


def signal_name(interrupt: KeyboardInterrupt) -> str:
    """The signal behind ``interrupt`` (Python's own KeyboardInterrupt is SIGINT's)."""
    return interrupt.signal_name if isinstance(interrupt, Interrupted) else "SIGINT"


def ignore_further_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on: the command is ending because of one, and a
    second Ctrl-C must not kill it while it says so (or turn its exit status into -2)."""
    if _in_main_thread():
        for s in _STOPPING:
            signal.signal(s, signal.SIG_IGN)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_interrupted(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def terminate_as_interrupt():
    """Inside this block SIGTERM raises :class:`Interrupted` instead of ending the process
    at once (which would orphan Lava's worker processes and shared memory)."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextmanager
def signals_held():
    """Run a cleanup to its end: SIGINT and SIGTERM arriving meanwhile are remembered, and
    the first is raised as :class:`Interrupted` once the block is done (unless the block
    itself raises)."""
    if not _in_main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum))
                for s in _STOPPING}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
    if received:
        raise Interrupted(signal.Signals(received[0]).name)
