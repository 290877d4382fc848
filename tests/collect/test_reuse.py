"""Reusing a sibling collection's runs (lib/collect/reuse.py) on tiny-neox: which runs, what is written and refused."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from collect_helpers import smoke_config

import lib.collect.reuse as reuse
import lib.collect.run_schema as run_schema
from lib.collect import ConfigError, StoredCollection, collect, completed_runs, load_dynamics, read_header
from lib.collect.cli import main
from lib.collect.examples import draw_examples
from lib.collect.folder import TEMP_PREFIX
from lib.collect.reuse import plan_reuse

SOURCE = "smoke_sst2"  # the reference collection's folder name, linked beside every target


def unseen_variant(**overrides):
    """The smoke config's unseen-data variant: test runs train on 8 unseen examples, no gradients, reusing SOURCE."""
    sections = {"name": "smoke_sst2_unseen", "data": {"unseen_size": 8},
                "runs": {"train": 2, "val": 1, "test": 2, "unseen_splits": ["test"]}, "gradients": {"splits": []},
                "runtime": {"reuse_runs_from": SOURCE}}
    for section, values in overrides.items():
        sections[section] = {**sections.get(section, {}), **values}
    return smoke_config(**sections)


def beside_source(folder: Path, reference: Path) -> Path:
    """A folder holding a link named SOURCE to the reference collection (read only), and the target path beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / SOURCE).exists():
        (folder / SOURCE).symlink_to(reference, target_is_directory=True)
    return folder / "target"


@pytest.fixture(scope="module")
def reused(tmp_path_factory, reference_collection) -> Path:
    """The unseen variant collected with reuse and no training (`only=[]`): its runs 0-2 are the source's."""
    out = beside_source(tmp_path_factory.mktemp("reuse"), reference_collection)
    collect(unseen_variant(), out, progress=False, only=[])
    return out


def test_reused_runs_read_back_with_the_source_values_and_the_target_hash(reused, reference_collection):
    config, source = unseen_variant(), StoredCollection(reference_collection)
    assert completed_runs(reused) == [0, 1, 2]  # 3 and 4 train on the unseen pool: never reused
    runs, originals = StoredCollection(reused).runs(), {r.run_index: r for r in source.runs()}
    for run in runs:
        original = originals[run.run_index]
        assert run.config_hash == config.config_hash != original.config_hash
        assert run.split == config.run_split(run.run_index) and run.seed == original.seed
        np.testing.assert_array_equal(run.curriculum, original.curriculum)
        np.testing.assert_array_equal(run.values["loss"], original.values["loss"])
        np.testing.assert_array_equal(run.train_losses, original.train_losses)
        assert run.reused_from == {"collection": SOURCE, "config_hash": source.header["config_hash"],
                                   "run": run.run_index, "split": original.split, "finished": original.finished,
                                   "equal_up_to": "float rounding"}
        folder = reused / "runs" / f"run-{run.run_index:04d}"
        for name in ("curriculum.parquet", "values.parquet"):
            assert pq.read_schema(folder / name).metadata[b"config_hash"].decode() == config.config_hash
        assert json.loads((folder / "run.json").read_text())["reused_from"]["run"] == run.run_index
    dyn = load_dynamics(reused)
    assert dyn.split.tolist() == ["train", "train", "val"] and dyn.config["config_hash"] == config.config_hash
    timings = StoredCollection(reused).timings()
    assert timings["reused"].all() and not source.timings()["reused"].any()  # their cost was paid by the source


def test_a_target_collected_without_reuse_gives_the_same_runs(reused, tmp_path):
    own = collect(unseen_variant(runtime={"reuse_runs_from": None}), tmp_path / "own", progress=False,
                  only=[0, 1, 2])
    mine, taken = StoredCollection(own).runs(), StoredCollection(reused).runs()
    assert [r.run_index for r in mine] == [r.run_index for r in taken] == [0, 1, 2]
    for a, b in zip(mine, taken):
        assert a.reused_from is None and a.seed == b.seed
        np.testing.assert_array_equal(a.subset, b.subset)
        np.testing.assert_array_equal(a.curriculum, b.curriculum)
        np.testing.assert_allclose(a.values["loss"], b.values["loss"], rtol=0, atol=1e-5)
        np.testing.assert_allclose(a.learning_rates, b.learning_rates, rtol=0, atol=1e-12)


