import hashlib

import numpy as np
import pytest

from lib.experiments.store import collection_config, dynamics
from lib.experiments.unseen import (SCENARIOS, UnseenChapter, facts, paper_task_facts, refusals_table, run, split_unseen,
                                   unseen_beside)
from lib.paper import paper_rows
from lib.simulators import GPTfluenceConfig

FAST = GPTfluenceConfig(lr=1e-3, hidden=16, max_epochs=3, warmup_steps=0, patience=2)


class HashEncoder:
    """A fake frozen encoder: a fixed random vector per text (no model to load)."""

    name, dim = "hash", 16

    def embed(self, texts):
        seeds = [int(hashlib.sha1(t.encode()).hexdigest()[:8], 16) for t in texts]
        return np.stack([np.random.default_rng(s).normal(size=self.dim) for s in seeds]).astype(np.float32)


@pytest.fixture(scope="module")
def runs():
    return dynamics("smoke", "sst2_unseen")


@pytest.fixture(scope="module")
def result():
    return run("smoke", encoder=HashEncoder(), gptfluence=FAST)


def test_the_config_trains_the_test_split_on_the_unseen_pool():
    config = collection_config("smoke", "sst2_unseen")
    assert config.runs.unseen_splits == ("test",)
    assert config.data.unseen_size >= config.training.subset_size
    assert config.runs.train > config.runs.test  # room for fit runs and withheld seen-pool runs


def test_roles_are_disjoint_where_they_must_be(runs):
    split = split_unseen(runs)
    config = collection_config("smoke", "sst2_unseen")
    train_runs = runs.run_ids[runs.split == "train"]
    n_test = config.runs.test
    np.testing.assert_array_equal(split.fit.run_ids, train_runs[:-n_test])
    np.testing.assert_array_equal(split.seen_runs.run_ids, train_runs[-n_test:])
    np.testing.assert_array_equal(split.unseen_runs.run_ids, runs.run_ids[runs.split == "test"])
    # unseen training data: no example of the unseen-pool runs is in any run the simulators are fitted on
    fitted = np.union1d(split.fit.train_ids, split.val.train_ids)
    assert not np.isin(split.unseen_runs.train_ids, fitted).any()
    # the withheld seen-pool runs use only examples of the fit runs (so Simfluence can simulate them)
    assert split.coverage() == 1.0
    # unseen test data: the two halves partition the test examples and only the seen half is fitted on
    assert not np.isin(split.unseen_tests, split.seen_tests).any()
    np.testing.assert_array_equal(np.sort(np.concatenate([split.seen_tests, split.unseen_tests])), np.sort(runs.test_ids))
    np.testing.assert_array_equal(split.fit.test_ids, split.seen_tests)
    np.testing.assert_array_equal(split.val.test_ids, split.seen_tests)
    assert not set(split.fit.test_texts) & set(split.unseen_tests.tolist())


def test_each_scenario_picks_its_runs_and_tests(runs):
    split = split_unseen(runs)
    for name, run_ids, tests in (("none", split.seen_runs.run_ids, split.seen_tests),
                                 ("train", split.unseen_runs.run_ids, split.seen_tests),
                                 ("test", split.seen_runs.run_ids, split.unseen_tests),
                                 ("both", split.unseen_runs.run_ids, split.unseen_tests)):
        chosen = split.scenario(name)
        np.testing.assert_array_equal(chosen.run_ids, run_ids)
        np.testing.assert_array_equal(chosen.test_ids, tests)
    with pytest.raises(ValueError, match="unknown scenario"):
        split.scenario("all")


def test_a_collection_without_an_unseen_pool_is_refused():
    with pytest.raises(ValueError, match="unseen_splits"):
        split_unseen(dynamics("smoke", "sst2"), held_out=2)


def test_simfluence_refuses_unseen_examples_and_gptfluence_simulates_them(result):
    assert set(result.refusals) == {("Simfluence", "train"), ("Simfluence", "test"), ("Simfluence", "both")}
    assert "training examples it was not fitted on" in result.refusals[("Simfluence", "train")]
    assert "test examples it was not fitted on" in result.refusals[("Simfluence", "test")]
    for name in SCENARIOS:
        prediction, truth = result.predictions[("GPTfluence", name)], result.truth[name]
        assert prediction.shape == truth.values.shape and np.isfinite(prediction).all()
        np.testing.assert_array_equal(prediction[:, 0], truth.values[:, 0])
    assert ("Simfluence", "none") in result.predictions
    assert set(result.table.loc[result.table["method"] == "GPTfluence", "setting"]) == {
        f"unseen={s}" for s in SCENARIOS}
    table = refusals_table(result)
    assert table["simulated"].sum() == 5 and (table.loc[~table["simulated"], "error"] != "").all()


