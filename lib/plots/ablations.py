"""Figures of the ablation chapter (paper Figs 3-6): the three accuracy metrics against the ablated setting."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import NullFormatter

from lib.plots.style import method_color

METRICS = ("mse", "mae", "spearman")
METRIC_TITLES = {"mse": "All-steps MSE (lower is better)", "mae": "All-steps MAE (lower is better)",
                 "spearman": "Final-step Spearman's rho (higher is better)"}
METRIC_LABELS = {"mse": "all-steps MSE", "mae": "all-steps MAE", "spearman": "final-step Spearman's rho"}


def metric_lines(table: pd.DataFrame, x: str, *, title: str, xlabel: str, hue: str = "method",
                 units: str | None = None, log_mse: bool = False) -> plt.Figure:
    """One panel per metric: `value` against `x`, one line per `hue`.

    With `units` (e.g. "task"), each unit is a thin line and the mean over units a thick line with markers.
    """
    fig, axes = plt.subplots(1, len(METRICS), figsize=(11, 3.6))
    palette = _palette(table[hue].unique())
    for ax, metric in zip(axes, METRICS):
        rows = table[table["metric"] == metric]
        if units is not None:
            for _, part in rows.groupby([hue, units], sort=False):
                ax.plot(part[x], part["value"], color=palette[part[hue].iloc[0]], alpha=0.25, linewidth=1)
            rows = rows.groupby([hue, x], as_index=False, sort=False)["value"].mean()
        for group, part in rows.groupby(hue, sort=False):
            ax.plot(part[x], part["value"], color=palette[group], marker="o", linewidth=2.2,
                    label=group if units is None else f"{group} (mean)")
        ax.set_xticks(sorted(table[x].unique()))
        _label(ax, metric, xlabel)
        if log_mse and metric == "mse":
            _log(ax, "y", rows["value"])
    if units is not None:
        axes[0].plot([], [], color="grey", alpha=0.4, linewidth=1, label=f"one {units}")
    return _finish(fig, axes[0], title)


def order_lines(table: pd.DataFrame, *, title: str) -> plt.Figure:
    """Paper Fig 4: per (task, target) row, the metrics against the Markov order n.

    GPTfluence is a line over n; the Simfluence reference (order 1 only) is drawn flat across n.
    Solid: scored on each order's own predicted steps n..T (the paper); dashed: on the common steps.
    """
    groups = list(table.groupby(["task", "target"], sort=False))
    fig, axes = plt.subplots(len(groups), len(METRICS), figsize=(11, 2.9 * len(groups) + 0.6), squeeze=False)
    styles = {"own": ("-", "own steps n..T (paper)"), "common": ("--", "common steps")}
    for r, ((task, target), part) in enumerate(groups):
        orders = sorted(part.loc[part["method"] == "GPTfluence", "order"].unique())
        for c, metric in enumerate(METRICS):
            ax = axes[r, c]
            rows = part[part["metric"] == metric]
            for (method, scored), line in rows.groupby(["method", "scored"], sort=False):
                style, name = styles[scored]
                xs, ys = (orders, [line["value"].iloc[0]] * len(orders)) if method != "GPTfluence" else (
                    line["order"], line["value"])
                ax.plot(xs, ys, linestyle=style, color=method_color(method), marker="o" if method == "GPTfluence"
                        else None, label=f"{method}, {name}" + (" (order 1)" if method != "GPTfluence" else ""))
            ax.set_xticks(orders)
            ax.set_xlabel("Markov order n" if r == len(groups) - 1 else "")
            ax.set_ylabel(f"{task} {target}\n{METRIC_LABELS[metric]}" if c == 0 else METRIC_LABELS[metric])
            if r == 0:
                ax.set_title(METRIC_TITLES[metric], fontsize=10)
    return _finish(fig, axes[0, 0], title)


def metric_bars(table: pd.DataFrame, x: str, *, title: str, xlabel: str, hue: str = "method",
                horizontal: bool = False, log_mse: bool = False, order: Sequence[str] | None = None) -> plt.Figure:
    """One panel per metric: a bar per `x` value, coloured by `hue`; horizontal bars as paper Fig 6."""
    order = list(order) if order is not None else list(dict.fromkeys(table[x]))
    height = 1.6 + 0.55 * len(order) * (table[hue].nunique() if horizontal else 0) if horizontal else 3.8
    fig, axes = plt.subplots(1, len(METRICS), figsize=(11, height), sharey=horizontal)
    palette = _palette(table[hue].unique())
    for ax, metric in zip(axes, METRICS):
        rows = table[table["metric"] == metric]
        if horizontal:
            sns.barplot(data=rows, y=x, x="value", hue=hue, order=order, palette=palette, ax=ax, orient="h",
                        errorbar=None)
            ax.set_title(METRIC_TITLES[metric], fontsize=10)
            ax.set_xlabel(METRIC_LABELS[metric])
            ax.set_ylabel(xlabel if metric == METRICS[0] else "")
            if log_mse and metric == "mse":
                _log(ax, "x", rows["value"])
        else:
            sns.barplot(data=rows, x=x, y="value", hue=hue, order=order, palette=palette, ax=ax, dodge=False,
                        errorbar=None)
            _label(ax, metric, xlabel)
            ax.set_xticks(ax.get_xticks(), [_wrap(t.get_text()) for t in ax.get_xticklabels()], fontsize=8)
            if log_mse and metric == "mse":
                _log(ax, "y", rows["value"])
    return _finish(fig, axes[0], title)


def values_with_std(table: pd.DataFrame, index: Sequence[str], columns: str = "metric") -> pd.DataFrame:
    """A wide display table of "value (std)" cells."""
    cells = table.assign(cell=[("-" if not np.isfinite(v) else f"{v:.3g}") +
                               ("" if not np.isfinite(s) else f" ({s:.2g})")
                               for v, s in zip(table["value"], table["std"])])
    wide = cells.pivot_table(index=list(index), columns=columns, values="cell", aggfunc="first", sort=False)
    return wide[[m for m in METRICS if m in wide.columns]]


def _label(ax: plt.Axes, metric: str, xlabel: str) -> None:
    ax.set_title(METRIC_TITLES[metric], fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(METRIC_LABELS[metric])


def _log(ax: plt.Axes, axis: str, values: pd.Series) -> None:
    """Log scale when every value is positive and they span more than a factor of 10."""
    values = values[np.isfinite(values)]
    if len(values) and (values > 0).all() and values.max() > 10 * values.min():
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        (ax.yaxis if axis == "y" else ax.xaxis).set_minor_formatter(NullFormatter())


def _wrap(text: str, width: int = 14) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def _finish(fig: plt.Figure, legend_from: plt.Axes, title: str) -> plt.Figure:
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


def _palette(groups) -> dict:
    """The book's method colours (lib.plots.style); other groups take the colour cycle."""
    return {g: method_color(str(g), i) for i, g in enumerate(groups)}
