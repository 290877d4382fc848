"""What the recorded runs look like: trajectories of test examples across runs, and the spread between runs."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
from matplotlib.lines import Line2D

from lib.dynamics import Dynamics
from lib.plots.shown import pick_test_examples
from lib.plots.style import SPLIT_COLORS, book_figure, finish, metric_label, panel_height, panel_title


def plot_runs_of_tests(dyn: Dynamics, test_ids: Sequence[int], *, labels: Mapping[int, str] | None = None,
                       ncols: int = 4, title: str | None = None) -> plt.Figure:
    """One panel per test example, one line per run coloured by the run's split (train / val / test)."""
    if not test_ids:
        raise ValueError("test_ids must name at least one test example")
    position = {int(t): k for k, t in enumerate(dyn.test_ids)}
    missing = [int(t) for t in test_ids if int(t) not in position]
    if missing:
        raise ValueError(f"unknown test ids {missing}")
    n = len(test_ids)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = book_figure(nrows, ncols, height=panel_height(ncols) * nrows + 1.0, squeeze=False)
    for k, test_id in enumerate(test_ids):
        ax = axes.flat[k]
        for r in range(dyn.n_runs):
            split = str(dyn.split[r])
            ax.plot(dyn.steps, dyn.values[r, :, position[int(test_id)]], color=SPLIT_COLORS.get(split, "grey"),
                    linewidth=1.0, alpha=0.8)
        name = labels.get(int(test_id), "") if labels else ""
        ax.set_title(f"test {test_id}" + (f" ({name})" if name else ""), fontsize=10)
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if k % ncols == 0:
            ax.set_ylabel(metric_label(dyn.metric))
    for ax in list(axes.flat)[n:]:
        fig.delaxes(ax)
    present = [s for s in SPLIT_COLORS if np.any(dyn.split == s)]
    handles = [Line2D([], [], color=SPLIT_COLORS[s], label=f"{s} runs") for s in present]
    return finish(fig, handles, [h.get_label() for h in handles], ncol=len(handles),
                  title=title or f"{metric_label(dyn.metric)} of single test examples, one line per run")


def plot_picked_runs(dyn: Dynamics, k: int, *, groups: Mapping[str, Sequence[int]] | None = None, ncols: int = 4,
                     title: str | None = None) -> plt.Figure:
    """`plot_runs_of_tests` of k test examples chosen by `pick_test_examples`: from the flattest to the steepest, or
    with `groups` (panel label -> test ids) one group at a time, each panel labelled by its group."""
    shown = pick_test_examples(dyn, k, groups=groups)
    labels = {int(t): label for label, ids in (groups or {}).items() for t in ids if int(t) in shown}
    return plot_runs_of_tests(dyn, shown, labels=labels or None, ncols=ncols, title=title)


def plot_run_spread(collections: Mapping[str, Dynamics], *, ncols: int = 3, title: str | None = None) -> plt.Figure:
    """One panel per collection: the mean over test examples per run (a line per run, coloured by split).

    The band is the min-max range across runs of that mean; how far the lines part is what a
    simulator must explain from the curricula.
    """
    if not collections:
        raise ValueError("collections must hold at least one Dynamics")
    n = len(collections)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = book_figure(nrows, ncols, height=panel_height(ncols) * nrows + 1.0, squeeze=False)
    for k, (name, dyn) in enumerate(collections.items()):
        ax = axes.flat[k]
        mean = dyn.values.mean(axis=2)  # [runs, steps + 1]
        ax.fill_between(dyn.steps, mean.min(axis=0), mean.max(axis=0), color="#dddddd", label="range across runs")
        for r in range(dyn.n_runs):
            ax.plot(dyn.steps, mean[r], color=SPLIT_COLORS.get(str(dyn.split[r]), "grey"), linewidth=1.0)
        panel_title(ax, name, ncols)
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"mean {metric_label(dyn.metric)}")
    for ax in list(axes.flat)[n:]:
        fig.delaxes(ax)
    splits = [s for s in SPLIT_COLORS if any(np.any(d.split == s) for d in collections.values())]
    handles = [Line2D([], [], color=SPLIT_COLORS[s], label=f"{s} runs") for s in splits]
    handles.append(plt.Rectangle((0, 0), 1, 1, color="#dddddd", label="range across runs"))
    return finish(fig, handles, [h.get_label() for h in handles], ncol=len(handles),
                  title=title or "Mean over test examples, per run")
