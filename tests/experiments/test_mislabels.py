"""Mislabel identification (lib/experiments/mislabels.py): rankings, fractions found, fixes, retraining, accuracy."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from lib.collect.curricula import sample_curriculum
from lib.collect.examples import draw_examples
from lib.collect.retraining import RetrainScore, RetrainingStore
from lib.experiments import mislabels
from lib.experiments.mislabels import (GPT_AII, GPT_EFFECT, RANDOM, SETTINGS, TRACIN, MislabelResult, settings_for,
                                       accuracy_differences, checked, checked_table, correct_by_seed,
                                       differences_display, facts, fixes, fraction_found, rank_by_score,
                                       random_ranking, rankings, retrain_config, retraining_plan, self_effect, summary,
                                       with_correct)
from lib.experiments.store import collection_config

POOL = np.arange(100, 120)          # 20 pool ids
FLIPPED = np.array([101, 105, 106, 110, 111, 119, 102, 117])  # 8 = 40%


def test_rank_by_score_is_decreasing_with_unscored_last_and_ties_by_id():
    scores = {103: 1.0, 101: 5.0, 110: 5.0, 119: -2.0, 104: float("nan")}
    ranking = rank_by_score(scores, POOL)
    assert ranking[:4].tolist() == [101, 110, 103, 119]
    assert sorted(ranking.tolist()) == POOL.tolist()
    assert ranking[4:].tolist() == sorted(set(POOL.tolist()) - {101, 103, 110, 119})


def test_fraction_found_is_the_share_of_flipped_ids_in_the_checked_top():
    ranking = random_ranking(POOL, seed=7)
    for f in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0):
        top = ranking[: round(f * len(POOL))]
        assert len(checked(ranking, f)) == round(f * len(POOL))
        assert fraction_found(ranking, f, FLIPPED) == len(set(top) & set(FLIPPED)) / len(FLIPPED)
        assert set(fixes(ranking, f, FLIPPED)) == set(top) & set(FLIPPED)
    assert fraction_found(ranking, 1.0, FLIPPED) == 1.0 and fraction_found(ranking, 0.0, FLIPPED) == 0.0


def test_random_rankings_are_seeded_and_independent_of_input_order():
    a = random_ranking(POOL, seed=3)
    np.testing.assert_array_equal(a, random_ranking(POOL[::-1], seed=3))
    assert not np.array_equal(a, random_ranking(POOL, seed=4))
    ranks = rankings({GPT_AII: {100: 1.0}}, POOL, random_seeds=3)
    assert set(ranks) == {(GPT_AII, 0), (RANDOM, 0), (RANDOM, 1), (RANDOM, 2)}


@pytest.mark.parametrize("scale", ["smoke", "default", "full_fine_tuning", "paper_size"])
def test_each_scale_checks_fractions_up_to_half_and_default_meets_the_issue(scale):
    s = settings_for(scale)
    assert s.fractions[0] == 0.0 and list(s.fractions) == sorted(s.fractions) and max(s.fractions) <= 0.5
    if scale != "smoke":
        assert s.fractions == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
        assert s.random_seeds >= 10 and s.retrain_seeds >= 3 and s.accuracy_tests >= 200


def test_a_scale_reads_the_mislabel_settings_of_its_data_regime():
    from lib.scales import DEFAULT_READS

    assert set(SETTINGS) == {"smoke", "full_fine_tuning", "paper_size"}
    assert settings_for("default") is SETTINGS[DEFAULT_READS]
    assert settings_for("paper_size") is SETTINGS["paper_size"]


def test_paper_size_retrains_the_whole_pool_of_200_in_the_paper_size_regime_on_200_tests():
    from lib.scales import PAPER_SIZE_REGIME

    noisy = collection_config("paper_size", "sst2_mislabel")
    settings = SETTINGS["paper_size"]
    config = retrain_config(noisy, [3, 5], settings)
    assert noisy.data.pool_size == 200 and config.training.subset_size == 200
    assert config.data.test_size >= 200 and config.data.fixed_ids == (3, 5)
    assert config.training.batch_size == noisy.training.batch_size and config.training.epochs == noisy.training.epochs
    assert (config.model.regime, config.model.top_blocks, config.model.head) == (
        "top", PAPER_SIZE_REGIME.top_blocks, PAPER_SIZE_REGIME.head)
    assert config.training.lr == PAPER_SIZE_REGIME.lr and config.warmup.lr == PAPER_SIZE_REGIME.warmup_lr
    assert (config.warmup.examples, config.warmup.steps) == (PAPER_SIZE_REGIME.warmup_examples,
                                                              PAPER_SIZE_REGIME.warmup_steps)
    assert settings.retrain_seeds <= config.runs.train == mislabels.MAX_RETRAIN_SEEDS
    assert settings.run_seconds and settings.run_seconds > 0  # the command line's estimate before any run is stored


def _staged_plan(seeds: int = 2) -> tuple[pd.DataFrame, list, list]:
    """A smoke plan where GPTfluence's self-effect ranks as TracIn-CP (its sets are reached without GPTfluence) and
    A_ii finds every mislabel (its sets only GPTfluence reaches); returns (plan, its A_ii-only, its other folders)."""
    noisy = collection_config("smoke", "sst2_mislabel")
    examples = draw_examples(noisy)
    pool, flipped = examples.pool_ids, examples.flipped
    tracin = random_ranking(pool, 99)
    ranks = {(GPT_AII, 0): rank_by_score({int(i): 1.0 for i in flipped}, pool), (GPT_EFFECT, 0): tracin.copy(),
             (TRACIN, 0): tracin, (RANDOM, 0): random_ranking(pool, 0), (RANDOM, 1): random_ranking(pool, 1)}
    plan = retraining_plan(ranks, flipped, noisy, dataclasses.replace(SETTINGS["smoke"], retrain_seeds=seeds),
                           (0.0, 0.2, 0.4))
    others = set(plan.loc[~plan["ranking"].isin([GPT_AII]), "folder"])
    gpt_only = sorted(set(plan["folder"]) - others)
    assert gpt_only and others, "the plan must hold sets only A_ii reaches and sets the others reach"
    return plan, gpt_only, sorted(others)


def test_queue_trains_every_set_the_others_reach_before_any_set_only_gptfluence_reaches():
    plan, gpt_only, others = _staged_plan()
    queue = [(c.config_hash[:16], i) for c, i in mislabels.retraining_queue(plan)]
    assert len(queue) == len(set(queue)) == len(plan.drop_duplicates(["folder", "retrain_seed"]))
    stage = [folder in gpt_only for folder, _ in queue]
    assert stage == sorted(stage)  # no GPTfluence-only run before a collection-only one
    assert {f for f, _ in queue[:len(others) * 2]} == set(others)  # incl. the self-effect's sets (= TracIn-CP's)
    first = [i for (f, i), g in zip(queue, stage) if not g]
    assert first == sorted(first)  # within a stage every set's first seed before any set's second


def test_collecting_trains_the_others_sets_before_fitting_gptfluence_and_resumes(tmp_path, monkeypatch):
    plan, gpt_only, others = _staged_plan()
    settings = dataclasses.replace(SETTINGS["smoke"], retrain_seeds=2, run_seconds=10.0)
    store = RetrainingStore(tmp_path)
    trained, said, fitted_after = [], [], []

    def fake(config, run_index, device=None):
        trained.append((config.config_hash[:16], run_index))
        return RetrainScore(config.config_hash, run_index, 0, 2, 0.5, 1.0, (0, 1), (1, 2), 0.1)

    def gptfluence_plan():
        fitted_after.append(list(trained))
        return plan

    monkeypatch.setattr("lib.collect.retraining.retrain_and_score", fake)
    others_plan = plan[plan["ranking"] != GPT_AII]
    assert mislabels.collect_in_order(others_plan, gptfluence_plan, store, collect=False, settings=settings,
                                      say=said.append) == [] and not trained  # counting trains nothing, fits nothing
    assert f"{2 * len(others)} missing; about" in said[0]
    done = mislabels.collect_in_order(others_plan, gptfluence_plan, store, collect=True, settings=settings,
                                      say=said.append)
    assert [(h[:16], i) for h, i in done] == trained and {f for f, _ in trained[2 * len(others):]} == set(gpt_only)
    assert fitted_after == [trained[:2 * len(others)]]  # GPTfluence fitted once every other set's runs were stored
    assert len(trained) == len(plan.drop_duplicates(["folder", "retrain_seed"]))
    mislabels.collect_in_order(others_plan, gptfluence_plan, store, collect=True, settings=settings, say=said.append)
    assert len(trained) == len(plan.drop_duplicates(["folder", "retrain_seed"]))  # resumed: nothing trained again
    stopped = RetrainingStore(tmp_path / "other")
    mislabels.collect_in_order(others_plan, lambda: None, stopped, collect=True, settings=settings, say=said.append)
    assert not stopped.missing(mislabels.retraining_queue(others_plan))  # GPTfluence not ready: the others done


def test_retraining_uses_the_whole_cleaned_pool_so_a_fix_outside_run_0s_subset_matters():
    noisy = collection_config("smoke", "sst2_mislabel")
    settings = SETTINGS["smoke"]
    flipped = draw_examples(noisy).flipped
    pool = draw_examples(noisy).pool_ids
    subset0 = set(sample_curriculum(pool, subset_size=noisy.training.subset_size, batch_size=noisy.training.batch_size,
                                    epochs=noisy.training.epochs, seed=noisy.runs.seed, run_index=0).subset.tolist())
    outside = [i for i in flipped if i not in subset0]
    assert outside, "the smoke pool must hold a flipped example that run 0 of the noisy collection never trains on"
    nothing, fixed = retrain_config(noisy, [], settings), retrain_config(noisy, outside[:1], settings)
    assert fixed.training.subset_size == noisy.data.pool_size and fixed.data.test_size == settings.accuracy_tests
    assert fixed.config_hash != nothing.config_hash  # a different retraining, not "the same as no fixing"
    retrained = sample_curriculum(pool, subset_size=fixed.training.subset_size, batch_size=fixed.training.batch_size,
                                  epochs=fixed.training.epochs, seed=fixed.runs.seed, run_index=0)
    assert outside[0] in set(retrained.subset.tolist())  # the fixed example is trained on
    repaired = draw_examples(fixed)
    assert set(repaired.flipped) == set(flipped) - {outside[0]}
    assert fixed.runs.train == mislabels.MAX_RETRAIN_SEEDS and fixed.gradients.splits == ()


def test_equal_fixed_sets_share_retraining_runs_and_each_run_is_trained_once(tmp_path, monkeypatch):
    noisy = collection_config("smoke", "sst2_mislabel")
    settings = dataclasses.replace(SETTINGS["smoke"], retrain_seeds=2)
    flipped = draw_examples(noisy).flipped
    pool = draw_examples(noisy).pool_ids
    perfect = rank_by_score({int(i): 1.0 for i in flipped}, pool)
    ranks = {("a", 0): perfect, ("b", 0): perfect.copy(), (RANDOM, 0): random_ranking(pool, 0)}
    plan = retraining_plan(ranks, flipped, noisy, settings, (0.0, 0.2))
    assert len(plan) == 3 * 2 * 2
    same = plan[plan["ranking"].isin(["a", "b"]) & (plan["fraction"] == 0.2)]
    assert same["folder"].nunique() == 1
    assert plan.loc[plan["fraction"] == 0.0, "folder"].nunique() == 1
    trained = []

    def fake(config, run_index, device=None):
        trained.append((config.config_hash, run_index))
        return RetrainScore(config.config_hash, run_index, 0, 4, 0.25 * (run_index + 1), 1.0, (0, 1, 0, 1),
                            (1, 2, 3, 4), 0.1)

    monkeypatch.setattr("lib.collect.retraining.retrain_and_score", fake)
    store = RetrainingStore(tmp_path)
    with pytest.raises(FileNotFoundError, match="retraining runs are missing"):
        mislabels.retrain(plan, store, collect_missing=False)
    table = mislabels.retrain(plan, store, collect_missing=True)
    distinct = plan.drop_duplicates(["folder", "retrain_seed"])
    assert len(trained) == len(set(trained)) == len(distinct)
    assert table["accuracy"].tolist() == [0.25 * (i + 1) for i in plan["retrain_seed"]]
    mislabels.retrain(plan, store, collect_missing=False)  # resumed: everything is read back, nothing trained
    assert len(trained) == len(distinct)


def test_store_writes_atomically_and_refuses_another_configs_file(tmp_path):
    noisy = collection_config("smoke", "sst2_mislabel")
    a = retrain_config(noisy, [], SETTINGS["smoke"])
    b = retrain_config(noisy, draw_examples(noisy).flipped[:1], SETTINGS["smoke"])
    store = RetrainingStore(tmp_path)
    score = RetrainScore(a.config_hash, 0, 5, 2, 0.5, 0.7, (0, 1), (1, 2), 1.0)
    path = store.write(a, score)
    assert store.read(a, 0) == score and store.read(a, 1) is None and store.missing([(a, 0), (a, 1), (a, 1)]) == [(a, 1)]
    assert not list(path.parent.glob(".tmp-*")) and (path.parent / "config.json").is_file()
    (path.parent / ".tmp-run-0001.json.x").write_text("{")
    assert store.clean_temp(older_than_s=0) and store.read(a, 1) is None
    store.path(b, 0).parent.mkdir(parents=True)
    path.rename(store.path(b, 0))
    with pytest.raises(ValueError, match="holds a run of config"):
        store.read(b, 0)


def test_labels_are_chosen_by_the_whole_words_probability():
    from lib.collect.retraining import choose_labels, label_variants

    # word 0: 1 token at mean NLL 0.5 (total 0.5); word 1: 9 tokens at 0.1 (total 0.9) -> word 0
    assert choose_labels(np.array([[0.5], [0.1]]), np.array([[1], [9]])).tolist() == [0]
    assert choose_labels(np.array([[0.5, 0.5], [0.4, 0.6]]), np.array([[1, 1], [1, 1]])).tolist() == [1, 0]
    tests = draw_examples(collection_config("smoke", "sst2_mislabel")).test[:2]
    variants = label_variants(tests, (" negative", " positive"))
    assert [v.target for v in variants[1]] == [" positive"] * 2
    assert {int(v.id) for group in variants for v in group}.isdisjoint({int(e.id) for e in tests})


def test_self_effect_is_the_simulated_drop_of_the_own_loss():
    effect = self_effect(np.array([0.25, 0.1]), np.array([0.0, 0.05]), y0=2.0, batch=4)
    np.testing.assert_allclose(effect, [2.0 - 4 * 0.25 * 2.0, 2.0 - (4 * 0.1 * 2.0 + 4 * 0.05)])


TESTS = 40


def _correct(ranking: str, fraction: float, retrain_seed: int) -> np.ndarray:
    """A_ii's retrained classifiers get every test example right once anything is checked; the others get the same
    seeded half right whatever they fix (so the others' accuracies are equal)."""
    if ranking == GPT_AII and fraction > 0:
        return np.ones(TESTS)
    return (np.random.default_rng(retrain_seed).random(TESTS) < 0.5).astype(float)


def _result() -> MislabelResult:
    """Fractions 0, 0.2, 0.4; A_ii finds more than TracIn-CP, which finds more than two random rankings."""
    rows = []
    for ranking, seeds, found in ((GPT_AII, [0], 0.6), (GPT_EFFECT, [0], 0.5), (TRACIN, [0], 0.3),
                                  (RANDOM, [0, 1], 0.1)):
        for seed in seeds:
            for fraction in (0.0, 0.2, 0.4):
                for retrain_seed in (0, 1):
                    rows.append({"ranking": ranking, "seed": seed, "fraction": fraction, "retrain_seed": retrain_seed,
                                 "fraction_found": found * fraction / 0.4 + 0.01 * seed,
                                 "accuracy": 0.5 + (0.3 * fraction if ranking == GPT_AII else 0) + 0.01 * retrain_seed,
                                 "final_loss": 1.0 - fraction, "folder": f"{ranking}{seed}{fraction}",
                                 "correct": _correct(ranking, fraction, retrain_seed)})
    table = pd.DataFrame(rows)
    return MislabelResult(pool_ids=np.arange(10), flipped=np.array([1, 2, 3, 4]),
                          scores={GPT_AII: {1: 0.2}, TRACIN: {1: 0.5, 2: 0.1, 77: 1.0}}, rankings={},
                          table=table, settings=dataclasses.replace(SETTINGS["smoke"], random_seeds=2),
                          retrain_runs=30, retrain_sets=15, retrain_seconds=12.0, tests=24,
                          fractions=(0.0, 0.2, 0.4), differences=accuracy_differences(table, (0.0, 0.2, 0.4)))


def test_facts_read_the_summary_at_the_fractions_checked():
    out = facts(_result())
    assert out["mis_flipped"] == 4 and out["mis_tracin_scored"] == 2 and out["mis_acc_tests"] == 24
    assert out["mis_fracs_checked"] == "20% / 40%" and out["mis_frac_top"] == "40%"
    assert out["mis_gpt_found_list"] == "0.300 / 0.600" and out["mis_random_found_list"] == "0.0550 / 0.105"
    assert out["mis_gpt_beats_tracin_found"] == "2 of 2" and out["mis_gpt_beats_random_found_early"] == "1 of 1"
    assert out["mis_gpt_vs_random_acc"] == "above at 2, below at 0, undecided at the other 0 of 2"
    assert out["mis_tracin_vs_random_acc"] == "above at 0, below at 0, undecided at the other 2 of 2"
    assert out["mis_gpt_vs_random_found_top"] == "above" and out["mis_loss_0"] == "1.00"


def test_checked_table_shows_the_spread_over_rankings_and_retrainings():
    shown = checked_table(summary(_result().table))
    assert shown.loc["0.4", ("mislabels found", GPT_AII)] == "0.600"
    assert shown.loc["0.4", ("mislabels found", RANDOM)] == "0.105 [0.100, 0.110]"
    assert shown.loc["0.2", ("test accuracy", TRACIN)] == "0.505 [0.500, 0.510]"


def test_a_fix_outside_run_0s_subset_changes_the_retrained_classifier():
    """The old design retrained on run 0's 16-of-32 subset: fixing an example outside it changed nothing."""
    from lib.collect.retraining import retrain_and_score

    noisy = collection_config("smoke", "sst2_mislabel")
    examples = draw_examples(noisy)
    subset0 = set(sample_curriculum(examples.pool_ids, subset_size=noisy.training.subset_size,
                                    batch_size=noisy.training.batch_size, epochs=noisy.training.epochs,
                                    seed=noisy.runs.seed, run_index=0).subset.tolist())
    outside = [i for i in examples.flipped if i not in subset0][:1]
    settings = dataclasses.replace(SETTINGS["smoke"], accuracy_tests=8)
    before = retrain_and_score(retrain_config(noisy, [], settings), 0, device="cpu")
    after = retrain_and_score(retrain_config(noisy, outside, settings), 0, device="cpu")
    assert before.tests == after.tests == 8 and before.test_ids == after.test_ids
    assert after.loss != pytest.approx(before.loss, abs=1e-9)
    assert set(before.predicted) <= {0, 1} and 0 <= after.accuracy <= 1


def test_accuracy_is_compared_paired_over_retraining_seeds_and_test_examples():
    result = _result()
    per_seed = correct_by_seed(result.table, RANDOM, (0.2, 0.4))
    assert per_seed.shape == (2, TESTS)  # the two random rankings x two fractions averaged within each seed
    np.testing.assert_array_equal(per_seed[1], _correct(RANDOM, 0.2, 1))
    diffs = result.differences.set_index(["A", "B", "checked"])
    better = diffs.loc[(GPT_AII, TRACIN, "all")]
    assert better["verdict"] == "better" and better["low"] > 0
    assert better["difference"] == pytest.approx(1 - np.mean([_correct(TRACIN, 0.2, s).mean() for s in (0, 1)]))
    same = diffs.loc[(TRACIN, RANDOM, "all")]  # identical predictions: a zero difference is not "better"
    assert same["difference"] == 0 and same["verdict"] == "undecided"
    assert diffs.loc[(GPT_AII, RANDOM, "early"), "fractions"] == "20%"
    out = facts(result)
    assert out["mislabel_claim"] == "holds" and out["mislabel_tracin_random_claim"] == "undecided"
    assert out["mislabel_n"] == f"2 retraining seeds x {TESTS} test examples"
    assert {"mislabel_diff", "mislabel_interval", "mislabel_random_early_claim"} <= set(out)
    shown = differences_display(result.differences)
    assert shown.loc[(f"{GPT_AII} vs {TRACIN}", "20% / 40%"), "verdict on A"] == "better"


def test_correct_predictions_are_checked_against_the_stored_accuracy():
    table = pd.DataFrame({"test_ids": [np.array([5, 6])] * 2, "predicted": [np.array([1, 0]), np.array([1, 1])],
                          "accuracy": [1.0, 0.5]})
    out = with_correct(table, {5: 1, 6: 0})
    np.testing.assert_array_equal(np.stack(out["correct"]), [[1, 1], [1, 0]])
    with pytest.raises(ValueError, match="not the share of correct"):
        with_correct(table.assign(accuracy=[0.5, 0.5]), {5: 1, 6: 0})
    with pytest.raises(ValueError, match="different test examples"):
        with_correct(table.assign(test_ids=[np.array([5, 6]), np.array([6, 5])]), {5: 1, 6: 0})
