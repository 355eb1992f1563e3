"""What one Loihi 2 chip offers: the limits a graph's placement is checked against.

Sources, per field (REFERENCES: "Loihi facts"):

- Intel's Loihi 2 brief (2021): 128 neuro cores per chip, up to 1M neurons and 120M
  synapses per chip; graded spikes with integer payloads; programmable neurons;
- Davies et al. 2018 (Loihi, IEEE Micro 38(1)): per core 128 KB of synaptic memory, 4,096
  fan-in and 4,096 fan-out axons. Intel has not published these per-core figures for
  Loihi 2; Loihi's are used as the stated, conservative assumption;
- lava-nc 0.10.0, the models Intel wrote to match the chip: weights 8 bits + sign,
  learning-engine traces 7 bits, rule constants 8 bits, rule scaling mantissas 4 bits,
  learning epochs of at most 63 steps (``lava.magma.core.learning.constants``); neuron
  states u, v 24 bits (fixed-point LIF); graded payloads up to 24 bits (the graded
  processes, ``lava.proc.graded``).

Replace the figures by passing another :class:`Loihi2Chip`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loihi2Chip:
    """Per-chip and per-core limits and the bit widths of the chip's datapaths."""

    cores_per_chip: int = 128                         # Loihi 2 brief
    neurons_per_core: int = 1_048_576 // 128          # 1M neurons / 128 cores = 8,192
    synaptic_memory_bits_per_core: int = 128 * 1024 * 8   # Loihi (Davies 2018): 128 KB
    fan_in_axons_per_core: int = 4096                 # Loihi (Davies 2018)
    fan_out_axons_per_core: int = 4096                # Loihi (Davies 2018)
    weight_bits: int = 9                              # 8 + sign (W_WEIGHTS_S)
    payload_bits: int = 24                            # graded spike payload
    state_bits: int = 24                              # neuron state (u, v)
    trace_bits: int = 7                               # W_TRACE
    rule_constant_bits: int = 8                       # W_CONST
    rule_scale_mantissa_bits: int = 4                 # W_S_MANT
    epoch_time_bits: int = 6                          # t_epoch <= 63 (W_EPOCH_TIME)

    def width(self, name: str) -> int:
        """The chip's width for a width name of the report (``weights``, ``payload``,
        ``state``, ``post factors``, ``traces``, ``rule constants``, ``rule scale``,
        ``t_epoch``)."""
        widths = {"weights": self.weight_bits, "payload": self.payload_bits,
                  "state": self.state_bits, "post factors": self.trace_bits,
                  "traces": self.trace_bits, "rule constants": self.rule_constant_bits,
                  "rule scale": self.rule_scale_mantissa_bits,
                  "t_epoch": self.epoch_time_bits}
        if name not in widths:
            raise ValueError(f"no Loihi 2 width is known for {name!r}; known: "
                             f"{', '.join(widths)}.")
        return widths[name]
