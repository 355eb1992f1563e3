"""How the memory estimate that refuses oversized runs (``dynaxx_neuro.memory``) compares
with what runs use: per rule and data set with the CLI defaults on ``numpy``, one epoch, the
estimate (the rule's count of numbers x 8 bytes x the safety factor) beside the peak of the
memory an epoch of each stage allocates once the data is ready (the data's own arrays are
allocated before the check and are not in the estimate), traced by ``tracemalloc``; and the
largest hidden width the check lets through on this machine.

    python benchmarks/memory_estimate.py
"""

from __future__ import annotations

import sys
import tracemalloc

from common import write_result

from dynaxx_neuro import memory
from dynaxx_neuro import params as P
from dynaxx_neuro.cycle import INIT, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.registry import bind_data, rule
from dynaxx_neuro.train import make_runner

MIB = 2 ** 20
# (rule, data set, options beyond --epochs 1); Fashion-MNIST only: on digits the run's own
# arrays are a few MiB, below the noise of the processes' imports.
CASES = [("ep", "fashion-mnist", []), ("ep", "fashion-mnist", ["--hidden", "2000"]),
         ("ff", "fashion-mnist", []), ("hebbian", "fashion-mnist", ["--readout-epochs", "1"]),
         ("tp", "fashion-mnist", [])]

def estimate_mib(name: str, dataset: str, extra: list[str]) -> float:
    spec = rule(name)
    config = spec.configure(dataset, _values(extra))
    data = spec.data(config, prepare_splits(dataset, None, 0.1, 0))
    return memory.estimate_bytes(spec, bind_data(config, data), data) / MIB


def _values(extra: list[str]) -> dict:
    """The configuration values of ``--hidden N`` in ``extra`` (the only one CASES use
    besides the epochs)."""
    if "--hidden" not in extra:
        return {}
    return {"hidden": (int(extra[extra.index("--hidden") + 1]),)}


def largest_accepted_width(name: str, dataset: str) -> int:
    """The largest single hidden width (or neuron count) ``require_memory`` accepts for
    ``name`` on ``dataset`` on this machine (bisection over the sizing option)."""
    spec = rule(name)
    option = spec.memory.options[0]
    data = spec.data(spec.configure(dataset), prepare_splits(dataset, None, 0.1, 0))
    default = spec.configure(dataset)
    width = P.get_leaf(default, option)

    def fits(n: int) -> bool:
        value = tuple(n for _ in width) if isinstance(width, tuple) else n
        config = bind_data(P.replace_leaf(default, option, value), data)
        try:
            memory.require_memory(spec, config, data)
        except ValueError:
            return False
        return True

    low = high = max(width) if isinstance(width, tuple) else width  # the default fits
    while fits(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def measured_mib(name: str, dataset: str, extra: list[str]) -> float:
    """The peak of the memory one epoch of each stage allocates (its initial parameters
    included) once its data is ready, traced by ``tracemalloc`` (NumPy reports its array
    allocations to it); the largest over the stages."""
    spec = rule(name)
    config = spec.configure(dataset, _values(extra))
    data = spec.data(config, prepare_splits(dataset, None, 0.1, 0))
    config = bind_data(config, data)
    peaks = []
    for stage in spec.stages:
        tracemalloc.start()
        try:
            params = stage.parameters.initial(config, stream(0, INIT))
            runner = make_runner(spec, stage, "numpy", config, data, params, 0, 0, (0, 1))
            try:
                runner.run_epoch(0)
            finally:
                runner.close()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return max(peaks) / MIB


def main() -> None:
    rows = []
    for name, dataset, extra in CASES:
        row = {"rule": name, "dataset": dataset, "options": extra,
               "estimate_mib": round(estimate_mib(name, dataset, extra), 1),
               "measured_mib": round(measured_mib(name, dataset, extra), 1),
               "largest_accepted_width": largest_accepted_width(name, dataset)}
        rows.append(row)
        print(row, file=sys.stderr)
    write_result("memory_estimate", {"available_gib": round(memory.available_bytes() / 2 ** 30, 1),
                                     "safety_factor": memory.SAFETY_FACTOR, "cases": rows})


if __name__ == "__main__":
    main()
