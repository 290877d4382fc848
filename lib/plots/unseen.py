"""Figures of the unseen-data chapter (paper Figs 8, 19-30): trajectories and scores per scenario."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lib.dynamics import Dynamics
from lib.metrics import SCORES
from lib.plots.style import (SCORE_TITLES, book_figure, finish_panels, mark_off_scale, method_linestyle, metric_label,
                             palette, panel_height)


def scenario_trajectories(truth: Mapping[str, Dynamics], predictions: Mapping[tuple[str, str], np.ndarray], *,
                          titles: Mapping[str, str], scenarios: Sequence[str] = ("train", "test", "both"),
                          examples: int = 3, run: int = 0, title: str | None = None) -> plt.Figure:
    """Rows: scenarios; columns: the first `examples` test examples of one simulated run.

    `truth`: scenario -> simulated runs; `predictions`: (method, scenario) -> [runs, steps + 1, tests]; `titles`:
    scenario -> its row title. Ground truth in black, every method that could simulate the scenario in its colour and
    line style (the curriculum-blind reference dashed grey; paper Fig 8).
    """
    scenarios = [s for s in scenarios if s in truth]
    methods = list(dict.fromkeys(m for m, _ in predictions))
    colors = palette(methods)
    n_cols = min(examples, min(truth[s].n_tests for s in scenarios))
    fig, axes = book_figure(len(scenarios), n_cols, height=panel_height(n_cols, 0.7) * len(scenarios) + 1.2,
                            squeeze=False, sharex=True)
    for r, name in enumerate(scenarios):
        runs = truth[name]
        for c in range(n_cols):
            ax = axes[r, c]
            ax.plot(runs.steps, runs.values[run, :, c], color="black", linewidth=2, marker="o", markersize=3,
                    label="ground truth")
            for method in methods:
                prediction = predictions.get((method, name))
                if prediction is not None:
                    ax.plot(runs.steps, prediction[run, :, c], color=colors[method],
                            linestyle=method_linestyle(method), linewidth=1.8, label=method)
            mark_off_scale(ax, runs.values[run, :, c], {m: predictions[(m, name)][run, :, c] for m in methods
                                                       if (m, name) in predictions})
            ax.set_title(f"{titles[name]}\nrun {runs.run_ids[run]}, test {runs.test_ids[c]}", fontsize=9)
            if c == 0:
                ax.set_ylabel(metric_label(runs.metric))
            if r == len(scenarios) - 1:
                ax.set_xlabel("training step")
    legend_from = next(ax for ax in axes[:, 0] if len(ax.get_lines()) == 1 + len(methods)) if any(
        len(ax.get_lines()) == 1 + len(methods) for ax in axes[:, 0]) else axes[0, 0]
    return finish_panels(fig, legend_from, title or "True and simulated trajectories with unseen data")


def scenario_scores(table: pd.DataFrame, refusals: Mapping[tuple[str, str], str], *, order: Sequence[str],
                    title: str) -> plt.Figure:
    """One panel per score: a bar per (scenario, method), scenarios in `order`; a refused (method, scenario) of
    `refusals` is marked "refused"."""
    present = set(table["scenario"]) | {s for _, s in refusals}
    scenarios = [s for s in order if s in present]
    methods = list(dict.fromkeys(list(table["method"]) + [m for m, _ in refusals]))
    colors = palette(methods)
    labels = scenarios
    width = 0.8 / len(methods)
    fig, axes = book_figure(1, len(SCORES), height=3.6)
    for ax, metric in zip(axes, SCORES):
        values = table[table["metric"] == metric].set_index(["method", "scenario"])["value"].astype(float)
        finite = values[np.isfinite(values)]
        top = float(finite.abs().max()) if len(finite) else 1.0
        for k, method in enumerate(methods):
            xs = np.arange(len(scenarios)) + (k - (len(methods) - 1) / 2) * width
            heights = [values.get((method, s), np.nan) for s in scenarios]
            ax.bar(xs, np.nan_to_num(heights), width=width, color=colors[method], label=method)
            for x, s in zip(xs, scenarios):
                if (method, s) in refusals:
                    ax.text(x, 0.03 * top, "refused", rotation=90, ha="center", va="bottom", fontsize=8,
                            color=colors[method])
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(np.arange(len(scenarios)), labels)
        ax.set_xlabel("what is unseen")
        ax.set_title(SCORE_TITLES[metric], fontsize=10)
        ax.set_ylabel(metric_label(metric))
    return finish_panels(fig, axes[0], title)
