"""What every benchmark script shares: the machine description, the JSON writer, scratch
run folders and the backprop reference on digits.

Results go to ``benchmarks/results/<name>.json`` with the command that produced them.
"""

import json
import os
import platform
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from dynaxx_neuro.baseline import MLPConfig, train_mlp
from dynaxx_neuro.datasets import prepare_splits
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


def backprop_digits(sizes: tuple[int, ...], batch_size: int, seed: int, epochs: int) -> dict:
    """Test accuracy and training time of a backprop MLP of ``sizes`` (SGD lr 0.05, momentum
    0.9) on the digits data the local rules use: the training split without the validation
    hold-out."""
    data = prepare_splits("digits", None, 0.1, seed)
    config = MLPConfig(sizes=sizes, lr=0.05, momentum=0.9, batch_size=batch_size, seed=seed)
    result = train_mlp(config, data.x_train, data.y_train, data.x_test, data.y_test, epochs, 10)
    return {"seed": seed, "test_accuracy": result["test_accuracy"],
            "wall_s": round(sum(result["epoch_seconds"]), 2)}
