"""Designed runs on tiny-neox: the given-curriculum hook reproduces collected runs bitwise; the store resumes and keys."""
from __future__ import annotations

import numpy as np
import pytest
from collect_helpers import smoke_config

import lib.collect.designed_runs as designed_runs
from lib.collect import load_dynamics
from lib.collect.curricula import Curriculum
from lib.collect.designed_runs import DesignedRunStore, check_curriculum, curriculum_key, train_designed
from lib.collect.examples import draw_examples
from lib.collect.train_run import train_run


def _collected(reference_collection, run: int) -> tuple[Curriculum, np.ndarray]:
    dyn = load_dynamics(reference_collection)
    batches = dyn.curricula[run]
    return Curriculum(subset=np.unique(batches), batches=batches), dyn.values[run]


def test_given_curriculum_reproduces_a_collected_run_bitwise(reference_collection):
    config = smoke_config()
    curriculum, values = _collected(reference_collection, 1)
    record = train_run(config, 1, draw_examples(config), progress=False, curriculum=curriculum)
    np.testing.assert_array_equal(record.curriculum, curriculum.batches)
    np.testing.assert_array_equal(record.values["loss"], values)


def test_designed_run_equals_collected_run_zero_and_differs_for_another_curriculum(reference_collection):
    config = smoke_config()
    curriculum, values = _collected(reference_collection, 0)
    run = train_designed(config, curriculum, name="run 0 again")
    np.testing.assert_array_equal(run.values["loss"], values)
    assert run.key == curriculum_key(curriculum) and run.config_hash == config.config_hash
    reversed_order = Curriculum(subset=curriculum.subset, batches=curriculum.batches[::-1].copy())
    other = train_designed(config, reversed_order)
    np.testing.assert_array_equal(other.values["loss"][0], values[0])  # same start
    assert not np.array_equal(other.values["loss"][-1], values[-1])  # another curriculum, another end


def test_store_resumes_and_never_retrains(tmp_path, monkeypatch):
    config = smoke_config()
    examples = draw_examples(config)
    pool = examples.pool_ids
    designs = {"a": Curriculum(subset=np.sort(pool[:4]), batches=pool[:4].reshape(2, 2)),
               "b": Curriculum(subset=np.sort(pool[4:8]), batches=pool[4:8].reshape(2, 2))}
    store = DesignedRunStore(tmp_path)
    with pytest.raises(FileNotFoundError, match="2 of 2 designed runs .* missing.*train them so"):
        store.ensure(config, designs, collect_missing=False, how="train them so")
    trained = []
    real = designed_runs.train_designed

    def counting(config, curriculum, examples=None, **kw):
        trained.append(curriculum_key(curriculum))
        return real(config, curriculum, examples, **kw)

    monkeypatch.setattr(designed_runs, "train_designed", counting)
    first = store.ensure(config, {"a": designs["a"]}, collect_missing=True, how="")
    both = store.ensure(config, designs, collect_missing=True, how="")
    assert trained == [curriculum_key(designs["a"]), curriculum_key(designs["b"])]  # "a" once only
    np.testing.assert_array_equal(both["a"].values["loss"], first["a"].values["loss"])
    assert store.ensure(config, designs, collect_missing=False, how="")["b"].name == "b"
    assert len(trained) == 2
    files = sorted(p.name for p in (tmp_path / config.config_hash[:16]).iterdir())
    assert files == sorted(["config.json", f"{curriculum_key(designs['a'])}.json", f"{curriculum_key(designs['b'])}.json"])


def test_store_keys_by_content_and_config(tmp_path):
    config = smoke_config()
    other = config.with_overrides(training={"lr": 2e-3})
    a = Curriculum(subset=np.array([1, 2]), batches=np.array([[1, 2], [2, 1]]))
    b = Curriculum(subset=np.array([1, 2]), batches=np.array([[2, 1], [1, 2]]))
    store = DesignedRunStore(tmp_path)
    assert curriculum_key(a) == curriculum_key(Curriculum(subset=a.subset.copy(), batches=a.batches.copy()))
    assert store.path(config, a) != store.path(config, b)
    assert store.path(config, a).name == store.path(other, a).name and store.path(config, a) != store.path(other, a)
    run = designed_runs.DesignedRun(key=curriculum_key(a), config_hash=config.config_hash, name="a", curriculum=a,
                                    test_ids=np.array([7]), values={"loss": np.array([[1.0], [0.5], [0.25]])},
                                    learning_rates=np.array([0.1, 0.05]), train_losses=np.array([1.0, 0.9]), seconds=1.0)
    store.write(config, run)
    assert store.read(config, b) is None and store.read(other, a) is None
    np.testing.assert_array_equal(store.read(config, a).values["loss"], run.values["loss"])
    store.path(config, b).write_text(store.path(config, a).read_text())  # a file under the wrong name
    with pytest.raises(ValueError, match="another curriculum"):
        store.read(config, b)
    with pytest.raises(ValueError, match="cannot be stored as one of"):
        store.write(other, run)


def test_unseen_examples_need_an_unseen_split():
    config = smoke_config()
    examples = draw_examples(config)
    with_unseen = config.with_overrides(data={"unseen_size": 4})
    unseen_examples = draw_examples(with_unseen)
    mixed = np.concatenate([unseen_examples.pool_ids[:2], unseen_examples.unseen_ids[:2]])
    curriculum = Curriculum(subset=np.sort(mixed), batches=mixed.reshape(2, 2))
    check_curriculum(with_unseen, unseen_examples, curriculum)  # accepted where the split exists
    with pytest.raises(ValueError, match=r"not training examples of collection 'smoke_sst2' \(pool ids only\)"):
        check_curriculum(config, examples, curriculum)
    tests = Curriculum(subset=examples.test_ids[:2], batches=examples.test_ids[:2].reshape(1, 2))
    with pytest.raises(ValueError, match="not training examples"):
        check_curriculum(config, examples, tests)
