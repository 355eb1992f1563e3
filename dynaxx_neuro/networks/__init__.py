"""Builders that turn a network configuration into a Lava process graph or the same
computation as a plain NumPy loop (the ``numpy`` back end)."""
