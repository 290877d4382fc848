"""Figures of the unseen-data chapter (paper Figs 8, 19-30): trajectories and scores per scenario."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lib.experiments.unseen import SCENARIO_TITLES, UnseenResult
from lib.plots.ablations import METRIC_LABELS, METRIC_TITLES, METRICS, _finish, _palette
from lib.plots.style import metric_label


def scenario_trajectories(result: UnseenResult, *, scenarios: Sequence[str] = ("train", "test", "both"),
                          examples: int = 3, run: int = 0, title: str | None = None) -> plt.Figure:
    """Rows: scenarios; columns: the first `examples` test examples of one simulated run.

    Ground truth in black, every method that could simulate the scenario in its colour (paper Fig 8).
    """
    scenarios = [s for s in scenarios if s in result.truth]
    methods = list(dict.fromkeys(m for m, _ in result.predictions))
    palette = _palette(methods)
    n_cols = min(examples, min(result.truth[s].n_tests for s in scenarios))
    fig, axes = plt.subplots(len(scenarios), n_cols, figsize=(3.6 * n_cols, 2.5 * len(scenarios) + 0.8),
                             squeeze=False, sharex=True)
    for r, name in enumerate(scenarios):
        truth = result.truth[name]
        for c in range(n_cols):
            ax = axes[r, c]
            ax.plot(truth.steps, truth.values[run, :, c], color="black", linewidth=2, marker="o", markersize=3,
                    label="ground truth")
            for method in methods:
                prediction = result.predictions.get((method, name))
                if prediction is not None:
                    ax.plot(truth.steps, prediction[run, :, c], color=palette[method], linestyle="--",
                            linewidth=1.8, label=method)
            ax.set_title(f"{SCENARIO_TITLES[name]}\nrun {truth.run_ids[run]}, test {truth.test_ids[c]}", fontsize=9)
            if c == 0:
                ax.set_ylabel(metric_label(truth.metric))
            if r == len(scenarios) - 1:
                ax.set_xlabel("training step")
    legend_from = next(ax for ax in axes[:, 0] if len(ax.get_lines()) == 1 + len(methods)) if any(
        len(ax.get_lines()) == 1 + len(methods) for ax in axes[:, 0]) else axes[0, 0]
    return _finish(fig, legend_from, title or "True and simulated trajectories with unseen data")


def scenario_scores(table: pd.DataFrame, refusals: dict, *, title: str) -> plt.Figure:
    """One panel per metric: a bar per (scenario, method); a refused (method, scenario) is marked "refused"."""
    present = set(table["scenario"]) | {s for _, s in refusals}
    scenarios = [s for s in SCENARIO_TITLES if s in present]
    methods = list(dict.fromkeys(list(table["method"]) + [m for m, _ in refusals]))
    palette = _palette(methods)
    labels = scenarios
    width = 0.8 / len(methods)
    fig, axes = plt.subplots(1, len(METRICS), figsize=(11, 4.0))
    for ax, metric in zip(axes, METRICS):
        values = table[table["metric"] == metric].set_index(["method", "scenario"])["value"]
        finite = values[np.isfinite(values)]
        top = float(finite.abs().max()) if len(finite) else 1.0
        for k, method in enumerate(methods):
            xs = np.arange(len(scenarios)) + (k - (len(methods) - 1) / 2) * width
            heights = [values.get((method, s), np.nan) for s in scenarios]
            ax.bar(xs, np.nan_to_num(heights), width=width, color=palette[method], label=method)
            for x, s in zip(xs, scenarios):
                if (method, s) in refusals:
                    ax.text(x, 0.03 * top, "refused", rotation=90, ha="center", va="bottom", fontsize=8,
                            color=palette[method])
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(np.arange(len(scenarios)), labels)
        ax.set_xlabel("what is unseen")
        ax.set_title(METRIC_TITLES[metric], fontsize=10)
        ax.set_ylabel(METRIC_LABELS[metric])
    return _finish(fig, axes[0], title)
