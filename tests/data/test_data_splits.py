"""Seeded pool/test/unseen draws: determinism, disjointness (ids and text), label balance, size errors, the mixture."""
from __future__ import annotations

from collections import Counter

import pytest

from lib.data import (
    TASK_NAMES,
    DataError,
    TaskSplits,
    draw_splits,
    instruction_mixture,
    load_examples,
    template_index,
)


def _ids(xs):
    return [e.id for e in xs]


def _assert_disjoint(s: TaskSplits):
    parts = [s.pool, s.test, s.unseen]
    for xs in parts:
        assert len(set(_ids(xs))) == len(xs)
        assert len({e.prompt for e in xs}) == len(xs)  # no duplicate source text inside a part
    for a in range(3):
        for b in range(a + 1, 3):
            assert not set(_ids(parts[a])) & set(_ids(parts[b]))
            assert not {e.prompt for e in parts[a]} & {e.prompt for e in parts[b]}


@pytest.mark.parametrize("task", TASK_NAMES)
def test_draw_deterministic_disjoint_sized(real_dir, task):
    kw = dict(pool_size=40, test_size=20, unseen_size=10)
    a, b = draw_splits(task, seed=3, **kw), draw_splits(task, seed=3, **kw)
    assert (_ids(a.pool), _ids(a.test), _ids(a.unseen)) == (_ids(b.pool), _ids(b.test), _ids(b.unseen))
    assert (len(a.pool), len(a.test), len(a.unseen)) == (40, 20, 10) and a.task == task
    _assert_disjoint(a)
    c = draw_splits(task, seed=4, **kw)
    assert _ids(c.pool) != _ids(a.pool) and _ids(c.test) != _ids(a.test)


def test_pool_from_train_split_test_from_test_split(real_dir):
    s = draw_splits("wmt16_de_en", pool_size=30, test_size=30, unseen_size=30, seed=1)
    train_ids = {e.id for e in load_examples("wmt16_de_en", "train")}
    test_ids = {e.id for e in load_examples("wmt16_de_en", "test")}
    assert set(_ids(s.pool)) <= train_ids and set(_ids(s.unseen)) <= train_ids and set(_ids(s.test)) <= test_ids


def test_style_does_not_change_selection(real_dir):
    kw = dict(pool_size=30, test_size=10, unseen_size=5, seed=7)
    plain, flan = draw_splits("rte", **kw), draw_splits("rte", style="flan", **kw)
    assert _ids(plain.pool) == _ids(flan.pool) and _ids(plain.test) == _ids(flan.test)
    assert all(p.prompt != f.prompt and p.target == f.target for p, f in zip(plain.pool, flan.pool))


@pytest.mark.parametrize("task", ["sst2", "rte", "boolq"])
def test_balanced_labels(real_dir, task):
    s = draw_splits(task, pool_size=100, test_size=64, unseen_size=41, seed=0)
    assert Counter(e.label for e in s.pool) == {0: 50, 1: 50}
    assert Counter(e.label for e in s.test) == {0: 32, 1: 32}
    assert sorted(Counter(e.label for e in s.unseen).values()) == [20, 21]
    assert len({e.label for e in s.pool[:10]}) == 2  # shuffled, not grouped by label


def test_unbalanced_follows_natural_distribution(real_dir):
    s = draw_splits("boolq", pool_size=1000, test_size=0, balanced=False, seed=0)
    frac_true = sum(e.label for e in s.pool) / len(s.pool)
    assert 0.57 < frac_true < 0.67  # BoolQ is 62 % true


def test_balanced_tops_up_when_a_label_runs_out(real_dir):
    s = draw_splits("sst2", pool_size=10, test_size=872, seed=0)  # dev has 428 negative / 444 positive
    assert Counter(e.label for e in s.test) == {0: 428, 1: 444}


def test_large_sst2_draw_has_no_duplicate_sentences(real_dir):
    # SST-2 train repeats hundreds of short phrases and shares a sentence with dev: all draws stay text-disjoint
    s = draw_splits("sst2", pool_size=30_000, test_size=872, unseen_size=30_000, seed=0)
    _assert_disjoint(s)


def test_too_large_sizes_raise(real_dir):
    with pytest.raises(DataError) as err:
        draw_splits("sst2", pool_size=10, test_size=873)
    assert isinstance(err.value, ValueError)
    assert "sst2" in str(err.value) and "873" in str(err.value) and "872" in str(err.value)
    with pytest.raises(DataError, match=r"cnn_dailymail.*201.*200"):
        draw_splits("cnn_dailymail", pool_size=201, test_size=10)
    with pytest.raises(DataError, match=r"rte.*2000.*600"):
        draw_splits("rte", pool_size=2000, test_size=10, unseen_size=600)
    with pytest.raises(DataError, match="pool_size"):
        draw_splits("rte", pool_size=-1, test_size=10)


