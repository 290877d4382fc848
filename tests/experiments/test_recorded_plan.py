"""The recorded retraining plan (lib/experiments/recorded_plan.py): the stored retrainings stay usable when a
GPTfluence fit, and with it a ranking's fixed sets, moves on another CPU."""
from __future__ import annotations

import dataclasses

import pytest

from lib.collect.examples import draw_examples
from lib.collect.retraining import RetrainScore, RetrainingStore
from lib.experiments import mislabels
from lib.experiments.mislabels import RANDOM, SETTINGS, rank_by_score, random_ranking, retrain_config, retraining_plan
from lib.experiments.recorded_plan import PLAN_FILE, drift_sentence, follow_recorded, read_plan, write_plan
from lib.experiments.store import collection_config


@pytest.fixture
def setting(tmp_path, monkeypatch):
    """The smoke noisy config, a store whose retrainings were trained (fake) for a plan where ranking "a" checks the
    flipped examples first, that plan recorded beside them, and a ranking "a" of today that swaps one example
    inside the top 20% for one outside it."""
    noisy = collection_config("smoke", "sst2_mislabel")
    settings = dataclasses.replace(SETTINGS["smoke"], retrain_seeds=2)
    examples = draw_examples(noisy)
    flipped, pool = examples.flipped, examples.pool_ids
    then = rank_by_score({int(i): 1.0 + k for k, i in enumerate(flipped)}, pool)
    now = then.copy()
    cut = len(mislabels.checked(then, 0.2))
    now[cut - 1], now[cut] = then[cut], then[cut - 1]
    monkeypatch.setattr("lib.collect.retraining.retrain_and_score", lambda config, run_index, device=None: RetrainScore(
        config.config_hash, run_index, 0, 2, 0.5, 1.0, (0, 1), (1, 2), 0.1))
    store = RetrainingStore(tmp_path)
    recorded = retraining_plan({("a", 0): then, (RANDOM, 0): random_ranking(pool, 0)}, flipped, noisy, settings,
                               (0.0, 0.2))
    mislabels.retrain(recorded, store, collect_missing=True)
    write_plan(store.folder, recorded)
    today = retraining_plan({("a", 0): now, (RANDOM, 0): random_ranking(pool, 0)}, flipped, noisy, settings,
                            (0.0, 0.2, 0.4))
    return noisy, settings, store, recorded, today


def test_a_moved_ranking_follows_the_recorded_sets_and_says_how_far_it_moved(setting):
    noisy, settings, store, recorded, today = setting
    with pytest.raises(FileNotFoundError, match="retraining runs are missing"):
        mislabels.retrain(today[today["fraction"] <= 0.2], store, collect_missing=False)  # today's own set: untrained
    plan, drift = follow_recorded(today, read_plan(store.folder), lambda fixed: retrain_config(noisy, fixed, settings))
    followed = plan[plan["fraction"] <= 0.2]
    table = mislabels.retrain(followed, store, collect_missing=False)  # every row recorded: nothing to train
    assert len(table) == len(recorded)
    moved = today[(today["ranking"] == "a") & (today["fraction"] == 0.2)].iloc[0]
    was = recorded[(recorded["ranking"] == "a") & (recorded["fraction"] == 0.2)].iloc[0]
    row = plan[(plan["ranking"] == "a") & (plan["fraction"] == 0.2)].iloc[0]
    assert set(moved["fixed"]) != set(was["fixed"]) and row["fixed"] == was["fixed"] and row["folder"] == was["folder"]
    assert row["config"].config_hash == was["config"].config_hash
    a, b = set(was["fixed"]), set(moved["fixed"])
    assert drift[["ranking", "fraction"]].values.tolist() == [["a", 0.2]]  # once per set, not per retraining seed
    assert drift["jaccard"].iloc[0] == pytest.approx(len(a & b) / len(a | b)) and drift["jaccard"].iloc[0] < 1
    # a fraction the record lacks is planned afresh; the random ranking's rows were the same anyway
    assert plan[plan["fraction"] == 0.4]["fixed"].tolist() == today[today["fraction"] == 0.4]["fixed"].tolist()
    assert "the rankings a would fix other sets" in drift_sentence(drift) and drift_sentence(drift.iloc[:0]) == ""


def test_without_a_record_the_plan_is_todays(setting):
    noisy, settings, store, _, today = setting
    plan, drift = follow_recorded(today, None, lambda fixed: retrain_config(noisy, fixed, settings))
    assert plan is today and drift.empty


def test_the_record_round_trips_and_is_rewritten_only_when_it_changes(setting):
    _, _, store, recorded, today = setting
    back = read_plan(store.folder)
    assert back[["ranking", "seed", "fraction", "retrain_seed", "fixed", "folder"]].values.tolist() == \
        recorded.sort_values(["ranking", "seed", "fraction", "retrain_seed"], kind="stable")[
            ["ranking", "seed", "fraction", "retrain_seed", "fixed", "folder"]].values.tolist()
    stamp = (store.folder / PLAN_FILE).stat().st_mtime_ns
    assert write_plan(store.folder, recorded) is False and (store.folder / PLAN_FILE).stat().st_mtime_ns == stamp
    assert write_plan(store.folder, today) is True and len(read_plan(store.folder)) == len(today)
    assert read_plan(store.folder / "nowhere") is None
