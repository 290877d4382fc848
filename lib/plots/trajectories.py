"""Predicted vs true trajectories of chosen test examples in a held-out run (papers' Figures 2, 10-18)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np

from lib.dynamics import Dynamics
from lib.plots.style import book_figure, finish, mark_off_scale, method_color, method_linestyle, metric_label, panel_height


@dataclass(frozen=True)
class TrajectoryPanel:
    """One panel: test example `test_id` of held-out run `run` (an index into truth's runs), with a title."""

    truth: Dynamics
    predictions: Mapping[str, np.ndarray]
    test_id: int
    run: int = 0
    title: str = ""


def plot_trajectories(truth: Dynamics, predictions: Mapping[str, np.ndarray], test_ids: Sequence[int], *,
                      run: int = 0, methods: Sequence[str] | None = None,
                      labels: Mapping[int, str] | None = None, ncols: int = 4, title: str | None = None) -> plt.Figure:
    """One panel per test example of one held-out run: the true trajectory (black dots) and each method's rollout.

    truth: the held-out runs; predictions: method -> array shaped like truth.values; run: index into
    truth's runs; labels: optional text per test id shown in its panel title (e.g. its task).
    """
    if not test_ids:
        raise ValueError("test_ids must name at least one test example")
    panels = [TrajectoryPanel(truth, predictions, int(t), run,
                              f"test {t}" + (f" ({labels[int(t)]})" if labels and int(t) in labels else ""))
              for t in test_ids]
    run_id = int(truth.run_ids[run]) if 0 <= run < truth.n_runs else run
    return plot_trajectory_panels(panels, methods=methods, ncols=ncols,
                                  title=title or f"Simulated vs true {metric_label(truth.metric)}, "
                                                 f"held-out run {run_id}")


def plot_trajectory_panels(panels: Sequence[TrajectoryPanel], *, methods: Sequence[str] | None = None,
                           ncols: int = 4, title: str = "Simulated vs true trajectories") -> plt.Figure:
    """Panels from possibly different collections or metrics; exactly len(panels) axes, one shared legend.

    Methods are the `methods` given (default: those of the first panel), drawn in every panel that has them.
    """
    if not panels:
        raise ValueError("panels must hold at least one TrajectoryPanel")
    methods = list(panels[0].predictions) if methods is None else list(methods)
    for p in panels:
        unknown = [m for m in methods if m not in p.predictions]
        if unknown:
            raise ValueError(f"no predictions for {unknown} in panel {p.title!r}; have {list(p.predictions)}")
        if not 0 <= p.run < p.truth.n_runs:
            raise ValueError(f"run {p.run} out of range for {p.truth.n_runs} held-out runs")
        if int(p.test_id) not in set(p.truth.test_ids.tolist()):
            raise ValueError(f"unknown test id {p.test_id}")
    n = len(panels)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = book_figure(nrows, ncols, height=panel_height(ncols) * nrows + 1.1, squeeze=False)
    for k, p in enumerate(panels):
        ax = axes.flat[k]
        column = int(np.flatnonzero(p.truth.test_ids == int(p.test_id))[0])
        steps = p.truth.steps
        ax.plot(steps, p.truth.values[p.run, :, column], color="black", marker="o", markersize=3, linewidth=0.8,
                label="ground truth", zorder=3)
        for i, method in enumerate(methods):
            ax.plot(steps, p.predictions[method][p.run, :, column], color=method_color(method, i),
                    linestyle=method_linestyle(method), linewidth=1.6, label=method)
        mark_off_scale(ax, p.truth.values[p.run, :, column], {m: p.predictions[m][p.run, :, column] for m in methods})
        ax.set_title(p.title or f"test {p.test_id}", fontsize=10)
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric_label(p.truth.metric))
    for ax in list(axes.flat)[n:]:
        fig.delaxes(ax)
    handles, names = axes.flat[0].get_legend_handles_labels()
    return finish(fig, handles, names, ncol=5, title=title)
