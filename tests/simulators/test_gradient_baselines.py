"""TracIn-CP and Grad-Dot as simulators: exact recovery of the rescaling factor, raw mode, and refusals."""
import numpy as np
import pytest

from lib.dynamics import Dynamics
from lib.simulators import GradDot, TracInCP, tracin_self_influence


def gradient_runs(truth_key="ckpt10", sigma=250.0, noise=0.0, metric="loss", seed=0, runs=6, steps=10, batch=3, tests=4,
                  config=None):
    """Runs whose loss follows y_t = y_{t-1} - sigma * eta_t / B * sum_b grad_dots[truth_key] (+ noise)."""
    rng = np.random.default_rng(seed)
    grads = {key: rng.normal(loc=0.5, size=(runs, steps, batch, tests)) for key in ("all", "ckpt10", "final")}
    lr = np.tile(np.linspace(1e-3, 1e-4, steps), (runs, 1))
    y0 = rng.uniform(2, 3, size=(runs, 1, tests))
    drop = sigma * np.cumsum(lr[:, :, None] * grads[truth_key].sum(axis=2) / batch, axis=1)
    values = np.concatenate([y0, y0 - drop], axis=1) + noise * rng.normal(size=(runs, steps + 1, tests))
    values[:, 0] = y0[:, 0]
    curricula = rng.integers(0, 20, size=(runs, steps, batch))
    return Dynamics.from_arrays(curricula, values, np.arange(tests), metric, grad_dots=grads, learning_rates=lr,
                                split=["train"] * (runs - 2) + ["test"] * 2, config=config)


@pytest.mark.parametrize("simulator, key", [(TracInCP("ckpt10"), "ckpt10"), (TracInCP("all"), "all"), (GradDot(), "final")])
def test_recovers_sigma_and_trajectories_exactly(simulator, key):
    runs = gradient_runs(truth_key=key)
    simulator.fit(runs.select_runs("train"))
    assert simulator.sigma_ == pytest.approx(250.0, rel=1e-10)
    held_out = runs.select_runs("test")
    np.testing.assert_allclose(simulator.simulate(held_out), held_out.values, atol=1e-10)


def test_sigma_is_the_least_squares_factor_over_train_and_val():
    runs = gradient_runs(noise=0.01)
    train, val = runs.select_runs([0, 1, 2]), runs.select_runs([3])
    sim = TracInCP("ckpt10").fit(train, val)
    pooled = runs.select_runs([0, 1, 2, 3])
    drop = np.cumsum(pooled.learning_rates[:, :, None] * pooled.grad_dots["ckpt10"].sum(axis=2) / 3, axis=1)
    observed = pooled.values[:, 1:] - pooled.values[:, :1]
    reference = np.linalg.lstsq(-drop.reshape(-1, 1), observed.ravel(), rcond=None)[0][0]
    assert sim.sigma_ == pytest.approx(reference, rel=1e-10)


def test_raw_mode_uses_sigma_one():
    runs = gradient_runs()
    sim = TracInCP("all", rescale=False).fit(runs)
    assert sim.sigma_ == 1.0
    expected = runs.values[:, :1] - np.cumsum(runs.learning_rates[:, :, None] * runs.grad_dots["all"].sum(axis=2) / 3,
                                              axis=1)
    np.testing.assert_allclose(sim.simulate(runs)[:, 1:], expected)


