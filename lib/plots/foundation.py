"""Figures of the foundation chapter: the encoder's cosine similarities and the prompts' token lengths."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from lib.plots.style import book_figure


def plot_similarity(similarity: pd.DataFrame, *, title: str) -> plt.Figure:
    """A heatmap of a square similarity table (rows and columns name the texts), each cell annotated."""
    fig, ax = book_figure(height=4.5)
    sns.heatmap(similarity, annot=True, fmt=".2f", cmap="viridis", vmin=-0.2, vmax=1, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_token_lengths(lengths: pd.DataFrame, *, title: str) -> plt.Figure:
    """Box plots per task of the prompt tokens (left) and target tokens (right) of a table with one row per example."""
    fig, axes = book_figure(1, 2, height=3.6, sharey=True)
    for ax, column in zip(axes, ("prompt tokens", "target tokens")):
        sns.boxplot(data=lengths, x=column, y="task", ax=ax)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
