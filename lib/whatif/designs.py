"""Designed curricula: the questions a practitioner asks a simulator, laid out as the collector lays out a run.

Every builder draws `subset_size` examples (seeded) from its candidates and lays them out in passes of full
batches (each pass a permutation of the subset, its remainder dropped, as `lib.collect.curricula`) until `steps`
steps are filled, so a design has the same length as the random runs it is compared with (`longer` excepted).
Each returns a `lib.collect.curricula.Curriculum` (subset and [steps, batch] training ids).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Hashable, Mapping, Sequence

import numpy as np

from lib.collect.curricula import Curriculum


@dataclass(frozen=True)
class DesignSettings:
    """A run's layout: `subset_size` examples, `batch_size` per step, `steps` steps; `seed` draws subset and order."""

    subset_size: int
    batch_size: int
    steps: int
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse layouts with no full batch or no step."""
        if self.subset_size < 1 or self.steps < 1:
            raise ValueError(f"subset_size and steps must be >= 1, got {self.subset_size} and {self.steps}")
        if not 1 <= self.batch_size <= self.subset_size:
            raise ValueError(f"batch_size {self.batch_size} must be in 1..{self.subset_size} (the subset size)")

    @classmethod
    def of(cls, curricula: np.ndarray, seed: int = 0) -> "DesignSettings":
        """The layout of recorded runs' curricula [runs, steps, batch]: examples per run, batch size, steps."""
        curricula = np.asarray(curricula)
        if curricula.ndim != 3 or curricula.size == 0:
            raise ValueError(f"curricula must be a non-empty [runs, steps, batch] array, got shape {curricula.shape}")
        subset = max(len(np.unique(run)) for run in curricula)
        return cls(subset_size=subset, batch_size=curricula.shape[2], steps=curricula.shape[1], seed=seed)

    @classmethod
    def of_config(cls, training, seed: int = 0) -> "DesignSettings":
        """The layout a collection config's [training] gives its runs (known before any run is collected)."""
        return cls(subset_size=training.subset_size, batch_size=training.batch_size, steps=training.steps, seed=seed)


def drop_group(pool: Sequence[int], groups: Mapping[int, Hashable], group: Hashable,
               settings: DesignSettings) -> Curriculum:
    """A run without any example of `group` (e.g. every negative review), drawn from the others (all of them when
    fewer than `subset_size` remain: more passes then fill the steps)."""
    missing = [int(i) for i in pool if int(i) not in groups]
    if missing:
        raise ValueError(f"groups has no entry for pool ids {missing[:10]}")
    if group not in set(groups[int(i)] for i in pool):
        raise ValueError(f"no pool example is in group {group!r}; groups present: {sorted(set(map(str, groups.values())))}")
    kept = [int(i) for i in pool if groups[int(i)] != group]
    return shuffled(kept, replace(settings, subset_size=min(settings.subset_size, len(kept))))


def ordered(pool: Sequence[int], difficulty: Mapping[int, float], settings: DesignSettings, *,
            hardest_first: bool = False) -> Curriculum:
    """The same subset as `shuffled(pool, settings)`, every pass sorted by difficulty (easy first unless hardest_first).

    Ties are broken by id; the remainder a pass drops is its hardest examples (its easiest with hardest_first).
    """
    subset = _subset(pool, settings)
    missing = [int(i) for i in subset if int(i) not in difficulty]
    if missing:
        raise ValueError(f"difficulty has no score for ids {missing[:10]}")
    by_score = sorted(subset.tolist(), key=lambda i: (float(difficulty[i]), i), reverse=hardest_first)
    per_pass = _per_pass(settings)
    one_pass = np.asarray(by_score[:per_pass * settings.batch_size], dtype=np.int64).reshape(per_pass, -1)
    return Curriculum(subset=subset, batches=_repeat_to(np.stack([one_pass]), settings.steps))


