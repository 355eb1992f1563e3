"""Benchmark: every comparison of `dynaxx crosscheck all` with its default sizes, the value
it measured and how long it took (Brian2 with its numpy target, Lava's CPU simulator).

    OMP_NUM_THREADS=1 python benchmarks/crosscheck.py

Writes benchmarks/results/crosscheck.json.
"""

import dataclasses
import time

from common import scratch_runs, write_result

from dynaxx_neuro.crosscheck import CrosscheckSettings
from dynaxx_neuro.crosscheck.checks import CHECKS


def main():
    settings = CrosscheckSettings()
    rows, seconds = [], {}
    with scratch_runs() as folder:
        for name, run in CHECKS.items():
            started = time.perf_counter()
            records = run(settings, folder)
            seconds[name] = round(time.perf_counter() - started, 2)
            rows += [record.row() for record in records]
    write_result("crosscheck", {"settings": dataclasses.asdict(settings), "results": rows,
                                "seconds_per_check": seconds,
                                "all_passed": all(r["status"] == "PASS" for r in rows)})


if __name__ == "__main__":
    main()
