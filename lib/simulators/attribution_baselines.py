"""EK-FAC influence and TRAK written as simulators: TracIn-CP's surface with their scores in place of the dot products.

y_t = y_{t-1} - sigma * eta_t / B * sum_b score(z_b, z') with score the method's pairwise score at the run's
final model (lib/attribution; > 0: training on z_b lowers the loss of z'), as Grad-Dot does with the final
model's gradient dot products, and sigma the one rescaling factor, fitted in closed form as for TracIn-CP.
The scores are not part of Dynamics: the simulator is given them, by run index (`scores_for_runs`), and refuses
runs it has no scores for, as TracIn-CP refuses runs whose gradients were not recorded.
"""
from __future__ import annotations

import os
from typing import Iterable, Mapping

import numpy as np

from lib.attribution.result import AttributionResult
from lib.attribution.store import load_scores
from lib.dynamics import Dynamics
from lib.simulators.gradient_baselines import GradientSimulator


class AttributionSimulator(GradientSimulator):
    """An additive simulator whose per-step decrement is eta_t / B times the batch's summed attribution scores."""

    def __init__(self, scores: Mapping[int, AttributionResult], method: str, rescale: bool = True):
        super().__init__(method, rescale)
        self.scores = dict(scores)

    def _decrements(self, runs: Dynamics) -> np.ndarray:
        """eta_t / B * sum over the batch of the run's scores for each test, [runs, steps, tests]."""
        self.check_runs(runs)
        return runs.learning_rates[:, :, None] * self.step_scores(runs).mean(axis=2)

    def check_runs(self, runs: Dynamics) -> None:
        """Refuse runs this simulator cannot simulate: without learning rates, or without stored scores (by run)."""
        if runs.learning_rates is None:
            raise ValueError(f"{type(self).__name__} needs Dynamics.learning_rates; these runs have none")
        missing = [int(r) for r in runs.run_ids if int(r) not in self.scores]
        if missing:
            raise ValueError(f"{self.setting} scores are missing for runs {missing[:10]}: simulate only runs whose "
                             f"scores were computed (python -m lib.attribution <collection> --runs ...)")

    def step_scores(self, runs: Dynamics) -> np.ndarray:
        """The scores of each step's batch for each test: [runs, steps, batch, tests] (as Dynamics.grad_dots)."""
        out = np.empty((runs.n_runs, runs.n_steps, runs.batch_size, runs.n_tests))
        for r, run in enumerate(runs.run_ids):
            result = self.scores[int(run)]
            columns = {int(t): c for c, t in enumerate(result.test_ids)}
            absent = [int(t) for t in runs.test_ids if int(t) not in columns]
            if absent:
                raise ValueError(f"{self.setting} scores of run {int(run)} have no test ids {absent[:10]}")
            out[r] = result.rows(runs.curricula[r])[..., [columns[int(t)] for t in runs.test_ids]]
        bad = runs.run_ids[~np.isfinite(out).all(axis=(1, 2, 3))]
        if bad.size:
            raise ValueError(f"{self.setting} scores are not finite for runs {bad[:10].tolist()}")
        return out


class EKFACInfluence(AttributionSimulator):
    """EK-FAC influence (kronfluence) of the final model as the per-example score."""

    def __init__(self, scores: Mapping[int, AttributionResult], rescale: bool = True):
        super().__init__(scores, "ekfac", rescale)


class TRAKSimulator(AttributionSimulator):
    """TRAK (traker, one model) of the final model as the per-example score."""

    def __init__(self, scores: Mapping[int, AttributionResult], rescale: bool = True):
        super().__init__(scores, "trak", rescale)


STORE_NAMES = {"EK-FAC": "ekfac", "TRAK": "trak"}
"""The book's name of each attribution method -> its folder in the score store (lib/attribution/store.py)."""


def scores_for_runs(collection: str | os.PathLike, method: str, run_ids: Iterable[int]
                    ) -> dict[int, AttributionResult]:
    """The stored scores of `method` (a key of STORE_NAMES) for those of `run_ids` that have them, by run index:
    what a simulator of this module is given; empty when none of them was scored."""
    if method not in STORE_NAMES:
        raise ValueError(f"method must be one of {list(STORE_NAMES)}, got {method!r}")
    stored = load_scores(collection, STORE_NAMES[method])
    return {int(r): stored[int(r)] for r in run_ids if int(r) in stored}
