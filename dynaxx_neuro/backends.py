"""Back-end names and what each needs (docs/architecture.md, "Back ends").

The Lava back ends (``lava``, ``lava-fixed``) need lava-nc, which installs only on Python
3.10; the host back ends (``numpy``, ``numpy-fixed``) run anywhere. A Loihi 2 chip is not a
training back end: ``dynaxx deploy`` puts a trained graph of Loihi parts on one, where
Intel's Loihi extension is installed (:func:`loihi2_available`). Asking for a back end that
cannot run here gives one sentence saying what is missing, not a traceback.
"""

from __future__ import annotations

import importlib.util
import sys

def lava_available() -> bool:
    """Whether lava-nc imports in this interpreter."""
    return importlib.util.find_spec("lava") is not None


def prepare_lava_import() -> None:
    """Let Lava's runtime be imported after something else chose a multiprocessing start method.

    lava-nc 0.10.0 calls ``multiprocessing.set_start_method('fork')`` without ``force`` when
    its runtime module is first imported, which raises once any library has fixed the start
    method (e.g. by asking for it). Resetting the unset-yet-fixed choice first lets Lava pick
    'fork', the Linux default it needs.
    """
    import multiprocessing
    if ("lava.magma.runtime.message_infrastructure.multiprocessing" not in sys.modules
            and multiprocessing.get_start_method(allow_none=True) is not None):
        multiprocessing.set_start_method(None, force=True)


def loihi2_available() -> bool:
    """Whether Intel's Loihi extension is installed (``Loihi2HwCfg`` needs it)."""
    if not lava_available():
        return False
    prepare_lava_import()
    from lava.utils import loihi
    return bool(loihi.is_installed())


def require_backend(backend: str, supported: tuple[str, ...], rule: str = "this rule") -> None:
    """Raise a one-sentence error unless ``backend`` is one of ``supported`` (the back ends
    of ``rule``) and can run here."""
    if backend not in supported:
        raise ValueError(f"--backend must be one of {', '.join(supported)} for {rule}, "
                         f"got {backend!r}.")
    if backend.startswith("lava") and not lava_available():
        raise RuntimeError(
            f"backend {backend!r} needs lava-nc, which installs only on Python 3.10 "
            f"(this is Python {sys.version_info.major}.{sys.version_info.minor}); "
            "use the environment made by `make test` or choose --backend numpy.")
