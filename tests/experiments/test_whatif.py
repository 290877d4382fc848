"""The what-if chapter's scores on synthetic runs, and its facts on the smoke collections."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.dynamics import Dynamics
from lib.experiments import whatif
from lib.experiments.scoring import REFERENCE


def _runs(values: np.ndarray, batch: int = 2) -> Dynamics:
    runs, steps = values.shape[0], values.shape[1] - 1
    curricula = np.arange(runs * steps * batch).reshape(runs, steps, batch)
    return Dynamics.from_arrays(curricula, values, np.arange(values.shape[2]) + 100, "loss", split=["test"] * runs)


def _decaying(runs: int, steps: int, tests: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.05, 0.3, size=(runs, 1, tests))
    return 2.0 * np.exp(-rate * np.arange(steps + 1)[None, :, None])


def test_blind_reference_holds_its_last_value_past_the_training_length():
    train = _runs(_decaying(4, 5, 3, seed=0))
    longer = _runs(_decaying(2, 10, 3, seed=1))
    pred = whatif.blind_reference(train, longer)
    change = (train.values - train.values[:, :1]).mean(axis=0)
    assert pred.shape == longer.values.shape
    np.testing.assert_allclose(pred[:, :6], longer.values[:, :1] + change[None])
    np.testing.assert_allclose(pred[:, 6:], np.repeat(pred[:, 5:6], 5, axis=1))


def test_squared_errors_skip_the_given_first_values():
    truth = np.zeros((1, 4, 2))
    pred = truth.copy()
    pred[0, 0] = 9.0  # a first value, given to the simulator: not an error
    pred[0, 2, 1] = 3.0
    np.testing.assert_allclose(whatif.squared_errors(pred, truth), [[0.0, 3.0]])
    np.testing.assert_allclose(whatif.squared_errors(pred, truth, order=3), [[0.0, 0.0]])


def test_scores_of_a_perfect_and_a_sign_flipped_method():
    held = _runs(_decaying(3, 6, 12, seed=2))
    design = _runs(_decaying(3, 6, 12, seed=3))
    train = _runs(_decaying(5, 6, 12, seed=4))
    reference = whatif.blind_reference(train, design)
    truth_effect = design.values[:, -1] - held.values[:, -1].mean(axis=0)
    flipped = design.values.copy()
    flipped[:, -1] = held.values[:, -1].mean(axis=0) - truth_effect  # every effect the wrong way
    predictions = {("perfect", "d"): design.values.copy(), ("flipped", "d"): flipped, (REFERENCE, "d"): reference}
    mse = whatif.mse_table({"d": design}, predictions).set_index("method")
    assert mse.loc["perfect", "mse"] == 0 and mse.loc["perfect", "verdict"] == "better"
    assert mse.loc[REFERENCE, "mse"] > 0 and pd.isna(mse.loc[REFERENCE, "verdict"])  # no difference to itself
    effects = whatif.effect_table({"d": design}, predictions, held,
                                  {"perfect": held.values, "flipped": held.values}).set_index("method")
    assert REFERENCE not in effects.index
    assert effects.loc["perfect", "sign_agreement"] == 1 and effects.loc["perfect", "spearman"] == pytest.approx(1)
    assert effects.loc["flipped", "sign_agreement"] == 0 and effects.loc["flipped", "spearman"] == pytest.approx(-1)
    assert effects.loc["perfect", "sign_low"] == 1 and effects.loc["perfect", "spearman_low"] == pytest.approx(1)


def test_every_method_is_compared_with_gptfluence_on_the_same_trajectories():
    design = _runs(_decaying(3, 6, 12, seed=3))
    reference = whatif.blind_reference(_runs(_decaying(5, 6, 12, seed=4)), design)
    noisy = design.values + np.random.default_rng(0).normal(scale=0.1, size=design.values.shape)
    predictions = {("perfect", "d"): design.values.copy(), (whatif.GPT, "d"): noisy, (REFERENCE, "d"): reference}
    mse = whatif.mse_table({"d": design}, predictions).set_index("method")
    errors = whatif.squared_errors(noisy, design.values)
    assert mse.loc["perfect", "gpt_diff"] == pytest.approx(-errors.mean())
    assert mse.loc["perfect", "gpt_diff_high"] < 0 and mse.loc["perfect", "gpt_verdict"] == "better"
    assert pd.isna(mse.loc[whatif.GPT, "gpt_diff"]) and pd.isna(mse.loc[REFERENCE, "gpt_diff"])
    result = whatif.WhatIfResult(designs=[], truth={"d": design}, predictions=predictions, refusals={}, mse=mse.reset_index(),
                                 effects=whatif.effect_table({"d": design}, predictions, design,
                                                             {"perfect": design.values, whatif.GPT: noisy}))
    shown = whatif.scores_display(result).set_index("method")["minus GPTfluence [95%]"]
    assert shown["perfect"].startswith(f"{-errors.mean():.3g} [") and shown[whatif.GPT] == shown[REFERENCE] == ""


def test_trusted_needs_an_interval_below_zero():
    def result(rows):
        return whatif.WhatIfResult(designs=[], truth={}, predictions={}, refusals={}, mse=pd.DataFrame(rows),
                                   effects=pd.DataFrame())
    rows = [{"design": "d", "method": "A", "mse": 0.2, "verdict": "better"},
            {"design": "d", "method": "B", "mse": 0.1, "verdict": "better"},
            {"design": "d", "method": "C", "mse": 0.05, "verdict": "undecided"}]
    assert whatif.trusted(result(rows), "d") == "B"
    assert whatif.trusted(result([{**r, "verdict": "undecided"} for r in rows]), "d") == "undecided"
    assert whatif.trusted(result([{**r, "verdict": "worse"} for r in rows]), "d") == "the reference"


def test_attribution_methods_are_fitted_on_the_scored_held_out_runs(tmp_path):
    """EK-FAC with stored scores for one of the two held-out runs: fitted on that run only (sigma as the loss chapter's
    EKFACInfluence on it), pair scores from it; TRAK, with none stored, is not fitted and says why."""
    from lib.attribution.result import AttributionResult
    from lib.attribution.store import save_scores
    from lib.experiments.store import stored
    from lib.simulators.attribution_baselines import EKFACInfluence

    dyn = stored("smoke", whatif.COLLECTION).dynamics("loss", require_complete=True)
    held = dyn.select_runs("test")
    assert held.n_runs == 2
    train_ids = np.unique(held.curricula[1])
    result = AttributionResult(scores=np.random.default_rng(0).normal(size=(len(train_ids), held.n_tests)),
                               train_ids=train_ids, test_ids=held.test_ids, seconds={}, info={"method": "ekfac"})
    run = int(held.run_ids[1])
    save_scores(tmp_path, run, result)
    models, unfit = whatif._fit(("EK-FAC", "TRAK"), dyn.select_runs("train"), None, held, encoder=None,
                                gptfluence=None, folder=tmp_path)
    assert list(models) == ["EK-FAC"] and list(unfit) == ["TRAK"]
    assert unfit["TRAK"].startswith(f"TRAK has no stored scores for any held-out run ({held.run_ids.tolist()})")
    expected = EKFACInfluence({run: result}).fit(held.select_runs([1]))
    assert models["EK-FAC"].simulator.sigma_ == pytest.approx(expected.sigma_, rel=1e-12)
    assert models["EK-FAC"].pairs.train_ids.tolist() == train_ids.tolist()
    np.testing.assert_allclose(models["EK-FAC"].pairs.scores, result.scores)


@pytest.fixture(scope="module")
def smoke_result():
    return whatif.run("smoke", encoder=None, methods=("Simfluence", "TracIn-CP (10 ckpts)", "EK-FAC"))


def test_smoke_designs_are_what_they_say(smoke_result):
    from lib.experiments.store import stored

    examples = stored("smoke", whatif.COLLECTION).examples()
    label = dict(zip(examples["id"].astype(int), examples["label"]))
    role = dict(zip(examples["id"].astype(int), examples["role"]))
    truth = smoke_result.truth
    assert set(truth) == set(whatif.DESIGNS) and all(t.n_runs == len(whatif.SEEDS) for t in truth.values())
    assert all(label[int(i)] != whatif.NEGATIVE for i in np.unique(truth["no negatives"].curricula))
    assert truth["twice as long"].n_steps == 2 * truth["easy to hard"].n_steps
    unseen_rows = stored("smoke", whatif.UNSEEN_COLLECTION).examples()
    unseen_ids = set(unseen_rows.loc[unseen_rows["role"] == "unseen", "id"].astype(int))
    for run in truth["half unseen"].curricula:
        assert len(set(np.unique(run).tolist()) & unseen_ids) == len(np.unique(run)) // 2
    for run in truth["easy to hard"].curricula:
        losses = [smoke_result.difficulty[int(i)] for i in run.ravel()]
        one_pass = len(np.unique(run)) // run.shape[1] * run.shape[1]
        assert losses[:one_pass] == sorted(losses[:one_pass])
    counts = [(run == smoke_result.repeated_id).sum() for run in truth["one repeated"].curricula]
    assert min(counts) >= max(1, truth["one repeated"].n_steps // whatif.REPEAT_SHARE)
    assert all(role[int(i)] == "pool" for i in np.unique(truth["no negatives"].curricula))


def test_smoke_facts(smoke_result):
    facts = whatif.facts(smoke_result)
    assert facts["whatif_trained"] == facts["whatif_planned"] == len(whatif.DESIGNS) * len(whatif.SEEDS)
    assert facts["whatif_missing"] == 0
    assert facts["whatif_regime"] == "smoke" and "_" not in facts["whatif_regime"]
    assert ("Simfluence", "half unseen") in smoke_result.refusals  # it has no factors for unseen examples
    # the smoke collections store no attribution scores: EK-FAC is not fitted, which is said once for every design
    assert smoke_result.unfit["EK-FAC"].startswith("EK-FAC has no stored scores for any held-out run")
    assert not any(method == "EK-FAC" for method, _ in (*smoke_result.predictions, *smoke_result.refusals))
    shown = whatif.refusals_display(smoke_result)
    assert shown[shown["method"] == "EK-FAC"]["design"].tolist() == ["every design"]
    assert all("Refused: EK-FAC" in whatif.design_text(smoke_result, name) for name in whatif.DESIGNS)
    assert "half_unseen_sim_mse" not in " ".join(facts)
    for name in whatif.DESIGNS:
        key = name.replace(" ", "_")
        assert facts[f"whatif_{key}_trust"] in {"Simfluence", "TracIn-CP (10 ckpts)", "the reference", "undecided"}
        assert np.isfinite(facts[f"whatif_{key}_ref_mse"])
        text = whatif.design_text(smoke_result, name)
        assert whatif.DESIGN_QUESTIONS[name] in text and f"trust: **{facts[f'whatif_{key}_trust']}**" in text
    assert not any(key.startswith("whatif_sst2") for key in facts)  # SST-2's loss keeps the chapter's first keys
    shown = whatif.scores_display(smoke_result)
    assert len(shown) == len(smoke_result.mse) and set(shown["design"]) == set(whatif.DESIGNS)


def test_the_command_line_without_collect_reports_what_is_trained(monkeypatch, capsys):
    """A status, never a traceback, when designed runs are missing: every design listed, the count and the command
    that trains the rest (the committed paper-size SST-2 collections, with no designed run found)."""
    monkeypatch.setattr(whatif.DesignedRunStore, "read", lambda self, config, curriculum: None)
    whatif.main(["--scale", "default"])
    lines = capsys.readouterr().out.strip().splitlines()
    designs = len(whatif.DESIGNS) * len(whatif.SEEDS)
    assert len(lines) == designs + 1 and all(line.endswith(": not trained") for line in lines[:-1])
    assert lines[-1] == (f"0 of {designs} designed runs trained; train the rest with "
                         "`python -m lib.experiments.whatif --scale default --collect`")


@pytest.mark.parametrize("reads", ["full_fine_tuning", "paper_size"])
def test_the_chapter_reads_the_paper_size_regime_whatever_the_default_book_reads(monkeypatch, reads):
    """The designs exist in the paper-size regime only: the default scale reads its collections, designed runs and
    GPTfluence settings whichever regime DEFAULT_READS names, and says so only when its other chapters read another."""
    from dataclasses import replace

    from lib import scales
    from lib.experiments.settings import gptfluence_config
    from lib.experiments.store import collection_config

    monkeypatch.setitem(scales.SCALES, "default", replace(scales.REGIMES[reads], name="default"))
    source = whatif.data_scale("default")
    assert scales.get_scale(source).regime == "paper_size"
    assert collection_config(source, "sst2").config_hash == collection_config("paper_size", "sst2").config_hash
    assert whatif.gptfluence_for("default") == gptfluence_config("paper_size")
    assert whatif.designed_folder("default", "sst2") == whatif.designed_folder("paper_size", "sst2")
    assert whatif.designed_folder("default", "sst2").parts[-3:] == ("designed", "paper_size", "sst2")
    assert whatif.designed_folder("default", "sst2").is_dir()
    sentence = whatif.reads_sentence("default")
    assert (sentence == "") == (reads == "paper_size")
    assert reads == "paper_size" or scales.REGIMES[reads].label in sentence
    assert whatif.data_scale("smoke") == "smoke" and whatif.reads_sentence("smoke") == ""
    assert whatif.data_scale("full_fine_tuning") == "paper_size"


def test_run_fits_gptfluence_with_the_settings_gptfluence_for_gives(monkeypatch):
    """run() hands `gptfluence_for(scale)` to the fit (an explicit `gptfluence` overrides it): a run that fitted
    with the book scale's own settings would fail here."""
    from lib.simulators import GPTfluenceConfig

    class Fitted(Exception):
        pass

    mine = {"smoke": GPTfluenceConfig(lr=0.123, max_epochs=1)}
    seen = []

    def fit(methods, train, val, held, *, encoder, gptfluence, folder):
        seen.append(gptfluence)
        raise Fitted

    monkeypatch.setattr(whatif, "gptfluence_for", lambda scale: mine[scale])
    monkeypatch.setattr(whatif, "_fit", fit)
    with pytest.raises(Fitted):
        whatif.run("smoke", encoder=None)
    explicit = GPTfluenceConfig(lr=0.456)
    with pytest.raises(Fitted):
        whatif.run("smoke", encoder=None, gptfluence=explicit)
    assert seen == [mine["smoke"], explicit]


def test_the_trust_sentence_says_how_much_error_the_trusted_method_still_makes():
    rows = pd.DataFrame([{"method": "A", "mse": 18.1}, {"method": REFERENCE, "mse": 23.7}]).set_index("method")
    assert whatif._trust_note(rows, "A") == ", whose all-steps MSE is still 76% of the reference's."
    assert whatif._trust_note(rows, "the reference") == "."
    assert "excludes 0" in whatif._trust_note(rows, "undecided")
