"""What one epoch of any runner (any rule, any back end) hands to the training loop."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpochResult:
    """Training accuracy and mean loss (measured during the epoch), predictions and mean loss
    on the validation and test splits after it (None for a stage that does not evaluate,
    such as unsupervised feature learning), the rule's own log tables of the epoch (table
    name -> columns, written to the run folder as they are) and extra final metrics (name
    -> number, e.g. ``test_accuracy_goodness``)."""

    train_accuracy: float
    train_loss: float
    val_predictions: np.ndarray | None
    val_loss: float
    test_predictions: np.ndarray | None
    test_loss: float
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    diverged: bool = False
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def evaluates(self) -> bool:
        """Whether the epoch produced validation and test predictions."""
        return self.val_predictions is not None and not self.diverged

    @classmethod
    def divergence(cls, train_accuracy: float) -> "EpochResult":
        """The result of an epoch stopped by NaN or infinite values."""
        empty = np.zeros(0, dtype=int)
        return cls(train_accuracy, float("nan"), empty, float("nan"), empty, float("nan"),
                   diverged=True)

    @classmethod
    def unevaluated(cls, tables: dict) -> "EpochResult":
        """The result of an epoch of a stage that learns without labels."""
        return cls(float("nan"), float("nan"), None, float("nan"), None, float("nan"), tables)


def require_next_epoch(expected: int, epoch: int) -> None:
    """Refuse an epoch other than the runner's next one (a runner trains epochs in order)."""
    if epoch != expected:
        raise ValueError(f"epoch must be {expected} (the runner's next epoch), got {epoch}.")


def mean_loss(values: np.ndarray) -> float:
    """The mean of a split's per-sample losses (NaN for an empty split)."""
    return float(values.mean()) if len(values) else float("nan")
