"""The book's look in one place: one colour per method and split, axis labels and titles of every metric and score,
and the shared legend-and-title finish of multi-panel figures."""
from __future__ import annotations

import matplotlib.pyplot as plt

METHOD_COLORS: dict[str, str] = {
    "GPTfluence": "#d62728",
    "Simfluence": "#1f77b4",
    "Simfluence-Additive": "#6baed6",
    "Simfluence-Multiplicative": "#08519c",
    "TracIn-CP (10 ckpts)": "#2ca02c",
    "TracIn-CP (all steps)": "#98df8a",
    "Grad-Dot": "#9467bd",
    "TracIn-CP (10 ckpts), raw": "#2ca02c",
    "TracIn-CP (all steps), raw": "#98df8a",
    "Grad-Dot, raw": "#9467bd",
    "Mean of training runs": "#7f7f7f",
    "TracIn-CP": "#2ca02c",
    "random": "#7f7f7f",
}
SPLIT_COLORS: dict[str, str] = {"train": "#7f7f7f", "val": "#ff7f0e", "test": "#17becf"}


def method_color(method: str, index: int = 0) -> str:
    """The method's colour; methods not listed take the matplotlib cycle colour at `index`."""
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return cycle[index % len(cycle)]


def method_linestyle(method: str) -> str:
    """Raw (unrescaled) gradient baselines are dotted, the curriculum-blind reference dashed, the rest solid."""
    if method.endswith(", raw"):
        return ":"
    return "--" if method == "Mean of training runs" else "-"


METRIC_LABELS: dict[str, str] = {"loss": "test loss", "bleu": "BLEU (0-100)", "rougeL": "ROUGE-L F (0-1)",
                                 "mse": "all-steps MSE", "mae": "all-steps MAE",
                                 "spearman": "final-step Spearman's rho"}


def metric_label(metric: str) -> str:
    """Axis label of a target metric (loss, bleu, rougeL) or a score (mse, mae, spearman)."""
    return METRIC_LABELS.get(metric, metric)


SCORE_TITLES: dict[str, str] = {"mse": "All-steps MSE (lower is better)", "mae": "All-steps MAE (lower is better)",
                                "spearman": "Final-step Spearman's rho (higher is better)"}
"""Panel titles of the three scores."""


def palette(groups) -> dict:
    """The book's method colours for `groups`; other groups take the colour cycle at their position."""
    return {g: method_color(str(g), i) for i, g in enumerate(groups)}


def finish(fig: plt.Figure, handles: list, labels: list[str], *, ncol: int, title: str) -> plt.Figure:
    """A shared legend below the panels, a title above them, and a layout that leaves room for both."""
    ncol = max(1, min(ncol, len(labels)))
    rows = -(-len(labels) // ncol)
    ncol = -(-len(labels) // rows)  # balanced rows: 6 entries at ncol 5 become 2 rows of 3
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    fig.suptitle(title)
    height = fig.get_figheight()
    bottom = min(0.45, (0.3 * rows + 0.12) / height)
    top = max(0.55, 1 - 0.45 / height)
    fig.tight_layout(rect=(0, bottom, 1, top))
    return fig


def finish_panels(fig: plt.Figure, legend_from: plt.Axes, title: str) -> plt.Figure:
    """One legend below the panels (from `legend_from`'s handles), per-axes legends removed, a title on top."""
    handles, labels = legend_from.get_legend_handles_labels()
    for ax in fig.axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.suptitle(title)
    legend_rows = -(-len(labels) // 4)
    fig.tight_layout(rect=(0, (0.25 + 0.25 * legend_rows) / fig.get_size_inches()[1] if handles else 0, 1, 1))
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
    return fig
