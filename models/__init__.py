"""Lava ProcessModels of dynaxx-neuro, thin wrappers over ``dynaxx_neuro.rules`` and
``dynaxx_neuro.kernels``.

Installed as ``dynaxx_neuro.models``. Lava discovers models next to their Process only,
and ours live in this separate package, so run configurations name them explicitly with
``exception_proc_model_map`` (``networks.lava_graph.LavaGraph``, from :func:`model_map`).
The models of ``dynaxx_neuro.processes.<rule>`` live in ``dynaxx_neuro.models.<rule>``,
which lists them per tag in ``MODELS``; a rule may list a model of one of Lava's own
processes there too (STDP's fixed-point ATRLIF that keeps per-neuron thresholds), which then
replaces Lava's choice in that rule's graphs.
"""

import importlib

PROCESSES = "dynaxx_neuro.processes."


def model_map(processes, tag: str) -> dict:
    """Process instance -> ProcessModel of ``tag`` (``floating_pt``, ``fixed_pt``) for each
    of ``processes`` that is one of ours, or one of Lava's that the models module of a
    process of ours in the same graph lists (Lava finds the models of the others)."""
    listed = {}
    for module in sorted({type(p).__module__ for p in processes
                          if type(p).__module__.startswith(PROCESSES)}):
        models = importlib.import_module(f"dynaxx_neuro.models.{module[len(PROCESSES):]}")
        listed.update({m.implements_process: m for m in models.MODELS.get(tag, ())})
    found = {}
    for process in processes:
        if type(process) in listed:
            found[process] = listed[type(process)]
        elif type(process).__module__.startswith(PROCESSES):
            raise ValueError(f"{type(process).__name__} has no {tag} model; this rule's "
                             "graph does not run on that back end.")
    return found


def named(model, stem: str, tag_name: str):
    """``model`` named ``<stem>Fixed`` or ``<stem>Float`` after its tag (``fixed_pt`` or
    ``floating_pt``), for the model factories that build one class per tag."""
    model.__name__ = model.__qualname__ = stem + ("Fixed" if tag_name == "fixed_pt" else "Float")
    return model
