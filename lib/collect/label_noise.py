"""Label noise for the mislabel experiment (GPTfluence Fig 7): flip a seeded fraction of the pool, undo some.

`[data] flip_fraction = f` flips the label of round(f * pool_size) pool examples of a classification task,
chosen with a RNG seeded by `[data] seed`: the example's `label` becomes the other class and its `target`
that class's label word. `[data] fixed_ids` lists pool ids whose flip is undone (they keep their true label):
the set flipped before fixing depends only on the pool and `flip_fraction`, so a "fixed" collection is the
noisy one with some labels repaired. The ids that remain flipped are `CollectionExamples.flipped` and are
recorded in collection.json (`flipped_ids`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from lib.data import get_task

from .config import ConfigError

FLIP_SEED_SALT = 0x6D69736C  # "misl": keeps the flip draw independent of the data draw using the same seed


def flipped_pool_ids(pool_ids, flip_fraction: float, seed: int) -> np.ndarray:
    """The sorted pool ids flipped by `flip_fraction` (before any fix): round(f * n) drawn without replacement."""
    ids = np.sort(np.asarray(pool_ids, dtype=np.int64))
    n = int(round(flip_fraction * len(ids)))
    rng = np.random.default_rng([FLIP_SEED_SALT, int(seed)])
    return np.sort(rng.choice(ids, size=n, replace=False)) if n else np.empty(0, dtype=np.int64)


def flip_example(example, label_words: tuple[str, ...]):
    """The example with the next class's label (the other one for two classes) and that label word as target."""
    new = (int(example.label) + 1) % len(label_words)
    references = tuple(label_words[new] if r == example.target else r for r in example.references)
    return dataclasses.replace(example, label=new, target=label_words[new], references=references)


def apply_label_noise(examples, data):
    """Flip the pool labels chosen by `data.flip_fraction`, except `data.fixed_ids`; ConfigError on bad fixed ids."""

    pool_ids = {int(e.id) for e in examples.pool}
    outside = sorted(i for i in data.fixed_ids if i not in pool_ids)
    if outside:
        raise ConfigError(f"[data] fixed_ids {outside[:10]} are not pool ids (the pool has {len(pool_ids)} examples)")
    flipped = set(flipped_pool_ids(sorted(pool_ids), data.flip_fraction, data.seed).tolist()) - set(data.fixed_ids)
    words = get_task(data.task).label_words
    pool = tuple(flip_example(e, words) if int(e.id) in flipped else e for e in examples.pool)
    return dataclasses.replace(examples, pool=pool, flipped=tuple(sorted(flipped)))
