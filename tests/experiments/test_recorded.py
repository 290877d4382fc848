"""lib.experiments.recorded on a real smoke collection (SST-2: collected in seconds on first use)."""
import numpy as np
import pandas as pd
import pytest
from chapter_helpers import make_runs

from lib.experiments.chapters import (REFERENCE, collection_summary, fine_tuning_scores, ids_by_task, spread_summary,
                                      stored)
from lib.curriculum_signal import curriculum_signal
from lib.experiments.recorded import (RecordedResult, facts, never_changing_table, run, signal_facts, signal_of,
                                      summary_table)
from lib.experiments.wording import fmt
from lib.plots import example_panels


@pytest.fixture(scope="module")
def sst2():
    return {"sst2": stored("smoke", "sst2")}


def test_summary_and_timings_come_from_the_collection(sst2):
    dyn = sst2["sst2"].dynamics()
    summary = collection_summary(sst2)
    row = summary.loc["sst2"]
    assert row["task"] == "sst2" and row["tuning"] == "fine-tuning" and row["model"] == "tiny-neox"
    assert row["steps"] == dyn.n_steps and row["test examples"] == dyn.n_tests
    assert row["runs (train/val/test)"] == "4/1/2" and row["metrics"] == "loss"
    timings = sst2["sst2"].timings()
    assert len(timings) == dyn.n_runs and (timings["wall_seconds"] > 0).all()
    assert row["collection s"] == pytest.approx(timings["wall_seconds"].sum())
    assert timings["gradients"].tolist() == [s == "test" for s in dyn.split]


def test_test_tasks_and_groups(sst2):
    dyn = sst2["sst2"].dynamics()
    tasks_of = sst2["sst2"].test_tasks()
    assert set(tasks_of.values()) == {"sst2"}
    assert ids_by_task(tasks_of) == {"sst2": [int(t) for t in dyn.test_ids]}
    some = [int(t) for t in dyn.test_ids[::-2]]
    assert ids_by_task(tasks_of, ["rte"], some) == {"sst2": some}


def test_ids_by_task_puts_the_named_tasks_first_and_keeps_recording_order():
    tasks_of = {5: "rte", 1: "sst2", 9: "rte", 3: "boolq"}
    assert ids_by_task(tasks_of, ["boolq"]) == {"boolq": [3], "rte": [5, 9], "sst2": [1]}
    assert ids_by_task(tasks_of, test_ids=[9, 1]) == {"rte": [9], "sst2": [1]}


def test_spread_summary():
    dyn = make_runs()
    spread = spread_summary({"x": dyn}).loc["x"]
    assert spread["change"] == pytest.approx(np.mean(dyn.values[:, -1] - dyn.values[:, 0]))
    assert spread["between-run std at T"] == pytest.approx(np.mean(np.std(dyn.values[:, -1], axis=0)))


def test_fine_tuning_scores_on_the_smoke_collection():
    results, scores = fine_tuning_scores("smoke", ["sst2"], ["Simfluence", "TracIn-CP (10 ckpts)"])
    assert set(scores["method"]) == {"Simfluence", "TracIn-CP (10 ckpts)", REFERENCE}
    assert set(scores["task"]) == {"sst2", "average"}
    result = results["sst2"]
    assert result.predictions[REFERENCE].shape == result.truth.values.shape
    panels = example_panels([("SST-2", result.truth, result.predictions, None)], run=1, by="change")
    assert panels[0].run == 1 and panels[0].title.startswith("SST-2, test ")


def test_the_chapter_run_and_its_facts_on_the_smoke_collection():
    result = run("smoke", ["sst2"])
    out = facts(result)
    assert out["scale"] == "smoke" and out["n_collections"] == 1 and out["model"] == "tiny-neox"
    assert out["n_runs_total"] == result.dynamics["sst2"].n_runs
    assert out["ratio_min_name"] == "SST-2" and out["n_generation"] == 0 and out["flat_min"] == "n/a"
    assert float(out["eval_share"]) + float(out["train_share"]) <= 101
    assert summary_table(result.summary).columns.tolist() == ["sst2"]
    assert never_changing_table(result).empty


def test_curriculum_signal_rows_and_facts():
    base, other = make_runs(seed=0), make_runs(seed=1)
    base = base.__class__.from_arrays(base.curricula, base.values, base.test_ids, "loss",
                                      split=["train", "train", "train", "train", "val", "test"])
    flat = base.__class__.from_arrays(base.curricula, np.repeat(base.values[:, :1], base.values.shape[1], axis=1)
                                      + np.linspace(0, -1, base.values.shape[1])[None, :, None],
                                      base.test_ids, "loss", split=base.split)
    table = signal_of({"sst2": base}, {}, {"pilot": flat})
    assert list(table.index) == ["SST-2, loss", "pilot"]
    assert table.loc["SST-2, loss", "spread"] == pytest.approx(curriculum_signal(base).spread)
    result = RecordedResult(scale="smoke", collections={}, dynamics={"sst2": base}, summary=None, timings={},
                            spread=None, generation={}, signal=table, compared={"pilot": "sst2"})
    facts = signal_facts(result)
    assert facts["compared0_label"] == "pilot" and facts["compared0_runs"] == 6
    # the pilot's runs all move alike (same linear drop), so they end no farther apart than the random base's
    pilot, same = table.loc["pilot"], table.loc["SST-2, loss"]
    assert f"this build's SST-2, loss collection" in facts["compared0_verdict"]
    assert f"end {fmt(pilot['spread'] / same['spread'])} times as far apart" in facts["compared0_verdict"]
    assert pilot["spread"] < same["spread"]


