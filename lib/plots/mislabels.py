"""The mislabel chapter's figure (paper Fig 7): mislabels found and test accuracy against the fraction checked."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from lib.plots.style import book_figure, book_title, method_color

RANKINGS = ("random", "TracIn-CP", "GPTfluence")
"""Drawing order: the random band first, GPTfluence on top."""


def plot_mislabel_curves(summary: pd.DataFrame, noisy_accuracy: float, *, random_seeds: int,
                         title: str) -> plt.Figure:
    """Left: fraction of the mislabels found; right: test accuracy after retraining; both against the fraction
    of the pool checked, one line per ranking (random: mean with its min-max band over `random_seeds` seeds).

    summary: `lib.experiments.mislabels.summary` rows (ranking, fraction, found_* and accuracy_* mean/min/max).
    """
    labels = {"random": f"Random (mean, min-max over {random_seeds} seeds)"}
    fig, axes = book_figure(1, 2, height=4.2)
    for name in RANKINGS:
        rows = summary[summary.ranking == name].sort_values("fraction")
        for ax, key in zip(axes, ("found", "accuracy")):
            ax.plot(rows.fraction, rows[f"{key}_mean"], marker="o", color=method_color(name),
                    label=labels.get(name, name))
            if name == "random":
                ax.fill_between(rows.fraction, rows[f"{key}_min"], rows[f"{key}_max"], color=method_color(name),
                                alpha=0.25)
    axes[0].set(xlabel="Fraction of training data checked", ylabel="Fraction of mislabels identified")
    axes[1].set(xlabel="Fraction of training data checked", ylabel="Test accuracy after retraining")
    axes[1].axhline(noisy_accuracy, color="k", lw=0.8, ls="--", label="noisy runs (no retraining)")
    handles, names = axes[1].get_legend_handles_labels()  # below the panels: a legend inside would cover curves
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False)
    book_title(fig, title)
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    return fig
