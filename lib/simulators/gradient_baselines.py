"""TracIn-CP and Grad-Dot written as simulators: y_t = y_{t-1} - sigma * eta_t / B * sum_b <grad L(z_b), grad L(z')>."""
from __future__ import annotations

import numpy as np

from lib.dynamics import Dynamics
from lib.simulators.base import Simulator

CHECKPOINT_SETTINGS = ("ckpt10", "all")
PAPER_CHECKPOINTS = 10
"""TracIn-CP (10 ckpts): the papers save 10 checkpoints, about T / 10 steps apart."""


class GradientSimulator(Simulator):
    """An additive simulator whose per-step decrement is a learning-rate-weighted mean of gradient dot products.

    A step's training loss is the mean over its batch of B examples, so to first order a test loss
    changes by -eta_t / B * sum_b <grad L(z_b), grad L(z')> (raw TracIn). The gradients of the simulated run itself come from `Dynamics.grad_dots[setting]`, the
    step sizes from `Dynamics.learning_rates`. With rescale=True, `fit` sets the one factor sigma
    that minimizes the squared error of the predicted trajectories (t >= 1) of the runs it is
    given, in closed form; pass the held-out runs to `fit` to reproduce the papers' oracle
    rescaling. With rescale=False sigma = 1 (raw TracIn). Only defined for the loss.
    """

    order = 1
    min_fit_runs = 1  # only sigma is fitted

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
        """alpha = 1 and beta_t = -sigma * eta_t / B * sum_b grad_dots[run, t, b, test]."""
        self._check_loss(runs)
        beta = -self.sigma_ * self._decrements(runs)
        return np.ones((runs.n_runs, runs.n_steps, 1, runs.n_tests)), beta

    def _decrements(self, runs: Dynamics) -> np.ndarray:
        """eta_t / B * sum over the batch of the gradient dot products (the batch loss is a mean), [runs, steps, tests]."""
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
        return runs.learning_rates[:, :, None] * grads.mean(axis=2)

    def _check_loss(self, runs: Dynamics) -> None:
        """Gradient dot products approximate loss changes only: refuse other metrics."""
        if runs.metric != "loss":
            raise ValueError(f"{type(self).__name__} simulates only the loss, got metric {runs.metric!r}")


class TracInCP(GradientSimulator):
    """TracIn-CP: gradients at saved checkpoints of the simulated run, every step ("all") or 10 of them ("ckpt10").

    "ckpt10" refuses runs whose recorded checkpoints (the collection config's [gradients] checkpoints)
    are over twice as many as the papers' 10, i.e. much closer than T / 10 apart. After fit:
    checkpoints_ (the recorded count; None when the runs' config does not say) and
    checkpoint_spacing_ (training steps between checkpoints; 1.0 for "all").
    """

    def __init__(self, checkpoints: str = "ckpt10", rescale: bool = True):
        if checkpoints not in CHECKPOINT_SETTINGS:
            raise ValueError(f"checkpoints must be one of {CHECKPOINT_SETTINGS}, got {checkpoints!r}")
        super().__init__(checkpoints, rescale)

    def fit(self, train: Dynamics, val: Dynamics | None = None) -> "TracInCP":
        """Check the checkpoint spacing of the runs, then fit sigma as every gradient simulator."""
        self.checkpoints_, self.checkpoint_spacing_ = self._spacing(train)
        return super().fit(train, val)

    def _decrements(self, runs: Dynamics) -> np.ndarray:
        """The decrements, after refusing "ckpt10" data recorded with checkpoints much closer than T / 10."""
        self._spacing(runs)
        return super()._decrements(runs)

    def _spacing(self, runs: Dynamics) -> tuple[int | None, float | None]:
        """(checkpoint count, steps between checkpoints) of the runs; refuses over 2 x 10 checkpoints for "ckpt10"."""
        if self.setting == "all":
            return None, 1.0
        count, steps = recorded_checkpoints(runs)
        if count is None:
            return None, None
        if count > 2 * PAPER_CHECKPOINTS:
            raise ValueError(
                f"TracIn-CP (10 ckpts) needs checkpoints about T/10 = {steps / PAPER_CHECKPOINTS:.1f} steps apart; these "
                f"runs recorded {count} checkpoints over {steps} steps (one every {steps / count:.1f}): recollect with "
                f"[gradients] checkpoints = {PAPER_CHECKPOINTS} or use TracInCP('all')"
            )
        return count, steps / count


def recorded_checkpoints(runs: Dynamics) -> tuple[int | None, int]:
    """(number of saved checkpoints, training steps T) from the runs' collection config; count None when unknown."""
    configs = runs.config.get("parts", [runs.config])
    counts = {c.get("gradients", {}).get("checkpoints") for c in configs}
    training = configs[0].get("training", {})
    try:
        steps = int(training["epochs"]) * (int(training["subset_size"]) // int(training["batch_size"]))
    except (KeyError, TypeError, ValueError):
        steps = int(runs.steps[-1])
    counts.discard(None)
    return (max(int(c) for c in counts) if counts else None), steps


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
