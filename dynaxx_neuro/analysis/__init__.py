"""Plots of training runs.

``plots`` holds the drawing functions: each takes a Matplotlib ``Axes`` and the data of one
panel, draws on it and returns it, never creating a figure itself. ``figures`` assembles
those panels into figure files inside a run folder (``plot_run(run_path)`` writes
``RUN/plots/``), using ``matplotlib.figure.Figure`` directly, so no pyplot state or GUI
back end is involved.
"""
