"""Back ends: per rule, a runner that builds the rule's Lava process graph
(``<rule>_lava.py``, on ``lava_graph.LavaGraph``) and one that runs the same composition as a
plain NumPy loop (``<rule>_numpy.py``), both following the runner protocol of
``dynaxx_neuro.registry``."""
