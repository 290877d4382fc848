"""Display tables: our scores beside the papers' (one row per (task, method), ours and the paper's per score), and
"value (std)" tables of any tidy scores."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from lib.experiments.settings import task_label
from lib.experiments.uncertainty import SHORT_REASONS
from lib.experiments.wording import cell, interval_text, number
from lib.metrics import SCORE_NAMES, SCORES
from lib.paper import beside, paper_rows


def with_paper(ours: pd.DataFrame, *, on: Sequence[str] = ("task", "method", "metric"),
               **paper_filters) -> pd.DataFrame:
    """`lib.paper.beside` of our tidy scores and the paper rows matching `paper_filters` (both restricted to `on`).

    Only the paper rows of methods and tasks that we report are kept, so the table is ours beside theirs.
    """
    on = list(on)
    paper = paper_rows(**paper_filters)
    for column in on:
        if column != "metric":
            paper = paper[paper[column].isin(set(ours[column]))]
    return beside(ours, paper, on=on)


HONEST_SCORES = tuple(SCORES) + ("median_mse", "diverged")
"""The columns of the book's score tables: the papers' three scores, the median MSE and the diverged rollouts."""
COLUMN_NAMES = {**SCORE_NAMES, "median_mse": "MSE median", "diverged": "diverged rollouts"}
WITHHELD = "—"
"""What a table shows for a number withheld (the footnote below the table says why)."""


def sizes_of(scores: pd.DataFrame, column: str = "task") -> dict[str, str]:
    """Per value of `column` of a `comparisons.score_table`, its n as 'runs x tests' (held-out runs x test examples)."""
    first = scores.groupby(column, sort=False)[["runs", "tests"]].first()
    return {key: f"{int(r)} x {int(t)}" for key, (r, t) in first.iterrows()}


def wide_table(table: pd.DataFrame, *, index: Sequence[str] = ("task", "method"),
               metrics: Sequence[str] = HONEST_SCORES, sources: Sequence[str] = ("ours", "paper"),
               task_order: Sequence[str] | None = None,
               method_order: Sequence[str] | None = None, sizes: dict[str, str] | None = None) -> pd.DataFrame:
    """A `with_paper` table as strings 'value (std)', rows `index`, columns (score, source).

    Our missing values read WITHHELD, the paper's are blank; a (score, source) column without any row is dropped.
    `sizes` (task -> 'runs x tests', see `sizes_of`) adds the column ("n", "runs x tests").
    """
    index = list(index)
    frame = table.copy()
    rows = []
    for key, part in frame.groupby(index, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(index, key))
        for metric in metrics:
            hit = part[part["metric"] == metric]
            for source in sources:
                if hit.empty or source not in hit.columns:
                    text = ""
                else:
                    value = hit.iloc[0][source]
                    std = hit.iloc[0].get(f"{source} std", np.nan)
                    text = cell(float(value) if pd.notna(value) else np.nan,
                                float(std) if pd.notna(std) else np.nan, missing=WITHHELD if source == "ours" else "",
                                paper=source == "paper")
                row[(COLUMN_NAMES.get(metric, metric), source)] = text
        if sizes is not None and "task" in row:
            row[("n", "runs x tests")] = sizes.get(row["task"], "")
        rows.append(row)
    wide = pd.DataFrame(rows)
    empty = [c for c in wide.columns if isinstance(c, tuple) and not (wide[c] != "").any()]
    wide = wide.drop(columns=empty)
    if sizes is not None and ("n", "runs x tests") in wide.columns:
        wide = wide[[c for c in wide.columns if c != ("n", "runs x tests")] + [("n", "runs x tests")]]
    ranks = {}
    for column in index:
        if column == "task" and task_order:
            ranked = list(task_order)
        elif column == "method" and method_order:
            ranked = list(method_order)
        else:
            ranked = []
        ranked += [v for v in dict.fromkeys(wide[column]) if v not in ranked]
        if column == "task" and "average" in ranked:
            ranked = [t for t in ranked if t != "average"] + ["average"]
        ranks[f"_{column}"] = wide[column].map({v: i for i, v in enumerate(ranked)})
    wide = wide.assign(**ranks).sort_values(list(ranks), kind="stable").drop(columns=list(ranks))
    if "task" in index:
        wide["task"] = wide["task"].map(task_label)
    wide = wide.set_index(index)
    wide.columns = pd.MultiIndex.from_tuples(wide.columns)
    return wide


def paper_by_size(table: str, *, target: str = "loss", task: str = "average",
                  metrics: Sequence[str] = SCORES) -> pd.DataFrame:
    """The paper's rows of one table at one task (default its Average) for every model size: rows method,
    columns (score, Pythia size such as "410M")."""
    rows = paper_rows(table=table, target=target, task=task)
    rows = rows[rows["metric"].isin(list(metrics))]
    wide = rows.pivot_table(index="method", columns=["metric", "model"], values="value", aggfunc="first", sort=False)
    sizes = sorted(rows["model"].unique(), key=_model_size)
    wide = wide.reindex(columns=pd.MultiIndex.from_product([list(metrics), sizes]))
    wide.columns = pd.MultiIndex.from_tuples([(SCORE_NAMES.get(m, m), s.rsplit("-", 1)[-1].upper())
                                              for m, s in wide.columns])
    return wide


def _model_size(name: str) -> float:
    size = name.rsplit("-", 1)[-1].lower()
    scale = {"m": 1e6, "b": 1e9}.get(size[-1:], 1.0)
    try:
        return float(size[:-1]) * scale
    except ValueError:
        return float("inf")


def values_with_std(table: pd.DataFrame, index: Sequence[str], columns: str = "metric",
                    missing: str = "-") -> pd.DataFrame:
    """A wide display table of "value (std)" cells (the book's number format, `missing` when missing), the columns
    of HONEST_SCORES present, and with columns runs and tests (a `comparisons.score_table`) the n as 'runs x tests'."""
    cells = table.assign(cell=[cell(v, s, missing=missing)
                               for v, s in zip(table["value"], table["std"])])
    wide = cells.pivot_table(index=list(index), columns=columns, values="cell", aggfunc="first", sort=False)
    wide = wide[[m for m in HONEST_SCORES if m in wide.columns]]
    if {"runs", "tests"} <= set(table.columns):
        sizes = table.groupby(list(index), sort=False)[["runs", "tests"]].first()
        wide["n (runs x tests)"] = [f"{int(r)} x {int(t)}" if np.isfinite([r, t]).all() else ""  # a paper's: none
                                    for r, t in sizes.loc[wide.index].to_numpy(dtype=float)]
    return wide


def difference_display(table: pd.DataFrame, *, column: str = "task", task_order: Sequence[str] | None = None
                       ) -> pd.DataFrame:
    """A `comparisons.difference_table` for the page: per (comparison, task) the MSE difference A - B, its 95%
    interval, the verdict on A, its n, the share of flat true trajectories and the diverged rollouts; where
    GPTfluence was refitted, the range of the difference over its fits."""
    order = {t: k for k, t in enumerate(list(task_order or []) + ["average"])}
    frame = table.assign(_rank=table[column].map(lambda t: order.get(t, len(order)))).sort_values(
        ["A", "B", "_rank"], kind="stable")
    shown = pd.DataFrame({
        "comparison": frame["A"] + " vs " + frame["B"],
        column: frame[column].map(task_label),
        "MSE difference A - B": [number(v) if np.isfinite(v) else WITHHELD for v in frame["difference"]],
        "95% interval": [interval_text(lo, hi, missing=WITHHELD) for lo, hi in zip(frame["low"], frame["high"])],
        "verdict on A": [v + (f" ({SHORT_REASONS[r]})" if r else "") for v, r in zip(frame["verdict"], frame["reason"])],
        "n (runs x tests)": [f"{r} x {t}" for r, t in zip(frame["runs"], frame["tests"])],
        "flat truths": [f"{100 * v:.0f}%" for v in frame["flat share"]],
        "diverged (A / B)": [f"{a} / {b}" for a, b in zip(frame["diverged A"], frame["diverged B"])],
    })
    if "fits" in frame.columns:  # GPTfluence refitted with other seeds: how far its seed moves the difference
        shown["difference over GPTfluence's fits"] = [
            f"{int(n)} fits: {number(lo)} to {number(hi)}" if np.isfinite(n) else ""
            for n, lo, hi in zip(frame["fits"], frame["fits low"], frame["fits high"])]
    return shown.set_index(["comparison", column])


def across_runs_display(table: pd.DataFrame, *, column: str = "task") -> pd.DataFrame:
    """A `comparisons.across_runs_table` for the page: per (task, method) the papers' final-step Spearman and the
    LDS, each 'value [low, high]' or WITHHELD, and the n."""
    def shown(row, label):
        if row[f"{label} reason"]:
            return WITHHELD
        return f"{number(row[label])} {interval_text(row[f'{label} low'], row[f'{label} high'])}"
    return pd.DataFrame({
        column: table[column].map(task_label), "method": table["method"],
        "final-step Spearman (within a run)": [shown(r, "Spearman") for _, r in table.iterrows()],
        "LDS (across runs)": [shown(r, "LDS") for _, r in table.iterrows()],
        "n (runs x tests)": [f"{r} x {t}" for r, t in zip(table["runs"], table["tests"])],
    }).set_index([column, "method"])
