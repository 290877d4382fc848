"""Simfluence (Guu et al. 2023): one (A_i, B_i) pair per training example and test example, fit by closed-form ridge."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from lib.dynamics import Dynamics
from lib.metrics import trajectory_errors
from lib.simulators.base import Simulator
from lib.simulators.health import pooled_selection_score

VARIANTS = ("linear", "additive", "multiplicative")
DEFAULT_L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
_CHUNK_BYTES = 64 * 2**20  # memory bound of one stack of per-test normal-equation matrices


class Simfluence(Simulator):
    """SIMFLUENCE-LINEAR `y_t = alpha(c_t) y_{t-1} + beta(c_t)`, alpha = sum A_i, beta = sum B_i over the batch.

    variant "additive" fixes alpha = 1, "multiplicative" fixes beta = 0. One independent simulator
    per test example; all are solved at once. The ridge objective is the papers':
    sum of squared transition residuals + l2 * (||A||^2 + ||B||^2), per test example (so A is
    shrunk toward 0, not toward alpha = 1; with batch B and alpha near 1, A_i is near 1/B).
    standardize=True (default) solves it on each test example's values divided by their root mean
    square over the training runs (scale_), so one l2 means the same for a loss of 2 and a BLEU of 30
    (A is unchanged by the scaling, B is scaled back). When `l2` is a sequence, the value is chosen on
    all validation runs pooled: fewest diverged rollouts first (see `lib.simulators.health`), then the
    lowest all-steps MSE of the others.
    Fitted attributes: train_ids_, test_ids_, A_ and B_ ([n_train, n_tests], None where the
    variant fixes the factor), scale_ ([n_tests], ones without standardizing), l2_, and when selected
    val_mse_ (l2 -> validation all-steps MSE of all trajectories) and val_diverged_ (l2 -> diverged ones).
    """

    order = 1

    def __init__(self, variant: str = "linear", l2: float | Sequence[float] = DEFAULT_L2_GRID, *,
                 standardize: bool = True):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        grid = tuple(float(v) for v in np.atleast_1d(l2))
        if not grid or any(not np.isfinite(v) or v < 0 for v in grid):
            raise ValueError(f"l2 must be one or more finite values >= 0, got {l2!r}")
        self.variant = variant
        self.l2 = l2
        self.standardize = standardize
        self._grid = grid

    def fit(self, train: Dynamics, val: Dynamics | None = None) -> "Simfluence":
        """Solve the ridge problem of every test example on the training runs; pick l2 on all `val` runs if several."""
        self._remember_metric(train, val)
        if len(self._grid) > 1 and (val is None or val.n_runs == 0):
            raise ValueError(f"l2 is a grid {self._grid}: fit needs validation runs (val) to choose it")
        self.train_ids_ = train.train_ids
        self.test_ids_ = train.test_ids
        self.scale_ = _root_mean_square(train.values) if self.standardize else np.ones(train.n_tests)
        scaled = dataclasses.replace(train, values=train.values / self.scale_)
        candidates = [(A, None if B is None else B * self.scale_) for A, B in self._fit_grid(scaled, self._grid)]
        if len(self._grid) == 1:
            self.A_, self.B_ = candidates[0]
            self.l2_ = self._grid[0]
            return self
        self.val_mse_, self.val_diverged_, scores = {}, {}, {}
        pieces = self._selection_runs(val)
        for l2, (A, B) in zip(self._grid, candidates):
            self.A_, self.B_ = A, B
            preds = [(self.simulate(piece), piece.values) for piece in pieces]
            mse = float(np.mean(np.concatenate([trajectory_errors(p, t, self.order)[0].ravel() for p, t in preds])))
            self.val_mse_[l2] = mse if np.isfinite(mse) else np.inf
            scores[l2] = pooled_selection_score(preds, self.metric_, self.band_, self.order)
            self.val_diverged_[l2] = scores[l2][0]
        self.l2_ = min(scores, key=scores.get)
        self.A_, self.B_ = candidates[self._grid.index(self.l2_)]
        return self

    def _selection_runs(self, val: Dynamics) -> list[Dynamics]:
        """The validation runs l2 is chosen on: `val` itself when the training runs used every training example of its
        curricula; otherwise each run cut before the first step whose batch holds one they never used (Simfluence has
        no factor for it: a pool the training runs do not cover), runs cut to nothing left out."""
        known = np.isin(val.curricula, self.train_ids_).all(axis=2)  # [runs, steps]: every example of the batch fitted
        if known.all():
            return [val]
        lengths = np.where(known.all(axis=1), val.n_steps, np.argmin(known, axis=1))
        pieces = [val.select_runs([run]).select_steps(int(n)) for run, n in enumerate(lengths) if n >= 1]
        if not pieces:
            unknown = np.setdiff1d(val.curricula[:, 0], self.train_ids_)[:10].tolist()
            raise ValueError(f"Simfluence cannot choose l2: every validation run starts with training examples the "
                             f"training runs never used (ids {unknown}); give validation runs over fitted examples")
        return pieces

    def factors(self, train_ids: Sequence[int] | None = None,
                test_ids: Sequence[int] | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """A [n_train, 1, n_tests] and B [n_train, n_tests] of the given (default: all fitted) ids."""
        rows = self._train_rows(self.train_ids_ if train_ids is None else np.asarray(train_ids))
        cols = self._test_columns(self.test_ids_ if test_ids is None else np.asarray(test_ids))
        A = None if self.A_ is None else self.A_[np.ix_(rows, cols)][:, None, :]
        B = None if self.B_ is None else self.B_[np.ix_(rows, cols)]
        return A, B

    def _coefficients(self, runs: Dynamics) -> tuple[np.ndarray, np.ndarray]:
        """Batch sums of the fitted factors of the runs' curricula and test examples."""
        rows = self._train_rows(runs.curricula)
        cols = self._test_columns(runs.test_ids)
        shape = (runs.n_runs, runs.n_steps, runs.n_tests)
        alpha = np.ones(shape) if self.A_ is None else self.A_[:, cols][rows].sum(axis=2)
        beta = np.zeros(shape) if self.B_ is None else self.B_[:, cols][rows].sum(axis=2)
        return alpha[:, :, None, :], beta

    def _fit_grid(self, train: Dynamics, grid: Sequence[float]) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
        """Closed-form (A, B) for every l2 of the grid, solving all test examples' normal equations in batches."""
        rows = self._train_rows(train.curricula).reshape(-1, train.batch_size)  # [S, batch]
        previous = train.values[:, :-1].reshape(-1, train.n_tests)  # y_{t-1} of each transition, [S, tests]
        target = train.values[:, 1:].reshape(-1, train.n_tests)  # y_t
        counts, pairs = _batch_matrices(rows, len(self.train_ids_))
        n = len(self.train_ids_)
        solutions = [[] for _ in grid]
        if self.variant == "additive":  # one Gram matrix C^T C shared by all test examples
            gram = (counts.T @ counts).toarray()
            rhs = counts.T @ (target - previous)
            for k, l2 in enumerate(grid):
                solutions[k] = (None, _solve(gram[None], rhs.T, l2).T)
            return solutions
        size = 2 * n if self.variant == "linear" else n
        chunk = max(1, _CHUNK_BYTES // (8 * size * size))
        for start in range(0, train.n_tests, chunk):
            cols = slice(start, start + chunk)
            yp, y = previous[:, cols], target[:, cols]
            gram_aa = _per_test_gram(pairs, yp**2, n)  # C^T diag(y_{t-1}^2) C per test
            if self.variant == "linear":
                gram = np.empty((gram_aa.shape[0], size, size))
                gram[:, :n, :n] = gram_aa
                gram[:, :n, n:] = gram[:, n:, :n] = _per_test_gram(pairs, yp, n)
                gram[:, n:, n:] = (counts.T @ counts).toarray()
                rhs = np.concatenate([(counts.T @ (yp * y)).T, (counts.T @ y).T], axis=1)
            else:
                gram, rhs = gram_aa, (counts.T @ (yp * y)).T
            for k, l2 in enumerate(grid):
                solutions[k].append(_solve(gram, rhs, l2))
        results = []
        for parts in solutions:
            w = np.concatenate(parts).T  # [size, tests]
            results.append((w[:n], w[n:]) if self.variant == "linear" else (w, None))
        return results

    def _train_rows(self, ids: np.ndarray) -> np.ndarray:
        """Positions of training ids among the fitted ones; unseen ids are refused by name."""
        return _positions(self.train_ids_, np.asarray(ids), "training")

    def _test_columns(self, ids: np.ndarray) -> np.ndarray:
        """Positions of test ids among the fitted ones; unseen ids are refused by name."""
        order = np.argsort(self.test_ids_)
        return order[_positions(self.test_ids_[order], np.asarray(ids), "test")]


def _root_mean_square(values: np.ndarray) -> np.ndarray:
    """Per test example, the root mean square of its values over runs and steps (1 where all are 0)."""
    rms = np.sqrt(np.mean(values**2, axis=(0, 1)))
    return np.where(rms > 0, rms, 1.0)


def _positions(known_sorted: np.ndarray, ids: np.ndarray, kind: str) -> np.ndarray:
    """Index of each id in the sorted array of known ids, or a ValueError naming a few unknown ones."""
    position = np.clip(np.searchsorted(known_sorted, ids), 0, max(len(known_sorted) - 1, 0))
    unknown = ids[known_sorted[position] != ids] if len(known_sorted) else ids
    if unknown.size:
        raise ValueError(
            f"Simfluence cannot simulate {kind} examples it was not fitted on; unseen {kind} ids: "
            f"{np.unique(unknown)[:10].tolist()}"
        )
    return position


def _batch_matrices(rows: np.ndarray, n: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Sparse C [S, n] (times each example is in each step's batch) and pair matrix [n*n, S] (C_si C_sj)."""
    steps, batch = rows.shape
    step_index = np.repeat(np.arange(steps), batch)
    counts = sp.csr_matrix((np.ones(steps * batch), (step_index, rows.ravel())), shape=(steps, n))
    first = np.repeat(rows, batch, axis=1).ravel()
    second = np.tile(rows, (1, batch)).ravel()
    pairs = sp.csr_matrix(
        (np.ones(first.size), (first * n + second, np.repeat(np.arange(steps), batch * batch))), shape=(n * n, steps)
    )
    return counts, pairs


def _per_test_gram(pairs: sp.csr_matrix, weights: np.ndarray, n: int) -> np.ndarray:
    """Stack [tests, n, n] of C^T diag(weights[:, m]) C, built from the sparse pair matrix."""
    return np.ascontiguousarray(np.asarray(pairs @ weights).reshape(n, n, -1).transpose(2, 0, 1))


def _solve(gram: np.ndarray, rhs: np.ndarray, l2: float) -> np.ndarray:
    """Ridge solutions [tests, p] of (gram + l2 I) w = rhs for a stack of Gram matrices [tests | 1, p, p]."""
    p = gram.shape[-1]
    try:
        if gram.shape[0] == 1:
            return np.linalg.solve(gram[0] + l2 * np.eye(p), rhs.T).T
        return np.linalg.solve(gram + l2 * np.eye(p), rhs[..., None])[..., 0]
    except np.linalg.LinAlgError as error:
        raise ValueError(
            f"the ridge system is singular with l2={l2}: some parameter is not identified by the "
            f"training runs (method.md section 2); use l2 > 0"
        ) from error
