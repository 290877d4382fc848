"""The score matrix of one attribution method at one model state, with its example ids, timings and settings."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class AttributionResult:
    """Scores [n_train, n_tests] (> 0: training on the example lowers the test loss) and how they were made."""

    scores: np.ndarray
    train_ids: np.ndarray
    test_ids: np.ndarray
    seconds: dict[str, float]  # wall seconds: "fit" (factors / training features), "score" (test gradients, scores)
    info: dict = field(default_factory=dict)  # method, settings, parameters covered, CPU seconds, replay checks

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.train_ids = np.asarray(self.train_ids, dtype=np.int64)
        self.test_ids = np.asarray(self.test_ids, dtype=np.int64)
        if self.scores.shape != (len(self.train_ids), len(self.test_ids)):
            raise ValueError(f"scores must be [train, tests] = {(len(self.train_ids), len(self.test_ids))}, "
                             f"got {self.scores.shape}")

    @property
    def method(self) -> str:
        """"ekfac" or "trak"."""
        return str(self.info.get("method", "?"))

    def rows(self, train_ids: np.ndarray) -> np.ndarray:
        """Scores of some training ids (any shape) for every test: [*train_ids.shape, tests]; unknown ids refused."""
        index = {int(i): r for r, i in enumerate(self.train_ids)}
        flat = np.asarray(train_ids).ravel()
        missing = sorted({int(i) for i in flat if int(i) not in index})
        if missing:
            raise ValueError(f"{self.method} scores have no row for training ids {missing[:10]}")
        return self.scores[[index[int(i)] for i in flat]].reshape(*np.shape(train_ids), -1)
