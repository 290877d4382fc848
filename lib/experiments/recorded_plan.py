"""The retraining plan the stored mislabel retrainings were trained for, kept beside them (`plan.json`).

A ranking's fixed sets (which flipped labels the top fraction repairs) come from scores; GPTfluence's come from a
fitted simulator, whose last bits, and with them a few ranks near a fraction's cut, change with the CPU's
instruction set. Retraining is hours of CPU, so the chapter does not retrain whenever a fit moves: it follows the
recorded plan for every (ranking, seed, fraction, retraining seed) the plan holds, says how far today's sets are
from it (`drift`), and plans afresh only what the record lacks.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from lib.collect.folder import read_json, write_json_atomic
from lib.experiments.wording import join_words

PLAN_FILE = "plan.json"
KEY = ["ranking", "seed", "fraction", "retrain_seed"]
"""A plan row's identity."""
RECORDED = ["checked", "found", "fraction_found", "fixed", "folder"]
"""What a plan row records besides its key (its config is rebuilt from `fixed`)."""


def read_plan(folder: str | os.PathLike) -> pd.DataFrame | None:
    """The recorded plan of the retraining store `folder` (None where none is recorded)."""
    path = Path(folder) / PLAN_FILE
    if not path.is_file():
        return None
    rows = read_json(path)["rows"]
    return pd.DataFrame([{**r, "fixed": tuple(int(i) for i in r["fixed"])} for r in rows], columns=KEY + RECORDED)


def write_plan(folder: str | os.PathLike, plan: pd.DataFrame) -> bool:
    """Record `plan` (its KEY and RECORDED columns) in `folder`, atomically; the file is rewritten only when its content
    changes (a committed plan stays untouched). Returns whether it was written."""
    rows = [{**{k: _plain(r[k]) for k in KEY + RECORDED}, "fixed": [int(i) for i in r["fixed"]]}
            for r in plan.sort_values(KEY, kind="stable").to_dict("records")]
    path = Path(folder) / PLAN_FILE
    if path.is_file() and read_json(path) == {"rows": rows}:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"rows": rows})
    return True


def _plain(value):
    """A JSON-ready scalar (numpy numbers as Python ones)."""
    return value.item() if hasattr(value, "item") else value


def follow_recorded(fresh: pd.DataFrame, recorded: pd.DataFrame | None,
                    config_for: Callable[[Sequence[int]], object]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(plan, drift). plan: `fresh` with every row whose KEY the record holds taken from the record (its fixed set,
    counts and retraining config, `config_for(fixed)`), the others as planned now. drift: per (ranking, seed,
    fraction) whose fixed set today differs from the recorded one, both sizes and their Jaccard overlap."""
    columns = ["ranking", "seed", "fraction", "recorded", "today", "jaccard"]
    if recorded is None or recorded.empty:
        return fresh, pd.DataFrame(columns=columns)
    record = {tuple(r[k] for k in KEY): r for r in recorded.to_dict("records")}
    rows, drift = [], []
    for row in fresh.to_dict("records"):
        old = record.get(tuple(row[k] for k in KEY))
        if old is not None and tuple(old["fixed"]) != tuple(row["fixed"]):
            if row["retrain_seed"] == 0:  # once per set, not per retraining seed
                a, b = set(old["fixed"]), set(row["fixed"])
                drift.append({"ranking": row["ranking"], "seed": row["seed"], "fraction": row["fraction"],
                              "recorded": len(a), "today": len(b), "jaccard": len(a & b) / max(1, len(a | b))})
            row = {**row, **{k: old[k] for k in RECORDED}, "fixed": tuple(old["fixed"]),
                   "config": config_for(old["fixed"])}
        rows.append(row)
    return pd.DataFrame(rows, columns=fresh.columns), pd.DataFrame(drift, columns=columns)


def drift_sentence(drift: pd.DataFrame) -> str:
    """The drift in words for the page ('' when today's sets are the recorded ones)."""
    if drift.empty:
        return ""
    rankings = join_words(list(dict.fromkeys(drift["ranking"])))
    return (f"On this machine, the rankings {rankings} would fix other sets than the ones the stored retrainings were "
            f"trained for, at {len(drift)} fractions checked (overlap of today's set and the recorded one, Jaccard "
            f"{drift['jaccard'].min():.2f} to {drift['jaccard'].max():.2f}): a GPTfluence fit's last bits change with "
            f"the CPU, and with them a few examples near a fraction's cut. The figure and the tables of this section "
            f"use the recorded sets and their retrainings; the detection table below ranks by today's scores.")
