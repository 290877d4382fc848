"""Label noise in the collector: [data] flip_fraction flips a seeded part of the pool, [data] fixed_ids undoes it."""
from __future__ import annotations

import json

import pytest
from collect_helpers import smoke_config

from lib.collect import ConfigError, collect, read_header
from lib.collect.examples import draw_examples
from lib.collect.label_noise import flipped_pool_ids
from lib.collect.folder import read_examples
from lib.data import get_task

WORDS = get_task("sst2").label_words


def test_flip_fraction_flips_that_many_pool_labels_and_targets_only():
    clean, noisy = draw_examples(smoke_config()), draw_examples(smoke_config(data={"flip_fraction": 0.4}))
    n = len(clean.pool)
    assert len(noisy.flipped) == round(0.4 * n) > 0
    for before, after in zip(clean.pool, noisy.pool):
        assert before.id == after.id and before.prompt == after.prompt
        if int(after.id) in noisy.flipped:
            assert after.label == 1 - before.label and after.target == WORDS[after.label]
        else:
            assert after == before
    assert noisy.test == clean.test and noisy.unseen == clean.unseen
    assert clean.flipped == ()


def test_flips_are_seeded_and_nested_in_the_fraction():
    a = draw_examples(smoke_config(data={"flip_fraction": 0.3}))
    assert a == draw_examples(smoke_config(data={"flip_fraction": 0.3}))
    ids = sorted(int(e.id) for e in a.pool)
    assert set(flipped_pool_ids(ids, 0.3, seed=0)) == set(a.flipped)
    assert set(flipped_pool_ids(ids, 0.3, seed=1)) != set(a.flipped)


def test_fixed_ids_undo_their_flip_and_only_theirs():
    noisy = draw_examples(smoke_config(data={"flip_fraction": 0.4}))
    unflipped = next(int(e.id) for e in noisy.pool if int(e.id) not in noisy.flipped)
    fixed = [noisy.flipped[0], noisy.flipped[-1], unflipped]
    repaired = draw_examples(smoke_config(data={"flip_fraction": 0.4, "fixed_ids": fixed}))
    clean = {int(e.id): e for e in draw_examples(smoke_config()).pool}
    assert set(repaired.flipped) == set(noisy.flipped) - set(fixed)
    for e in repaired.pool:
        assert (e == clean[int(e.id)]) == (int(e.id) not in repaired.flipped)


def test_label_noise_is_hashed_but_leaves_clean_hashes_alone():
    clean = smoke_config()
    assert "flip_fraction" not in clean.hashed_dict()["data"] and "fixed_ids" not in clean.hashed_dict()["data"]
    noisy = smoke_config(data={"flip_fraction": 0.4})
    fixed = smoke_config(data={"flip_fraction": 0.4, "fixed_ids": [1]})
    assert len({clean.config_hash, noisy.config_hash, fixed.config_hash}) == 3
    assert noisy.hashed_dict()["data"]["flip_fraction"] == 0.4


@pytest.mark.parametrize("data, message", [
    ({"flip_fraction": 1.0}, "flip_fraction must be in [0, 1)"),
    ({"flip_fraction": -0.1}, "flip_fraction must be in [0, 1)"),
    ({"fixed_ids": ["a"]}, "must be a list of integers"),
    ({"flip_fraction": 0.2, "fixed_ids": [3, 3]}, "fixed_ids has duplicates"),
])
def test_bad_values_are_named(data, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        smoke_config(data=data)


def test_generation_tasks_and_foreign_fixed_ids_are_refused():
    with pytest.raises(ConfigError, match="need a classification task"):
        smoke_config(data={"task": "webnlg", "flip_fraction": 0.2}, evaluation={"metrics": ["loss"]})
    with pytest.raises(ConfigError, match=r"fixed_ids \[123\] are not pool ids"):
        draw_examples(smoke_config(data={"flip_fraction": 0.2, "fixed_ids": [123]}))


def test_collection_records_the_flipped_ids_and_the_flipped_targets(tmp_path):
    config = smoke_config(data={"flip_fraction": 0.25}, runs={"train": 1, "val": 0, "test": 0},
                          gradients={"splits": []})
    out = collect(config, tmp_path / "noisy", progress=False)
    header = read_header(out)
    flipped = draw_examples(config).flipped
    assert header["flipped_ids"] == list(flipped) and len(flipped) > 0
    rows = {r["id"]: r for r in read_examples(out) if r["role"] == "pool"}
    assert all(rows[i]["target"] == WORDS[rows[i]["label"]] for i in flipped)
    assert json.loads((out / "collection.json").read_text())["config"]["data"]["flip_fraction"] == 0.25
