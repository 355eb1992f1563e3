"""The result of one comparison and the table that lists them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

RELATIONS = ("<=", ">=")


@dataclass(frozen=True)
class CheckRecord:
    """One comparison: ``passed`` is whether ``value relation threshold`` held (and any
    further condition in ``note``); ``passed = None`` means it was skipped (``note`` says
    why). ``data`` holds the arrays behind the number, for the plots; it is left out of
    the table and of run.json."""

    name: str
    metric: str
    value: float
    threshold: float
    passed: bool | None
    relation: str = "<="
    note: str = ""
    data: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {', '.join(RELATIONS)}, "
                             f"got {self.relation!r}.")

    @property
    def status(self) -> str:
        return "SKIP" if self.passed is None else "PASS" if self.passed else "FAIL"

    def row(self) -> dict:
        """The record without its arrays, as run.json stores it."""
        value = None if math.isnan(self.value) else float(self.value)
        return {"name": self.name, "metric": self.metric, "value": value,
                "relation": self.relation, "threshold": float(self.threshold),
                "passed": self.passed, "status": self.status, "note": self.note}


def within(value: float, threshold: float, relation: str = "<=") -> bool:
    """Whether ``value relation threshold`` holds (NaN never does)."""
    if math.isnan(value):
        return False
    return value <= threshold if relation == "<=" else value >= threshold


def skipped(name: str, metric: str, threshold: float, reason: str,
            relation: str = "<=") -> CheckRecord:
    """A record for a comparison that could not run here."""
    return CheckRecord(name, metric, float("nan"), threshold, None, relation, reason)


def format_value(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.3e}"


def format_table(records: list[CheckRecord]) -> str:
    """A plain-text table, one row per comparison, ending with the PASS/FAIL/SKIP counts."""
    header = ("check", "metric", "value", "threshold", "result")
    rows = [(r.name, r.metric, format_value(r.value), f"{r.relation} {format_value(r.threshold)}",
             r.status) for r in records]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    for record, row in zip(records, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if record.note:
            lines.append(f"    {record.note}")
    counts = {s: sum(r.status == s for r in records) for s in ("PASS", "FAIL", "SKIP")}
    lines.append(f"comparisons: PASS {counts['PASS']}, FAIL {counts['FAIL']}, "
                 f"SKIP {counts['SKIP']}")
    return "\n".join(lines)
