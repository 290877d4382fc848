"""The command line's input files: a curriculum (CSV or JSONL, ids and / or texts) and initial values (CSV)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

CURRICULUM_FORMATS = """\
curriculum files:
  CSV   header `step,id,text` (either id or text may be absent): one row per example of a step's batch, rows of a
        step in batch order, steps in ascending order of `step`; a row gives a training id, or a text when its id
        is empty. Every step holds the same number of rows.
  JSONL one line per step, in order: a JSON list of the batch's items, each a training id (integer) or a text
        (string), e.g. [12, 40, "a review the runs never saw"].
  A text equal to a training text of the fitted runs stands for that example; any other text is unseen.
initial values (--initial): CSV `test_id,value`, one row per test example (a Markov order n simulator: n rows per
  test example, y_0 first); without it, each fitted test example starts at the fitted runs' mean."""


def read_curriculum(path: str | os.PathLike) -> list[list[int | str]]:
    """One list per step of training ids (int) and texts (str), from a .csv or .jsonl file (CURRICULUM_FORMATS)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        steps = []
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            step = json.loads(line)
            if not isinstance(step, list) or any(isinstance(i, (bool, float)) or not isinstance(i, (int, str))
                                                 for i in step):
                raise ValueError(f"{path}:{n}: each line must be a JSON list of ids (integers) and texts, got {line[:80]}")
            steps.append(step)
        return steps
    if path.suffix == ".csv":
        table = pd.read_csv(path, dtype={"text": str}, keep_default_na=False)
        if "step" not in table or not {"id", "text"} & set(table.columns):
            raise ValueError(f"{path}: a curriculum CSV needs a `step` column and an `id` and / or `text` column, "
                             f"got {list(table.columns)}")
        items = [_item(row, path) for row in table.itertuples(index=False)]
        order = np.argsort(table["step"].to_numpy(), kind="stable")
        steps: dict[int, list[int | str]] = {}
        for i in order:
            steps.setdefault(int(table["step"].iloc[i]), []).append(items[i])
        return list(steps.values())
    raise ValueError(f"{path}: a curriculum file must end in .csv or .jsonl")


def read_initial(path: str | os.PathLike) -> dict[int, list[float]]:
    """Test id -> its initial value(s), in file order, from a CSV with columns test_id, value."""
    table = pd.read_csv(path)
    if not {"test_id", "value"} <= set(table.columns):
        raise ValueError(f"{path}: initial values need columns test_id and value, got {list(table.columns)}")
    out: dict[int, list[float]] = {}
    for test_id, value in zip(table["test_id"], table["value"]):
        out.setdefault(int(test_id), []).append(float(value))
    return out


def _item(row, path: Path) -> int | str:
    """A CSV row's training id, or its text when the id is empty."""
    values = row._asdict()
    raw = str(values.get("id", "")).strip()
    if raw:
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not number.is_integer():
            raise ValueError(f"{path}: id {raw!r} is not an integer training id (put texts in the `text` column)")
        return int(number)
    text = values.get("text", "")
    if not text:
        raise ValueError(f"{path}: step {values['step']} has a row with neither an id nor a text")
    return text

