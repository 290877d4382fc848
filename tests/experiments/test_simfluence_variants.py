"""lib.experiments.simfluence_variants: the three Simfluence variants and the closed form beside Adam."""
import numpy as np
import pytest

from lib.experiments import simfluence_variants as sv
from lib.experiments.comparisons import difference_table
from lib.experiments.scoring import REFERENCE, mean_trajectory
from lib.experiments.store import dynamics
from lib.experiments.wording import fmt

QUICK_ADAM = {"epochs": 300, "lr": 3e-2, "warmup_steps": 0}


@pytest.fixture(scope="module")
def sst2():
    return dynamics("smoke", "sst2")


def test_variants_are_the_three_of_the_paper_and_differ(sst2):
    cases = []
    table = sv.variant_scores(sst2, task="sst2", cases=cases)
    assert list(dict.fromkeys(table["method"])) == list(sv.VARIANTS) + [REFERENCE]
    variants = table[table["method"].isin(list(sv.VARIANTS))]
    mse = variants[variants["metric"] == "mse"].set_index("method")["value"]
    assert mse.nunique() == 3  # additive (alpha = 1) and multiplicative (beta = 0) are other models
    assert (variants["fit"] == sv.CLOSED_FORM).all() and (table["task"] == "sst2").all()
    test = sst2.select_runs("test")
    assert (table["runs"] == test.n_runs).all() and (table["tests"] == test.n_tests).all()
    blind = mean_trajectory(sst2.select_runs("train"), test)  # the curriculum-blind row: the train runs' mean change
    np.testing.assert_allclose(cases[0].predictions[REFERENCE], blind)
    assert np.mean(cases[0].errors("Simfluence-Linear")) == pytest.approx(mse["Simfluence-Linear"])
    wide = sv.variants_wide(table, ["task"])
    assert ("mse", REFERENCE) in wide.columns
    assert wide[("n", "runs x tests")].tolist() == [f"{test.n_runs} x {test.n_tests}"]


def test_closed_form_and_adam_fit_the_same_objective(sst2):
    table = sv.fit_comparison(sst2, adam=QUICK_ADAM, task="sst2")
    assert set(table["fit"]) == {sv.CLOSED_FORM, sv.ADAM}
    assert table.groupby("fit")["l2"].first().nunique() == 1  # Adam at the penalty the closed form chose
    gap = table["prediction_rms_gap"].iloc[0]
    spread = float(np.std(sst2.select_runs("test").values))
    assert 0 <= gap < 0.3 * spread  # both approach one minimum; a wrong objective would land far away
    mse = table[table["metric"] == "mse"].set_index("fit")["value"]
    assert mse[sv.ADAM] == pytest.approx(mse[sv.CLOSED_FORM], rel=0.2)


def test_paper_rows_and_facts(sst2):
    paper = sv.paper_variant_rows()
    assert set(paper["method"]) == set(sv.VARIANTS) and set(paper["source"]) == {"simfluence"}
    variant_cases, fit_cases = [], []
    result = sv.SimfluenceResult(variants=sv.variant_scores(sst2, task="sst2", cases=variant_cases),
                                 fits=sv.fit_comparison(sst2, adam=QUICK_ADAM, task="sst2", cases=fit_cases),
                                 paper=paper, adam={**sv.PAPER_SETTINGS, **QUICK_ADAM})
    assert "sv_la_claim" not in sv.facts(result)  # no comparisons: no verdicts
    result.variant_differences = difference_table(variant_cases, list(sv.VARIANT_PAIRS.values()), shared_runs=False)
    result.fit_differences = difference_table(fit_cases, list(sv.FIT_PAIR.values()), shared_runs=False)
    facts = sv.facts(result)
    adam, closed = fit_cases[0].errors(sv.ADAM), fit_cases[0].errors(sv.CLOSED_FORM)
    assert facts["sv_ac_diff"] == fmt(np.mean(adam) - np.mean(closed))
    assert facts["sv_lr_claim"] in {"holds", "does not hold", "undecided"} and "test examples" in facts["sv_la_n"]
    assert sum(facts[f"sv_best_mse_{k}"] for k in ("linear", "additive", "multiplicative")) == 1
    counted = sum(facts[f"sv_paper_best_mse_{k}"] for k in ("linear", "additive", "multiplicative"))
    assert counted == facts["sv_paper_settings"] > 1
    assert facts["sv_adam_epochs"] == 300 and facts["sv_adam_vs_closed_mse"] in {"better than", "worse than",
                                                                                 "on par with"}
    wide = sv.variants_wide(result.variants, ["task"])
    assert wide.columns.get_level_values(1).tolist()[:3] == ["Linear", "Additive", "Multiplicative"]
