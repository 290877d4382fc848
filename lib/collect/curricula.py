"""Curricula: per-run subset sampling and per-epoch shuffled batches, seeded by (collection seed, run index)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curriculum:
    """One run's training data: the sampled subset and the batch of every step ([steps, batch] ids)."""

    subset: np.ndarray
    batches: np.ndarray

    @property
    def steps(self) -> int:
        """Number of training steps T."""
        return int(self.batches.shape[0])


def run_seed(seed: int, run_index: int) -> int:
    """A 63-bit seed for run `run_index` of a collection seeded `seed`, independent across runs."""
    state = np.random.SeedSequence([int(seed), int(run_index)]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def sample_curriculum(pool_ids: np.ndarray, *, subset_size: int, batch_size: int, epochs: int,
                      seed: int, run_index: int) -> Curriculum:
    """Sample `subset_size` ids of the pool, then each epoch shuffle them into full batches (remainder dropped)."""
    pool_ids = np.asarray(pool_ids, dtype=np.int64)
    if len(np.unique(pool_ids)) != len(pool_ids):
        raise ValueError("pool ids must be unique")
    if not 1 <= subset_size <= len(pool_ids):
        raise ValueError(f"subset_size {subset_size} must be in 1..{len(pool_ids)} (the pool size)")
    if not 1 <= batch_size <= subset_size:
        raise ValueError(f"batch_size {batch_size} must be in 1..{subset_size} (the subset size)")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(run_index), 1]))
    subset = np.sort(rng.choice(np.sort(pool_ids), size=subset_size, replace=False))
    per_epoch = subset_size // batch_size
    batches = [rng.permutation(subset)[: per_epoch * batch_size].reshape(per_epoch, batch_size)
               for _ in range(epochs)]
    return Curriculum(subset=subset, batches=np.concatenate(batches).astype(np.int64))


def checkpoint_steps(steps: int, count: int) -> np.ndarray:
    """`count` evenly spaced checkpoint steps in 1..steps, the last one being `steps` (round(j * T / count))."""
    if not 1 <= count <= steps:
        raise ValueError(f"checkpoint count {count} must be in 1..{steps}")
    points = np.array([int(np.floor(j * steps / count + 0.5)) for j in range(1, count + 1)], dtype=np.int64)
    return np.maximum.accumulate(np.maximum(points, 1))


def checkpoint_for_step(step: int, checkpoints: np.ndarray) -> int:
    """The checkpoint step TracIn-CP uses for training step `step`: the nearest saved one at or after step - 1."""
    later = checkpoints[checkpoints >= step - 1]
    if later.size == 0:
        raise ValueError(f"no checkpoint at or after step {step - 1} in {checkpoints.tolist()}")
    return int(later[0])
