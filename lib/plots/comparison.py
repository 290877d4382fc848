"""Our scores beside the papers', one panel per score (MSE, MAE, Spearman), from a `lib.paper.beside` table."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from lib.plots.style import book_figure, cap_log_axis, finish, method_color, metric_label

OURS_MARKER, PAPER_MARKER = "o", "D"


def plot_comparison(table: pd.DataFrame, *, category: str = "task", hue: str = "method",
                    metrics: Sequence[str] | None = None, log_metrics: Sequence[str] = ("mse", "mae"),
                    ours: str = "ours", paper: str = "paper", paper_label: str = "paper",
                    category_labels: Mapping[str, str] | None = None, order: Sequence[str] | None = None,
                    title: str | None = None) -> plt.Figure:
    """Dot chart: y = `category` values, x = score; per `hue` value a filled dot (ours) and a hollow diamond (paper).

    `table` has columns category, hue, "metric", `ours` and `paper` (a lib.paper.beside output);
    missing values are left out. Panels of `log_metrics` use a log x axis when every value is > 0,
    because our errors and the paper's can differ by orders of magnitude. `category_labels` renames the y ticks;
    `order` lists categories top to bottom first (the others follow in order of appearance).
    """
    needed = {category, hue, "metric", ours, paper}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(f"comparison table lacks columns {sorted(missing)}; has {list(table.columns)}")
    if metrics is None:
        present = list(dict.fromkeys(table["metric"]))
        metrics = [m for m in ("mse", "mae", "spearman") if m in present] + [m for m in present
                                                                             if m not in ("mse", "mae", "spearman")]
    metrics = list(metrics)
    present = list(dict.fromkeys(table[category]))
    categories = [c for c in (order or ()) if c in present] + [c for c in present if c not in (order or ())]
    hues = list(dict.fromkeys(table[hue]))
    fig, axes = book_figure(1, len(metrics), height=0.4 * len(categories) + 2.4, squeeze=False, sharey=True)
    offsets = np.linspace(-0.25, 0.25, len(hues)) if len(hues) > 1 else np.zeros(1)
    for ax, metric in zip(axes.flat, metrics):
        part = table[table["metric"] == metric]
        for i, name in enumerate(hues):
            rows = part[part[hue] == name]
            y = np.array([categories.index(c) for c in rows[category]], dtype=float) + offsets[i]
            color = method_color(str(name), i)
            for column, marker, fill in ((ours, OURS_MARKER, color), (paper, PAPER_MARKER, "none")):
                values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
                keep = np.isfinite(values)
                ax.plot(values[keep], y[keep], linestyle="none", marker=marker, markersize=7, color=color,
                        markerfacecolor=fill, label=f"{name} ({'ours' if column == ours else paper_label})")
        values = pd.to_numeric(pd.concat([part[ours], part[paper]]), errors="coerce").dropna()
        if metric in log_metrics and len(values) and (values > 0).all():
            ax.set_xscale("log")
            cap_log_axis(ax, "x", values)
            ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks of a short decade overlap
        ax.set_yticks(range(len(categories)), [str((category_labels or {}).get(c, c)) for c in categories])
        ax.set_ylim(len(categories) - 0.5, -0.5)
        ax.set_xlabel(metric_label(metric) + (" (log)" if ax.get_xscale() == "log" else ""))
        ax.set_title(metric_label(metric), fontsize=10)
    axes.flat[0].set_ylabel(category)
    handles = [Line2D([], [], linestyle="none", marker="s", markersize=8, color=method_color(str(h), i), label=str(h))
               for i, h in enumerate(hues)]
    handles += [Line2D([], [], linestyle="none", marker=OURS_MARKER, color="black", label="ours"),
                Line2D([], [], linestyle="none", marker=PAPER_MARKER, color="black", markerfacecolor="none",
                       label=paper_label)]
    return finish(fig, handles, [h.get_label() for h in handles], ncol=4,
                  title=title or "Ours (filled) beside the paper (hollow)")