def test_summary_and_paper_table(result):
    facts_ = facts(result)
    assert facts_["unseen_sim_refused_count"] == 3
    assert facts_["unseen_train_mse"] == pytest.approx(
        result.table.query("method == 'GPTfluence' and scenario == 'train' and metric == 'mse'")["value"].iloc[0])
    assert facts_["unseen_tt_rho_claim"] in ("holds", "does not hold", "undecided")
    assert facts_["unseen_tt_rho_interval"].startswith("[") or facts_["unseen_tt_rho_why"]
    table = unseen_beside(result.table, task="sst2")
    assert table.columns.tolist() == ["ours SST-2 (FT)", "paper RTE (FT, T11)", "paper WebNLG (FT, T11)",
                                      "paper RTE (IT, T12)", "paper WebNLG (IT, T12)"]
    assert table.loc[("train", "mse"), "paper RTE (FT, T11)"] == "0.346 (0.281)"
    assert table.loc[("none", "mse"), "paper RTE (FT, T11)"] == ""
    assert table.index.get_level_values(0).unique().tolist() == list(SCENARIOS)


def test_the_reference_is_a_row_of_every_scenario_and_compared_with_each_method(result):
    from lib.experiments.scoring import REFERENCE
    for name in SCENARIOS:
        assert (REFERENCE, name) in result.predictions
        assert not result.table.query("method == @REFERENCE and scenario == @name").empty
    pairs = set(zip(result.differences["A"], result.differences["B"], result.differences["scenario"]))
    assert ("GPTfluence", REFERENCE, "both") in pairs and ("GPTfluence", "Simfluence", "none") in pairs
    assert ("Simfluence", REFERENCE, "train") not in pairs  # refused there
    assert set(result.table["metric"]) >= {"mse", "median_mse", "diverged"}


def test_reference_of_an_unseen_test_is_the_mean_change_of_the_seen_ones(result):
    from lib.experiments.unseen import reference_prediction
    split = result.split
    runs = split.scenario("test")
    pred = reference_prediction(split, runs)
    change = np.mean(split.fit.values - split.fit.values[:, :1], axis=0).mean(axis=1)
    assert np.allclose(pred[0, :, 0], runs.values[0, 0, 0] + change)


def test_the_chapter_facts_describe_the_roles_and_every_comparison(result):
    facts_ = facts(result)
    split = result.split
    assert (facts_["n_fit_runs"], facts_["n_future_runs"]) == (split.fit.n_runs, split.unseen_runs.n_runs)
    assert (facts_["n_seen_tests"], facts_["n_unseen_tests"]) == (len(split.seen_tests), len(split.unseen_tests))
    assert facts_["pool_size"] == result.config.data.pool_size and facts_["coverage"] == 100.0
    for a, b, name in zip(result.differences["A"], result.differences["B"], result.differences["scenario"]):
        key = {"GPTfluence": "g", "Simfluence": "s"}[a] + {"GPTfluence": "g", "Simfluence": "s"}.get(b, "r")
        row = result.differences.query("A == @a and B == @b and scenario == @name").iloc[0]
        assert facts_[f"unseen_{key}_{name}_n"].startswith(f"{row['runs']} held-out run")
        assert facts_[f"unseen_{key}_{name}_claim"] in ("holds", "does not hold", "undecided", "not testable")
    assert facts_["unseen_tt_rho_n"].startswith(f"{result.truth['train'].n_runs} x {result.truth['train'].n_tests}")


def test_the_papers_values_are_glued_with_the_digits_it_printed(result):
    facts_ = facts(result)
    paper = paper_rows(table="11", task="rte", method="GPTfluence", metric="spearman").set_index("setting")["value"]
    for name in ("train", "test"):
        assert float(facts_[f"unseen_paper_rho_{name}"]) == paper[f"unseen={name}"]
        assert not facts_[f"unseen_paper_rho_{name}"].endswith("0")  # '-0.024', not '-0.0240'


def test_the_facts_put_the_median_and_the_diverged_rollouts_beside_the_mean(result):
    from lib.experiments.scoring import REFERENCE
    facts_ = facts(result)
    table = result.table.set_index(["method", "scenario", "metric"])["value"]
    for name in SCENARIOS:
        health = result.health[("GPTfluence", name)]
        assert facts_[f"unseen_{name}_diverged"] == f"{health.n_diverged} of {health.n_trajectories}"
        assert facts_[f"unseen_{name}_median_mse"] == table[("GPTfluence", name, "median_mse")]
        assert facts_[f"unseen_ref_{name}_median_mse"] == table[(REFERENCE, name, "median_mse")]


def _as_task(result, task):
    """`result` as if its collection were of `task` (only the config's task changes)."""
    import dataclasses
    config = dataclasses.replace(result.config, data=dataclasses.replace(result.config.data, task=task))
    return dataclasses.replace(result, config=config)


