"""TracIn-CP and Grad-Dot written as simulators: y_t = y_{t-1} - sigma * eta_t * sum_b <grad L(z_b), grad L(z')>."""
from __future__ import annotations

import numpy as np

from lib.dynamics import Dynamics
from lib.simulators.base import Simulator

CHECKPOINT_SETTINGS = ("ckpt10", "all")


class GradientSimulator(Simulator):
    """An additive simulator whose per-step decrement is a learning-rate-weighted sum of gradient dot products.

    The gradients of the simulated run itself come from `Dynamics.grad_dots[setting]`, the
    step sizes from `Dynamics.learning_rates`. With rescale=True, `fit` sets the one factor sigma
    that minimizes the squared error of the predicted trajectories (t >= 1) of the runs it is
    given, in closed form; pass the held-out runs to `fit` to reproduce the papers' oracle
    rescaling. With rescale=False sigma = 1 (raw TracIn). Only defined for the loss.
    """

    order = 1

    def __init__(self, setting: str, rescale: bool = True):
        self.setting = setting
        self.rescale = rescale

    def fit(self, train: Dynamics, val: Dynamics | None = None) -> "GradientSimulator":
        """Fit sigma on the trajectories of the training (and validation) runs, or set it to 1 when not rescaling."""
        runs = train if val is None or val.n_runs == 0 else Dynamics.concat([train, val])
        self._check_loss(runs)
        self._remember_metric(runs)
        if not self.rescale:
            self.sigma_ = 1.0
            return self
        decrease = np.cumsum(self._decrements(runs), axis=1)  # predicted y_0 - y_t for sigma = 1, [runs, steps, tests]
        observed = runs.values[:, :1] - runs.values[:, 1:]
        denominator = np.sum(decrease**2)
        if denominator == 0:
            raise ValueError(f"grad_dots[{self.setting!r}] times learning_rates is all zero: sigma is undefined")
        self.sigma_ = float(np.sum(decrease * observed) / denominator)
        return self

    def _coefficients(self, runs: Dynamics) -> tuple[np.ndarray, np.ndarray]:
        """alpha = 1 and beta_t = -sigma * eta_t * sum_b grad_dots[run, t, b, test]."""
        self._check_loss(runs)
        beta = -self.sigma_ * self._decrements(runs)
        return np.ones((runs.n_runs, runs.n_steps, 1, runs.n_tests)), beta

    def _decrements(self, runs: Dynamics) -> np.ndarray:
        """eta_t * sum over the batch of the gradient dot products, [runs, steps, tests]."""
        if self.setting not in runs.grad_dots:
            raise ValueError(
                f"{type(self).__name__} needs Dynamics.grad_dots[{self.setting!r}]; "
                f"these runs have {sorted(runs.grad_dots) or 'no gradient data'}"
            )
        if runs.learning_rates is None:
            raise ValueError(f"{type(self).__name__} needs Dynamics.learning_rates; these runs have none")
        grads = runs.grad_dots[self.setting]
        missing = runs.run_ids[np.isnan(grads).any(axis=(1, 2, 3))]
        if missing.size:
            raise ValueError(
                f"grad_dots[{self.setting!r}] is missing (NaN) for runs {missing[:10].tolist()}: "
                f"simulate only runs whose gradients were recorded"
            )
        return runs.learning_rates[:, :, None] * grads.sum(axis=2)

    def _check_loss(self, runs: Dynamics) -> None:
        """Gradient dot products approximate loss changes only: refuse other metrics."""
        if runs.metric != "loss":
            raise ValueError(f"{type(self).__name__} simulates only the loss, got metric {runs.metric!r}")


class TracInCP(GradientSimulator):
    """TracIn-CP: gradients at saved checkpoints of the simulated run, every step ("all") or 10 of them ("ckpt10")."""

    def __init__(self, checkpoints: str = "ckpt10", rescale: bool = True):
        if checkpoints not in CHECKPOINT_SETTINGS:
            raise ValueError(f"checkpoints must be one of {CHECKPOINT_SETTINGS}, got {checkpoints!r}")
        super().__init__(checkpoints, rescale)


class GradDot(GradientSimulator):
    """Grad-Dot: the same decrement with the gradients of the final model only."""

    def __init__(self, rescale: bool = True):
        super().__init__("final", rescale)


def tracin_self_influence(dynamics: Dynamics) -> dict[int, float]:
    """TracIn self-influence <grad L(z_i), grad L(z_i)> summed over checkpoints, as recorded by the collector."""
    if "tracin" not in dynamics.self_influence:
        raise ValueError(
            f"Dynamics.self_influence has no 'tracin' scores (it has {sorted(dynamics.self_influence) or 'none'})"
        )
    return dict(dynamics.self_influence["tracin"])
