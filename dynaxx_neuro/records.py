"""The run directory (docs/architecture.md, "The run directory"): one folder per training or
cross-check run.

- ``run.json``: command line, configuration, seed, back end, versions, git commit, times,
  final metrics.
- ``<table>.parquet/``: tabular logs (``metrics``, ``energy``, ``spikes``, ``ops``) as Parquet
  datasets, one part file per epoch (``epoch-00003.parquet``); pandas reads a whole table
  with ``pandas.read_parquet(run / "metrics.parquet")``. Parts are keyed by epoch, so an
  epoch repeated after a resume replaces its parts instead of duplicating rows.
- ``checkpoints/epoch-00003.npz``: arrays only (loaded with ``allow_pickle=False``).
- ``deploy-loihi2/report.json``: the last ``dynaxx deploy`` (compatibility report, costs,
  agreement with the bit-accurate simulation).

Every file is written to a temporary name and renamed, so an interruption never leaves a
half-written file behind. Readers never modify anything.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

RUN_FILE = "run.json"
CHECKPOINTS = "checkpoints"
DEPLOY_REPORT = Path("deploy-loihi2") / "report.json"
_PART = re.compile(r"epoch-(\d+)\.(parquet|npz)$")


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Lava's worker processes not included;
    ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on (absent ones are left out)."""
    versions = {"python": platform.python_version()}
    for name in ("dynaxx-neuro", "numpy", "scipy", "lava-nc", "brian2", "matplotlib", "pyarrow"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def git_commit() -> str | None:
    """The commit of the source tree this package runs from, if it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class RunDir:
    """A run folder: create it with :meth:`create`, open an existing one with :meth:`open`."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, out: str | os.PathLike | None, name: str, info: dict) -> "RunDir":
        """Make a new run folder (``out``, or ``runs/<timestamp>-<name>`` when None)."""
        if out is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = Path("runs") / f"{stamp}-{name}"
        path = Path(out)
        if (path / RUN_FILE).exists():
            raise ValueError(f"--out {str(path)!r} already holds a run; choose a new folder or "
                             "use --resume to continue it.")
        (path / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        run = cls(path)
        run.write_info({"command": sys.argv, "started": utc_now(), "versions": package_versions(),
                        "git_commit": git_commit(), **info})
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        """Open an existing run folder; a folder without run.json is refused."""
        if not (Path(path) / RUN_FILE).is_file():
            raise ValueError(f"run {str(path)!r} is not a run folder (it has no {RUN_FILE}); "
                             "pass a folder written by `dynaxx train`.")
        return cls(Path(path))

    # run.json ------------------------------------------------------------------
    def info(self) -> dict:
        return json.loads((self.path / RUN_FILE).read_text())

    def write_info(self, info: dict) -> None:
        text = json.dumps(info, indent=2, default=json_default)
        atomic_write(self.path / RUN_FILE, lambda tmp: tmp.write_text(text))

    def update_info(self, **fields) -> None:
        """Merge ``fields`` into run.json (e.g. final metrics and the end time)."""
        self.write_info({**self.info(), **fields})

    # tables --------------------------------------------------------------------
    def write_table(self, table: str, epoch: int, columns: dict[str, np.ndarray | list]) -> None:
        """Write the rows of one epoch of a table (replacing that epoch's rows if present)."""
        folder = self.path / f"{table}.parquet"
        folder.mkdir(exist_ok=True)
        arrow = pa.table({k: np.asarray(v) for k, v in columns.items()})
        atomic_write(folder / f"epoch-{epoch:05d}.parquet",
                      lambda tmp: pq.write_table(arrow, tmp))

    def warnings(self) -> list[str]:
        """The ``message`` of every row of the run's warning tables (``<rule>_warnings``),
        in table and epoch order."""
        return [str(message) for folder in sorted(self.path.glob("*_warnings.parquet"))
                for message in self.read_table(folder.name[:-len(".parquet")])["message"]]

    def has_table(self, table: str) -> bool:
        return (self.path / f"{table}.parquet").is_dir()

    def read_table(self, table: str) -> dict[str, np.ndarray]:
        """All rows of a table in epoch order, as column arrays."""
        folder = self.path / f"{table}.parquet"
        parts = sorted(p for p in folder.glob("epoch-*.parquet")) if folder.is_dir() else []
        if not parts:
            raise ValueError(f"run {str(self.path)!r} has no {table!r} table yet.")
        merged = pa.concat_tables([pq.read_table(p) for p in parts])
        return {name: merged.column(name).to_numpy() for name in merged.column_names}

    # checkpoints -----------------------------------------------------------------
    def save_checkpoint(self, epoch: int, arrays: dict[str, np.ndarray]) -> Path:
        """Write the state after ``epoch`` (arrays only) atomically."""
        path = self.path / CHECKPOINTS / f"epoch-{epoch:05d}.npz"
        atomic_write(path, lambda tmp: _save_npz(tmp, arrays))
        return path

    def last_checkpoint(self) -> tuple[int, dict[str, np.ndarray]] | None:
        """(epoch, arrays) of the newest checkpoint, or None before the first epoch ends."""
        found = [(int(m.group(1)), p) for p in (self.path / CHECKPOINTS).glob("epoch-*.npz")
                 if (m := _PART.search(p.name))]
        if not found:
            return None
        epoch, path = max(found)
        with np.load(path, allow_pickle=False) as npz:
            return epoch, {k: npz[k] for k in npz.files}


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def json_default(value):
    """The JSON form of the NumPy values and paths run-folder files hold."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in run.json")
