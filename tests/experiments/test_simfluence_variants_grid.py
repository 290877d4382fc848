"""Simfluence's variants and its closed form against Adam on the scale's grid, incomplete collections left out."""
import pytest

from lib.experiments import ablations
from lib.experiments import simfluence_variants as sv
from lib.experiments.store import Progress

QUICK_ADAM = {"epochs": 5, "lr": 3e-2, "warmup_steps": 0}


def test_an_incomplete_collection_is_left_out_of_both_parts_and_named(monkeypatch):
    monkeypatch.setattr(ablations, "progress",
                        lambda scale, name, data_dir=None: Progress(scale, name, 1 if name == "rte" else 7, 7))
    result = sv.run("smoke", tasks=["sst2", "rte"], adam_tasks=["sst2", "rte"], adam=QUICK_ADAM)
    assert set(result.variants["task"]) == {"sst2"} and set(result.fits["task"]) == {"sst2"}
    assert "rte: 1 of 7 runs collected" in ablations.skipped_text(result.skipped, "variants")
    assert "rte: 1 of 7 runs collected" in ablations.skipped_text(result.skipped, "adam")
    assert sv.facts(result)["sv_tasks"] == 1


def test_adam_runs_on_the_grids_tasks_only(monkeypatch):
    grid = ablations.AblationGrid(interval_tasks=(), intervals=(1,), order_targets={}, orders=(1,),
                                  encoder_collection="mixture", size_collections=(), variant_tasks=("sst2", "rte"),
                                  adam_tasks=("rte",), why="test")
    monkeypatch.setitem(ablations.GRIDS, "smoke", grid)
    result = sv.run("smoke", adam=QUICK_ADAM)
    assert set(result.variants["task"]) == {"sst2", "rte"} and set(result.fits["task"]) == {"rte"}
    assert result.skipped == []


def test_no_complete_collection_is_a_clear_error_naming_what_is_missing(monkeypatch):
    monkeypatch.setattr(ablations, "progress", lambda scale, name, data_dir=None: Progress(scale, name, 2, 7))
    with pytest.raises(ValueError, match=r"scale 'smoke': no complete collection for variants \(.*sst2: 2 of 7 runs"):
        sv.run("smoke", tasks=["sst2"], adam_tasks=["sst2"], adam=QUICK_ADAM)
