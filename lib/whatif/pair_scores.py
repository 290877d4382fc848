"""The gradient and attribution baselines on a curriculum no run followed: a score per (training, test) pair.

TracIn-CP and Grad-Dot read the gradient dot products of the simulated run itself, and EK-FAC and TRAK the scores
of the simulated run's own final model (lib/attribution), which a designed curriculum does not have. Their
what-if counterpart uses, for each (training, test) pair, the mean of the scores recorded for it (over the runs
and steps where the training example was in the batch: the gradient runs' dot products, or the scored held-out
runs' stored matrices), and the fitted runs' mean learning-rate schedule, stretched to the curriculum's length
(the schedule decays linearly over a run, whatever its length). Pairs never recorded are refused by training id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.dynamics import Dynamics
from lib.simulators.attribution_baselines import AttributionSimulator

GRADIENT_SOURCE = "recorded gradient dot products"
GRADIENT_COVERAGE = ("only examples that were in a batch of a run with gradient data (the collection's [gradients] "
                     "splits) can be simulated")


@dataclass(frozen=True)
class PairScores:
    """scores [train, tests]: mean recorded score of each pair (NaN: never recorded); learning_rates [steps];
    source and coverage: what the scores are and which training examples they cover (said in refusals)."""

    train_ids: np.ndarray
    test_ids: np.ndarray
    scores: np.ndarray
    learning_rates: np.ndarray
    source: str = GRADIENT_SOURCE
    coverage: str = GRADIENT_COVERAGE

    def decrements(self, batches: np.ndarray, test_ids: np.ndarray, what: str) -> np.ndarray:
        """eta_t / B * sum of the batch's pair scores, [steps, tests], for a curriculum [steps, batch]."""
        batches, test_ids = np.asarray(batches, dtype=np.int64), np.asarray(test_ids, dtype=np.int64)
        rows = _positions(self.train_ids, batches)  # train_ids are sorted, test_ids in the runs' order
        cols = _positions(self.test_ids, test_ids)
        if (cols < 0).any():
            raise ValueError(f"{what} has no {self.source} for test ids {test_ids[cols < 0][:10].tolist()}")
        known = rows >= 0
        known[known] = np.isfinite(self.scores[rows[known]]).all(axis=1)
        if not known.all():
            raise ValueError(f"{what} has no {self.source} for training ids "
                             f"{np.unique(batches[~known])[:10].tolist()}: {self.coverage}")
        steps = len(batches)
        old = (np.arange(len(self.learning_rates)) + 0.5) / len(self.learning_rates)
        rates = np.interp((np.arange(steps) + 0.5) / steps, old, self.learning_rates)
        return rates[:, None] * self.scores[rows][:, :, cols].mean(axis=1)


def pair_scores(dynamics: Dynamics, setting: str) -> PairScores:
    """The mean of `dynamics.grad_dots[setting]` per (training id, test id) over the runs that recorded it."""
    if setting not in dynamics.grad_dots or dynamics.learning_rates is None:
        raise ValueError(f"the runs hold no grad_dots[{setting!r}] and learning rates to simulate new curricula with; "
                         f"they have {sorted(dynamics.grad_dots) or 'no gradient data'}")
    grads = dynamics.grad_dots[setting]
    recorded = ~np.isnan(grads).any(axis=(1, 2, 3))
    if not recorded.any():
        raise ValueError(f"no run recorded grad_dots[{setting!r}]")
    return _mean_per_pair(dynamics.select_runs(recorded), grads[recorded])


def attribution_pair_scores(simulator: AttributionSimulator, runs: Dynamics) -> PairScores:
    """The mean per (training id, test id) of the simulator's stored scores (EK-FAC or TRAK of each run's final
    model) over `runs`, every one of which must have scores: each run's scores counted at every step the example
    was in its batch, exactly as `pair_scores` counts recorded dot products."""
    simulator.check_runs(runs)  # refuses runs without scores or learning rates, as the loss chapter's simulation does
    return _mean_per_pair(runs, simulator.step_scores(runs), source=f"stored {simulator.setting} scores",
                          coverage=f"only examples in the training subset of a run with stored {simulator.setting} "
                                   f"scores (python -m lib.attribution <collection> --runs ...) can be simulated")


def _mean_per_pair(runs: Dynamics, step_scores: np.ndarray, **described: str) -> PairScores:
    """The mean of step_scores [runs, steps, batch, tests] per (training id, test id) of the runs' curricula."""
    train_ids = np.unique(runs.curricula)
    rows = np.searchsorted(train_ids, runs.curricula).ravel()
    flat = step_scores.reshape(len(rows), runs.n_tests)
    total = np.zeros((len(train_ids), runs.n_tests))
    np.add.at(total, rows, flat)
    counts = np.bincount(rows, minlength=len(train_ids))[:, None]
    return PairScores(train_ids=train_ids, test_ids=runs.test_ids.copy(), scores=total / counts,
                      learning_rates=runs.learning_rates.mean(axis=0), **described)


def _positions(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each id in the (unique, any order) known ids, -1 where absent."""
    if len(known) == 0:
        return np.full(ids.shape, -1)
    order = np.argsort(known)
    position = np.clip(np.searchsorted(known[order], ids), 0, len(known) - 1)
    return np.where(known[order][position] == ids, order[position], -1)
