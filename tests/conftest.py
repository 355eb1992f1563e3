"""Shared test set-up: tests marked ``lava`` skip, with the reason, where lava-nc is absent."""

import sys

import pytest

from dynaxx_neuro.backends import lava_available


def pytest_collection_modifyitems(config, items):
    if lava_available():
        return
    skip = pytest.mark.skip(reason=f"lava-nc needs Python 3.10; this is Python "
                                   f"{sys.version_info.major}.{sys.version_info.minor}")
    for item in items:
        if "lava" in item.keywords:
            item.add_marker(skip)
