import numpy as np
import pytest

from lib.experiments import METHODS, make_simulator, simulate_methods
from lib.experiments.store import dynamics
from lib.simulators import GPTfluenceConfig


@pytest.fixture(scope="module")
def smoke_sst2():
    return dynamics("smoke", "sst2")


def test_unknown_method_and_missing_encoder_are_named():
    with pytest.raises(ValueError, match="'Magic'"):
        make_simulator("Magic")
    with pytest.raises(ValueError, match="encoder"):
        make_simulator("GPTfluence")


def test_attribution_methods_are_made_from_their_scores_only():
    from lib.simulators.attribution_baselines import EKFACInfluence, TRAKSimulator
    with pytest.raises(ValueError, match="EK-FAC needs its stored scores"):
        make_simulator("EK-FAC")
    assert isinstance(make_simulator("EK-FAC", scores={}), EKFACInfluence)
    trak = make_simulator("TRAK", scores={3: "result"})
    assert isinstance(trak, TRAKSimulator) and trak.scores == {3: "result"}
    assert "EK-FAC" not in METHODS  # callers iterating METHODS simulate every held-out run; these can't


def test_all_methods_scored_on_the_held_out_runs(smoke_sst2):
    methods = [m for m in METHODS if m != "GPTfluence"]
    result = simulate_methods(smoke_sst2, methods, task="sst2")
    truth = smoke_sst2.select_runs("test")
    assert result.truth.n_runs == truth.n_runs
    assert set(result.table["method"]) == set(methods)
    assert (result.table["task"] == "sst2").all()
    for method, pred in result.predictions.items():
        assert pred.shape == truth.values.shape
        np.testing.assert_array_equal(pred[:, 0], truth.values[:, 0])
    table = result.table.set_index(["method", "metric"])["value"]
    # the oracle rescaling can only lower the squared error of the raw gradient prediction
    assert table[("TracIn-CP (10 ckpts)", "mse")] <= table[("TracIn-CP (10 ckpts), raw", "mse")] + 1e-12


def test_gptfluence_runs_through_the_same_path(smoke_sst2):
    result = simulate_methods(smoke_sst2, ["GPTfluence"], encoder="minilm-mean",
                              gptfluence=GPTfluenceConfig(max_epochs=3))
    assert np.isfinite(result.predictions["GPTfluence"]).all()
    assert result.fit_seconds["GPTfluence"] > 0


def test_gptfluence_refits_with_other_seeds_are_kept_beside_the_table(smoke_sst2):
    import dataclasses

    from test_ablations import HashEncoder

    dyn, encoder = smoke_sst2, HashEncoder()
    config = GPTfluenceConfig(lr=1e-3, hidden=16, max_epochs=3, warmup_steps=0, patience=2)
    result = simulate_methods(dyn, ["GPTfluence", "Simfluence"], encoder=encoder, gptfluence=config,
                              refit_seeds=(1, 2))
    assert list(result.refits) == ["GPTfluence"] and len(result.refits["GPTfluence"]) == 2
    assert set(result.predictions) == set(result.table["method"]) == {"GPTfluence", "Simfluence"}  # kept apart
    assert not np.allclose(result.refits["GPTfluence"][0], result.predictions["GPTfluence"])
    again = simulate_methods(dyn, ["GPTfluence"], encoder=encoder, gptfluence=dataclasses.replace(config, seed=1))
    np.testing.assert_array_equal(again.predictions["GPTfluence"], result.refits["GPTfluence"][0])
    assert simulate_methods(dyn, ["Simfluence"], refit_seeds=(1,)).refits == {}  # nothing to refit
    with pytest.raises(ValueError, match=r"refit_seeds \[42\] include the fit's own seed 42"):
        simulate_methods(dyn, ["GPTfluence"], encoder=encoder, gptfluence=config, refit_seeds=(42,))


def test_the_paper_size_regime_refits_gptfluence_and_the_others_do_not():
    from lib.experiments.settings import REFIT_SEEDS, refit_seeds

    from lib.scales import SCALES, get_scale

    assert refit_seeds("paper_size") == REFIT_SEEDS and len(REFIT_SEEDS) >= 4 and refit_seeds("smoke") == ()
    for scale in SCALES:
        assert refit_seeds(scale) == (REFIT_SEEDS if get_scale(scale).regime == "paper_size" else ())
