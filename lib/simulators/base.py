"""The surface every simulator shares: fit on past runs, simulate future runs from their curricula."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from lib.dynamics import Dynamics
from lib.simulators.checks import check_scale, check_values
from lib.simulators.health import RolloutHealth, rollout_health, value_band
from lib.simulators.rollout import rollout


class Simulator(ABC):
    """A training-run simulator: `fit(train, val)` on recorded runs, `simulate(runs)` predicts their values.

    `simulate` uses only `runs.curricula` (plus grad data for gradient baselines) and the first
    `order` columns of `runs.values`; those columns are copied and the rest predicted
    autoregressively by `rollout`. After `simulate`, `health_` says which trajectories left the
    metric's range or diverged (see `lib.simulators.health`). Learned simulators need
    `min_fit_runs` training runs: one run confounds each example's effect with its position.
    """

    order: int = 1
    metric_: str | None = None
    min_fit_runs: int = 2

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
        pred = rollout(alpha, beta, runs.values[:, : self.order])
        self.health_ = self.health(pred)
        return pred

    def health(self, pred: np.ndarray) -> RolloutHealth:
        """Which trajectories of `pred` leave the metric's range or diverge from the fitted band of values."""
        if self.metric_ is None:
            raise ValueError(f"{type(self).__name__} is not fitted: call fit(train, val) first")
        return rollout_health(pred, self.metric_, self.band_, self.order)

    def _remember_metric(self, train: Dynamics, val: Dynamics | None = None) -> None:
        """Check the training (and validation) runs; record their metric and band of values (another metric is refused)."""
        if train.n_runs == 0:
            raise ValueError("fit needs at least one training run, got 0")
        if train.n_runs < self.min_fit_runs:
            raise ValueError(f"{type(self).__name__}.fit needs at least {self.min_fit_runs} training runs, got "
                             f"{train.n_runs}: one run cannot separate an example's effect from its position")
        self._check_steps(train)
        check_values(train, "training runs")
        if val is not None and val.n_runs:
            if val.metric != train.metric:
                raise ValueError(f"validation runs have metric {val.metric!r}, training runs {train.metric!r}")
            check_values(val, "validation runs")
        self.metric_ = train.metric
        self.band_ = value_band(train.values)

    def _check_runs(self, runs: Dynamics) -> None:
        """Refuse to simulate before fit, another metric, runs too short, or given values that are bad or off-scale."""
        if self.metric_ is None:
            raise ValueError(f"{type(self).__name__} is not fitted: call fit(train, val) first")
        if runs.metric != self.metric_:
            raise ValueError(f"{type(self).__name__} was fitted on metric {self.metric_!r}, runs have {runs.metric!r}")
        self._check_steps(runs)
        check_values(runs, "the runs' given values", self.order)
        check_scale(runs, self.order, self.band_)

    def _check_steps(self, runs: Dynamics) -> None:
        """Refuse runs with no step after the `order` given values."""
        if runs.n_steps < self.order:
            raise ValueError(f"runs have {runs.n_steps} steps; Markov order {self.order} needs at least {self.order}")
