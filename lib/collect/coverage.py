"""Which training examples of the held-out runs no training run has seen (Simfluence cannot simulate them).

Simfluence learns one (A, B) pair per training example from the training runs, so every example a
validation or test run trains on must occur in some training run. The curricula are a pure function
of the config (lib.collect.curricula), so this is checked before anything is trained.
"""
from __future__ import annotations

import numpy as np

from .config import CollectionConfig
from .curricula import sample_curriculum
from .examples import draw_examples


def planned_curricula(config: CollectionConfig) -> dict[int, np.ndarray]:
    """Run index -> [steps, batch] training ids, exactly as the collector will sample them."""
    examples = draw_examples(config)
    t = config.training
    out = {}
    for run in range(config.runs.total):
        source = examples.unseen if config.run_split(run) in config.runs.unseen_splits else examples.pool
        ids = np.array([int(e.id) for e in source], dtype=np.int64)
        out[run] = sample_curriculum(ids, subset_size=t.subset_size, batch_size=t.batch_size, epochs=t.epochs,
                                     seed=config.runs.seed, run_index=run).batches
    return out


def unfitted_training_ids(config: CollectionConfig) -> dict[str, list[int]]:
    """Per held-out split ("val", "test"), the training ids its runs use that no "train" run uses."""
    curricula = planned_curricula(config)
    seen = set()
    for run, batches in curricula.items():
        if config.run_split(run) == "train":
            seen.update(batches.ravel().tolist())
    out: dict[str, list[int]] = {}
    for run, batches in curricula.items():
        split = config.run_split(run)
        if split != "train":
            out.setdefault(split, [])
            out[split] = sorted(set(out[split]) | (set(batches.ravel().tolist()) - seen))
    return out
