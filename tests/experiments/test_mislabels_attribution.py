"""EK-FAC and TRAK self-influence rankings in the mislabel experiment (lib/experiments/mislabels.py): their place in
the retraining plan, the committed runs they must not move, the reasons where they are absent, detection AUC."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from lib.attribution.self_influence import SelfInfluence
from lib.attribution.store import save_self_scores
from lib.collect.examples import draw_examples
from lib.collect.retraining import RetrainScore, RetrainingStore
from lib.experiments import mislabels
from lib.experiments.mislabels import (EKFAC, GPT_AII, RANDOM, SETTINGS, STAGES, TRACIN, TRAK, accuracy_differences,
                                       attribution_self_scores, detect, detection_display, detection_facts,
                                       detection_table, facts, rank_by_score, random_ranking, rankings,
                                       retrain_config, retraining_plan, settings_for)
from lib.experiments.store import collection_config, dynamics_folder, stored


def _brute_auc(scores: dict[int, float], flipped, clean) -> float:
    """P(a flipped example scores above a clean one) + half the ties, unscored = lowest, pair by pair."""
    value = {i: scores.get(i, -np.inf) for i in list(flipped) + list(clean)}
    pairs = [(1.0 if value[f] > value[c] else 0.5 if value[f] == value[c] else 0.0) for f in flipped for c in clean]
    return float(np.mean(pairs))


POOL = np.arange(20)
FLIPPED = np.array([0, 3, 5, 7, 11, 19])


def test_detection_auc_is_the_pairwise_share_and_found_is_the_top_share():
    rng = np.random.default_rng(1)
    noisy = {int(i): float(rng.normal() + (1.5 if i in FLIPPED else 0)) for i in POOL[:-2]}  # 18, 19 unscored
    noisy[4] = noisy[3]  # a tie between a flipped and a clean example
    perfect = {int(i): float(i in FLIPPED) + 0.01 * i for i in POOL}
    table = detection_table({TRACIN: noisy, EKFAC: perfect}, POOL, FLIPPED, random_seeds=3,
                            missing={TRAK: "no TRAK here, because"}, n_resamples=300).set_index("method")
    clean = np.setdiff1d(POOL, FLIPPED)
    assert table.loc[TRACIN, "auc"] == pytest.approx(_brute_auc(noisy, FLIPPED, clean))
    assert table.loc[EKFAC, "auc"] == 1.0 and table.loc[EKFAC, "low"] == table.loc[EKFAC, "high"] == 1.0
    assert table.loc[TRACIN, "low"] <= table.loc[TRACIN, "auc"] <= table.loc[TRACIN, "high"]
    assert table.loc[TRACIN, "scored"] == 18 and table.loc[EKFAC, "found 30%"] == 1.0  # top 6 = the 6 flipped
    ranking = rank_by_score(noisy, POOL)
    assert table.loc[TRACIN, "found 20%"] == len(set(ranking[:4]) & set(FLIPPED)) / len(FLIPPED)
    aucs = [_brute_auc({int(i): -p for p, i in enumerate(random_ranking(POOL, k))}, FLIPPED, clean) for k in range(3)]
    assert table.loc[RANDOM, "auc"] == pytest.approx(np.mean(aucs)) and table.loc[RANDOM, "low"] == min(aucs)
    assert np.isnan(table.loc[TRAK, "auc"]) and table.loc[TRAK, "note"] == "no TRAK here, because"
    shown = detection_display(table.reset_index())
    assert shown.loc[TRAK, "AUC [95% interval]"] == "-" and shown.loc[TRAK, "note"] == "no TRAK here, because"
    assert shown.loc[EKFAC, "AUC [95% interval]"].startswith("1.00") and shown.loc[EKFAC, "top 30%"] == "1.00"
    assert shown.loc[TRACIN, "scored"] == "18 of 20" and shown.loc[RANDOM, "note"].startswith("interval: [min, max]")


def test_detection_differences_are_paired_and_decided_by_their_interval():
    perfect = {int(i): float(i in FLIPPED) for i in POOL}
    reversed_ = {i: -v for i, v in perfect.items()}
    det = detect("x", {TRACIN: perfect, EKFAC: dict(perfect), TRAK: reversed_}, POOL, FLIPPED, random_seeds=2,
                 missing={})
    diffs = det.differences.set_index(["A", "B"])
    same = diffs.loc[(EKFAC, TRACIN)]
    assert same["difference"] == 0 and same["low"] == same["high"] == 0 and same["verdict"] == "undecided"
    assert diffs.loc[(TRAK, TRACIN), "difference"] == -1.0 and diffs.loc[(TRAK, TRACIN), "verdict"] == "worse"
    assert diffs.loc[(EKFAC, TRAK), "verdict"] == "better"
    assert (GPT_AII, TRACIN) not in diffs.index  # no GPTfluence scores: not compared
    out = detection_facts(det, "p")
    assert out["p_ekfac_vs_tracin_auc"].endswith(": undecided") and out["p_trak_auc"] == "0 [0, 0]"
    assert out["p_gpt_vs_tracin_auc"].startswith("not compared")
    assert out["p_det_n"] == "6 flipped and 14 clean pool examples"
    assert out["p_det_missing"] == "none"
    assert out["p_attribution"].startswith("the AUC is EK-FAC 1.00 [1.00, 1.00], TRAK 0 [0, 0]")
    assert "TracIn-CP 1.00" in out["p_attribution"] and "not ranked" not in out["p_attribution"]


def test_the_attribution_sentence_gives_each_reason_once_where_neither_is_ranked():
    from lib.experiments.mislabels import attribution_sentence

    perfect = {int(i): float(i in FLIPPED) for i in POOL}
    why = "the noisy collection trains the 'full' regime"
    det = detect("x", {TRACIN: perfect}, POOL, FLIPPED, random_seeds=2, missing={EKFAC: why, TRAK: why})
    text = attribution_sentence(det)
    assert text.startswith(f"EK-FAC and TRAK are not ranked ({why})") and text.count(why) == 1
    assert "TracIn-CP 1.00 [1.00, 1.00]" in text and "random" in text


def test_rankings_without_stored_self_influence_say_why_from_the_config(tmp_path):
    full = collection_config("full_fine_tuning", "sst2_mislabel")
    top = collection_config("paper_size", "sst2_mislabel")
    scores, reasons = attribution_self_scores(tmp_path, full)
    assert scores == {} and set(reasons) == {EKFAC, TRAK} and "trains the 'full' regime, EK-FAC covers" in reasons[EKFAC]
    _, reasons = attribution_self_scores(tmp_path, top)
    assert "no TRAK self-influence is stored" in reasons[TRAK]
    for run, values in ((3, [1.0, 2.0, 0.5]), (4, [3.0, 0.0, 0.5])):
        save_self_scores(tmp_path, run, SelfInfluence(np.array(values), np.array([7, 8, 9]), {"fit": 1.0, "score": 1.0},
                                                      {"method": "ekfac"}))
    scores, reasons = attribution_self_scores(tmp_path, top)
    assert scores == {EKFAC: {7: 2.0, 8: 1.0, 9: 0.5}} and set(reasons) == {TRAK}  # the mean over the scored runs


def _plans(seeds: int = 2):
    """Smoke plans without and with an EK-FAC ranking that finds every mislabel (sets TracIn-CP does not reach)."""
    noisy = collection_config("smoke", "sst2_mislabel")
    examples = draw_examples(noisy)
    pool, flipped = examples.pool_ids, examples.flipped
    settings = dataclasses.replace(SETTINGS["smoke"], retrain_seeds=seeds, run_seconds=10.0)
    tracin = {int(i): float(k) for k, i in enumerate(random_ranking(pool, 99))}
    ekfac = {int(i): 1.0 + (i in set(flipped)) for i in pool}
    old = retraining_plan(rankings({TRACIN: tracin}, pool, 2), flipped, noisy, settings, settings.fractions)
    new = retraining_plan(rankings({TRACIN: tracin, EKFAC: ekfac}, pool, 2), flipped, noisy, settings,
                          settings.fractions)
    return old, new, settings


def test_ekfac_and_trak_sets_join_the_plan_in_their_own_stage_and_leave_the_others_keys_alone(tmp_path, monkeypatch):
    old, new, settings = _plans()
    old_queue = [(c.config_hash, i) for c, i in mislabels.retraining_queue(old)]
    staged = mislabels.staged_queue(new)
    assert [(c.config_hash, i) for c, i, stage in staged if stage == 0] == old_queue  # same keys, same order
    added = [(c.config_hash, i) for c, i, stage in staged if stage == 1]
    assert added and not set(added) & set(old_queue)
    assert [s for *_, s in staged] == sorted(s for *_, s in staged)
    trained, said = [], []

    def fake(config, run_index, device=None):
        trained.append((config.config_hash, run_index))
        return RetrainScore(config.config_hash, run_index, 0, 2, 0.5, 1.0, (0, 1), (1, 2), 0.1)

    monkeypatch.setattr("lib.collect.retraining.retrain_and_score", fake)
    store = RetrainingStore(tmp_path)
    mislabels.collect_in_order(new, lambda: None, store, collect=False, settings=settings, say=said.append)
    assert said[0].startswith(STAGES[0]) and f"{len(old_queue)} missing" in said[0]
    assert said[1].startswith(f"{STAGES[1]}: {len(added)} runs") and f"{len(added)} missing" in said[1]
    mislabels.collect_in_order(new, lambda: None, store, collect=True, settings=settings, say=said.append)
    assert trained == old_queue + added  # random and TracIn-CP's sets first, then EK-FAC's
    said.clear()
    mislabels.collect_in_order(old, lambda: None, store, collect=False, settings=settings, say=said.append,
                               attribution_missing={TRAK: "no TRAK, because"})
    assert "TRAK's ranking: none (no TRAK, because)" in said


def test_accuracy_pairs_of_absent_rankings_are_left_out_and_the_facts_say_why():
    rows = []
    for ranking, seeds in ((GPT_AII, [0]), (mislabels.GPT_EFFECT, [0]), (TRACIN, [0]), (RANDOM, [0, 1]),
                           (EKFAC, [0])):
        for seed in seeds:
            for fraction in (0.0, 0.2, 0.4):
                for retrain_seed in (0, 1):
                    rows.append({"ranking": ranking, "seed": seed, "fraction": fraction, "retrain_seed": retrain_seed,
                                 "fraction_found": fraction, "accuracy": 0.5 + 0.1 * (ranking == EKFAC) * fraction,
                                 "final_loss": 1.0, "folder": f"{ranking}{seed}{fraction}",
                                 "correct": np.full(8, 0.5 + 0.5 * (ranking == EKFAC and fraction > 0))})
    table = pd.DataFrame(rows)
    differences = accuracy_differences(table, (0.0, 0.2, 0.4))
    pairs = set(zip(differences["A"], differences["B"]))
    assert (EKFAC, RANDOM) in pairs and (GPT_AII, EKFAC) in pairs and not any(TRAK in p for p in pairs)
    scores = {GPT_AII: {1: 0.2}, TRACIN: {1: 0.5}, EKFAC: {1: 0.3, 2: 0.1}}
    result = mislabels.MislabelResult(
        pool_ids=np.arange(10), flipped=np.array([1, 2, 3, 4]), scores=scores, rankings={}, table=table,
        settings=dataclasses.replace(SETTINGS["smoke"], random_seeds=2), retrain_runs=30, retrain_sets=15,
        retrain_seconds=12.0, tests=8, fractions=(0.0, 0.2, 0.4), differences=differences,
        missing={TRAK: "no TRAK, because"},
        detection=detect("smoke", scores, np.arange(10), np.array([1, 2, 3, 4]), random_seeds=2,
                         missing={TRAK: "no TRAK, because"}))
    out = facts(result)
    assert out["mis_trak_found_list"] == "not ranked (no TRAK, because)"
    assert out["mis_trak_auc"].startswith("not ranked")
    assert out["mis_ekfac_found_list"] == "0.200 / 0.400" and out["mislabel_ekfac_random_claim"] == "holds"
    assert out["mis_trak_vs_tracin_auc"] == "not compared (no TRAK, because)"
    assert out["mis_det_missing"] == "TRAK: no TRAK, because"


@pytest.mark.parametrize("scale", ["full_fine_tuning", "paper_size"])
def test_every_committed_retraining_run_keeps_its_key(scale):
    """The retraining config of each committed fixed set hashes to its folder's name: adding rankings moved no run."""
    folder = dynamics_folder(scale, mislabels.RETRAIN_FOLDER)
    noisy = collection_config(scale, mislabels.NOISY)
    described = sorted(folder.glob("*/config.json"))
    assert described, f"no committed retraining runs under {folder}"
    for path in described:
        stored_hash = json.loads(path.read_text())["config_hash"]
        fixed = json.loads(path.read_text())["config"]["data"]["fixed_ids"]
        assert retrain_config(noisy, fixed, settings_for(scale)).config_hash == stored_hash
        assert path.parent.name == stored_hash[:16]


