"""The examples of a collection: training pool, held-out test set, unseen pool and warm-up set, drawn once from lib.data."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lib.data import DataError, draw_splits, instruction_mixture

from .config import MIXTURE, CollectionConfig, ConfigError
from .label_noise import apply_label_noise


@dataclass(frozen=True)
class CollectionExamples:
    """Pool, test and unseen examples (lib.data Examples) of one collection."""

    pool: tuple
    test: tuple
    unseen: tuple
    flipped: tuple = ()  # pool ids whose label was flipped ([data] flip_fraction) and not fixed ([data] fixed_ids)
    warmup: tuple = ()  # the format warm-start's examples ([warmup]), disjoint from the others

    @property
    def pool_ids(self) -> np.ndarray:
        """Ids of the training pool."""
        return np.array([int(e.id) for e in self.pool], dtype=np.int64)

    @property
    def unseen_ids(self) -> np.ndarray:
        """Ids of the unseen training pool."""
        return np.array([int(e.id) for e in self.unseen], dtype=np.int64)

    @property
    def test_ids(self) -> np.ndarray:
        """Ids of the test examples, in recording order."""
        return np.array([int(e.id) for e in self.test], dtype=np.int64)

    def by_id(self) -> dict[int, object]:
        """Every example keyed by id."""
        return {int(e.id): e for e in (*self.pool, *self.test, *self.unseen, *self.warmup)}

    def rows(self) -> list[dict]:
        """One plain dict per example with its role ("pool" | "test" | "unseen" | "warmup"), for examples.parquet."""
        out = []
        for role, items in (("pool", self.pool), ("test", self.test), ("unseen", self.unseen), ("warmup", self.warmup)):
            for e in items:
                out.append({"id": int(e.id), "role": role, "task": e.task, "prompt": e.prompt, "target": e.target,
                            "text": e.text, "label": None if e.label is None else int(e.label),
                            "references": [str(r) for r in e.references]})
        return out

    def fingerprint(self) -> str:
        """sha256 of all example rows: changes when the underlying data or the draw changes."""
        text = json.dumps(self.rows(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


WARMUP_DRAW_SEED = 1_000_003  # offsets the data seed: the warm-up draw is independent of the collection's draw


def draw_warmup(config: CollectionConfig, taken: Sequence) -> tuple:
    """`[warmup] examples` examples of the task, none of them (by id or text) among `taken` (pool, test, unseen)."""
    d, w = config.data, config.warmup
    ids, texts = {int(e.id) for e in taken}, {e.text for e in taken}
    want = w.examples + len(taken)
    seed = WARMUP_DRAW_SEED + d.seed * 1000 + w.seed
    try:
        if d.task == MIXTURE:
            candidates = instruction_mixture(pool_size=want, test_size=0, seed=seed, data_dir=config.runtime.data_dir)
        else:
            candidates = draw_splits(d.task, pool_size=want, test_size=0, seed=seed, style=d.style,
                                     balanced=d.balanced, data_dir=config.runtime.data_dir)
    except DataError as err:
        raise ConfigError(f"[warmup] examples = {w.examples}: cannot draw them besides the collection's ({err})") from None
    chosen = [e for e in candidates.pool if int(e.id) not in ids and e.text not in texts][: w.examples]
    if len(chosen) < w.examples:
        raise ConfigError(f"[warmup] examples = {w.examples}: only {len(chosen)} training examples are disjoint "
                          "from the collection's pool, test and unseen examples")
    return tuple(chosen)


def _draw_splits(config: CollectionConfig, unseen_size: int, unseen_avoids: Sequence = ()):
    """lib.data's draw of the collection's pool, test set and an unseen pool of `unseen_size` avoiding the examples
    `unseen_avoids`; DataError becomes ConfigError."""
    d = config.data
    avoid = [int(e.id) for e in unseen_avoids]
    try:
        if d.task == MIXTURE:
            return instruction_mixture(pool_size=d.pool_size, test_size=d.test_size, unseen_size=unseen_size,
                                       seed=d.seed, data_dir=config.runtime.data_dir, unseen_avoids=avoid)
        return draw_splits(d.task, pool_size=d.pool_size, test_size=d.test_size, unseen_size=unseen_size, seed=d.seed,
                           style=d.style, balanced=d.balanced, data_dir=config.runtime.data_dir, unseen_avoids=avoid)
    except DataError as err:
        raise ConfigError(f"[data] cannot draw the examples: {err}") from None


def draw_examples(config: CollectionConfig) -> CollectionExamples:
    """Draw the collection's splits with lib.data (deterministic for the config).

    The warm-up set is disjoint from every other example. By default it is drawn after the unseen pool, avoiding it;
    with [data] unseen_avoids_warmup it is drawn beside the pool and test set only, as a collection without an unseen
    pool draws it, and the unseen pool avoids it instead, so that such a collection's seen-pool runs are those of its
    sibling without an unseen pool (lib/collect/reuse.py)."""
    d = config.data
    warmup: tuple = ()
    if d.unseen_avoids_warmup:
        seen = _draw_splits(config, 0)
        warmup = draw_warmup(config, (*seen.pool, *seen.test))
    splits = _draw_splits(config, d.unseen_size, warmup)
    examples = CollectionExamples(pool=tuple(splits.pool), test=tuple(splits.test), unseen=tuple(splits.unseen))
    if d.flip_fraction or d.fixed_ids:
        examples = apply_label_noise(examples, d)
    if config.warmup.enabled:
        examples = dataclasses.replace(
            examples, warmup=warmup or draw_warmup(config, (*examples.pool, *examples.test, *examples.unseen)))
    ids = [int(e.id) for e in (*examples.pool, *examples.test, *examples.unseen, *examples.warmup)]
    if len(set(ids)) != len(ids):
        raise ConfigError("[data] the drawn pool, test, unseen and warm-up examples share ids")
    return examples
