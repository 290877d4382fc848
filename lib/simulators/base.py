"""The surface every simulator shares: fit on past runs, simulate future runs from their curricula."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from lib.dynamics import Dynamics
from lib.simulators.rollout import rollout


class Simulator(ABC):
    """A training-run simulator: `fit(train, val)` on recorded runs, `simulate(runs)` predicts their values.

    `simulate` uses only `runs.curricula` (plus grad data for gradient baselines) and the first
    `order` columns of `runs.values`; those columns are copied and the rest predicted
    autoregressively by `rollout`.
    """

    order: int = 1
    metric_: str | None = None

    @abstractmethod
    def fit(self, train: Dynamics, val: Dynamics | None = None) -> "Simulator":
        """Learn the simulator from the training runs (and the validation runs where it selects anything)."""

    @abstractmethod
    def _coefficients(self, runs: Dynamics) -> tuple[np.ndarray, np.ndarray]:
        """alpha [runs, steps, order, tests] and beta [runs, steps, tests] of the runs' curricula."""

    def simulate(self, runs: Dynamics) -> np.ndarray:
        """Predicted values [runs, steps + 1, tests]; the first `order` columns are the given ones."""
        self._check_runs(runs)
        alpha, beta = self._coefficients(runs)
        return rollout(alpha, beta, runs.values[:, : self.order])

    def _remember_metric(self, train: Dynamics) -> None:
        """Record the fitted metric so that simulating another metric is refused."""
        if train.n_runs == 0:
            raise ValueError("fit needs at least one training run, got 0")
        self._check_steps(train)
        self.metric_ = train.metric

    def _check_runs(self, runs: Dynamics) -> None:
        """Refuse to simulate before fit, another metric, or runs too short for the Markov order."""
        if self.metric_ is None:
            raise ValueError(f"{type(self).__name__} is not fitted: call fit(train, val) first")
        if runs.metric != self.metric_:
            raise ValueError(f"{type(self).__name__} was fitted on metric {self.metric_!r}, runs have {runs.metric!r}")
        self._check_steps(runs)

    def _check_steps(self, runs: Dynamics) -> None:
        """Refuse runs with no step after the `order` given values."""
        if runs.n_steps < self.order:
            raise ValueError(f"runs have {runs.n_steps} steps; Markov order {self.order} needs at least {self.order}")
