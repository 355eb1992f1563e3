"""Lava Process classes of dynaxx-neuro (interfaces: ports and Vars, no maths).

Installed as ``dynaxx_neuro.processes``; importing it needs lava-nc. The processes of a
graph of Loihi parts say what they become on a chip with the class attribute ``LOIHI``
(``"host"`` or ``"neuron program"``; read by ``dynaxx deploy``).
"""
