"""WebNLG's categories (Airport, Artist, ...): the group a what-if design drops, read from the task's XML files.

A WebNLG example carries no category: its id's row (lib.data.example.split_id) is the position of its <entry> in
the task's source split (train files in sorted path order, rows from SECOND_FILE_OFFSET in the test file), and the
entry's `category` attribute is read from there with the reader lib.data builds the examples with.
"""
from __future__ import annotations

import os
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from lib import paths
from lib.data.example import SECOND_FILE_OFFSET, split_id
from lib.data.readers import read_webnlg_xml
from lib.data.registry import get_task
from lib.data.sources import source_files

TASK = "webnlg"


def webnlg_categories(ids: Iterable[int], data_dir: str | os.PathLike | None = None) -> dict[int, str]:
    """The category of each WebNLG example id (a ValueError names ids of another task or past the files' entries)."""
    index = get_task(TASK).index
    root = paths.data_dir(data_dir).resolve()
    out = {}
    for example_id in ids:
        task_index, row = split_id(int(example_id))
        if task_index != index:
            raise ValueError(f"id {int(example_id)} is no WebNLG example (its task index is {task_index}, WebNLG's {index})")
        split, position = ("train", row) if row < SECOND_FILE_OFFSET else ("test", row - SECOND_FILE_OFFSET)
        categories = _categories(split, root)
        if position >= len(categories):
            raise ValueError(f"id {int(example_id)}: the WebNLG {split} files under {root} hold {len(categories)} "
                             f"entries, not {position + 1}")
        out[int(example_id)] = categories[position]
    return out


@lru_cache(maxsize=4)
def _categories(split: str, root: Path) -> tuple[str, ...]:
    """The category of every <entry> of WebNLG's source `split`, in the order lib.data numbers their rows."""
    return tuple(entry.category for entry in read_webnlg_xml(TASK, source_files(TASK, split, root)))


def dropped_category(pool: Mapping[int, str], test: Mapping[int, str]) -> str:
    """The category a design drops: the one weighing most on both sides, the largest product of its pool and test
    examples (ties: more pool examples, then the name); the pool's largest where no category is on both sides."""
    if not pool:
        raise ValueError("the pool holds no example, so no category can be dropped")
    in_pool, in_test = Counter(pool.values()), Counter(test.values())
    return min(in_pool, key=lambda c: (-in_pool[c] * in_test[c], -in_pool[c], c))
