"""Mislabel identification (lib/experiments/mislabels.py): rankings, fractions found, fixes and accuracy."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lib.collect import load_config
from lib.collect.examples import draw_examples
from lib.dynamics import Dynamics
from lib.experiments.mislabels import (SETTINGS, MislabelResult, checked, checked_table, facts, final_accuracy, fixes,
                                       fraction_found, rank_by_score, random_ranking, rankings, retrain_config,
                                       summary)
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


def test_a_perfect_ranking_finds_all_mislabels_at_the_noise_rate():
    perfect = rank_by_score({int(i): 1.0 for i in FLIPPED}, POOL)
    assert fraction_found(perfect, 0.4, FLIPPED) == 1.0
    assert fraction_found(perfect, 0.2, FLIPPED) == 0.5


def test_random_rankings_are_seeded_and_independent_of_input_order():
    a = random_ranking(POOL, seed=3)
    np.testing.assert_array_equal(a, random_ranking(POOL[::-1], seed=3))
    assert not np.array_equal(a, random_ranking(POOL, seed=4))
    assert sorted(a.tolist()) == POOL.tolist()
    ranks = rankings({"GPTfluence": {100: 1.0}}, POOL, random_seeds=3)
    assert set(ranks) == {("GPTfluence", 0), ("random", 0), ("random", 1), ("random", 2)}
    np.testing.assert_array_equal(ranks[("random", 1)], random_ranking(POOL, 1))


def test_retrain_config_really_unflips_the_fixed_ids():
    noisy = collection_config("smoke", "sst2_mislabel")
    flipped = draw_examples(noisy).flipped
    assert len(flipped) == round(noisy.data.flip_fraction * noisy.data.pool_size)
    config = retrain_config(noisy, flipped[:2], runs=1)
    assert config.runs.total == 1 and config.gradients.splits == () and config.runs.seed == noisy.runs.seed
    repaired = draw_examples(config)
    assert set(repaired.flipped) == set(flipped) - set(flipped[:2])
    clean = {int(e.id): e for e in draw_examples(noisy.with_overrides(data={"flip_fraction": 0.0})).pool}
    for e in repaired.pool:
        assert (e.label == clean[int(e.id)].label) == (int(e.id) not in repaired.flipped)
    assert retrain_config(noisy, [], 1).config_hash != config.config_hash


def test_default_mislabel_config_is_the_default_sst2_shape_with_40_percent_noise():
    noisy, base = collection_config("default", "sst2_mislabel"), collection_config("default", "sst2")
    assert noisy.data.flip_fraction == 0.4 and not noisy.training.bf16
    assert (noisy.model, noisy.training) == (base.model, base.training)
    assert noisy.data.pool_size == base.data.pool_size and noisy.data.test_size == base.data.test_size


def test_final_accuracy_counts_p_true_word_above_one_half():
    # two tests: a 1-token target and a 9-token target; loss is the mean NLL per target token
    dyn = Dynamics.from_arrays(np.zeros((2, 1, 1), dtype=np.int64),
                               np.array([[[3.0, 3.0], [0.6, 0.07]], [[3.0, 3.0], [0.8, 0.08]]]),
                               np.array([7, 8]), "loss")
    counts = {7: 1, 8: 9}
    # run 0: 0.6 < ln 2 (correct), 9 * 0.07 = 0.63 < ln 2 (correct); run 1: 0.8 > ln 2, 9 * 0.08 = 0.72 > ln 2
    assert final_accuracy(dyn, counts) == pytest.approx(0.5)
    assert 9 * 0.07 < math.log(2) < 9 * 0.08


def test_summary_averages_over_seeds():
    table = pd.DataFrame({"ranking": ["random"] * 2, "seed": [0, 1], "fraction": [0.1, 0.1],
                          "fraction_found": [0.25, 0.5], "accuracy": [0.5, 1.0], "final_loss": [1.0, 2.0]})
    row = summary(table).iloc[0]
    assert (row.found_mean, row.found_min, row.found_max, row.accuracy_mean, row.seeds) == (0.375, 0.25, 0.5, 0.75, 2)


@pytest.mark.parametrize("scale", ["smoke", "default"])
def test_each_scale_checks_nothing_an_early_and_a_late_fraction(scale):
    fractions = SETTINGS[scale].fractions
    assert fractions[0] == 0.0 and list(fractions) == sorted(fractions) and max(fractions) <= 0.5
    assert any(0 < f <= 0.2 for f in fractions) and any(f > 0.2 for f in fractions)  # the chapter compares both


def _result() -> MislabelResult:
    """Two fractions checked; GPTfluence finds more than TracIn-CP, which finds more than the two random seeds."""
    rows = []
    for ranking, seeds, found in (("GPTfluence", [0], 0.6), ("TracIn-CP", [0], 0.3), ("random", [0, 1], 0.1)):
        for seed in seeds:
            for fraction in (0.0, 0.2, 0.4):
                rows.append({"ranking": ranking, "seed": seed, "fraction": fraction,
                             "fraction_found": found * fraction / 0.4 + 0.01 * seed, "accuracy": 0.5,
                             "final_loss": 1.0 - fraction})
    return MislabelResult(pool_ids=np.arange(10), flipped=np.array([1, 2, 3, 4]),
                          scores={"GPTfluence": {}, "TracIn-CP": {1: 0.5, 2: 0.1, 77: 1.0}}, rankings={},
                          table=pd.DataFrame(rows), noisy_accuracy=0.5, noisy_loss=1.25, retrain_runs=1,
                          retrain_collections=5, fractions=(0.0, 0.2, 0.4), random_seeds=2)


def test_facts_read_the_summary_at_the_fractions_checked():
    out = facts(_result())
    assert out["mis_flipped"] == 4 and out["mis_tracin_scored"] == 2 and out["mis_noisy_loss"] == "1.25"
    assert out["mis_fracs_checked"] == "20% / 40%" and out["mis_frac_top"] == "40%"
    assert out["mis_gpt_found_list"] == "0.300 / 0.600" and out["mis_random_found_list"] == "0.0550 / 0.105"
    assert out["mis_gpt_beats_tracin_found"] == "2 of 2" and out["mis_gpt_beats_random_found_early"] == "1 of 1"
    assert out["mis_gpt_beats_random_accuracy"] == "0 of 2" and out["mis_tracin_beats_random_found"] == "2 of 2"
    assert out["mis_acc_reading"].startswith("is 0.500 for every method")
    assert out["mis_gpt_vs_random_found_top"] == "above" and out["mis_loss_0"] == "1.00"


def test_checked_table_shows_the_seed_range_only_for_random():
    shown = checked_table(summary(_result().table))
    assert shown.loc["0.4", ("mislabels found", "GPTfluence")] == "0.600"
    assert shown.loc["0.4", ("mislabels found", "random")] == "0.105 [0.100, 0.110]"
    assert shown.loc["0.2", ("test loss", "TracIn-CP")] == "0.800"
