"""What every benchmark script shares: the machine description and the JSON writer.

Results go to ``benchmarks/results/<name>.json`` with the command that produced them.
"""

import json
import os
import platform
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from dynaxx_neuro.records import package_versions, utc_now

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "versions": package_versions()}


def write_result(name: str, payload: dict) -> Path:
    """Write ``payload`` with the machine, time and command to results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {"benchmark": name, "finished": utc_now(),
              "command": "python " + " ".join(sys.argv), "machine": machine(), **payload}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(payload, indent=2))
    return path


@contextmanager
def scratch_runs(name: str = "bench"):
    """A temporary folder, named after the benchmark, for the run folders it writes (deleted
    afterwards)."""
    with tempfile.TemporaryDirectory(prefix=f"dynaxx-{name}-") as folder:
        yield Path(folder)
