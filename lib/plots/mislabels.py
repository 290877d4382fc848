"""The mislabel chapter's figure (paper Fig 7): mislabels found, test accuracy and loss after retraining, against
the fraction of the pool checked, each curve with its spread."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from lib.plots.style import book_figure, book_title, method_color

RANKINGS = ("random", "TracIn-CP", "GPTfluence A_ii", "GPTfluence self-effect")
"""Drawing order: the random band first, GPTfluence on top."""
STYLES = {"GPTfluence A_ii": ("GPTfluence", "-"), "GPTfluence self-effect": ("GPTfluence", "--")}
"""GPTfluence's two self-influences share its colour: solid A_ii (the paper's), dashed the self-effect."""
PANELS = (("found", "Fraction of mislabels identified"), ("accuracy", "Test accuracy after retraining"),
          ("loss", "Test loss of the true label word"))


def plot_mislabel_curves(summary: pd.DataFrame, *, random_seeds: int, retrain_seeds: int, title: str) -> plt.Figure:
    """Three panels against the fraction of the pool checked: mislabels found, test accuracy and test loss after
    fixing and retraining; one line per ranking (mean) with its min-max band (found: over the random rankings;
    accuracy and loss: over rankings x retraining seeds).

    summary: `lib.experiments.mislabels.summary` rows (ranking, fraction, {found,accuracy,loss}_{mean,min,max}).
    """
    fig, axes = book_figure(1, len(PANELS), height=3.8)
    for name in RANKINGS:
        rows = summary[summary.ranking == name].sort_values("fraction")
        if rows.empty:
            continue
        family, style = STYLES.get(name, (name, "-"))
        color = method_color(family)
        label = (f"Random ({random_seeds} rankings x {retrain_seeds} retrainings: mean, min-max)" if name == "random"
                 else f"{name} (mean over {retrain_seeds} retrainings, min-max)")
        for ax, (key, ylabel) in zip(axes, PANELS):
            ax.plot(rows.fraction, rows[f"{key}_mean"], marker="o", color=color, linestyle=style, label=label)
            if (rows[f"{key}_max"] > rows[f"{key}_min"]).any():
                ax.fill_between(rows.fraction, rows[f"{key}_min"], rows[f"{key}_max"], color=color, alpha=0.15)
            ax.set(xlabel="Fraction of training data checked", ylabel=ylabel)
    handles, names = axes[0].get_legend_handles_labels()  # below the panels: a legend inside would cover curves
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False, fontsize="small")
    book_title(fig, title)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig
