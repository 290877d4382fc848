"""The paper-size section on tiny top-block collections: EK-FAC and TRAK rows rest exactly on the held-out runs that
have stored scores, every row reports its n, and a collection without scores gets reasons, not numbers."""
import dataclasses
import shutil

import numpy as np
import pytest

from lib.attribution.held_out import held_out_runs, score_run
from lib.attribution.trak import TRAKSettings
from lib.collect import collect, load_config, load_dynamics
from lib.experiments.paper_size_loss import (GPT, NO_SCORES, SECTION_METHODS, facts, lds_display, mse_display,
                                             no_change_mse, paper_size_section, sigma_display)
from lib.experiments.settings import task_label
from lib.metrics import trajectory_errors
from lib.paths import REPO_ROOT
from lib.simulators import GPTfluenceConfig
from lib.simulators.attribution_baselines import EKFACInfluence, scores_for_runs

SMOKE = REPO_ROOT / "tests" / "collect" / "fixtures" / "configs" / "smoke_sst2.toml"
FAST = GPTfluenceConfig(lr=1e-3, hidden=16, max_epochs=3, warmup_steps=0, patience=2)
HELD_OUT = 5


class LetterEncoder:
    """A fake frozen encoder: each text's counts of 16 letters (no model to load)."""

    name, dim = "letters", 16

    def embed(self, texts):
        return np.array([[t.count(c) + 1 for c in "etaoinshrdlucmfw"] for t in texts], dtype=np.float32)


@pytest.fixture(scope="module")
def section(tmp_path_factory):
    """Two copies of a tiny-neox top-block collection (5 held-out runs): 'scored' with EK-FAC and TRAK scores of
    two of its held-out runs, 'unscored' without any; the section over both, and the scored runs."""
    tmp = tmp_path_factory.mktemp("paper_size_section")
    config = load_config(SMOKE).with_overrides(  # every run trains on the whole pool: Simfluence knows every id
        model={"regime": "top", "top_blocks": 1}, runs={"test": HELD_OUT}, training={"subset_size": 16, "epochs": 1},
        runtime={"threads": 1, "cache_dir": str(tmp / "cache")})
    scored = collect(config, tmp / "scored", progress=False)
    shutil.copytree(scored, tmp / "unscored")
    chosen = held_out_runs(scored)[1:3]
    for run in chosen:
        score_run(scored, run, trak=TRAKSettings(proj_dim=4))
    return paper_size_section([scored, tmp / "unscored"], encoder=LetterEncoder(), gptfluence=FAST), scored, chosen


def test_attribution_rows_rest_exactly_on_the_scored_runs(section):
    result, folder, chosen = section
    cov = result.coverage.set_index(["task", "method"])
    for method in ("EK-FAC", "TRAK"):
        assert cov.loc[("scored", method), "run ids"] == chosen and cov.loc[("scored", method), "runs"] == 2
    for method in ("Simfluence", "Grad-Dot", GPT):
        assert cov.loc[("scored", method), "runs"] == HELD_OUT
    # EK-FAC's MSE is that of its simulator fitted and rolled out on the scored runs alone
    truth = load_dynamics(folder, splits=("test",))
    runs = truth.select_runs([k for k, r in enumerate(truth.run_ids) if int(r) in chosen])
    pred = EKFACInfluence(scores_for_runs(folder, "EK-FAC", chosen)).fit(runs).simulate(runs)
    scores = result.scores.set_index(["task", "method", "metric"])
    assert scores.loc[("scored", "EK-FAC", "mse"), "value"] == pytest.approx(
        np.mean(trajectory_errors(pred, runs.values)[0]))
    assert scores.loc[("scored", "EK-FAC", "mse"), "runs"] == 2
    assert scores.loc[("scored", "Grad-Dot", "mse"), "runs"] == HELD_OUT
    # GPTfluence is compared with EK-FAC on those two runs only, with a verdict; LDS needs five runs
    diff = result.differences.set_index(["task", "B"])
    assert diff.loc[("scored", "EK-FAC"), "runs"] == 2 and diff.loc[("scored", "Grad-Dot"), "runs"] == HELD_OUT
    assert diff.loc[("scored", "EK-FAC"), "verdict"] in ("better", "worse", "undecided")
    # every comparison is also taken with GPTfluence's four refits, on the same runs, and shown with its range
    assert (diff.loc[("scored", "Grad-Dot"), "fits"], diff.loc[("scored", "EK-FAC"), "fits"]) == (5, 5)
    assert diff.loc[("scored", "Grad-Dot"), "fits low"] <= diff.loc[("scored", "Grad-Dot"), "difference"]
    shown = mse_display(result).loc[(task_label("scored"), "Grad-Dot"), f"{GPT} − row [95% interval]"]
    assert "; 5 fits: " in shown and " to " in shown
    across = result.across.set_index(["task", "method"])
    assert across.loc[("scored", "EK-FAC"), "LDS reason"] == "few runs"
    assert across.loc[("scored", "Simfluence"), "LDS reason"] == ""
    assert np.isfinite(across.loc[("scored", "Simfluence"), "LDS"])


