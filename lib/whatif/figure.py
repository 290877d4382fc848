"""The figure of a what-if table: each test example's simulated trajectory, one line style per curriculum."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from lib.plots.style import book_figure, metric_label

LINESTYLES = ("-", "--", ":", "-.")


def plot_whatif(table: pd.DataFrame, *, metric: str = "loss", test_ids: Sequence[int] | None = None,
                title: str = "Simulated trajectories") -> plt.Figure:
    """Value against step for each test example of `table` (simulate_curriculum's columns, plus an optional
    `curriculum` column naming the design of each row: one line style per design, one colour per test example)."""
    missing = sorted({"step", "test_id", "value"} - set(table.columns))
    if missing:
        raise ValueError(f"table lacks columns {missing}; it needs step, test_id, value (simulate_curriculum's table)")
    shown = list(dict.fromkeys(table["test_id"])) if test_ids is None else [int(t) for t in test_ids]
    absent = sorted(set(shown) - set(table["test_id"]))
    if absent:
        raise ValueError(f"test ids {absent[:10]} are not in the table")
    designs = list(dict.fromkeys(table["curriculum"])) if "curriculum" in table else [None]
    fig, ax = book_figure(height=3.5)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for d, design in enumerate(designs):
        rows = table if design is None else table[table["curriculum"] == design]
        for k, test_id in enumerate(shown):
            line = rows[rows["test_id"] == test_id].sort_values("step")
            label = f"test {test_id}" + ("" if design is None else f", {design}")
            ax.plot(line["step"], line["value"], LINESTYLES[d % len(LINESTYLES)], color=colors[k % len(colors)],
                    label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel(metric_label(metric))
    ax.set_title(title)
    ax.legend(fontsize="small", ncol=max(1, len(designs)), frameon=False)
    fig.tight_layout()
    return fig
