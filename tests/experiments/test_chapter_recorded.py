"""Chapter helpers on a real smoke collection (SST-2: collected in seconds on first use)."""
import numpy as np
import pytest
from chapter_helpers import make_runs

from lib.experiments.chapters import (REFERENCE, collection_summary, fine_tuning_scores, load_collections,
                                      pick_test_examples, run_timings, spread_summary, task_of_test, ids_by_task)
from lib.experiments.figures import example_panels


@pytest.fixture(scope="module")
def sst2():
    return load_collections("smoke", ["sst2"])


def test_summary_and_timings_come_from_the_collection(sst2):
    dyn = sst2["sst2"]
    summary = collection_summary(sst2)
    row = summary.loc["sst2"]
    assert row["task"] == "sst2" and row["tuning"] == "fine-tuning" and row["model"] == "tiny-neox"
    assert row["steps"] == dyn.n_steps and row["test examples"] == dyn.n_tests
    assert row["runs (train/val/test)"] == "4/1/2" and row["metrics"] == "loss"
    timings = run_timings(dyn)
    assert len(timings) == dyn.n_runs and (timings["wall_seconds"] > 0).all()
    assert row["collection s"] == pytest.approx(timings["wall_seconds"].sum())
    assert timings["gradients"].tolist() == [s == "test" for s in dyn.split]


def test_test_tasks_and_groups(sst2):
    dyn = sst2["sst2"]
    assert set(task_of_test(dyn).values()) == {"sst2"}
    assert ids_by_task(dyn) == {"sst2": [int(t) for t in dyn.test_ids]}


def test_spread_summary():
    dyn = make_runs()
    spread = spread_summary({"x": dyn}).loc["x"]
    assert spread["change"] == pytest.approx(np.mean(dyn.values[:, -1] - dyn.values[:, 0]))
    assert spread["between-run std at T"] == pytest.approx(np.mean(np.std(dyn.values[:, -1], axis=0)))


def test_pick_test_examples():
    dyn = make_runs(tests=5)
    change = np.mean(dyn.values[:, -1] - dyn.values[:, 0], axis=0)
    spread = pick_test_examples(dyn, 2)
    assert spread == [int(dyn.test_ids[np.argmin(change)]), int(dyn.test_ids[np.argmax(change)])]
    moving = pick_test_examples(dyn, 1, by="movement")
    movement = np.mean(np.abs(np.diff(dyn.values, axis=1)).sum(axis=1), axis=0)
    assert moving == [int(dyn.test_ids[np.argmax(movement)])]
    assert pick_test_examples(dyn, 3, groups={"a": [10, 11], "b": [12]}) == [
        min((10, 11), key=lambda t: change[t - 10]), 12, max((10, 11), key=lambda t: change[t - 10])]
    with pytest.raises(ValueError, match="by must"):
        pick_test_examples(dyn, 1, by="size")


def test_fine_tuning_scores_on_the_smoke_collection():
    results, scores = fine_tuning_scores("smoke", ["sst2"], ["Simfluence", "TracIn-CP (10 ckpts)"])
    assert set(scores["method"]) == {"Simfluence", "TracIn-CP (10 ckpts)", REFERENCE}
    assert set(scores["task"]) == {"sst2", "average"}
    result = results["sst2"]
    assert result.predictions[REFERENCE].shape == result.truth.values.shape
    panels = example_panels([("SST-2", result, None)], run=1, by="change")
    assert panels[0].run == 1 and panels[0].title.startswith("SST-2, test ")
