"""Display tables: our scores beside the papers' (one row per (task, method), ours and the paper's per score), and
"value (std)" tables of any tidy scores."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from lib.experiments.settings import task_label
from lib.experiments.wording import cell
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


def wide_table(table: pd.DataFrame, *, index: Sequence[str] = ("task", "method"),
               metrics: Sequence[str] = SCORES, sources: Sequence[str] = ("ours", "paper"),
               task_order: Sequence[str] | None = None,
               method_order: Sequence[str] | None = None) -> pd.DataFrame:
    """A `with_paper` table as strings 'value (std)', rows `index`, columns (score, source)."""
    index = list(index)
    frame = table.copy()
    rows = []
    for key, part in frame.groupby(index, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(index, key))
        for metric in metrics:
            hit = part[part["metric"] == metric]
            for source in sources:
                if hit.empty:
                    text = ""
                else:
                    value = hit.iloc[0][source]
                    std = hit.iloc[0].get(f"{source} std", np.nan)
                    text = cell(float(value) if pd.notna(value) else np.nan,
                                float(std) if pd.notna(std) else np.nan)
                row[(SCORE_NAMES.get(metric, metric), source)] = text
        rows.append(row)
    wide = pd.DataFrame(rows)
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


def values_with_std(table: pd.DataFrame, index: Sequence[str], columns: str = "metric") -> pd.DataFrame:
    """A wide display table of "value (std)" cells (the book's number format, "-" when missing)."""
    cells = table.assign(cell=[cell(v, s, missing="-")
                               for v, s in zip(table["value"], table["std"])])
    wide = cells.pivot_table(index=list(index), columns=columns, values="cell", aggfunc="first", sort=False)
    return wide[[m for m in SCORES if m in wide.columns]]
