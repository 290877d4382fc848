"""Rollout health: which simulated trajectories leave their metric's range or diverge, so averages can exclude them.

The metric ranges live here rather than in `lib.metrics` because only the simulators use them: the loss is
>= 0, BLEU (sacrebleu) is on 0-100 and ROUGE-L F on 0-1 (method.md section 5).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

METRIC_RANGES: dict[str, tuple[float, float]] = {"loss": (0.0, np.inf), "bleu": (0.0, 100.0), "rougeL": (0.0, 1.0)}
"""The values each metric can take: (lowest, highest)."""


@dataclass(frozen=True)
class RolloutHealth:
    """Per (run, test example) trajectory: whether it leaves the metric's range, and whether it diverged.

    A trajectory diverged when a predicted value is not finite or lies further outside the band of
    values the simulator was fitted on, [lo, hi], than that band is wide (below lo - (hi - lo) or
    above hi + (hi - lo)); such a trajectory carries no information and would dominate any mean.
    """

    out_of_range: np.ndarray  # bool [runs, tests]: some predicted value outside METRIC_RANGES[metric]
    diverged: np.ndarray      # bool [runs, tests]

    @property
    def n_diverged(self) -> int:
        """Number of diverged trajectories."""
        return int(self.diverged.sum())

    @property
    def n_out_of_range(self) -> int:
        """Number of trajectories with a value outside the metric's range."""
        return int(self.out_of_range.sum())

    @property
    def n_trajectories(self) -> int:
        """Number of (run, test example) trajectories checked."""
        return int(self.diverged.size)


def value_band(values: np.ndarray) -> tuple[float, float]:
    """(lowest, highest) recorded value: the band a simulator is fitted on."""
    return float(np.min(values)), float(np.max(values))


def rollout_health(pred: np.ndarray, metric: str, band: tuple[float, float], order: int = 1) -> RolloutHealth:
    """Health of predictions [runs, steps + 1, tests]; only the predicted columns (order..T) are checked."""
    if metric not in METRIC_RANGES:
        raise ValueError(f"metric must be one of {tuple(METRIC_RANGES)}, got {metric!r}")
    predicted = np.asarray(pred, dtype=np.float64)[:, order:]
    low, high = METRIC_RANGES[metric]
    lo, hi = band
    width = hi - lo
    finite = np.isfinite(predicted)
    with np.errstate(invalid="ignore"):
        outside = ~finite | (predicted < low) | (predicted > high)
        far = ~finite | (predicted < lo - width) | (predicted > hi + width)
    return RolloutHealth(out_of_range=outside.any(axis=1), diverged=far.any(axis=1))


def robust_mse(pred: np.ndarray, truth: np.ndarray, diverged: np.ndarray, order: int = 1) -> float:
    """All-steps MSE over the trajectories that did not diverge; over all of them when all did (inf if not finite)."""
    kept = ~np.asarray(diverged, dtype=bool)
    error = np.asarray(pred, dtype=np.float64)[:, order:] - np.asarray(truth, dtype=np.float64)[:, order:]
    with np.errstate(over="ignore", invalid="ignore"):
        squared = np.mean(error**2, axis=1)  # [runs, tests]
        mse = float(np.mean(squared[kept] if kept.any() else squared))
    return mse if np.isfinite(mse) else float("inf")


def selection_score(pred: np.ndarray, truth: np.ndarray, metric: str, band: tuple[float, float],
                    order: int = 1) -> tuple[int, float]:
    """(diverged trajectories, MSE of the others): smaller is better, compared in that order (model selection)."""
    health = rollout_health(pred, metric, band, order)
    return health.n_diverged, robust_mse(pred, truth, health.diverged, order)


def pooled_selection_score(pieces: Sequence[tuple[np.ndarray, np.ndarray]], metric: str, band: tuple[float, float],
                           order: int = 1) -> tuple[int, float]:
    """`selection_score` over (pred, truth) pieces of different step counts, every trajectory weighing the same (runs
    cut at different steps); one piece gives exactly `selection_score`."""
    if len(pieces) == 1:
        return selection_score(*pieces[0], metric, band, order)
    healths = [rollout_health(pred, metric, band, order) for pred, _ in pieces]
    with np.errstate(over="ignore", invalid="ignore"):
        squared = np.concatenate([np.mean((np.asarray(p, dtype=np.float64)[:, order:] - np.asarray(t)[:, order:]) ** 2,
                                          axis=1).ravel() for p, t in pieces])
        kept = ~np.concatenate([h.diverged.ravel() for h in healths])
        mse = float(np.mean(squared[kept] if kept.any() else squared))
    return sum(h.n_diverged for h in healths), mse if np.isfinite(mse) else float("inf")
