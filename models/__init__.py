"""Lava ProcessModels of dynaxx-neuro, thin wrappers over ``dynaxx_neuro.kernels``.

Installed as ``dynaxx_neuro.models``. Lava discovers models next to their Process only,
and ours live in this separate package, so run configurations name them explicitly with
``exception_proc_model_map`` (see ``float_model_map``).
"""


def float_model_map() -> dict:
    """Process class -> floating_pt ProcessModel for every process of the package."""
    from dynaxx_neuro.models import ep, ff
    models = (ep.PyEPSourceModelFloat, ep.PyEPLayerModelFloat, ep.PyEPSynapseModelFloat,
              ep.PyEPReadoutModelFloat, ff.PyFFSourceModelFloat, ff.PyFFLayerModelFloat,
              ff.PyFFReadoutModelFloat)
    return {model.implements_process: model for model in models}
