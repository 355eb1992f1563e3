"""Lava Process classes of dynaxx-neuro (interfaces: ports and Vars, no maths).

Installed as ``dynaxx_neuro.processes``; importing it needs lava-nc.
"""
