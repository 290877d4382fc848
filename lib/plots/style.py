"""The book's look in one place: one colour per method and split, axis labels and titles of every metric and score,
and the shared legend-and-title finish of multi-panel figures."""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

BOOK_WIDTH = 7.5
"""Inches: the width of every figure, about the book's text column at 100 dpi, so fonts show at their own size."""
BOOK_RC: dict[str, object] = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 10,
                              "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9,
                              "figure.titlesize": 11}
"""Font sizes (points) readable at BOOK_WIDTH: 9-11 pt show as 12-15 px."""


def use_book_style() -> None:
    """The book's figure look: seaborn's white grid with BOOK_RC (each notebook calls it once in its setup)."""
    sns.set_theme(style="whitegrid", context="notebook", rc=BOOK_RC)


def book_figure(nrows: int = 1, ncols: int = 1, *, height: float, **kwargs) -> tuple[plt.Figure, np.ndarray]:
    """A figure BOOK_WIDTH wide and `height` inches tall with an nrows x ncols grid of axes (plt.subplots kwargs)."""
    return plt.subplots(nrows, ncols, figsize=(BOOK_WIDTH, height), **kwargs)


def panel_height(ncols: int, aspect: float = 0.9) -> float:
    """Height of one row of `ncols` panels side by side across BOOK_WIDTH (panel height = aspect x its width)."""
    return aspect * BOOK_WIDTH / ncols


TITLE_CHARS = 75
"""Characters per line of a figure title at BOOK_WIDTH; longer titles wrap instead of widening the figure."""


def book_title(fig: plt.Figure, title: str) -> None:
    """The figure's title, wrapped to TITLE_CHARS per line so that it never makes the figure wider than the book."""
    fig.suptitle(textwrap.fill(title, TITLE_CHARS))


def panel_title(ax: plt.Axes, title: str, ncols: int) -> None:
    """A panel's title, wrapped to its share of TITLE_CHARS (fontsize 10) so that titles of panels side by side
    never run into each other."""
    ax.set_title(textwrap.fill(title, max(12, int(TITLE_CHARS * 1.1) // ncols)), fontsize=10)


LEGEND_CHARS = 120
"""Characters of legend text (entries side by side, with their markers) that fit across BOOK_WIDTH."""


def legend_columns(labels: list[str], most: int) -> int:
    """Legend columns for `labels`: at most `most`, and no more than fit across BOOK_WIDTH side by side."""
    longest = max((len(str(label)) for label in labels), default=1)
    return max(1, min(most, len(labels), LEGEND_CHARS // (longest + 6)))


def _title_lines(fig: plt.Figure) -> int:
    return fig._suptitle.get_text().count("\n") + 1 if fig._suptitle is not None else 0


def off_scale_limits(truth: np.ndarray, lines: dict[str, np.ndarray], spread: float = 1.0) -> tuple[tuple[float, float] | None, list[str]]:
    """Y limits that keep `truth` readable when some predicted lines diverge: truth's range widened by `spread` times
    itself (at least 10% of its largest magnitude; 0.1 for a truth that stays at 0) on each side; None when every line
    fits. Also the names off scale."""
    truth = np.asarray(truth, dtype=float)
    lo, hi = float(np.nanmin(truth)), float(np.nanmax(truth))
    pad = spread * (max(hi - lo, 0.1 * max(abs(lo), abs(hi))) or 0.1)
    low, high = lo - pad, hi + pad
    beyond = [name for name, v in lines.items()
              if np.any(~np.isfinite(np.asarray(v, dtype=float))) or np.nanmin(v) < low or np.nanmax(v) > high]
    return ((low, high) if beyond else None), beyond


def mark_off_scale(ax: plt.Axes, truth: np.ndarray, lines: dict[str, np.ndarray]) -> list[str]:
    """Clip the y axis to the true values' neighbourhood when some predicted `lines` diverge, and name those
    methods inside the panel ("off scale: ..."); return their names."""
    limits, beyond = off_scale_limits(truth, lines)
    if limits is not None:
        ax.set_ylim(*limits)
        ax.text(0.98, 0.97, "off scale: " + ", ".join(beyond), transform=ax.transAxes, ha="right", va="top",
                fontsize=8, color="#444444", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    return beyond


def cap_log_axis(ax: plt.Axes, axis: str, values, factor: float = 1e3) -> float | None:
    """On a log axis, cut the axis at `factor` times the median of the positive `values` when some exceed it (an
    exploded method would otherwise stretch it to 1e23); return the cut, or None when nothing exceeds it."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return None
    cut = float(np.median(values)) * factor
    if values.max() <= cut:
        return None
    low = float(values.min()) / 2
    (ax.set_ylim if axis == "y" else ax.set_xlim)(low, cut)
    label = ax.yaxis.label if axis == "y" else ax.xaxis.label
    label.set_text(f"{label.get_text()} (cut at {cut:.2g})")
    return cut

METHOD_COLORS: dict[str, str] = {
    "GPTfluence": "#d62728",
    "Simfluence": "#1f77b4",
    "Simfluence-Additive": "#6baed6",
    "Simfluence-Multiplicative": "#08519c",
    "TracIn-CP (10 ckpts)": "#2ca02c",
    "TracIn-CP (all steps)": "#98df8a",
    "Grad-Dot": "#9467bd",
    "EK-FAC": "#ff7f0e",
    "TRAK": "#8c564b",
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


SCORE_TITLES: dict[str, str] = {"mse": "All-steps MSE\n(lower is better)", "mae": "All-steps MAE\n(lower is better)",
                                "spearman": "Final-step Spearman's rho\n(higher is better)"}
"""Panel titles of the three scores."""


def palette(groups) -> dict:
    """The book's method colours for `groups`; other groups take the colour cycle at their position."""
    return {g: method_color(str(g), i) for i, g in enumerate(groups)}


def finish(fig: plt.Figure, handles: list, labels: list[str], *, ncol: int, title: str) -> plt.Figure:
    """A shared legend below the panels, a title above them, and a layout that leaves room for both."""
    ncol = legend_columns(labels, ncol)
    rows = -(-len(labels) // ncol)
    ncol = -(-len(labels) // rows)  # balanced rows: 6 entries at ncol 5 become 2 rows of 3
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    book_title(fig, title)
    height = fig.get_figheight()
    bottom = min(0.45, (0.3 * rows + 0.12) / height)
    top = max(0.55, 1 - (0.25 + 0.2 * _title_lines(fig)) / height)
    fig.tight_layout(rect=(0, bottom, 1, top))
    return fig


def finish_panels(fig: plt.Figure, legend_from: plt.Axes, title: str) -> plt.Figure:
    """One legend below the panels (from `legend_from`'s handles), per-axes legends removed, a title on top."""
    handles, labels = legend_from.get_legend_handles_labels()
    for ax in fig.axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    book_title(fig, title)
    ncol = legend_columns(labels, 4)
    legend_rows = -(-len(labels) // ncol)
    height = fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, (0.25 + 0.25 * legend_rows) / height if handles else 0, 1,
                           1 - (0.1 + 0.2 * _title_lines(fig)) / height))
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
    return fig
