"""``dynaxx deploy RUN --target loihi2``: put a run's graph of Loihi parts on a Loihi 2 chip,
or, where Intel's Loihi extension is absent, on Lava's CPU simulator with the same
``fixed_pt`` models (docs/architecture.md, "Deploying to Loihi 2").

- ``loihi2``: what one chip offers (limits and widths, with their sources);
- ``cost``: the named, replaceable cost table (energy and time per operation, static power);
- ``placement``: one row per process of a built Lava graph (what it maps to, widths,
  sizes, cores) and the graph's totals;
- ``run``: the command's flow (load the run, run the graph on the target, compare with the
  bit-accurate simulation, write ``deploy-loihi2/report.json``).
"""
