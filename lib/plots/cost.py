"""What collecting and fitting cost: where a collection's time goes per step, and how GPTfluence's training
converges."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lib.plots.style import book_figure, book_title, finish, method_color

PARTS = {"train_seconds": ("training", "#1f77b4"), "eval_seconds": ("evaluation of the test examples", "#ff7f0e"),
         "gradient_seconds": ("gradient dot products", "#2ca02c")}


def plot_run_cost(timings: Mapping[str, pd.DataFrame], steps: Mapping[str, int], *,
                  title: str = "Seconds per training step, mean over runs") -> plt.Figure:
    """One horizontal stacked bar per collection: mean seconds per step spent training, evaluating, recording gradients.

    timings: collection -> `StoredCollection.timings()` frame (columns train_seconds, eval_seconds, gradient_seconds);
    steps: collection -> steps per run.
    """
    if not timings:
        raise ValueError("timings must hold at least one collection")
    names = list(timings)
    fig, ax = book_figure(height=0.45 * len(names) + 1.8)
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


def plot_convergence(history: pd.DataFrame, *, best_epoch: float, simfluence_val_mse: float, title: str) -> plt.Figure:
    """GPTfluence's training (paper Fig 9): teacher-forced training MSE and validation all-steps MSE per epoch, with
    the epoch it keeps and Simfluence's closed-form validation MSE for reference.

    history: `GPTfluence.history_` (columns epoch, train_mse, val_mse).
    """
    gpt, sim = method_color("GPTfluence"), method_color("Simfluence")
    fig, axes = book_figure(1, 2, height=3.4)
    axes[0].plot(history["epoch"], history["train_mse"], color=gpt, label="GPTfluence")
    axes[0].set(xlabel="epoch", ylabel="training MSE (teacher-forced)", yscale="log", title="Training loss")
    axes[1].plot(history["epoch"], history["val_mse"], color=gpt, label="GPTfluence")
    axes[1].axhline(simfluence_val_mse, color=sim, linestyle="--", label="Simfluence (closed form)")
    axes[1].axvline(best_epoch, color="grey", linestyle=":", label="GPTfluence's kept epoch")
    axes[1].set(xlabel="epoch", ylabel="validation all-steps MSE", yscale="log", title="Validation all-steps MSE")
    axes[1].legend(fontsize="small")
    book_title(fig, title)
    fig.tight_layout()
    return fig
