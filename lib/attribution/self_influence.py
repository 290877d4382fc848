"""Self-influence of every pool example at one model state: an example scored against itself, for mislabel rankings.

Definition (issue 18). At the final model of a held-out run (replayed bitwise, lib/attribution/held_out.py),
every example of the collection's pool -- the ones the run trained on and the ones it did not -- is scored
against itself with its own (possibly flipped) label:

- EK-FAC (kronfluence's `compute_self_scores`): grad L(z)^T (G + lambda I)^{-1} grad L(z), with G the EK-FAC
  Gauss-Newton of the pool's inputs (labels sampled from the model) and kronfluence's damping heuristic;
- TRAK (traker has no self-score: each example is featurized as a training example and scored as a target,
  and the diagonal kept): phi(z)^T (Phi^T Phi)^{-1} phi(z) (1 - p(z)), with Phi the pool's projected margin
  gradients.

Both curvatures are estimated on the pool, the set being ranked (traker's kernel is that of the examples it
featurizes, so an example must be among them to be scored against itself; EK-FAC uses the same set). Both are
>= 0 (a quadratic form of a positive definite matrix, times 1 - p for TRAK) and larger = more suspicious, as
TracIn's self-influence |grad L(z)|^2. Rankings average an example's scores over the scored runs
(lib/attribution/store.py `self_influence`): each run's model trained on a different subset of the pool, so
the mean does not favour the examples one run happened to fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SelfInfluence:
    """Self-influence scores [n] (>= 0, larger = more suspicious) of some example ids at one model state."""

    scores: np.ndarray
    ids: np.ndarray
    seconds: dict[str, float]  # wall seconds: "fit" (factors / features), "score" (the self-scores)
    info: dict = field(default_factory=dict)  # method, settings, parameters covered, CPU seconds, replay checks

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.ids = np.asarray(self.ids, dtype=np.int64)
        if self.scores.shape != self.ids.shape or self.scores.ndim != 1:
            raise ValueError(f"self-influence scores must be one per id ({self.ids.shape}), got {self.scores.shape}")

    @property
    def method(self) -> str:
        """"ekfac" or "trak"."""
        return str(self.info.get("method", "?"))

    def by_id(self) -> dict[int, float]:
        """{example id: score}."""
        return dict(zip(self.ids.tolist(), self.scores.tolist()))
