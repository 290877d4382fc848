"""Where a collection's time goes: training, per-step evaluation and gradient recording, per step of a run."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lib.plots.style import finish

PARTS = {"train_seconds": ("training", "#1f77b4"), "eval_seconds": ("evaluation of the test examples", "#ff7f0e"),
         "gradient_seconds": ("gradient dot products", "#2ca02c")}


def plot_run_cost(timings: Mapping[str, pd.DataFrame], steps: Mapping[str, int], *,
                  title: str = "Seconds per training step, mean over runs") -> plt.Figure:
    """One horizontal stacked bar per collection: mean seconds per step spent training, evaluating, recording gradients.

    timings: collection -> `run_timings` frame (columns train_seconds, eval_seconds, gradient_seconds);
    steps: collection -> steps per run.
    """
    if not timings:
        raise ValueError("timings must hold at least one collection")
    names = list(timings)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(names) + 1.8))
    left = np.zeros(len(names))
    handles = []
    for column, (label, color) in PARTS.items():
        values = np.array([float(timings[n][column].mean()) / steps[n] if column in timings[n] else 0.0
                           for n in names])
        handles.append(ax.barh(names, values, left=left, color=color, label=label))
        left += values
    ax.invert_yaxis()
    ax.set_xlabel("seconds per training step")
    ax.set_ylabel("collection")
    return finish(fig, handles, [h.get_label() for h in handles], ncol=3, title=title)
