"""lib.experiments.comparisons: honest score tables, paired comparisons with their verdicts, scores across runs."""
import numpy as np
import pytest
from chapter_helpers import make_result, make_runs

from lib.dynamics import Dynamics
from lib.experiments.comparisons import (CLAIM, across_runs_table, cases_of, claim_facts, difference_table,
                                         reasons_of, score_table)
from lib.experiments.simulation import SimulationResult
from lib.experiments.tables import across_runs_display, difference_display, sizes_of, wide_table, with_paper
from lib.experiments.uncertainty import MIN_ITEMS
from lib.metrics import compare
from lib.simulators.health import RolloutHealth


def noisy_result(runs=8, tests=8, steps=4, errors=None, seed=0, flat=False) -> SimulationResult:
    """Held-out runs (runs - 3 of them) with predictions = truth + noise of scale `errors[method]`."""
    rng = np.random.default_rng(seed)
    curricula = rng.integers(0, 8, size=(runs, steps, 2))
    values = np.ones((runs, steps + 1, tests)) if flat else 2.0 - np.cumsum(
        rng.uniform(0, 0.3, size=(runs, steps + 1, tests)), axis=1)
    split = ["train"] * 2 + ["val"] + ["test"] * (runs - 3)
    truth = Dynamics.from_arrays(curricula, values, np.arange(tests), "loss", split=split).select_runs("test")
    predictions = {m: truth.values + rng.normal(size=truth.values.shape) * e * (np.arange(steps + 1) > 0)[None, :, None]
                   for m, e in (errors or {"A": 0.01, "B": 0.5}).items()}
    diverged = {m: np.zeros((truth.n_runs, tests), bool) for m in predictions}
    diverged["B"][0, 0] = True
    health = {m: RolloutHealth(out_of_range=d, diverged=d) for m, d in diverged.items()}
    return SimulationResult(truth, predictions, compare(predictions, truth), health=health)


def test_score_table_says_its_n_withholds_short_spearmans_and_counts_diverged_rollouts():
    result = noisy_result(tests=10)
    scores = score_table(cases_of(result, {"x": list(range(MIN_ITEMS - 1)), "y": list(range(MIN_ITEMS - 1, 10))}),
                         ["A", "B"], average_of=["x", "y"], shared_runs=True)
    spearman_x = scores.query("task == 'x' and metric == 'spearman'")
    assert spearman_x["value"].isna().all() and (spearman_x["note"] == "few tests").all()
    assert scores.query("task == 'y' and metric == 'spearman'")["value"].notna().all()
    assert scores.query("task == 'x' and method == 'B' and metric == 'diverged'")["value"].iloc[0] == 1
    average = scores.query("task == 'average'")
    assert (average["runs"] == result.truth.n_runs).all() and (average["tests"] == 10).all()
    assert average.query("method == 'B' and metric == 'diverged'")["value"].iloc[0] == 1
    assert sizes_of(scores) == {"x": "5 x 4", "y": "5 x 6", "average": "5 x 10"}
    assert reasons_of(scores)[0].startswith("a Spearman over fewer than")


def test_std_over_one_run_is_not_shown():
    result = noisy_result(runs=4)
    scores = score_table(cases_of(result), ["A"], average=False)
    assert scores.query("metric == 'spearman'")["std"].isna().all()
    assert scores.query("metric == 'mse'")["std"].notna().all()


def test_difference_table_finds_the_better_method_and_pools_groups():
    result = noisy_result(runs=10)
    table = difference_table(cases_of(result, {"x": [0, 1, 2, 3], "y": [4, 5, 6, 7]}), [("A", "B")],
                             shared_runs=True)
    assert list(table["task"]) == ["x", "y", "average"]
    assert (table["verdict"] == "better").all() and (table["high"] < 0).all()
    assert table["diverged B"].tolist() == [1, 0, 1] and (table["flat share"] == 0).all()
    facts = claim_facts(table, "A", "B", "k")
    assert facts["k_claim"] == CLAIM["better"] == "holds" and facts["k_n"] == "7 held-out runs x 8 test examples"
    assert facts["k_groups"] == "better on 2, worse on 0, undecided on 0 of 2 tasks" and facts["k_why"] == ""
    assert facts["k_said"] == f"{facts['k_diff']} (95% interval {facts['k_interval']}; {facts['k_n']})"
    assert facts["k_claim_why"] == "holds"  # no reason: the claim alone
    seeded = table.assign(verdict="undecided", reason="fit seed")
    assert claim_facts(seeded, "A", "B", "k")["k_claim_why"] == "undecided: changes with the fit's seed"
    shown = difference_display(table, task_order=["y", "x"])
    assert shown.index.get_level_values("task").tolist() == ["y", "x", "Average"]


