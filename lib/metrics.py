"""Simulation-accuracy metrics as the papers' tables aggregate them (method.md section 5)."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from lib.dynamics import Dynamics

SCORES = ("mse", "mae", "spearman")
"""The three scores of the papers' tables, in their order: all-steps MSE and MAE, final-step Spearman's rho."""
LOWER_IS_BETTER = {"mse": True, "mae": True, "spearman": False}
"""Which way each score is better: lower errors, higher rank correlation."""
SCORE_NAMES = {"mse": "MSE", "mae": "MAE", "spearman": "Spearman"}
"""How the papers' tables head each score."""
GENERATION_NAMES = {"bleu": "BLEU", "rougeL": "ROUGE-L"}
"""The generation metrics a collection can record besides the loss (lib.dynamics.METRICS), by the papers' names."""


def trajectory_errors(pred: np.ndarray, truth: np.ndarray, order: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per (run, test) trajectory mean squared and mean absolute error over the predicted steps order..T."""
    pred, truth = _check_shapes(pred, truth)
    if not 1 <= order < truth.shape[1]:
        raise ValueError(f"order must be in 1..{truth.shape[1] - 1} for {truth.shape[1]} value columns, got {order}")
    error = pred[:, order:] - truth[:, order:]
    return np.mean(error**2, axis=1), np.mean(np.abs(error), axis=1)


def all_steps_mse(pred: np.ndarray, truth: np.ndarray, order: int = 1) -> tuple[float, float]:
    """All-steps MSE: mean and std (ddof 0) over every (run, test) trajectory pooled."""
    squared, _ = trajectory_errors(pred, truth, order)
    return float(np.mean(squared)), float(np.std(squared))


def all_steps_mae(pred: np.ndarray, truth: np.ndarray, order: int = 1) -> tuple[float, float]:
    """All-steps MAE: mean and std (ddof 0) over every (run, test) trajectory pooled."""
    _, absolute = trajectory_errors(pred, truth, order)
    return float(np.mean(absolute)), float(np.std(absolute))


def final_step_spearman_per_run(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Spearman's rho per run between predicted and true last-step values across test examples.

    A run whose predicted or true last-step values are constant has no defined rank
    correlation: its entry is nan (decided here, without calling scipy).
    """
    pred, truth = _check_shapes(pred, truth)
    rho = np.full(pred.shape[0], np.nan)
    for run in range(pred.shape[0]):
        p, t = pred[run, -1], truth[run, -1]
        if p.size >= 2 and np.ptp(p) > 0 and np.ptp(t) > 0:
            rho[run] = spearmanr(p, t).statistic
    return rho


def final_step_spearman(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, int]:
    """Final-step Spearman's rho: mean and std (ddof 0) across the runs where it is defined, and their count."""
    rho = final_step_spearman_per_run(pred, truth)
    defined = rho[~np.isnan(rho)]
    if defined.size == 0:
        return float("nan"), float("nan"), 0
    return float(np.mean(defined)), float(np.std(defined)), int(defined.size)


def evaluate(pred: np.ndarray, truth: Dynamics, *, order: int = 1, method: str, **labels) -> pd.DataFrame:
    """Tidy rows (method, target, metric, value, std, n, **labels) for mse, mae and spearman of one prediction.

    n counts the trajectories (mse, mae) or the runs with a defined rho (spearman).
    """
    mse, mse_std = all_steps_mse(pred, truth.values, order)
    mae, mae_std = all_steps_mae(pred, truth.values, order)
    rho, rho_std, rho_n = final_step_spearman(pred, truth.values)
    trajectories = truth.n_runs * truth.n_tests
    rows = [
        ("mse", mse, mse_std, trajectories),
        ("mae", mae, mae_std, trajectories),
        ("spearman", rho, rho_std, rho_n),
    ]
    frame = pd.DataFrame(rows, columns=["metric", "value", "std", "n"])
    frame.insert(0, "target", truth.metric)
    frame.insert(0, "method", method)
    for key, value in labels.items():
        frame[key] = value
    return frame


def compare(results: Mapping[str, np.ndarray], truth: Dynamics, *, order: int | Mapping[str, int] = 1,
            **labels) -> pd.DataFrame:
    """One tidy DataFrame evaluating each method's prediction; `order` may be given per method."""
    frames = []
    for method, pred in results.items():
        method_order = order[method] if isinstance(order, Mapping) else order
        frames.append(evaluate(pred, truth, order=method_order, method=method, **labels))
    return pd.concat(frames, ignore_index=True)


def _check_shapes(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 [runs, steps + 1, tests], refusing a shape mismatch."""
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if pred.shape != truth.shape or pred.ndim != 3:
        raise ValueError(f"pred shape {pred.shape} must equal truth values shape {truth.shape} ([runs, steps + 1, tests])")
    return pred, truth
