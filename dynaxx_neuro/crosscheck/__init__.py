"""Brian2 cross-check of the dynamics (docs/architecture.md, "Cross-check contract").

Brian2, an independent simulator, re-runs the same dynamics as Lava and our kernels:

- ``lif``: Lava's float LIF against the same map in Brian2 (identical spike steps,
  max |dv| <= 1e-9);
- ``lif-fixed``: Lava's bit-accurate LIF against Brian2 with integer arithmetic (bit exact);
- ``stdp``: Lava's ``LearningDense`` with ``STDPLoihi`` against a Brian2 synapse applying
  the same trace and weight updates every step (single pairs at offsets -20..20, Poisson drive);
- ``continuous``: our discrete LIF against Brian2's exact integration of the continuous LIF
  as dt halves (measured order about 1);
- ``ep``: our EP free-phase fixed point against the equilibrium of Brian2's gradient flow
  ds/dt = -dF/ds on [0, 1] (random and briefly trained weights, max |ds| <= 1e-3);
- ``ep-fixed``: EP's Loihi graph trained on ``lava-fixed`` against its integer neuron
  program and learning rule re-simulated in Brian2 (``ep_fixed``): weights, states at every
  step and predictions bit for bit.

``run_crosscheck`` writes a run folder with the table and overlay plots; the comparisons
themselves are in ``checks``, the Brian2 models in ``brian_models`` (EP's Loihi graph in
``ep_fixed``) and the Lava runs in ``lava_runs``. Brian2 and Lava are imported only when a
comparison runs.
"""

from dynaxx_neuro.crosscheck.checks import CHECK_NAMES, CrosscheckSettings
from dynaxx_neuro.crosscheck.record import CheckRecord, format_table
from dynaxx_neuro.crosscheck.run import run_checks, run_crosscheck

__all__ = ["CHECK_NAMES", "CheckRecord", "CrosscheckSettings", "format_table", "run_checks",
           "run_crosscheck"]
