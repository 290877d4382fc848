"""Seeded, disjoint pool/test/unseen draws for one task, and the FLAN-style instruction mixture over several tasks."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Iterable

from .errors import DataError
from .example import Example
from .loading import load_examples, load_records
from .registry import TASK_NAMES, get_task
from .templates import check_style


@dataclass
class TaskSplits:
    """A training pool, held-out test examples and an extra unseen pool, pairwise disjoint by id and by source text."""

    task: str  # task name, or "mixture"
    pool: list[Example]
    test: list[Example]
    unseen: list[Example]


@dataclass(frozen=True)
class _Source:
    """A source split as parallel lists: rendered examples, normalised source texts and class indices."""

    examples: list[Example]
    keys: list[str]
    labels: list[int | None]


def _rng(task: str, seed: int, phase: str) -> random.Random:
    """A generator seeded by a string (sha512-based in CPython, so stable across runs and PYTHONHASHSEED)."""
    return random.Random(f"{task}|{seed}|{phase}")


def _source(task: str, split: str, style: str, data_dir) -> _Source:
    """The examples of a source split with the keys and labels of their Records (both cached by the loader)."""
    records = load_records(task, split, data_dir=data_dir)
    examples = load_examples(task, split, style=style, data_dir=data_dir)
    assert len(records) == len(examples)
    return _Source(examples, [r.key for r in records], [r.label for r in records])


def _quotas(size: int, num_labels: int) -> list[int]:
    """Per-label counts for a balanced draw of `size`: as equal as possible, the remainder to the lowest labels."""
    base, rem = divmod(size, num_labels)
    return [base + (1 if i < rem else 0) for i in range(num_labels)]


def _draw(src: _Source, order: list[int], size: int, used: set[str], num_labels: int, balanced: bool) -> list[Example]:
    """Take `size` examples with unused source text, walking `order`, label-balanced when possible; marks them used."""
    chosen: list[int] = []  # positions in `order`
    if balanced and num_labels:
        quota = _quotas(size, num_labels)
        for pos, i in enumerate(order):
            if len(chosen) == size:
                break
            key, label = src.keys[i], src.labels[i]
            if key not in used and quota[label] > 0:
                quota[label] -= 1
                chosen.append(pos)
                used.add(key)
    for pos, i in enumerate(order):  # fill up: all of it when unbalanced, the shortfall of an exhausted label otherwise
        if len(chosen) == size:
            break
        if src.keys[i] not in used:
            chosen.append(pos)
            used.add(src.keys[i])
    return [src.examples[order[pos]] for pos in sorted(chosen)]


def _check_size(name: str, value: int) -> int:
    """`value` if it is a non-negative int, else DataError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def draw_splits(
    task: str,
    *,
    pool_size: int,
    test_size: int,
    unseen_size: int = 0,
    seed: int = 0,
    style: str = "plain",
    balanced: bool = True,
    data_dir: str | os.PathLike | None = None,
    unseen_avoids: Iterable[int] = (),
) -> TaskSplits:
    """Draw a pool and an unseen pool from the train source split and a test set from the test source split.

    Deterministic per (task, seed) and independent of `style` (plain and flan pick the same ids); the test draw does
    not depend on the pool sizes. Train examples whose source text also occurs in the test source split are never
    drawn, and each source text is drawn at most once (SST-2 repeats short phrases). With balanced=True each of
    pool/test/unseen gets equal counts per label (remainder to the lowest label indices), topped up from the other
    labels when one runs out. Each list is in a seeded random order. The unseen pool skips the training examples whose
    ids are in `unseen_avoids` (e.g. a warm-up set drawn beside the pool); the pool and the test set never depend on
    it or on `unseen_size`.
    """
    spec = get_task(task)
    check_style(task, style)
    for name, value in (("pool_size", pool_size), ("test_size", test_size), ("unseen_size", unseen_size)):
        _check_size(f"{task}: {name}", value)
    test_src, train_src = _source(task, "test", style, data_dir), _source(task, "train", style, data_dir)
    test_keys = set(test_src.keys)
    test_order = list(range(len(test_src.keys)))
    train_order = [i for i, key in enumerate(train_src.keys) if key not in test_keys]
    n_test, n_train = len(test_keys), len({train_src.keys[i] for i in train_order})
    if test_size > n_test:
        raise DataError(
            f"{task}: requested test_size={test_size}, but the test source split has only {n_test} distinct examples"
        )
    if pool_size + unseen_size > n_train:
        raise DataError(
            f"{task}: requested pool_size={pool_size} + unseen_size={unseen_size} = {pool_size + unseen_size} training "
            f"examples, but the train source split has only {n_train} distinct ones not in the test split"
        )
    _rng(task, seed, "test").shuffle(test_order)
    _rng(task, seed, "train").shuffle(train_order)
    test = _draw(test_src, test_order, test_size, set(), spec.num_labels, balanced)
    used: set[str] = set()
    pool = _draw(train_src, train_order, pool_size, used, spec.num_labels, balanced)
    avoid = {int(i) for i in unseen_avoids}
    used |= {key for key, example in zip(train_src.keys, train_src.examples) if int(example.id) in avoid}
    unseen = _draw(train_src, train_order, unseen_size, used, spec.num_labels, balanced)
    if len(unseen) < unseen_size:
        raise DataError(f"{task}: only {len(unseen)} training examples are left for unseen_size={unseen_size} besides "
                        f"the pool and the {len(avoid)} examples the unseen pool avoids")
    return TaskSplits(task=task, pool=pool, test=test, unseen=unseen)


def _even(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal sizes, the remainder going to the first parts."""
    base, rem = divmod(total, parts)
    return [base + (1 if i < rem else 0) for i in range(parts)]


def instruction_mixture(
    *,
    pool_size: int,
    test_size: int,
    unseen_size: int = 0,
    seed: int = 0,
    tasks: Iterable[str] = TASK_NAMES,
    data_dir: str | os.PathLike | None = None,
    unseen_avoids: Iterable[int] = (),
) -> TaskSplits:
    """FLAN-style instruction-tuning mixture: balanced per-task draws in style "flan", sizes split evenly, shuffled
    (`unseen_avoids` as in `draw_splits`)."""
    tasks = tuple(tasks)
    if not tasks:
        raise DataError("mixture: tasks must name at least one task")
    if len(set(tasks)) != len(tasks):
        raise DataError(f"mixture: tasks must not repeat, got {tasks}")
    for t in tasks:
        get_task(t)
    for name, value in (("pool_size", pool_size), ("test_size", test_size), ("unseen_size", unseen_size)):
        _check_size(f"mixture: {name}", value)
    n = len(tasks)
    sizes = zip(tasks, _even(pool_size, n), _even(test_size, n), _even(unseen_size, n), strict=True)
    parts = [
        draw_splits(
            t, pool_size=p, test_size=q, unseen_size=u, seed=seed, style="flan", balanced=True, data_dir=data_dir,
            unseen_avoids=unseen_avoids,
        )
        for t, p, q, u in sizes
    ]
    merged = {}
    for which in ("pool", "test", "unseen"):
        examples = [ex for part in parts for ex in getattr(part, which)]
        _rng("mixture", seed, which).shuffle(examples)
        merged[which] = examples
    return TaskSplits(task="mixture", **merged)
