"""The examples of a collection: training pool, held-out test set and unseen pool, drawn once from lib.data."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .config import MIXTURE, CollectionConfig, ConfigError


@dataclass(frozen=True)
class CollectionExamples:
    """Pool, test and unseen examples (lib.data Examples) of one collection."""

    pool: tuple
    test: tuple
    unseen: tuple
    flipped: tuple = ()  # pool ids whose label was flipped ([data] flip_fraction) and not fixed ([data] fixed_ids)

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
        return {int(e.id): e for e in (*self.pool, *self.test, *self.unseen)}

    def rows(self) -> list[dict]:
        """One plain dict per example with its role ("pool" | "test" | "unseen"), for examples.parquet."""
        out = []
        for role, items in (("pool", self.pool), ("test", self.test), ("unseen", self.unseen)):
            for e in items:
                out.append({"id": int(e.id), "role": role, "task": e.task, "prompt": e.prompt, "target": e.target,
                            "text": e.text, "label": None if e.label is None else int(e.label),
                            "references": [str(r) for r in e.references]})
        return out

    def fingerprint(self) -> str:
        """sha256 of all example rows: changes when the underlying data or the draw changes."""
        text = json.dumps(self.rows(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def draw_examples(config: CollectionConfig) -> CollectionExamples:
    """Draw the collection's splits with lib.data (deterministic for the config); DataError becomes ConfigError."""
    from lib.data import DataError, draw_splits, instruction_mixture

    d = config.data
    try:
        if d.task == MIXTURE:
            splits = instruction_mixture(pool_size=d.pool_size, test_size=d.test_size, unseen_size=d.unseen_size,
                                         seed=d.seed, data_dir=config.runtime.data_dir)
        else:
            splits = draw_splits(d.task, pool_size=d.pool_size, test_size=d.test_size, unseen_size=d.unseen_size,
                                 seed=d.seed, style=d.style, balanced=d.balanced, data_dir=config.runtime.data_dir)
    except DataError as err:
        raise ConfigError(f"[data] cannot draw the examples: {err}") from None
    examples = CollectionExamples(pool=tuple(splits.pool), test=tuple(splits.test), unseen=tuple(splits.unseen))
    if d.flip_fraction or d.fixed_ids:
        from .label_noise import apply_label_noise

        examples = apply_label_noise(examples, d)
    ids = [int(e.id) for e in (*examples.pool, *examples.test, *examples.unseen)]
    if len(set(ids)) != len(ids):
        raise ConfigError("[data] the drawn pool, test and unseen examples share ids")
    return examples
