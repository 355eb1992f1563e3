"""Plots, the report and the comparison of training runs.

- ``plots``: the drawing functions; each takes a Matplotlib ``Axes`` and the data of one
  panel, draws on it and returns it, never creating a figure itself.
- ``figures``: assembles panels into the figures of a run folder (``plot_run(run_path)``
  writes ``RUN/plots/``), using ``matplotlib.figure.Figure`` directly, so no pyplot state
  or GUI back end is involved.
- ``report``: ``RUN/report.html``, one self-contained page with every figure embedded.
- ``compare``: several runs' learning curves overlaid and their final metrics tabulated.
- ``ep_network``, ``landscape``, ``probes``: analyses of a trained EP network (its energy
  landscape around a free equilibrium, linear probes of its layers).
- ``energy_cost``: Loihi's energy per operation applied to a run's operation counters.
"""