def test_raw_step_is_the_first_order_change_of_the_batch_mean_loss():
    """SGD on the batch-mean loss L = (1/B) sum_b l_b moves a test loss by -eta/B * sum_b <g_b, g'> to first order."""
    rng = np.random.default_rng(3)
    batch, dim, eta = 4, 6, 1e-4
    train_grads, test_grad = rng.normal(size=(batch, dim)), rng.normal(size=dim)
    theta_step = -eta * train_grads.mean(axis=0)  # one SGD step on the batch-mean loss
    first_order_change = float(test_grad @ theta_step)  # linear test loss: exact
    dots = (train_grads @ test_grad)[None, None, :, None]  # [runs, steps, batch, tests]
    runs = Dynamics.from_arrays(np.arange(batch)[None, None], [[[2.0], [2.0 + first_order_change]]], [0], "loss",
                                grad_dots={"all": dots}, learning_rates=[[eta]])
    predicted = TracInCP("all", rescale=False).fit(runs).simulate(runs)
    assert predicted[0, 1, 0] - 2.0 == pytest.approx(first_order_change, rel=1e-12)


PAPER_SIZE = {"training": {"subset_size": 128, "batch_size": 4, "epochs": 3}}  # T = 96 steps


def test_ckpt10_reports_the_recorded_checkpoint_spacing():
    runs = gradient_runs(config={**PAPER_SIZE, "gradients": {"checkpoints": 10}})
    sim = TracInCP("ckpt10").fit(runs)
    assert (sim.checkpoints_, sim.checkpoint_spacing_) == (10, pytest.approx(9.6))
    unknown = TracInCP("ckpt10").fit(gradient_runs())  # no collection config: spacing unknown
    assert unknown.checkpoints_ is None and unknown.checkpoint_spacing_ is None
    assert TracInCP("all").fit(runs).checkpoint_spacing_ == 1.0


def test_ckpt10_refuses_checkpoints_much_closer_than_a_tenth_of_the_run():
    dense = gradient_runs(config={**PAPER_SIZE, "gradients": {"checkpoints": 48}})
    with pytest.raises(ValueError, match=r"T/10 = 9.6 steps apart; these runs recorded 48 checkpoints over 96 steps"):
        TracInCP("ckpt10").fit(dense)
    sim = TracInCP("ckpt10").fit(gradient_runs(config={**PAPER_SIZE, "gradients": {"checkpoints": 10}}))
    with pytest.raises(ValueError, match="48 checkpoints"):
        sim.simulate(dense)
    TracInCP("all").fit(dense).simulate(dense)  # every-step gradients have no checkpoint spacing to check


def test_refuses_other_metrics_and_missing_gradient_data():
    with pytest.raises(ValueError, match="only the loss, got metric 'bleu'"):
        TracInCP().fit(gradient_runs(metric="bleu"))
    runs = gradient_runs()
    no_final = Dynamics.from_arrays(runs.curricula, runs.values, runs.test_ids, "loss",
                                    grad_dots={"all": runs.grad_dots["all"]}, learning_rates=runs.learning_rates)
    with pytest.raises(ValueError, match="grad_dots\\['final'\\]"):
        GradDot().fit(no_final)
    no_lr = Dynamics.from_arrays(runs.curricula, runs.values, runs.test_ids, "loss", grad_dots=runs.grad_dots)
    with pytest.raises(ValueError, match="learning_rates"):
        TracInCP().fit(no_lr)
    with pytest.raises(ValueError, match="'every'"):
        TracInCP("every")
    grads = {key: value.copy() for key, value in runs.grad_dots.items()}
    grads["ckpt10"][2] = np.nan  # the collector's mark of a run without gradient data
    unrecorded = Dynamics.from_arrays(runs.curricula, runs.values, runs.test_ids, "loss", grad_dots=grads,
                                      learning_rates=runs.learning_rates, run_ids=[10, 11, 12, 13, 14, 15])
    with pytest.raises(ValueError, match="missing \\(NaN\\) for runs \\[12\\]"):
        TracInCP("ckpt10").fit(unrecorded)


def test_tracin_self_influence():
    runs = gradient_runs()
    with pytest.raises(ValueError, match="no 'tracin' scores"):
        tracin_self_influence(runs)
    scored = Dynamics.from_arrays(runs.curricula, runs.values, runs.test_ids, "loss", self_influence={"tracin": {3: 0.5}})
    assert tracin_self_influence(scored) == {3: 0.5}
