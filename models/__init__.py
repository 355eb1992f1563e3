"""Lava ProcessModels of dynaxx-neuro, thin wrappers over ``dynaxx_neuro.rules`` and
``dynaxx_neuro.kernels``.

Installed as ``dynaxx_neuro.models``. Lava discovers models next to their Process only,
and ours live in this separate package, so run configurations name them explicitly with
``exception_proc_model_map`` (``networks.lava_graph.LavaGraph``, from :func:`model_map`).
The models of ``dynaxx_neuro.processes.<rule>`` live in ``dynaxx_neuro.models.<rule>``,
which lists them per tag in ``MODELS``.
"""

import importlib

PROCESSES = "dynaxx_neuro.processes."


def model_map(processes, tag: str) -> dict:
    """Process instance -> ProcessModel of ``tag`` (``floating_pt``, ``fixed_pt``) for each
    of ``processes`` that is one of ours (Lava finds the models of its own processes)."""
    found = {}
    for process in processes:
        module = type(process).__module__
        if not module.startswith(PROCESSES):
            continue
        models = importlib.import_module(f"dynaxx_neuro.models.{module[len(PROCESSES):]}")
        by_process = {m.implements_process: m for m in models.MODELS.get(tag, ())}
        if type(process) not in by_process:
            raise ValueError(f"{type(process).__name__} has no {tag} model; this rule's "
                             "graph does not run on that back end.")
        found[process] = by_process[type(process)]
    return found
