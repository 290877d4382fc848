"""The gradient baselines on a curriculum no run followed: recorded dot products per (training, test) pair.

TracIn-CP and Grad-Dot read the gradient dot products of the simulated run itself, which a designed curriculum
does not have. Their what-if counterpart uses, for each (training, test) pair, the mean of the dot products
recorded for it (over the gradient runs and steps where the training example was in the batch), and the
fitted runs' mean learning-rate schedule, stretched to the curriculum's length (the schedule decays linearly
over a run, whatever its length). Pairs never recorded are refused by training id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.dynamics import Dynamics


@dataclass(frozen=True)
class PairScores:
    """scores [train, tests]: mean recorded dot product of each pair (NaN: never recorded); learning_rates [steps]."""

    train_ids: np.ndarray
    test_ids: np.ndarray
    scores: np.ndarray
    learning_rates: np.ndarray

    def decrements(self, batches: np.ndarray, test_ids: np.ndarray, what: str) -> np.ndarray:
        """eta_t / B * sum of the batch's pair scores, [steps, tests], for a curriculum [steps, batch]."""
        batches, test_ids = np.asarray(batches, dtype=np.int64), np.asarray(test_ids, dtype=np.int64)
        rows = _positions(self.train_ids, batches)  # train_ids are sorted, test_ids in the runs' order
        cols = _positions(self.test_ids, test_ids)
        if (cols < 0).any():
            raise ValueError(f"{what} has no recorded gradients for test ids {test_ids[cols < 0][:10].tolist()}")
        known = rows >= 0
        known[known] = np.isfinite(self.scores[rows[known]]).all(axis=1)
        if not known.all():
            raise ValueError(f"{what} has no recorded gradient dot products for training ids "
                             f"{np.unique(batches[~known])[:10].tolist()}: only examples that were in a batch of a "
                             f"run with gradient data (the collection's [gradients] splits) can be simulated")
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
    train_ids = np.unique(dynamics.curricula[recorded])
    rows = np.searchsorted(train_ids, dynamics.curricula[recorded]).ravel()
    flat = grads[recorded].reshape(len(rows), dynamics.n_tests)
    total = np.zeros((len(train_ids), dynamics.n_tests))
    np.add.at(total, rows, flat)
    counts = np.bincount(rows, minlength=len(train_ids))[:, None]
    return PairScores(train_ids=train_ids, test_ids=dynamics.test_ids.copy(), scores=total / counts,
                      learning_rates=dynamics.learning_rates[recorded].mean(axis=0))


def _positions(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each id in the (unique, any order) known ids, -1 where absent."""
    if len(known) == 0:
        return np.full(ids.shape, -1)
    order = np.argsort(known)
    position = np.clip(np.searchsorted(known[order], ids), 0, len(known) - 1)
    return np.where(known[order][position] == ids, order[position], -1)
