"""Figures of the ablation chapter (paper Figs 3-6): the three accuracy metrics against the ablated setting."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import NullFormatter

from lib.experiments.ablations import OWN_STEPS, SAME_PREFIX
from lib.metrics import SCORES
from lib.plots.style import SCORE_TITLES, book_figure, cap_log_axis, finish_panels, method_color, metric_label, palette


def metric_lines(table: pd.DataFrame, x: str, *, title: str, xlabel: str, hue: str = "method",
                 units: str | None = None, log_mse: bool = False) -> plt.Figure:
    """One panel per metric: `value` against `x`, one line per `hue`.

    With `units` (e.g. "task"), each unit is a thin line and the mean over units a thick line with markers.
    """
    fig, axes = book_figure(1, len(SCORES), height=3.4)
    colors = palette(table[hue].unique())
    for ax, metric in zip(axes, SCORES):
        rows = table[table["metric"] == metric]
        if units is not None:
            for _, part in rows.groupby([hue, units], sort=False):
                ax.plot(part[x], part["value"], color=colors[part[hue].iloc[0]], alpha=0.25, linewidth=1)
            rows = rows.groupby([hue, x], as_index=False, sort=False)["value"].mean()
        for group, part in rows.groupby(hue, sort=False):
            ax.plot(part[x], part["value"], color=colors[group], marker="o", linewidth=2.2,
                    label=group if units is None else f"{group} (mean)")
        ax.set_xticks(sorted(table[x].unique()))
        _label(ax, metric, xlabel)
        if log_mse and metric == "mse":
            _log(ax, "y", rows["value"])
    if units is not None:
        axes[0].plot([], [], color="grey", alpha=0.4, linewidth=1, label=f"one {units}")
    return finish_panels(fig, axes[0], title)


def order_lines(table: pd.DataFrame, *, title: str) -> plt.Figure:
    """Paper Fig 4: per (task, target) row, the metrics against the Markov order n.

    GPTfluence is a line over n; the Simfluence reference (order 1 only) is drawn flat across n.
    Solid: every order given the same true prefix and scored on the same steps; dashed: each order given its first
    n true values and scored on its own steps n..T (the paper's convention).
    """
    groups = list(table.groupby(["task", "target"], sort=False))
    fig, axes = book_figure(len(groups), len(SCORES), height=2.2 * len(groups) + 1.2, squeeze=False)
    styles = {SAME_PREFIX: ("-", "same true prefix, same steps"), OWN_STEPS: ("--", "own steps n..T (paper)")}
    for r, ((task, target), part) in enumerate(groups):
        orders = sorted(part.loc[part["method"] == "GPTfluence", "order"].unique())
        for c, metric in enumerate(SCORES):
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
            ax.set_ylabel(f"{task} {target}\n{metric_label(metric)}" if c == 0 else "")  # the column title names it
            if r == 0:
                ax.set_title(SCORE_TITLES[metric], fontsize=10)
    return finish_panels(fig, axes[0, 0], title)


def metric_bars(table: pd.DataFrame, x: str, *, title: str, xlabel: str, hue: str = "method",
                horizontal: bool = False, log_mse: bool = False, order: Sequence[str] | None = None) -> plt.Figure:
    """One panel per metric: a bar per `x` value, coloured by `hue`; horizontal bars as paper Fig 6."""
    order = list(order) if order is not None else list(dict.fromkeys(table[x]))
    height = 1.6 + 0.45 * len(order) * (table[hue].nunique() if horizontal else 0) if horizontal else 3.8
    fig, axes = book_figure(1, len(SCORES), height=height, sharey=horizontal)
    colors = palette(table[hue].unique())
    for ax, metric in zip(axes, SCORES):
        rows = table[table["metric"] == metric]
        if horizontal:
            sns.barplot(data=rows, y=x, x="value", hue=hue, order=order, palette=colors, ax=ax, orient="h",
                        errorbar=None)
            ax.set_title(SCORE_TITLES[metric], fontsize=10)
            ax.set_xlabel(metric_label(metric))
            ax.set_ylabel(xlabel if metric == SCORES[0] else "")
            if log_mse and metric == "mse":
                _log(ax, "x", rows["value"])
        else:
            sns.barplot(data=rows, x=x, y="value", hue=hue, order=order, palette=colors, ax=ax, dodge=False,
                        errorbar=None)
            _label(ax, metric, xlabel)
            ax.set_xticks(ax.get_xticks(), [_wrap(t.get_text()) for t in ax.get_xticklabels()], fontsize=8)
            if log_mse and metric == "mse":
                _log(ax, "y", rows["value"])
    return finish_panels(fig, axes[0], title)


def _label(ax: plt.Axes, metric: str, xlabel: str) -> None:
    ax.set_title(SCORE_TITLES[metric], fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric_label(metric))


def _log(ax: plt.Axes, axis: str, values: pd.Series) -> None:
    """Log scale when every value is positive and they span more than a factor of 10."""
    values = values[np.isfinite(values)]
    if len(values) and (values > 0).all() and values.max() > 10 * values.min():
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        (ax.yaxis if axis == "y" else ax.xaxis).set_minor_formatter(NullFormatter())
        cap_log_axis(ax, axis, values)


def _wrap(text: str, width: int = 14) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])