class _TestTasks:
    """A stand-in for a StoredCollection that knows only the task of each test example."""

    def __init__(self, tasks_of):
        self.tasks_of = tasks_of

    def test_tasks(self):
        return self.tasks_of


def test_result_views_for_the_figures():
    mixture, sst2 = make_runs(steps=4), make_runs(steps=3, seed=1)
    tasks_of = {10: "webnlg", 11: "sst2", 12: "rte", 13: "sst2"}
    result = RecordedResult(scale="smoke", collections={"mixture": _TestTasks(tasks_of)},
                            dynamics={"mixture": mixture, "sst2": sst2}, summary=None, timings={}, spread=None,
                            generation={}, signal=None, compared={})
    assert result.steps == {"mixture": 4, "sst2": 3}
    assert list(result.labelled) == ["instruction mixture", "SST-2"] and result.labelled["SST-2"] is sst2
    assert result.first_fine_tuning == "sst2"
    assert result.mixture_groups() == {"SST-2": [11, 13], "RTE": [12], "WebNLG": [10]}  # the papers' order
    without = RecordedResult(scale="smoke", collections={}, dynamics={"sst2": sst2}, summary=None, timings={},
                             spread=None, generation={}, signal=None, compared={})
    assert without.mixture_groups() == {} and without.first_fine_tuning == "sst2"


def test_paper_size_status_lists_every_config_and_counts_collected_runs():
    from lib.experiments.recorded import paper_size_facts, paper_size_status
    from lib.experiments.store import CONFIGS

    status = paper_size_status()
    assert set(status.index) == {p.stem for p in (CONFIGS / "paper_size").glob("*.toml")}
    assert status.loc["sst2", "runs collected"] == "32 of 32" and status.loc["sst2", "complete"]
    collected = status["runs collected"].str.split(" of ", expand=True).astype(int)
    assert (status["complete"] == (collected[0] == collected[1])).all()
    f = paper_size_facts(status)
    assert f["paper_size_total"] == len(status) and f["paper_size_complete"] == int(status["complete"].sum())
    assert "sst2" in f["paper_size_complete_names"].split(", ")


def test_paper_size_role_says_whether_the_build_simulates_the_paper_size_collections():
    from lib.experiments.recorded import paper_size_role

    assert "this build's chapters simulate" in paper_size_role("paper_size")["paper_size_role"]
    for scale in ("full_fine_tuning", "smoke"):
        assert "not these" in paper_size_role(scale)["paper_size_role"]
    assert "EK-FAC" in paper_size_role("full_fine_tuning")["paper_size_role"]


def test_compared_verdict_says_when_the_mean_first_moves_the_other_way():
    from lib.experiments.recorded import compared_verdict

    same = pd.Series({"early_share": 0.8, "spread": 0.04}, name="RTE, loss")
    forward = compared_verdict(pd.Series({"early_share": 0.3, "spread": 0.2}), same)
    backward = compared_verdict(pd.Series({"early_share": -5.45, "spread": 1.1}), same)
    assert forward.startswith("less of its change happens in the first 2 steps") and "5" in forward
    assert backward.startswith("its mean trajectory moves the other way in the first 2 steps, by 5.45 times")
    assert "27.5 times as far apart" in backward
    this_build_backward = compared_verdict(pd.Series({"early_share": 0.757, "spread": 0.057}),
                                           pd.Series({"early_share": -5.45, "spread": 1.1}, name="RTE, loss"))
    assert "no less" not in this_build_backward and "less" not in this_build_backward.split(",")[0]
    assert this_build_backward.startswith("its mean trajectory makes 0.757 of its change in the first 2 steps, that "
                                          "of this build's RTE, loss collection moves the other way")


def test_early_range_text_names_the_collections_whose_mean_first_moves_the_other_way():
    from lib.experiments.recorded import early_range_text

    shares = pd.Series({"SST-2, loss": 0.3, "WebNLG, loss": 0.13, "RTE, loss": -5.45, "BoolQ, loss": -0.82})
    text = early_range_text(shares)
    assert text.startswith("0.130 to 0.300 of the mean change happens in the first 2 steps")
    assert text.endswith("by a multiple of it, in RTE (5.45 times), BoolQ (0.820 times)") and "-5.45" not in text
    assert early_range_text(shares[shares > 0]).count(";") == 0