def test_the_paper_size_plan_still_holds_every_committed_run_and_adds_ekfac_and_trak_sets():
    settings = SETTINGS["paper_size"]
    collection = stored("paper_size", mislabels.NOISY, collect_missing=False)
    noisy = collection_config("paper_size", mislabels.NOISY)
    pool, flipped = mislabels.noisy_truth(collection)
    attribution, missing = attribution_self_scores(collection.folder, noisy)
    assert set(attribution) == {EKFAC, TRAK} and not missing
    scores = {TRACIN: mislabels.tracin_scores(collection.dynamics(require_complete=True)), **attribution}
    plan = retraining_plan(rankings(scores, pool, settings.random_seeds), flipped, noisy, settings, settings.fractions)
    folder = dynamics_folder("paper_size", mislabels.RETRAIN_FOLDER)
    committed = {(p.parent.name, int(p.stem.split("-")[1])) for p in folder.glob("*/run-*.json")}
    first_stage = {(c.config_hash[:16], i) for c, i, stage in mislabels.staged_queue(plan) if stage == 0}
    # the random and TracIn-CP stage is committed whole: a change of its keys would leave its runs unfound (the
    # committed GPTfluence-stage runs are outside this plan, which has no GPTfluence fit)
    assert first_stage and first_stage <= committed
    stages = {s for *_, s in mislabels.staged_queue(plan)}
    assert stages == {0, 1}  # EK-FAC's and TRAK's rankings reach sets the random and TracIn-CP rankings do not
