"""lib.experiments.cost: EK-FAC and TRAK timings read from their stores, beside the collector's gradient seconds."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from lib.attribution.result import AttributionResult
from lib.attribution.self_influence import SelfInfluence
from lib.attribution.store import _write_npz, save_scores, save_self_scores, score_path
from lib.collect import StoredCollection
from lib.experiments import cost


def _pairwise(method: str, fit: float, score: float, cpu: float | None) -> AttributionResult:
    info = {"method": method, "threads": 1, "tracked_parameters" if method == "ekfac" else "parameters": 1234}
    if cpu is not None:
        info["cpu_seconds"] = cpu
    return AttributionResult(np.zeros((3, 2)), np.array([1, 2, 3]), np.array([8, 9]),
                             {"fit": fit, "score": score, "replay": 5.0}, info)


def test_attribution_cost_reads_every_stored_timing_and_the_gradient_seconds_of_the_same_runs(tmp_path, monkeypatch):
    folder = tmp_path / "paper_size" / "task"
    old = _pairwise("ekfac", 10.0, 30.0, None)  # written before CPU seconds and the machine load were recorded
    _write_npz(score_path(folder, "ekfac", 27), {"seconds": old.seconds, "info": old.info, "run": 27},
               scores=old.scores, train_ids=old.train_ids, test_ids=old.test_ids)
    monkeypatch.setattr(os, "getloadavg", lambda: (6.0, 5.0, 4.0))
    save_scores(folder, 28, _pairwise("ekfac", 20.0, 60.0, 40.0))
    save_scores(folder, 29, _pairwise("ekfac", 30.0, 90.0, 60.0))
    for run in (27, 28):
        save_scores(folder, run, _pairwise("trak", 2.0, 1.0, 3.0))
    save_self_scores(folder, 28, SelfInfluence(np.ones(4), np.arange(4), {"fit": 7.0, "score": 3.0},
                                               {"method": "trak", "parameters": 99, "cpu_seconds": 5.0}))
    recorded = pd.DataFrame({"gradients": [True, True, True, False], "gradient_seconds": [4.0, 6.0, 100.0, 0.0]},
                            index=pd.Index([27, 28, 3, 29], name="run"))
    monkeypatch.setattr(StoredCollection, "timings", lambda self: recorded)
    timings = cost.attribution_timings(folder)
    assert len(timings) == 6 and np.isnan(timings.set_index(["method", "run"]).loc[("EK-FAC", 27), "cpu"])
    table = cost.attribution_cost(["paper_size/task"], root=tmp_path).set_index(["method", "kind"])
    ekfac = table.loc[("EK-FAC", "pairwise")]
    assert ekfac["runs"] == 3 and ekfac["scored"] == "3 train x 2 tests" and ekfac["parameters"] == "1,234"
    assert ekfac["wall (s)"] == "80.0 [40.0, 120] (n 3)" and ekfac["CPU (s)"] == "50.0 [40.0, 60.0] (n 2)"
    assert ekfac["CPU share"] == "0.500 [0.500, 0.500] (n 2)"  # CPU / (fit + scoring) of the runs that recorded it
    assert ekfac["load average"] == "6.00 [6.00, 6.00] (n 2)"  # the 1-minute load of the two results written with it
    assert table.loc[("TRAK", "self-influence"), "scored"] == "4 pool examples, each on itself"
    gradient = table.loc[(cost.GRADIENT_ROW, "gradient dot products, while training")]
    assert gradient["runs"] == 2 and gradient["scoring (s)"] == "5.00 [4.00, 6.00] (n 2)"  # runs 27, 28 only
    assert gradient["CPU (s)"] == cost.NOT_RECORDED
    facts = cost.attribution_facts(table.reset_index())
    assert facts["att_task_ekfac_pair_cpu"] == ekfac["CPU (s)"] and facts["att_task_trak_self_runs"] == 1
    assert facts["att_task_grad_wall"] == gradient["wall (s)"] and facts["att_load"].startswith("recorded for 3 of 4")
    shown = cost.attribution_display(table.reset_index())
    assert list(shown.columns[:2]) == ["CPU (s)", "wall (s)"] and "load average" in shown.columns
    assert shown.loc[("paper_size/task", "EK-FAC"), "scored"] == "pairwise: 3 train x 2 tests"


def test_a_collection_without_stores_has_no_rows(tmp_path):
    (tmp_path / "empty").mkdir()
    assert cost.attribution_cost(["empty"], root=tmp_path).empty
    assert cost.attribution_timings(tmp_path / "empty").empty


def test_the_collections_with_stored_scores_are_found_in_the_regimes_order(tmp_path):
    for name in ("wmt16_de_en", "sst2", "mixture", "rte"):
        (tmp_path / "paper_size" / name / ("attribution" if name != "rte" else "runs")).mkdir(parents=True)
    (tmp_path / "paper_size" / "zz_new" / "attribution").mkdir(parents=True)  # not in PAPER_SIZE_COLLECTIONS: last
    assert cost.attribution_collections(tmp_path) == ["paper_size/sst2", "paper_size/wmt16_de_en", "paper_size/mixture",
                                                      "paper_size/zz_new"]  # rte has no scores
    assert cost.attribution_collections(tmp_path / "nowhere") == []
    committed = cost.attribution_collections()
    assert {"paper_size/sst2", "paper_size/mixture", "paper_size/sst2_mislabel"} <= set(committed)
