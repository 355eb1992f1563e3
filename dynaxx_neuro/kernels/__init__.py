"""Pure NumPy kernels: the single source of truth for every rule (no Lava, Brian2 or
matplotlib here)."""
