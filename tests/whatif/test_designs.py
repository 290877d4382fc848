"""Designed curricula: shapes, the dropped group absent, orderings sorted by the score, repetitions, lengths."""
import numpy as np
import pytest

from lib.whatif.designs import DesignSettings, drop_group, longer, ordered, repeated, shuffled, with_unseen

POOL = np.arange(100, 140)
SETTINGS = DesignSettings(subset_size=12, batch_size=4, steps=9, seed=3)  # 3 batches per pass, 3 passes


def test_shuffled_lays_out_full_passes_of_a_seeded_subset():
    cur = shuffled(POOL, SETTINGS)
    assert cur.batches.shape == (9, 4) and cur.batches.dtype == np.int64
    assert len(cur.subset) == 12 and set(cur.subset.tolist()) <= set(POOL.tolist())
    for one_pass in cur.batches.reshape(3, 12):
        assert sorted(one_pass.tolist()) == cur.subset.tolist()  # every pass is a permutation of the subset
    np.testing.assert_array_equal(shuffled(POOL[::-1], SETTINGS).batches, cur.batches)  # the pool's order is moot
    assert not np.array_equal(shuffled(POOL, DesignSettings(12, 4, 9, seed=4)).subset, cur.subset)


def test_settings_of_recorded_curricula():
    runs = np.stack([shuffled(POOL, DesignSettings(12, 4, 9, seed=s)).batches for s in range(3)])
    assert DesignSettings.of(runs) == DesignSettings(subset_size=12, batch_size=4, steps=9)
    with pytest.raises(ValueError, match="batch_size 5 must be in 1..4"):
        DesignSettings(subset_size=4, batch_size=5, steps=3)


def test_drop_group_leaves_out_every_example_of_the_group():
    groups = {int(i): "neg" if i % 3 == 0 else "pos" for i in POOL}
    cur = drop_group(POOL, groups, "neg", SETTINGS)
    assert cur.batches.shape == (9, 4)
    assert {groups[int(i)] for i in cur.batches.ravel()} == {"pos"}
    few = drop_group(POOL, groups, "pos", SETTINGS)  # 13 "neg" examples: the subset takes 12 of them
    assert {groups[int(i)] for i in few.batches.ravel()} == {"neg"} and len(few.subset) == 12
    small = {int(i): "rare" if i < 106 else "common" for i in POOL}
    rare_only = drop_group(POOL, small, "common", SETTINGS)  # 6 remain: all of them, more passes fill 9 steps
    assert rare_only.batches.shape == (9, 4) and set(rare_only.subset.tolist()) == set(range(100, 106))
    with pytest.raises(ValueError, match="no pool example is in group 'other'"):
        drop_group(POOL, groups, "other", SETTINGS)
    with pytest.raises(ValueError, match=r"no entry for pool ids \[100\]"):
        drop_group(POOL, {k: v for k, v in groups.items() if k != 100}, "neg", SETTINGS)


def test_orderings_sort_every_pass_by_the_score_on_the_same_examples():
    difficulty = {int(i): float((i * 7) % 11) for i in POOL}  # ties on purpose
    easy = ordered(POOL, difficulty, SETTINGS)
    hard = ordered(POOL, difficulty, SETTINGS, hardest_first=True)
    np.testing.assert_array_equal(easy.subset, shuffled(POOL, SETTINGS).subset)
    np.testing.assert_array_equal(easy.subset, hard.subset)
    for up, down in zip(easy.batches.reshape(3, 12), hard.batches.reshape(3, 12)):
        up_scores = [difficulty[int(i)] for i in up]
        assert up_scores == sorted(up_scores) and sorted(up.tolist()) == easy.subset.tolist()
        assert [difficulty[int(i)] for i in down] == sorted(up_scores, reverse=True)
    with pytest.raises(ValueError, match="difficulty has no score"):
        ordered(POOL, {}, SETTINGS)


def test_repeated_puts_the_example_in_exactly_count_steps():
    for count in (1, 5, 9):
        cur = repeated(POOL, 107, count, SETTINGS)
        assert cur.batches.shape == (9, 4)
        assert int((cur.batches == 107).sum()) == count and int((cur.batches == 107).any(axis=1).sum()) == count
        assert 107 in cur.subset
    with pytest.raises(ValueError, match="count must be in 1..9"):
        repeated(POOL, 107, 10, SETTINGS)
    with pytest.raises(ValueError, match="example 99 is not in the pool"):
        repeated(POOL, 99, 2, SETTINGS)


def test_with_unseen_replaces_the_fraction_of_the_subset():
    unseen = np.arange(900, 920)
    cur = with_unseen(POOL, unseen, SETTINGS)
    assert cur.batches.shape == (9, 4)
    assert int(np.isin(cur.subset, unseen).sum()) == 6 and int(np.isin(cur.subset, POOL).sum()) == 6
    assert set(cur.batches.ravel().tolist()) == set(cur.subset.tolist())
    quarter = with_unseen(POOL, unseen, SETTINGS, fraction=0.25)
    assert int(np.isin(quarter.subset, unseen).sum()) == 3
    with pytest.raises(ValueError, match=r"both hold \[100\]"):
        with_unseen(POOL, [100, 901], SETTINGS)
    with pytest.raises(ValueError, match="needs 6 examples from the unseen ids but it holds 2"):
        with_unseen(POOL, [900, 901], SETTINGS)


def test_longer_continues_the_same_run():
    base, twice = shuffled(POOL, SETTINGS), longer(POOL, SETTINGS)
    assert twice.batches.shape == (18, 4)
    np.testing.assert_array_equal(twice.batches[:9], base.batches)
    np.testing.assert_array_equal(twice.subset, base.subset)
    assert longer(POOL, SETTINGS, factor=3).steps == 27


def test_settings_of_a_config_are_those_of_its_runs():
    """A collection's [training] gives the layout its runs have (48 steps: 3 epochs of 64 examples in batches of 4)."""
    from lib.collect.config import TrainingSettings

    training = TrainingSettings(subset_size=64, batch_size=4, epochs=3)
    assert DesignSettings.of_config(training, seed=2) == DesignSettings(subset_size=64, batch_size=4, steps=48, seed=2)
    runs = np.stack([shuffled(POOL, DesignSettings(12, 4, 9, seed=s)).batches for s in range(2)])
    assert DesignSettings.of(runs) == DesignSettings.of_config(TrainingSettings(subset_size=12, batch_size=4, epochs=3))
