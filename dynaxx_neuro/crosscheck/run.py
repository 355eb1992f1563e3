"""One cross-check run: the chosen comparisons, their table and plots in a run folder.

The folder (``records.RunDir``) holds ``run.json`` (rule ``crosscheck``, the check name, seed,
Brian2 target, versions, and ``results``: one row per comparison) and ``plots/`` with the
overlay figures; ``ep-training/`` holds the short EP training run that ``ep`` compares.
"""

from __future__ import annotations

import dataclasses
import time

from dynaxx_neuro.crosscheck.checks import CHECK_NAMES, CHECKS, CrosscheckSettings
from dynaxx_neuro.crosscheck.figures import write_figures
from dynaxx_neuro.crosscheck.record import CheckRecord, format_table
from dynaxx_neuro.records import RunDir, utc_now


def check_names(check: str) -> list[str]:
    """The check names that ``check`` stands for (``all``: every one)."""
    if check not in CHECK_NAMES:
        raise ValueError(f"check must be one of {', '.join(CHECK_NAMES)}, got {check!r}.")
    return list(CHECKS) if check == "all" else [check]


def run_checks(check: str = "all", settings: CrosscheckSettings = CrosscheckSettings(),
               workdir=None, echo=None) -> list[CheckRecord]:
    """Run the comparisons of ``check`` and return their records (``echo(text)`` is told
    which check starts, when given; ``workdir`` receives the EP training run)."""
    records = []
    for name in check_names(check):
        if echo is not None:
            echo(f"running {name} ...")
        records.extend(CHECKS[name](settings, workdir))
    return records


def run_crosscheck(check: str = "all", out=None,
                   settings: CrosscheckSettings = CrosscheckSettings(), fmt: str = "png",
                   echo=None) -> tuple[RunDir, list[CheckRecord]]:
    """Run ``check`` and write its run folder (``out``, or ``runs/<time>-crosscheck-<check>``).

    Returns the folder and the records; ``format_table(records)`` is the printed table.
    """
    check_names(check)
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be png or svg, got {fmt!r}.")
    run = RunDir.create(out, f"crosscheck-{check}", {
        "rule": "crosscheck", "check": check, "seed": settings.seed, "backend": "lava+brian2",
        "brian2_target": settings.target, "settings": dataclasses.asdict(settings)})
    started = time.perf_counter()
    records = run_checks(check, settings, run.path, echo)
    plots = write_figures(records, run.path / "plots", fmt)
    rows = [r.row() for r in records]
    run.update_info(results=rows, ended=utc_now(),
                    time_s=round(time.perf_counter() - started, 3),
                    plots=[str(p.relative_to(run.path)) for p in plots],
                    final_metrics={"passed": sum(r.status == "PASS" for r in records),
                                   "failed": sum(r.status == "FAIL" for r in records),
                                   "skipped": sum(r.status == "SKIP" for r in records)})
    return run, records


__all__ = ["CrosscheckSettings", "check_names", "format_table", "run_checks", "run_crosscheck"]