def test_a_collection_without_scores_gets_reasons_not_numbers(section):
    result = section[0]
    unscored = result.scores[(result.scores["task"] == "unscored") & result.scores["method"].isin(["EK-FAC", "TRAK"])]
    assert len(unscored) == 10 and unscored["value"].isna().all() and (unscored["note"] == NO_SCORES).all()
    assert (unscored["runs"] == 0).all()
    diff = result.differences.set_index(["task", "B"])
    assert diff.loc[("unscored", "TRAK"), "verdict"] == "not compared"
    assert np.isnan(diff.loc[("unscored", "TRAK"), "difference"])
    table = mse_display(result)
    assert table.loc[("unscored", "EK-FAC"), "n (runs x tests)"] == f"0 of {HELD_OUT} runs (no scores)"
    assert table.loc[("unscored", "EK-FAC"), "all-steps MSE (std)"] == "—"
    assert table.loc[("unscored", "EK-FAC"), "verdict on GPTfluence"] == "not compared (no scores)"
    assert table.loc[("scored", "EK-FAC"), "n (runs x tests)"] == f"2 x 8 (2 of {HELD_OUT} runs scored)"
    assert table.loc[("scored", "Simfluence"), "n (runs x tests)"] == f"{HELD_OUT} x 8"
    assert table.loc[("scored", GPT), "verdict on GPTfluence"] == ""
    assert lds_display(result).loc[("unscored", "TRAK"), "LDS (across runs) [95% interval]"] == "— (no scores)"
    assert list(sigma_display(result).columns) == ["scored", "unscored"]
    assert sigma_display(result).loc["EK-FAC", "unscored"] == ""


def test_facts_say_n_and_compare_every_method_with_gptfluence(section):
    out = facts(section[0])
    assert out["ps_n"] == f"{HELD_OUT} held-out runs x 8 test examples per collection"
    assert "on unscored not compared (no scores are stored" in out["ps_ekfac_vs_gpt"]
    assert f"on scored (2 held-out runs x 8 test examples, 2 of {HELD_OUT} held-out runs scored)" in out[
        "ps_trak_vs_gpt"]
    assert out["ps_unscored_ekfac_mse"] == "—"
    assert "(2 not compared: no scores)" in out["ps_tally"] and "of 12 comparisons" in out["ps_tally"]
    assert "the reference's" in out["ps_ref_vs_gpt"]
    assert set(facts(None)) <= set(out) and set(facts(None).values()) == {"n/a"}


def test_no_change_and_bad_input():
    values = np.array([[[1.0], [0.5], [0.0]]])  # one run, one test: errors 0.5 and 1 at the predicted steps
    assert no_change_mse(values) == pytest.approx((0.25 + 1.0) / 2)
    with pytest.raises(ValueError, match="GPTfluence"):
        paper_size_section(["a"], methods=[m for m in SECTION_METHODS if m != GPT])
    with pytest.raises(ValueError, match="distinct names"):
        paper_size_section(["x/sst2", "y/sst2"])


