"""The n-th order linear rollout shared by every simulator: y_t = sum_j alpha_j(c_t) y_{t-j} + beta(c_t)."""
from __future__ import annotations

import numpy as np


def rollout(alpha: np.ndarray, beta: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """Autoregressive predictions [runs, steps + 1, tests] from per-step factors and the first `order` values.

    alpha: [runs, steps, order, tests]; alpha[:, t - 1, j - 1] multiplies y_{t-j} at step t.
    beta: [runs, steps, tests]; beta[:, t - 1] is added at step t.
    initial: [runs, order, tests], the given values y_0 .. y_{order-1}; they are copied to the output.
    Each prediction is fed back as the input of the next steps (vectorized over runs and tests).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    initial = np.asarray(initial, dtype=np.float64)
    if alpha.ndim != 4:
        raise ValueError(f"alpha must be [runs, steps, order, tests], got shape {alpha.shape}")
    runs, steps, order, tests = alpha.shape
    if beta.shape != (runs, steps, tests):
        raise ValueError(f"beta must be [runs, steps, tests] = {(runs, steps, tests)}, got {beta.shape}")
    if initial.shape != (runs, order, tests):
        raise ValueError(f"initial must be [runs, order, tests] = {(runs, order, tests)}, got {initial.shape}")
    if order > steps:
        raise ValueError(f"order {order} needs more than {steps} steps")
    values = np.empty((runs, steps + 1, tests))
    values[:, :order] = initial
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(order, steps + 1):
            previous = values[:, t - order : t][:, ::-1]  # y_{t-1}, .., y_{t-order}
            values[:, t] = np.einsum("rjm,rjm->rm", alpha[:, t - 1], previous) + beta[:, t - 1]
    return values