def test_flat_truths_are_not_testable():
    result = noisy_result(runs=10, flat=True)
    table = difference_table(cases_of(result), [("A", "B")], shared_runs=True)
    assert table["verdict"].iloc[0] == "not testable" and table["flat share"].iloc[0] == 1.0
    facts = claim_facts(table, "A", "B", "k")
    assert facts["k_claim"] == "not testable" and facts["k_said"].startswith("not computed, fewer than")
    assert facts["k_why"].startswith("Fewer than") and facts["k_why"].endswith(".")
    few = difference_table(cases_of(noisy_result(runs=4, tests=4, flat=True)), [("A", "B")], shared_runs=True)
    assert few["verdict"].iloc[0] == "not testable" and few["reason"].iloc[0] == "flat"
    moving = difference_table(cases_of(noisy_result(runs=4, tests=4)), [("A", "B")], shared_runs=True)
    assert moving["verdict"].iloc[0] == "undecided" and moving["reason"].iloc[0] == "few trajectories"


def test_across_runs_table_needs_enough_runs_for_the_lds():
    few = across_runs_table(cases_of(noisy_result(runs=6)), ["A"])  # 3 held-out runs
    assert few["LDS reason"].iloc[0] == "few runs" and np.isnan(few["LDS"].iloc[0])
    assert few["Spearman reason"].iloc[0] == ""
    many = across_runs_table(cases_of(noisy_result(runs=12)), ["A", "B"])
    assert (many["LDS reason"] == "").all()
    assert many.set_index("method").loc["A", "LDS"] > many.set_index("method").loc["B", "LDS"]
    shown = across_runs_display(few)
    assert shown["LDS (across runs)"].iloc[0] == "—"


def test_wide_table_marks_withheld_values_and_adds_n():
    result = make_result(make_runs(), {"A": 0.1})
    scores = score_table(cases_of(result, {"x": [10, 11]}), ["A"], average=False)
    wide = wide_table(with_paper(scores, table="2"), sizes=sizes_of(scores))
    assert wide.loc[("x", "A"), ("Spearman", "ours")] == "—"
    assert wide.loc[("x", "A"), ("n", "runs x tests")] == "2 x 2"
    assert ("MSE median", "ours") in wide.columns and ("MSE median", "paper") not in wide.columns


def with_refits(result: SimulationResult, scales) -> SimulationResult:
    """`result` with refits of A (noise of each scale around the truth), as simulate_methods(refit_seeds=...)."""
    rng = np.random.default_rng(7)
    moving = (np.arange(result.truth.values.shape[1]) > 0)[None, :, None]
    result.refits = {"A": tuple(result.truth.values + rng.normal(size=result.truth.values.shape) * e * moving
                                for e in scales)}
    return result


def test_a_verdict_stands_only_if_every_refit_of_the_method_gets_it():
    agree = with_refits(noisy_result(runs=10), [0.02, 0.03])
    row = difference_table(cases_of(agree), [("A", "B")], shared_runs=True).iloc[0]
    assert (row["verdict"], row["reason"], row["fits"]) == ("better", "", 3)
    assert row["fits low"] <= row["difference"] <= row["fits high"] < 0
    flips = with_refits(noisy_result(runs=10), [0.02, 2.0])  # one refit far worse than B
    row = difference_table(cases_of(flips), [("A", "B")], shared_runs=True).iloc[0]
    assert (row["verdict"], row["reason"]) == ("undecided", "fit seed")
    assert row["fits high"] > 0 > row["difference"]  # the main fit's own difference and interval are kept
    assert reasons_of(difference_table(cases_of(flips), [("A", "B")], shared_runs=True)) == [
        "the verdict changes when GPTfluence is fitted again with another seed, so no verdict"]
    # the refits count on either side of a pair, and a method without refits is compared as before
    row = difference_table(cases_of(flips), [("B", "A")], shared_runs=True).iloc[0]
    assert (row["verdict"], row["reason"]) == ("undecided", "fit seed")
    plain = difference_table(cases_of(noisy_result(runs=10)), [("A", "B")], shared_runs=True)
    assert "fits" not in plain.columns and plain["verdict"].iloc[0] == "better"
    # groups of test examples take their slice of every refit, and the pooled row checks the refits too
    grouped = difference_table(cases_of(flips, {"x": [0, 1, 2, 3], "y": [4, 5, 6, 7]}), [("A", "B")],
                               shared_runs=True).set_index("task")
    assert grouped.loc["average", "reason"] == "fit seed" and (grouped["fits"] == 3).all()
    shown = difference_display(difference_table(cases_of(flips), [("A", "B")], shared_runs=True))
    assert shown.iloc[0]["verdict on A"] == "undecided (changes with the fit's seed)"
    assert shown.iloc[0]["difference over GPTfluence's fits"].startswith("3 fits: ")
    assert "difference over GPTfluence's fits" not in difference_display(plain).columns
