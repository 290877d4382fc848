"""lib.experiments.simfluence_variants: the three Simfluence variants and the closed form beside Adam."""
import numpy as np
import pytest

from lib.experiments import simfluence_variants as sv
from lib.experiments.store import dynamics

QUICK_ADAM = {"epochs": 300, "lr": 3e-2, "warmup_steps": 0}


@pytest.fixture(scope="module")
def sst2():
    return dynamics("smoke", "sst2")


def test_variants_are_the_three_of_the_paper_and_differ(sst2):
    table = sv.variant_scores(sst2, task="sst2")
    assert list(dict.fromkeys(table["method"])) == list(sv.VARIANTS)
    mse = table[table["metric"] == "mse"].set_index("method")["value"]
    assert mse.nunique() == 3  # additive (alpha = 1) and multiplicative (beta = 0) are other models
    assert (table["fit"] == sv.CLOSED_FORM).all() and (table["task"] == "sst2").all()


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
    result = sv.SimfluenceResult(variants=sv.variant_scores(sst2, task="sst2"),
                                 fits=sv.fit_comparison(sst2, adam=QUICK_ADAM, task="sst2"), paper=paper,
                                 adam={**sv.PAPER_SETTINGS, **QUICK_ADAM})
    facts = sv.facts(result)
    assert sum(facts[f"sv_best_mse_{k}"] for k in ("linear", "additive", "multiplicative")) == 1
    counted = sum(facts[f"sv_paper_best_mse_{k}"] for k in ("linear", "additive", "multiplicative"))
    assert counted == facts["sv_paper_settings"] > 1
    assert facts["sv_adam_epochs"] == 300 and facts["sv_adam_vs_closed_mse"] in {"better than", "worse than",
                                                                                 "on par with"}
    wide = sv.variants_wide(result.variants, ["task"])
    assert wide.columns.get_level_values(1).tolist()[:3] == ["Linear", "Additive", "Multiplicative"]