def test_methods_already_simulated_on_the_same_runs_are_reused_not_fitted_again(section, monkeypatch):
    """The chapter's Table 2 simulates GPTfluence and Simfluence on the same collection with the same settings: the
    section takes them from it (same tables), and fits again what differs (here GPTfluence's settings)."""
    import pandas as pd

    from lib.collect import StoredCollection
    from lib.experiments.settings import REFIT_SEEDS
    from lib.experiments.simulation import simulate_methods
    from lib.simulators import GPTfluence, Simfluence

    result, folder, _ = section
    dyn = StoredCollection(folder).dynamics("loss", require_complete=True)
    known = simulate_methods(dyn, [GPT, "Simfluence"], encoder=LetterEncoder(), gptfluence=FAST,
                             refit_seeds=REFIT_SEEDS)
    fits = []
    for cls in (GPTfluence, Simfluence):
        original = cls.fit
        monkeypatch.setattr(cls, "fit", lambda self, *a, _f=original, **k: fits.append(type(self).__name__)
                            or _f(self, *a, **k))
    methods = [GPT, "Simfluence", "Grad-Dot"]
    reused = paper_size_section([folder], methods, encoder=LetterEncoder(), gptfluence=FAST,
                                reuse={folder.name: known})
    assert fits == []  # neither fitted again
    for key in ("scores", "differences", "across", "lds_differences"):
        mine = getattr(reused, key)
        theirs = getattr(result, key)[getattr(result, key)["task"] == folder.name]
        theirs = theirs[theirs["method" if "method" in theirs else "B"].isin(methods)].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs[mine.columns], check_dtype=False)
    other = dataclasses.replace(FAST, lr=2e-3)  # other settings: GPTfluence is fitted again (5 fits), not Simfluence
    paper_size_section([folder], methods, encoder=LetterEncoder(), gptfluence=other, reuse={folder.name: known})
    assert fits == ["GPTfluence"] * (1 + len(REFIT_SEEDS))


def test_the_chapter_section_reads_the_paper_size_collections_and_reuses_that_regimes_table_2(monkeypatch):
    from types import SimpleNamespace

    from lib.experiments import paper_size_loss
    from lib.experiments.settings import REFIT_SEEDS
    from lib.experiments.store import Progress

    seen = []
    monkeypatch.setattr(paper_size_loss, "paper_size_section", lambda folders, **kw: seen.append((folders, kw)) or "s")
    monkeypatch.setattr(paper_size_loss, "progress", lambda scale, name, data_dir=None:
                        Progress(scale, name, 32 if name != "rte" else 3, 32))
    own = SimpleNamespace(fine_tuning={"sst2": "own"}, instruction="own mixture")
    cross = SimpleNamespace(fine_tuning={"sst2": "cross"}, instruction=None)  # a cross-check has no Table 1
    assert paper_size_loss.chapter_section("smoke", own, cross, encoder=None) is None and seen == []
    assert paper_size_loss.chapter_section("paper_size", own, cross, encoder=None, tasks=[]) is None
    for scale, reused in (("paper_size", own), ("full_fine_tuning", cross)):
        assert paper_size_loss.chapter_section(scale, own, cross, encoder=None, tasks=["sst2", "rte"]) == "s"
        folders, kw = seen[-1]
        assert [f.parent.name + "/" + f.name for f in folders] == ["paper_size/sst2"]  # rte incomplete: left out
        mixture = {} if reused.instruction is None else {"mixture": reused.instruction}  # Table 1's fits too
        assert kw["reuse"] == {**reused.fine_tuning, **mixture} and kw["refit_seeds"] == REFIT_SEEDS
    assert "mixture" in paper_size_loss.SECTION_TASKS
    words = paper_size_loss.regime_facts
    assert "own collections" in words("paper_size")["ps_whose"] and "cross-check" in words("full_fine_tuning")["ps_whose"]
