"""Argument checks shared by the parameter dataclasses and the train functions. Each raises
``ValueError`` with one sentence that names the argument (the CLI prints it as it is)."""

from __future__ import annotations

import numpy as np


def check_count(name: str, value: int, minimum: int) -> None:
    """``value`` must be an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    """``value`` must be a finite number > 0 (>= 0 with ``allow_zero``)."""
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {kind}, got {value!r}.")


def check_fraction(name: str, value: float, allow_zero: bool = False) -> None:
    """``value`` must be a per-step decay in (0, 1] ([0, 1] with ``allow_zero``)."""
    low_ok = value >= 0 if allow_zero else value > 0
    if not (np.isfinite(value) and low_ok and value <= 1):
        bound = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must be in {bound} (a per-step decay), got {value!r}.")


def require(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok``."""
    if not ok:
        raise ValueError(message)


def is_real(value) -> bool:
    """Whether ``value`` is a finite real number (a Python or NumPy int or float, not a
    bool)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and np.isfinite(value))