def test_synthetic_duplicates_and_shortfall(tmp_path, build):
    rows = [("same words", 1)] * 5 + [(f"neg {i}", 0) for i in range(3)] + [(f"pos {i}", 1) for i in range(10)]
    root = build.sst2(tmp_path, rows, dev_rows=[("pos 0", 1), ("other", 0)])
    with pytest.raises(DataError, match=r"only 13 distinct"):  # 1 + 3 + 10 distinct, minus "pos 0" (also in dev)
        draw_splits("sst2", pool_size=14, test_size=1, data_dir=root)
    s = draw_splits("sst2", pool_size=8, test_size=2, unseen_size=5, data_dir=root)
    assert Counter(e.label for e in s.pool) == {0: 3, 1: 5}  # only 3 negatives: topped up with positives
    assert Counter(e.label for e in s.test) == {0: 1, 1: 1}
    assert len(s.unseen) == 5 and all(e.label == 1 for e in s.unseen)
    _assert_disjoint(s)
    assert not any("pos 0" in e.prompt for e in s.pool + s.unseen)
    with pytest.raises(DataError, match=r"only 4 training examples are left for unseen_size=5 .* 1 examples"):
        draw_splits("sst2", pool_size=8, test_size=2, unseen_size=5, data_dir=root, unseen_avoids=[s.unseen[0].id])


@pytest.mark.parametrize("draw", [lambda **kw: draw_splits("rte", **kw), lambda **kw: instruction_mixture(**kw)])
def test_the_unseen_pool_avoids_the_ids_it_is_told_and_nothing_else_moves(real_dir, draw):
    plain = draw(pool_size=60, test_size=12, unseen_size=30, seed=3)
    avoid = [e.id for e in plain.unseen[::3]]
    moved = draw(pool_size=60, test_size=12, unseen_size=30, seed=3, unseen_avoids=avoid)
    assert (_ids(moved.pool), _ids(moved.test)) == (_ids(plain.pool), _ids(plain.test))
    assert len(moved.unseen) == 30 and not set(avoid) & set(_ids(moved.unseen))
    assert set(_ids(plain.unseen)) - set(avoid) <= set(_ids(moved.unseen))  # only the avoided ones are replaced
    _assert_disjoint(moved)


def test_instruction_mixture(real_dir):
    m = instruction_mixture(pool_size=603, test_size=60, unseen_size=12, seed=0)
    assert m.task == "mixture" and (len(m.pool), len(m.test), len(m.unseen)) == (603, 60, 12)
    per_task = Counter(e.task for e in m.pool)
    assert [per_task[t] for t in TASK_NAMES] == [101, 101, 101, 100, 100, 100]
    assert set(Counter(e.task for e in m.test).values()) == {10}
    assert set(e.task for e in m.unseen) == set(TASK_NAMES)
    all_ids = _ids(m.pool) + _ids(m.test) + _ids(m.unseen)
    assert len(all_ids) == len(set(all_ids))
    _assert_disjoint(m)
    for t in TASK_NAMES:
        used = {template_index(t, "flan", e.id) for e in m.pool if e.task == t}
        assert len(used) >= 2, t
        plain = {e.id: e for e in load_examples(t, "train")}
        assert all(e.prompt != plain[e.id].prompt and e.target == plain[e.id].target for e in m.pool if e.task == t)
    assert [e.task for e in m.pool[:12]] != sorted(e.task for e in m.pool[:12])  # interleaved, not task blocks
    again = instruction_mixture(pool_size=603, test_size=60, unseen_size=12, seed=0)
    assert _ids(again.pool) == _ids(m.pool)
    assert _ids(instruction_mixture(pool_size=603, test_size=60, seed=1).pool) != _ids(m.pool)


def test_mixture_subset_and_errors(real_dir):
    m = instruction_mixture(pool_size=10, test_size=4, tasks=("sst2", "wmt16_de_en"))
    assert Counter(e.task for e in m.pool) == {"sst2": 5, "wmt16_de_en": 5}
    with pytest.raises(DataError, match="nope"):
        instruction_mixture(pool_size=10, test_size=4, tasks=("sst2", "nope"))
    with pytest.raises(DataError, match="cnn_dailymail"):
        instruction_mixture(pool_size=1200, test_size=60, unseen_size=60)  # CNN/DM has only 200 train stories
