import numpy as np
import pytest

from lib.experiments import store
from lib.experiments.store import collection_config, collections_table, dynamics, dynamics_folder


def test_unknown_collection_lists_known_ones():
    with pytest.raises(ValueError, match=r"no collection 'nope' at scale 'smoke'.*sst2"):
        collection_config("smoke", "nope")
    with pytest.raises(ValueError, match="unknown scale"):
        collection_config("huge", "sst2")


def test_committed_dynamics_live_in_the_repo_and_smoke_in_build():
    assert dynamics_folder("full_fine_tuning", "sst2").parts[-4:] == ("data", "dynamics", "default", "sst2")
    assert dynamics_folder("smoke", "sst2").parts[-4:] == ("build", "dynamics", "smoke", "sst2")
    assert dynamics_folder("paper_size", "rte").parts[-4:] == ("data", "dynamics", "paper_size", "rte")


def test_missing_runs_fail_with_the_command_to_collect_them(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "dynamics_folder", lambda scale, name: tmp_path / name)
    with pytest.raises(FileNotFoundError, match=r"has 0 of 7 runs.*python -m lib.collect .*sst2.toml"):
        dynamics("smoke", "sst2", collect_missing=False)


def test_smoke_dynamics_are_collected_once_and_complete(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "dynamics_folder", lambda scale, name: tmp_path / name)
    first = dynamics("smoke", "sst2")
    config = collection_config("smoke", "sst2")
    assert first.n_runs == config.runs.total and first.n_steps == config.training.steps
    assert sorted(set(first.split)) == ["test", "train", "val"]
    again = dynamics("smoke", "sst2", collect_missing=False)  # no new runs needed
    np.testing.assert_array_equal(first.values, again.values)


def test_collections_table_reads_every_config_of_a_scale():
    table = collections_table("smoke")
    assert "sst2" in table.index
    sst2 = collection_config("smoke", "sst2")
    assert table.loc["sst2", "steps"] == sst2.training.steps
    assert table.loc["sst2", "runs (train/val/test)"] == f"{sst2.runs.train}/{sst2.runs.val}/{sst2.runs.test}"


def test_a_committed_scale_reads_its_checked_in_collection_and_never_collects(monkeypatch):
    monkeypatch.delenv(store.COLLECT_ENV, raising=False)
    assert not store.collects_missing("paper_size") and store.collects_missing("smoke")
    sst2 = dynamics("paper_size", "sst2")
    config = collection_config("paper_size", "sst2")
    assert (sst2.n_runs, sst2.n_steps, sst2.n_tests) == (config.runs.total, config.training.steps,
                                                         config.data.test_size)


def test_a_scale_reads_its_regimes_folder_not_its_name(monkeypatch):
    import dataclasses

    from lib import scales

    reads = scales.DEFAULT_READS
    assert dynamics_folder(reads, "sst2") == dynamics_folder("default", "sst2")
    assert collection_config(reads, "sst2").config_hash == collection_config("default", "sst2").config_hash
    monkeypatch.setitem(scales.SCALES, "default", dataclasses.replace(scales.REGIMES["paper_size"], name="default"))
    assert dynamics_folder("default", "sst2").parts[-4:] == ("data", "dynamics", "paper_size", "sst2")
    assert collection_config("default", "sst2").training.steps == collection_config("paper_size", "sst2").training.steps
    assert "rte_unseen" in collections_table("default").index  # a paper-size-only collection