def repeated(pool: Sequence[int], example: int, count: int, settings: DesignSettings) -> Curriculum:
    """A random run in which `example` appears exactly `count` times, once in each of `count` seeded random steps.

    The other examples are laid out as `shuffled` lays out the pool without `example`; each chosen step gives
    one of its slots (seeded) to `example`.
    """
    if not 1 <= count <= settings.steps:
        raise ValueError(f"count must be in 1..{settings.steps} (the number of steps), got {count}")
    if int(example) not in {int(i) for i in pool}:
        raise ValueError(f"example {example} is not in the pool")
    base = shuffled([int(i) for i in pool if int(i) != int(example)], settings)
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 2]))
    steps = rng.choice(settings.steps, size=count, replace=False)
    batches = base.batches.copy()
    batches[steps, rng.integers(0, settings.batch_size, size=count)] = int(example)
    return Curriculum(subset=np.union1d(base.subset, [int(example)]), batches=batches)


def with_unseen(pool: Sequence[int], unseen: Sequence[int], settings: DesignSettings, *,
                fraction: float = 0.5) -> Curriculum:
    """A random run whose subset is `fraction` unseen examples (never in a training run) and the rest pool examples."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    overlap = sorted({int(i) for i in pool} & {int(i) for i in unseen})
    if overlap:
        raise ValueError(f"unseen ids must not be pool ids; both hold {overlap[:10]}")
    n_unseen = int(round(fraction * settings.subset_size))
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 3]))
    new = _draw(unseen, n_unseen, rng, "unseen ids")
    old = _draw(pool, settings.subset_size - n_unseen, rng, "pool")
    return _layout(np.sort(np.concatenate([new, old])), settings)


def longer(pool: Sequence[int], settings: DesignSettings, factor: int = 2) -> Curriculum:
    """The run `shuffled(pool, settings)` continued to `factor` times as many steps (more passes over its subset)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    return shuffled(pool, replace(settings, steps=settings.steps * factor))


def shuffled(pool: Sequence[int], settings: DesignSettings) -> Curriculum:
    """A random run as the collector draws one: a seeded subset, shuffled anew every pass."""
    return _layout(_subset(pool, settings), settings)


def _subset(pool: Sequence[int], settings: DesignSettings) -> np.ndarray:
    """The seeded, sorted subset of `subset_size` pool ids (independent of the pool's order)."""
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 1]))
    return np.sort(_draw(pool, settings.subset_size, rng, "pool"))


def _draw(ids: Sequence[int], size: int, rng: np.random.Generator, what: str) -> np.ndarray:
    """`size` distinct ids drawn from the sorted unique `ids`, or a ValueError naming how many there are."""
    unique = np.unique(np.asarray(ids, dtype=np.int64))
    if size > len(unique):
        raise ValueError(f"the design needs {size} examples from the {what} but it holds {len(unique)}")
    return rng.choice(unique, size=size, replace=False)


def _layout(subset: np.ndarray, settings: DesignSettings) -> Curriculum:
    """Passes of full batches over `subset`, each a seeded permutation, cut to `settings.steps` steps."""
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 4]))
    per_pass = _per_pass(settings, len(subset))
    passes = -(-settings.steps // per_pass)
    batches = [rng.permutation(subset)[: per_pass * settings.batch_size].reshape(per_pass, -1) for _ in range(passes)]
    return Curriculum(subset=subset, batches=_repeat_to(np.stack(batches), settings.steps))


def _per_pass(settings: DesignSettings, size: int | None = None) -> int:
    """Full batches in one pass over a subset of `size` (default: subset_size) examples."""
    per_pass = (settings.subset_size if size is None else size) // settings.batch_size
    if per_pass < 1:
        raise ValueError(f"a subset of {size} examples holds no full batch of {settings.batch_size}")
    return per_pass


def _repeat_to(passes: np.ndarray, steps: int) -> np.ndarray:
    """[steps, batch] int64: the passes [n, per_pass, batch] one after another (cycled), cut to `steps` steps."""
    flat = passes.reshape(-1, passes.shape[-1])
    return np.resize(flat, (steps, flat.shape[1])).astype(np.int64)