def test_the_papers_finding_is_tested_on_the_papers_task_where_the_scale_has_it(result, monkeypatch):
    main_only = paper_task_facts(UnseenChapter({"sst2_unseen": result}))
    assert main_only["unseen_claim_task"] == "SST-2" and "no complete RTE" in main_only["unseen_claim_why"]
    assert main_only["unseen_claim_train_easier"] == facts(result)["unseen_tt_rho_claim"]
    assert main_only["unseen_claim_tt_rho_n"] == "SST-2: " + facts(result)["unseen_tt_rho_n"]
    rte = _as_task(result, "rte")
    tested = []
    from lib.experiments import unseen as module
    real = module.train_vs_test
    monkeypatch.setattr(module, "train_vs_test", lambda r, m="GPTfluence": tested.append(r) or real(r, m))
    both = paper_task_facts(UnseenChapter({"sst2_unseen": result, "rte_unseen": rte}))
    assert tested == [rte]  # RTE's result, not the main collection's
    assert both["unseen_claim_task"] == "RTE" and both["unseen_claim_why"] == "on RTE, the paper's task"
    assert both["unseen_claim_tt_rho_n"].startswith("RTE: ")
    assert both["unseen_claim_train_easier"] == both["unseen_claim_tt_rho_claim"]


def test_gptfluence_refits_check_every_verdict_of_every_scenario(runs):
    from lib.experiments.unseen import unseen_experiment

    split = split_unseen(runs)
    plain = unseen_experiment(runs, encoder=HashEncoder(), gptfluence=FAST, split=split)
    refitted = unseen_experiment(runs, encoder=HashEncoder(), gptfluence=FAST, split=split, refit_seeds=(1, 2))
    assert plain.refits == {} and "fits" not in plain.differences.columns
    simulated = [s for s in SCENARIOS if ("GPTfluence", s) in refitted.predictions]
    assert sorted(s for _, s in refitted.refits) == sorted(simulated)
    assert all(len(v) == 2 for v in refitted.refits.values())
    gpt = refitted.differences[refitted.differences["A"] == "GPTfluence"]
    assert (gpt["fits"] == 3).all() and (gpt["fits low"] <= gpt["difference"]).all()
    assert set(gpt["reason"]) <= {"", "fit seed", "one run", "few trajectories", "flat"}
    # the main fit's numbers are those of the plain run; a verdict differs only where a refit disagrees
    merged = gpt.merge(plain.differences, on=["scenario", "A", "B"], suffixes=("", " plain"))
    np.testing.assert_allclose(merged["difference"], merged["difference plain"])
    changed = merged[merged["verdict"] != merged["verdict plain"]]
    assert (changed["reason"] == "fit seed").all()


def test_a_refit_seed_equal_to_the_fits_own_is_refused_by_name(runs):
    from lib.experiments.unseen import unseen_experiment

    with pytest.raises(ValueError, match=rf"refit_seeds \[{FAST.seed}\] include the fit's own seed {FAST.seed}"):
        unseen_experiment(runs, encoder=HashEncoder(), gptfluence=FAST, refit_seeds=(FAST.seed,))


def test_the_papers_finding_stands_only_if_every_refit_gets_it(result):
    """train_vs_test checks its verdicts against GPTfluence's refits: a refit that simulates unseen test data exactly
    turns "unseen training data is simulated better" (by MSE here: the smoke runs have too few tests for rho) into
    "undecided", reason "fit seed", with the main fit's numbers kept."""
    import dataclasses

    from lib.experiments.comparisons import seed_checked
    from lib.experiments.unseen import train_vs_test
    from lib.experiments.uncertainty import Difference

    worse = Difference(-1.0, -2.0, -0.5, 5, 8, verdict="worse")
    assert seed_checked([worse, worse]) == worse
    assert seed_checked([worse, dataclasses.replace(worse, verdict="undecided")]) == dataclasses.replace(
        worse, verdict="undecided", reason="fit seed")
    withheld = Difference(np.nan, np.nan, np.nan, 1, 2, "few tests")
    assert seed_checked([withheld, worse]) == withheld  # a withheld number keeps its own reason
    train, test = result.truth["train"], result.truth["test"]
    good = train.values + np.random.default_rng(0).normal(scale=1e-3, size=train.values.shape)  # near-perfect
    bad = test.values[::-1, :, ::-1].copy()  # another run's and test's trajectory
    staged = dataclasses.replace(result, predictions={**result.predictions, ("GPTfluence", "train"): good,
                                                      ("GPTfluence", "test"): bad}, refits={})
    alone = train_vs_test(staged)
    assert alone["unseen_tt_mse_verdict"] == "better" and alone["unseen_tt_mse_why"] == ""
    same = train_vs_test(dataclasses.replace(staged, refits={("GPTfluence", "train"): (good,),
                                                             ("GPTfluence", "test"): (bad,)}))
    assert same == alone
    other = train_vs_test(dataclasses.replace(staged, refits={("GPTfluence", "train"): (good,),
                                                              ("GPTfluence", "test"): (test.values.copy(),)}))
    assert other["unseen_tt_mse_verdict"] == "undecided" and other["unseen_tt_mse_diff"] == alone["unseen_tt_mse_diff"]
    assert other["unseen_tt_mse_why"].startswith("The verdict changes when GPTfluence is fitted again")
