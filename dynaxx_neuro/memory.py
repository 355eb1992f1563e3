"""Sizes that cannot work, refused before a run folder is made: batches larger than the
training split, which would train nothing, and runs that need more memory than the machine
has, which would fail inside NumPy with a MemoryError after the folder exists.

Each rule says what its run holds with a :class:`MemoryModel` (``RuleSpec.memory``): a
function counting the 8-byte numbers (float64 or int64) a run holds at once, from its bound
configuration and its data, and the options that size it. :func:`estimate_bytes` turns the
count into bytes with the margins stated here, once; :func:`require_sizes` is what the
training loop calls after ``registry.bind_data``.

This module reads only the configuration (``params``) and the data (``datasets``), so rule
modules may import :class:`MemoryModel` from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dynaxx_neuro import params as P
from dynaxx_neuro.datasets import Splits

NUMBER_BYTES = 8  # every array a run holds is float64 or int64
# The rules' counts hold one update's worth of gradients; beyond them a step's new arrays
# briefly exist beside the old ones and NumPy's temporaries come and go. 1.5 times the
# count errs low, so a run that fits is not refused (an estimate refuses without appeal).
SAFETY_FACTOR = 1.5
# A Lava back end holds the parameters and buffers again in its model processes (and the
# host runner keeps its own copy to read back and checkpoint).
LAVA_COPIES = 2
MEMINFO = Path("/proc/meminfo")
GIB = 2 ** 30


@dataclass(frozen=True)
class MemoryModel:
    """What a rule's run holds: ``numbers(config, data)`` counts the 8-byte numbers it holds
    at once (its docstring says which: parameters, optimiser state, per-batch buffers; not
    the data's own arrays, which are allocated before the check, whitened ones included);
    ``options`` are the leaf fields that size it, named in a refusal as what to make
    smaller (e.g. ``("hidden",)``)."""

    numbers: Callable
    options: tuple[str, ...]


def estimate_bytes(spec, config, data: Splits, tag: str = "numpy") -> int:
    """Bytes a run of ``config`` (bound to ``data``) on a back end of ProcessModel ``tag``
    needs at its peak: the rule's count of numbers, 8 bytes each, times SAFETY_FACTOR, times
    LAVA_COPIES for a Lava back end (any tag but ``numpy``)."""
    copies = 1 if tag == "numpy" else LAVA_COPIES
    return int(spec.memory.numbers(config, data) * NUMBER_BYTES * SAFETY_FACTOR * copies)


def available_bytes() -> int | None:
    """Memory the machine can give a new allocation without swapping: ``MemAvailable`` of
    /proc/meminfo (Linux), else the free physical pages (``os.sysconf``), else None."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _shown(value) -> str:
    """A value as a user types it (a tuple comma-separated)."""
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _of(data: Splits) -> str:
    return f" of {data.name}" if data.name else ""


def require_memory(spec, config, data: Splits, tag: str = "numpy") -> None:
    """Refuse, in one sentence naming the options that size the run, a run that needs more
    memory than the machine has available (nothing is checked for a rule without a
    MemoryModel or where the available memory is unknown)."""
    if spec.memory is None:
        return
    need, have = estimate_bytes(spec, config, data, tag), available_bytes()
    if have is None or need <= have:
        return
    sizing = [(field, path) for field, path in P.cli_fields(type(config))
              if path[-1] in spec.memory.options]
    typed = ", ".join(f"{P.option_name(field)} {_shown(P.get_path(config, path))}"
                      for field, path in sizing)
    smaller = " or ".join(P.option_name(field) for field, _ in sizing)
    raise ValueError(f"{typed} on {data.name or 'this data'} needs about {need / GIB:.1f} GiB "
                     f"of memory, but this machine has {have / GIB:.1f} GiB available; use a "
                     f"smaller {smaller}.")


def require_batches(config, data: Splits) -> None:
    """Refuse, in one sentence, a batch size (every option ending in ``batch_size``, e.g.
    ``--batch-size``, ``--readout-batch-size``) larger than the training split: the epoch
    would train no batch and report a training accuracy of 0."""
    n = len(data.x_train)
    for field, path in P.cli_fields(type(config)):
        if path[-1].endswith("batch_size") and P.get_path(config, path) > n:
            size = P.get_path(config, path)
            raise ValueError(f"{P.option_name(field)} {size} is larger than the {n} training "
                             f"samples{_of(data)}; use at most {n}.")


def require_sizes(spec, config, data: Splits, tag: str = "numpy") -> None:
    """The checks a run's sizes get once its configuration is bound to its data
    (``registry.bind_data``), before a run folder exists: :func:`require_batches`, then
    :func:`require_memory`."""
    require_batches(config, data)
    require_memory(spec, config, data, tag)
