"""Simfluence closed form: recovers known factors, matches a naive ridge solve, selects l2, refuses unseen ids."""
import numpy as np
import pytest

from lib.metrics import all_steps_mse
from lib.simulators import Simfluence


def naive_ridge(dynamics, variant, l2):
    """Reference: one dense design matrix per test example, exactly as method.md section 2 writes it."""
    ids = np.unique(dynamics.curricula)
    n = len(ids)
    A, B = np.zeros((n, dynamics.n_tests)), np.zeros((n, dynamics.n_tests))
    for m in range(dynamics.n_tests):
        rows, targets = [], []
        for r in range(dynamics.n_runs):
            for t in range(1, dynamics.n_steps + 1):
                x_alpha, x_beta = np.zeros(n), np.zeros(n)
                for i in dynamics.curricula[r, t - 1]:
                    k = np.searchsorted(ids, i)
                    x_alpha[k] += dynamics.values[r, t - 1, m]
                    x_beta[k] += 1.0
                y, y_prev = dynamics.values[r, t, m], dynamics.values[r, t - 1, m]
                if variant == "linear":
                    rows.append(np.concatenate([x_alpha, x_beta]))
                    targets.append(y)
                elif variant == "additive":
                    rows.append(x_beta)
                    targets.append(y - y_prev)
                else:
                    rows.append(x_alpha)
                    targets.append(y)
        X, y = np.array(rows), np.array(targets)
        w = np.linalg.solve(X.T @ X + l2 * np.eye(X.shape[1]), X.T @ y)
        if variant == "linear":
            A[:, m], B[:, m] = w[:n], w[n:]
        elif variant == "additive":
            B[:, m] = w
        else:
            A[:, m] = w
    return A, B


@pytest.mark.parametrize("variant", ["linear", "additive", "multiplicative"])
def test_closed_form_equals_naive_ridge(process, variant):
    train = process(variant, pool=12, subset=8, tests=3, runs=6, splits=(6, 0, 0)).dynamics
    sim = Simfluence(variant, l2=0.3).fit(train)
    A, B = naive_ridge(train, variant, 0.3)
    if variant != "additive":
        np.testing.assert_allclose(sim.A_, A, rtol=1e-8, atol=1e-10)
    if variant != "multiplicative":
        np.testing.assert_allclose(sim.B_, B, rtol=1e-8, atol=1e-10)


def test_linear_recovers_true_factors_and_reaches_noise_floor(linear_process):
    p = linear_process
    sim = Simfluence("linear", l2=1e-4).fit(p.split("train"))
    assert np.abs(sim.A_ - p.A[:, 0]).max() < 0.01
    assert np.abs(sim.B_ - p.B).max() < 0.02
    held_out = p.split("test")
    mse = all_steps_mse(sim.simulate(held_out), held_out.values)[0]
    oracle = all_steps_mse(p.oracle(held_out), held_out.values)[0]
    assert mse < 1.5 * oracle


@pytest.mark.parametrize("variant, wrong", [("additive", "multiplicative"), ("multiplicative", "additive")])
def test_ablations_fit_their_own_process(process, variant, wrong):
    p = process(variant)
    held_out = p.split("test")
    oracle = all_steps_mse(p.oracle(held_out), held_out.values)[0]
    right = Simfluence(variant).fit(p.split("train"), p.split("val"))
    other = Simfluence(wrong).fit(p.split("train"), p.split("val"))
    right_mse = all_steps_mse(right.simulate(held_out), held_out.values)[0]
    assert right_mse < 2 * oracle
    assert all_steps_mse(other.simulate(held_out), held_out.values)[0] > 10 * right_mse
    factor = right.B_ if variant == "additive" else right.A_
    truth = p.B if variant == "additive" else p.A[:, 0]
    assert np.abs(factor - truth).max() < 0.01


def test_l2_grid_is_chosen_by_validation_rollout(linear_process):
    p = linear_process
    grid = (1e-4, 1e-1, 1e3)
    sim = Simfluence("linear", l2=grid).fit(p.split("train"), p.split("val"))
    assert set(sim.val_mse_) == set(grid)
    assert sim.l2_ == min(sim.val_mse_, key=sim.val_mse_.get)
    single = Simfluence("linear", l2=sim.l2_).fit(p.split("train"))
    np.testing.assert_allclose(single.A_, sim.A_)
    assert sim.val_mse_[1e3] > sim.val_mse_[sim.l2_]  # a huge penalty shrinks the factors and hurts


def test_l2_grid_needs_validation_runs(linear_process):
    with pytest.raises(ValueError, match="needs validation runs"):
        Simfluence(l2=(0.1, 1.0)).fit(linear_process.split("train"))


def test_bad_arguments():
    with pytest.raises(ValueError, match="'quadratic'"):
        Simfluence("quadratic")
    with pytest.raises(ValueError, match="l2"):
        Simfluence(l2=-1.0)


def test_refuses_unseen_test_ids_by_name(linear_process):
    train = linear_process.split("train")
    sim = Simfluence(l2=1.0).fit(train.select_tests([1000, 1001, 1002]))
    with pytest.raises(ValueError, match="unseen test ids: \\[1003, 1004\\]"):
        sim.simulate(train)


def test_refuses_unseen_training_id_by_name(linear_process):
    d = linear_process.dynamics.select_runs("train")
    sim = Simfluence(l2=1.0).fit(d)
    curricula = d.curricula.copy()
    curricula[0, 0, 0] = 777
    bad = type(d).from_arrays(curricula, d.values, d.test_ids, "loss")
    with pytest.raises(ValueError, match="unseen training ids: \\[777\\]"):
        sim.simulate(bad)


def test_simulating_a_subset_of_tests_in_another_order_matches(linear_process):
    p = linear_process
    sim = Simfluence(l2=1e-2).fit(p.split("train"))
    held_out = p.split("test")
    full = sim.simulate(held_out)
    picked = sim.simulate(held_out.select_tests([1003, 1000]))
    np.testing.assert_allclose(picked, full[:, :, [3, 0]])
    A, B = sim.factors([5, 2], [1003, 1000])
    np.testing.assert_allclose(A[:, 0], sim.A_[np.ix_([5, 2], [3, 0])])
    np.testing.assert_allclose(B, sim.B_[np.ix_([5, 2], [3, 0])])
