"""What one epoch of any runner (any rule, any back end) hands to the training loop."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpochResult:
    """Training accuracy and mean loss (measured during the epoch), predictions and mean loss
    on the validation and test splits after it, and the rule's own log tables of the epoch
    (table name -> columns, written to the run folder as they are)."""

    train_accuracy: float
    train_loss: float
    val_predictions: np.ndarray
    val_loss: float
    test_predictions: np.ndarray
    test_loss: float
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    diverged: bool = False

    @classmethod
    def divergence(cls, train_accuracy: float) -> "EpochResult":
        """The result of an epoch stopped by NaN or infinite values."""
        empty = np.zeros(0, dtype=int)
        return cls(train_accuracy, float("nan"), empty, float("nan"), empty, float("nan"),
                   diverged=True)
