"""dynaxx-neuro: learning without backpropagation on neuromorphic substrates."""

__version__ = "0.1.0"
