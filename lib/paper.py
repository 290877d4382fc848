"""The papers' published numbers (data/reference/paper_tables.csv, copied from shared/reference), and
tables that put ours beside them."""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from lib.paths import REPO_ROOT

PAPER_TABLES = REPO_ROOT / "data" / "reference" / "paper_tables.csv"
COLUMNS = ("source", "table", "regime", "model", "task", "target", "method", "setting", "metric", "value", "std")


@lru_cache(maxsize=1)
def _all_rows() -> pd.DataFrame:
    frame = pd.read_csv(PAPER_TABLES, dtype={"table": str, "setting": str}, keep_default_na=False,
                        na_values={"value": [""], "std": [""]})
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{PAPER_TABLES}: missing columns {sorted(missing)}")
    return frame


def paper_rows(**filters) -> pd.DataFrame:
    """Rows of the papers' tables matching every filter (a value or a list of values per column)."""
    frame = _all_rows()
    for column, wanted in filters.items():
        if column not in frame.columns:
            raise ValueError(f"unknown paper-table column {column!r}; columns: {', '.join(frame.columns)}")
        values = [str(v) for v in wanted] if isinstance(wanted, (list, tuple, set)) else [str(wanted)]
        frame = frame[frame[column].astype(str).isin(values)]
    if frame.empty:
        raise ValueError(f"no paper-table rows match {filters}")
    return frame.reset_index(drop=True)


def beside(ours: pd.DataFrame, paper: pd.DataFrame, on: list[str], ours_label: str = "ours",
           paper_label: str = "paper") -> pd.DataFrame:
    """One table with our value (std) and the paper's value (std) side by side, joined on `on` columns."""
    left = ours[on + ["value", "std"]].rename(columns={"value": f"{ours_label}", "std": f"{ours_label} std"})
    right = paper[on + ["value", "std"]].rename(columns={"value": f"{paper_label}", "std": f"{paper_label} std"})
    return left.merge(right, on=on, how="outer").sort_values(on).reset_index(drop=True)