def test_the_log_line_says_what_was_reused_and_why_not_the_rest(reference_collection, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lib.collect")
    collect(unseen_variant(), beside_source(tmp_path, reference_collection), progress=False, only=[])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reused")]
    assert lines == [f"reused 3 runs of {SOURCE} (config {read_header(reference_collection)['config_hash'][:12]}): "
                     "runs 0-2; not reused: runs 3-4: train on the unseen pool here (test split)"]


def test_a_config_differing_in_a_hashed_setting_reuses_nothing_and_says_which(reference_collection, tmp_path, caplog):
    config = unseen_variant(training={"lr": 5e-4})
    plan = plan_reuse(config, draw_examples(config), reference_collection)
    assert plan.runs == {} and "[training] lr: 0.001 != 0.0005" in plan.refused
    caplog.set_level(logging.INFO, logger="lib.collect")
    out = collect(config, beside_source(tmp_path, reference_collection), progress=False, only=[])
    assert completed_runs(out) == []
    assert any(r.getMessage().startswith(f"reused no run of {SOURCE}: settings differ") and "lr" in r.getMessage()
               for r in caplog.records)


def test_split_counts_unseen_size_and_gradients_may_differ_but_the_run_seed_may_not(reference_collection):
    config = unseen_variant(runs={"seed": 1})
    assert "[runs] seed: 0 != 1" in plan_reuse(config, draw_examples(config), reference_collection).refused
    config = unseen_variant(gradients={"splits": ["val"], "checkpoints": 2})
    plan = plan_reuse(config, draw_examples(config), reference_collection)
    assert plan.runs == {0: 0, 1: 1} and plan.skipped[2] == "record gradients here (val split)"


def test_an_unseen_pool_run_is_never_reused(reference_collection):
    config = unseen_variant(runs={"unseen_splits": ["train"]})  # the train runs train on the unseen pool here
    plan = plan_reuse(config, draw_examples(config), reference_collection)
    assert plan.runs == {2: 2}
    assert plan.skipped[0] == plan.skipped[1] == "train on the unseen pool here (train split)"
    assert plan.skipped[3].startswith("recorded gradients in the source")
    assert plan.skipped[4] == "not finished in the source"


def test_a_source_run_trained_on_the_unseen_pool_or_with_gradients_is_not_reused(reference_collection, tmp_path):
    unseen = collect(unseen_variant(), beside_source(tmp_path, reference_collection), progress=False,
                     only=[3, 4])  # runs 0-2 reused, 3-4 trained here on the unseen pool
    seen = unseen_variant(runs={"unseen_splits": []})
    plan = plan_reuse(seen, draw_examples(seen), unseen)
    assert plan.runs == {0: 0, 1: 1, 2: 2}
    assert plan.skipped == {3: "trained on the source's unseen pool (test split there)",
                            4: "trained on the source's unseen pool (test split there)"}
    train_only = unseen_variant(runs={"train": 4, "val": 0, "test": 0, "unseen_splits": []})
    plan = plan_reuse(train_only, draw_examples(train_only), reference_collection)
    assert plan.runs == {0: 0, 1: 1, 2: 2}
    assert plan.skipped[3].startswith("recorded gradients in the source (test split there")


def test_a_curriculum_or_an_example_that_differs_is_refused(reference_collection, monkeypatch):
    config = unseen_variant()
    examples = draw_examples(config)
    test = list(examples.test)
    test[2] = dataclasses.replace(test[2], target=test[2].target + "!")
    plan = plan_reuse(config, dataclasses.replace(examples, test=tuple(test)), reference_collection)
    assert plan.runs == {} and plan.refused == f"test example {test[2].id}: its target differs"
    plan = plan_reuse(config, dataclasses.replace(examples, pool=examples.pool[:-1]), reference_collection)
    assert plan.refused == "the pool examples differ (16 in the source, 15 in the target)"
    warmed = dataclasses.replace(examples, warmup=examples.unseen[:1])  # a warm-up set decides the starting model
    assert plan_reuse(config, warmed, reference_collection).refused == ("the warmup examples differ (0 in the source, "
                                                                        "1 in the target)")
    real = reuse.sample_curriculum

    def other_for_run_1(pool_ids, **kw):
        drawn = real(pool_ids, **kw)
        return drawn if kw["run_index"] != 1 else type(drawn)(drawn.subset, drawn.batches[::-1].copy())

    monkeypatch.setattr(reuse, "sample_curriculum", other_for_run_1)
    plan = plan_reuse(config, examples, reference_collection)
    assert plan.runs == {0: 0, 2: 2} and plan.skipped[1] == "the source's curriculum differs from the one sampled here"


def test_an_interrupted_write_leaves_no_half_run(reference_collection, tmp_path, monkeypatch):
    out = beside_source(tmp_path, reference_collection)
    real, calls = run_schema.write_json, []

    def fail_on_second_run(path, payload):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed while writing run 1's run.json
        real(path, payload)

    monkeypatch.setattr(run_schema, "write_json", fail_on_second_run)
    with pytest.raises(KeyboardInterrupt):
        collect(unseen_variant(), out, progress=False, only=[])
    assert completed_runs(out) == [0]
    assert [p.name for p in (out / "runs").iterdir() if p.name.startswith(TEMP_PREFIX)]  # the half run, unpublished
    monkeypatch.setattr(run_schema, "write_json", real)
    collect(unseen_variant(), out, progress=False, only=[])
    assert completed_runs(out) == [0, 1, 2]
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert StoredCollection(out).runs()[1].reused_from["run"] == 1


def test_reuse_from_the_output_folder_itself_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="names the output folder"):
        collect(unseen_variant(runtime={"reuse_runs_from": "target"}), tmp_path / "target", progress=False)


def test_cli_plan_reuse_prints_the_mapping_and_writes_nothing(reference_collection, tmp_path, capsys):
    out = beside_source(tmp_path, reference_collection)
    config_file = tmp_path / "unseen.toml"
    config_file.write_text(toml_text(unseen_variant().to_dict()))
    assert main([str(config_file), "--out", str(out), "--plan-reuse"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"would reuse 3 runs of {SOURCE}")
    assert f"  run 2 (val) <- {SOURCE} run 2 (val)" in printed.splitlines()
    assert not out.exists()


def toml_text(raw: dict) -> str:
    """A config dict as TOML (flat sections of strings, numbers, booleans and lists; None left out)."""
    lines = [f"name = {json.dumps(raw['name'])}"]
    for section, values in raw.items():
        if isinstance(values, dict):
            lines.append(f"[{section}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n"
