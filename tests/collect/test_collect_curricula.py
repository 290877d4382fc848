"""Curricula: seeded subsets, per-epoch permutations, checkpoint placement."""
from __future__ import annotations

import numpy as np
import pytest

from lib.collect.curricula import checkpoint_for_step, checkpoint_steps, run_seed, sample_curriculum

POOL = np.arange(100, 150)


def test_subset_and_epochs():
    cur = sample_curriculum(POOL, subset_size=10, batch_size=3, epochs=4, seed=7, run_index=2)
    assert cur.batches.shape == (12, 3) and cur.steps == 12  # 3 full batches per epoch, remainder dropped
    assert len(set(cur.subset.tolist())) == 10 and set(cur.subset.tolist()) <= set(POOL.tolist())
    for epoch in cur.batches.reshape(4, 9):
        assert len(set(epoch.tolist())) == 9 and set(epoch.tolist()) <= set(cur.subset.tolist())
    again = sample_curriculum(POOL, subset_size=10, batch_size=3, epochs=4, seed=7, run_index=2)
    np.testing.assert_array_equal(again.batches, cur.batches)
    other = sample_curriculum(POOL, subset_size=10, batch_size=3, epochs=4, seed=7, run_index=3)
    assert not np.array_equal(other.subset, cur.subset)
    shuffled = sample_curriculum(POOL[::-1], subset_size=10, batch_size=3, epochs=4, seed=7, run_index=2)
    np.testing.assert_array_equal(shuffled.batches, cur.batches)  # independent of the pool's order
    assert run_seed(0, 1) != run_seed(0, 2) != run_seed(1, 1)


def test_bad_sizes():
    with pytest.raises(ValueError, match="subset_size 60"):
        sample_curriculum(POOL, subset_size=60, batch_size=4, epochs=1, seed=0, run_index=0)
    with pytest.raises(ValueError, match="batch_size 11"):
        sample_curriculum(POOL, subset_size=10, batch_size=11, epochs=1, seed=0, run_index=0)


def test_checkpoints():
    ckpts = checkpoint_steps(48, 10)
    assert ckpts.tolist() == [5, 10, 14, 19, 24, 29, 34, 38, 43, 48]
    assert checkpoint_steps(8, 8).tolist() == list(range(1, 9))
    assert checkpoint_for_step(1, ckpts) == 5  # nearest saved checkpoint at or after t - 1
    assert checkpoint_for_step(6, ckpts) == 5 and checkpoint_for_step(7, ckpts) == 10
    assert checkpoint_for_step(48, ckpts) == 48
