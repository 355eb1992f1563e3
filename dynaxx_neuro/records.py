"""The run directory (docs/architecture.md, "The run directory"): one folder per training or
cross-check run.

- ``run.json``: command line, configuration, seed, back end, versions, git commit, times,
  final metrics.
- ``<table>.parquet/``: tabular logs (``metrics``, ``energy``, ``spikes``, ``ops``) as Parquet
  datasets, one part file per epoch (``epoch-00003.parquet``); pandas reads a whole table
  with ``pandas.read_parquet(run / "metrics.parquet")``. Parts are keyed by epoch, so an
  epoch repeated after a resume replaces its parts instead of duplicating rows.
- ``checkpoints/epoch-00003.npz``: the state after the third epoch, arrays only (loaded with
  ``allow_pickle=False``).

Epochs are numbered from 1 in every file, as in every output (progress, final metrics,
``eval``, plots, the report): the training loop's 0-based epoch *index* is what
:meth:`RunDir.write_table` and :meth:`RunDir.save_checkpoint` take and
:meth:`RunDir.last_checkpoint` returns, and they store it as the epoch number index + 1
(file names and the ``epoch`` column of every table).
- ``deploy-loihi2/report.json``: the last ``dynaxx deploy`` (compatibility report, costs,
  agreement with the bit-accurate simulation).

Every file is written to a temporary name and renamed, so an interruption never leaves a
half-written file behind. Readers never modify anything.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import zipfile
import zlib
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
    """Call ``write(tmp_path)`` and rename the result onto ``path``; whatever stops the
    write (a signal, a full disk) removes the temporary file and leaves ``path`` as it was."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            held = ", ".join(sorted(p.name for p in path.iterdir())[:3]) if path.is_dir() else ""
            raise ValueError(f"--out {str(path)!r} is " + (f"not empty (it holds {held}) and "
                             "is not a run" if held else "a file") + "; a new run starts only "
                             "in a new or empty folder.")
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
        """run.json's content; one sentence naming the file if it is damaged."""
        path = self.path / RUN_FILE
        try:
            info = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{str(path)!r} is damaged ({error}); it cannot be read as the "
                             "run's record.") from None
        if not isinstance(info, dict):
            raise ValueError(f"{str(path)!r} is damaged (it holds no JSON object).")
        return info

    def write_info(self, info: dict) -> None:
        text = json.dumps(json_safe(info), indent=2, default=json_default, allow_nan=False)
        atomic_write(self.path / RUN_FILE, lambda tmp: tmp.write_text(text))

    def update_info(self, **fields) -> None:
        """Merge ``fields`` into run.json (e.g. final metrics and the end time)."""
        self.write_info({**self.info(), **fields})

    # tables --------------------------------------------------------------------
    def write_table(self, table: str, epoch: int, columns: dict[str, np.ndarray | list]) -> None:
        """Write the rows of the epoch of index ``epoch`` of a table (replacing that epoch's
        rows if present); an ``epoch`` column holds indices too, stored as numbers (+ 1)."""
        folder = self.path / f"{table}.parquet"
        folder.mkdir(exist_ok=True)
        arrow = pa.table({k: np.asarray(v) + 1 if k == "epoch" else np.asarray(v)
                          for k, v in columns.items()})
        atomic_write(folder / f"epoch-{epoch + 1:05d}.parquet",
                      lambda tmp: pq.write_table(arrow, tmp))

    def warnings(self) -> list[str]:
        """The ``message`` of every row of the run's warning tables (``<rule>_warnings``),
        in table and epoch order."""
        return [str(message) for folder in sorted(self.path.glob("*_warnings.parquet"))
                for message in self.read_table(folder.name[:-len(".parquet")])["message"]]

    def has_table(self, table: str) -> bool:
        """Whether the table has rows (a part file; a run stopped while writing its first
        part leaves an empty folder)."""
        return any((self.path / f"{table}.parquet").glob("epoch-*.parquet"))

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
        """Write the state after the epoch of index ``epoch`` (arrays only) atomically."""
        path = self.path / CHECKPOINTS / f"epoch-{epoch + 1:05d}.npz"
        atomic_write(path, lambda tmp: _save_npz(tmp, arrays))
        return path

    def checkpoint_files(self) -> list[tuple[int, Path]]:
        """(epoch index, path) of every checkpoint, oldest first."""
        return sorted((int(m.group(1)) - 1, p) for p in (self.path / CHECKPOINTS).glob("epoch-*.npz")
                      if (m := _PART.search(p.name)))

    def last_epoch(self) -> int | None:
        """The epoch index of the newest checkpoint, None before the first epoch ends."""
        files = self.checkpoint_files()
        return files[-1][0] if files else None

    def last_checkpoint(self, check=None) -> tuple[int, dict[str, np.ndarray]] | None:
        """(epoch index, arrays) of the newest checkpoint that loads and passes
        ``check(epoch, arrays)`` (which raises ValueError saying why arrays do not fit the
        run), or None before the first epoch ends. Each newer one that does not is named in
        a warning (:func:`warn`); if none does, one sentence names the newest and what is
        wrong with it."""
        files = self.checkpoint_files()
        problems = []
        for epoch, path in reversed(files):
            try:
                arrays = load_checkpoint(path)
            except ValueError as problem:
                problems.append(str(problem))
                continue
            try:
                if check is not None:
                    check(epoch, arrays)
            except ValueError as problem:
                problems.append(f"checkpoint {str(path)!r} does not fit the run: {problem}")
                continue
            for skipped in problems:
                warn(f"{skipped}; using {path.name}, the newest checkpoint that loads.")
            return epoch, arrays
        if problems:
            raise ValueError(f"{problems[0]}" + (f", and none of the {len(files) - 1} older "
                             "checkpoints loads either" if len(files) > 1 else "") + ".")
        return None


def load_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint file; one ValueError sentence naming the file and what is
    wrong with it (empty, truncated, not an npz archive, pickled objects)."""
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {str(path)!r} is empty (0 bytes)")
    with open(path, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":  # every zip archive, so every npz, starts so
            raise ValueError(f"checkpoint {str(path)!r} is not an npz archive (damaged, or "
                             "another kind of file)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except zipfile.BadZipFile:
        raise ValueError(f"checkpoint {str(path)!r} is damaged (truncated or not an npz "
                         "archive)") from None
    except (ValueError, OSError, EOFError, KeyError, zlib.error) as error:
        reason = ("holds pickled objects, not arrays" if "pickle" in str(error)
                  else f"cannot be read: {error}")
        raise ValueError(f"checkpoint {str(path)!r} {reason}") from None


def warn(message: str) -> None:
    """Say on stderr what a reader did instead of what was asked (e.g. which checkpoint it
    fell back to)."""
    print(f"warning: {message}", file=sys.stderr)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def json_safe(value):
    """``value`` with every NaN or infinite number replaced by None (JSON's null), recursing
    into dicts, lists and tuples; NumPy scalars and arrays become Python numbers and lists
    first. JSON has no NaN or Infinity: Python's json writes them anyway and strict readers
    refuse the file."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def json_default(value):
    """The JSON form of the NumPy values and paths run-folder files hold."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in run.json")
