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
