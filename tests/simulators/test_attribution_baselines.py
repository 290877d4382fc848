"""EK-FAC / TRAK simulators: TracIn-CP's surface (exact sigma recovery, raw mode) and what it refuses."""
import numpy as np
import pytest

from lib.attribution.result import AttributionResult
from lib.dynamics import Dynamics
from lib.simulators import GradDot
from lib.simulators.attribution_baselines import AttributionSimulator, EKFACInfluence, TRAKSimulator

POOL, TESTS = 12, 3


def scored_runs(sigma=40.0, runs=4, steps=8, batch=2, seed=0, metric="loss"):
    """Runs whose loss follows y_t = y_{t-1} - sigma * eta_t / B * sum_b score(z_b, z') exactly, and their scores."""
    rng = np.random.default_rng(seed)
    curricula = np.stack([rng.choice(POOL, size=(steps, batch)) for _ in range(runs)])
    run_ids = np.arange(20, 20 + runs)
    test_ids = np.arange(100, 100 + TESTS)
    scores = {}
    for r, run in enumerate(run_ids):
        order = rng.permutation(POOL)  # stored rows in another order than the pool ids
        scores[int(run)] = AttributionResult(rng.normal(0.5, 1.0, size=(POOL, TESTS)), order, test_ids[::-1],
                                             {"fit": 0.0, "score": 0.0}, {"method": "ekfac"})
    lr = np.tile(np.linspace(1e-2, 1e-3, steps), (runs, 1))
    per_step = np.stack([scores[int(run)].rows(curricula[r])[..., ::-1] for r, run in enumerate(run_ids)])
    y0 = rng.uniform(2, 3, size=(runs, 1, TESTS))
    values = np.concatenate([y0, y0 - sigma * np.cumsum(lr[:, :, None] * per_step.mean(axis=2), axis=1)], axis=1)
    dyn = Dynamics.from_arrays(curricula, values, test_ids, metric, learning_rates=lr, run_ids=run_ids,
                               split=["train"] * (runs - 1) + ["test"])
    return dyn, scores


@pytest.mark.parametrize("cls", [EKFACInfluence, TRAKSimulator])
def test_recovers_sigma_and_trajectories_exactly(cls):
    runs, scores = scored_runs()
    sim = cls(scores).fit(runs.select_runs("train"))
    assert sim.sigma_ == pytest.approx(40.0, rel=1e-10)
    held_out = runs.select_runs("test")
    np.testing.assert_allclose(sim.simulate(held_out), held_out.values, atol=1e-10)


def test_raw_mode_and_a_single_run_as_tracin():
    runs, scores = scored_runs()
    one = runs.select_runs([0])
    assert EKFACInfluence(scores, rescale=False).fit(one).sigma_ == 1.0
    assert EKFACInfluence(scores).fit(one).sigma_ == pytest.approx(40.0)  # sigma alone: one run suffices, as TracIn


def test_step_scores_follow_the_curriculum_and_the_test_order():
    runs, scores = scored_runs()
    per_step = EKFACInfluence(scores).step_scores(runs)
    r, t, b, m = 2, 5, 1, 0
    result = scores[int(runs.run_ids[r])]
    row = list(result.train_ids).index(runs.curricula[r, t, b])
    assert per_step[r, t, b, m] == result.scores[row, list(result.test_ids).index(runs.test_ids[m])]


def test_refuses_what_tracin_refuses():
    runs, scores = scored_runs()
    with pytest.raises(ValueError, match="only the loss, got metric 'bleu'"):
        EKFACInfluence(scores).fit(scored_runs(metric="bleu")[0])
    with pytest.raises(ValueError, match="only the loss"):
        GradDot().fit(scored_runs(metric="bleu")[0])  # the same refusal as the gradient baselines
    with pytest.raises(ValueError, match="scores are missing for runs \\[21\\]"):
        TRAKSimulator({k: v for k, v in scores.items() if k != 21}).fit(runs)
    no_lr = Dynamics.from_arrays(runs.curricula, runs.values, runs.test_ids, "loss", run_ids=runs.run_ids)
    with pytest.raises(ValueError, match="learning_rates"):
        EKFACInfluence(scores).fit(no_lr)
    broken = dict(scores)
    nan = broken[22].scores.copy()
    nan[0, 0] = np.nan
    broken[22] = AttributionResult(nan, broken[22].train_ids, broken[22].test_ids, {}, {"method": "ekfac"})
    with pytest.raises(ValueError, match="not finite for runs \\[22\\]"):
        EKFACInfluence(broken).fit(runs.select_runs([1, 2]))
    with pytest.raises(ValueError, match="have no test ids \\[999\\]"):
        EKFACInfluence(scores).fit(Dynamics.from_arrays(runs.curricula, runs.values[..., :1], [999], "loss",
                                                        learning_rates=runs.learning_rates, run_ids=runs.run_ids))
    with pytest.raises(ValueError, match="no row for training ids"):
        scores[20].rows(np.array([[POOL + 5]]))
    with pytest.raises(ValueError, match="not fitted"):
        EKFACInfluence(scores).simulate(runs)
    zero = {k: AttributionResult(np.zeros_like(v.scores), v.train_ids, v.test_ids, {}, {}) for k, v in scores.items()}
    with pytest.raises(ValueError, match="sigma is undefined"):
        AttributionSimulator(zero, "trak").fit(runs)


def test_check_runs_is_the_refusal_of_fit_and_simulate():
    """The public check (used by the what-if pair scores) refuses exactly the runs fit refuses, and passes the
    others without touching them."""
    runs, scores = scored_runs()
    EKFACInfluence(scores).check_runs(runs)  # every run scored, learning rates recorded
    partial = TRAKSimulator({k: v for k, v in scores.items() if k != 23})
    with pytest.raises(ValueError, match="trak scores are missing for runs \\[23\\]"):
        partial.check_runs(runs)
    partial.check_runs(runs.select_runs([0, 1, 2]))
    no_lr = Dynamics.from_arrays(runs.curricula, runs.values, runs.test_ids, "loss", run_ids=runs.run_ids)
    with pytest.raises(ValueError, match="needs Dynamics.learning_rates"):
        EKFACInfluence(scores).check_runs(no_lr)


def test_scores_for_runs_returns_exactly_the_stored_runs_asked_for(tmp_path):
    from lib.attribution.store import save_scores
    from lib.simulators.attribution_baselines import scores_for_runs
    _, scores = scored_runs()
    for run in (20, 22):
        save_scores(tmp_path, run, scores[run])  # method "ekfac" (its info)
    assert sorted(scores_for_runs(tmp_path, "EK-FAC", [20, 21, 22, 23])) == [20, 22]
    np.testing.assert_array_equal(scores_for_runs(tmp_path, "EK-FAC", [22])[22].scores, scores[22].scores)
    assert scores_for_runs(tmp_path, "TRAK", [20, 22]) == {}
    assert scores_for_runs(tmp_path / "no such collection", "EK-FAC", [20]) == {}
    with pytest.raises(ValueError, match="'ekfac'"):
        scores_for_runs(tmp_path, "ekfac", [20])
