"""Simfluence closed form: recovers known factors, matches a naive ridge solve, selects l2, refuses unseen ids."""
import dataclasses

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
    raw = Simfluence(variant, l2=0.3, standardize=False).fit(train)
    scale = np.sqrt(np.mean(train.values**2, axis=(0, 1)))
    standardized = Simfluence(variant, l2=0.3).fit(train)
    np.testing.assert_allclose(standardized.scale_, scale)
    scaled = dataclasses.replace(train, values=train.values / scale)
    for sim, data, factor in ((raw, train, 1.0), (standardized, scaled, scale)):
        A, B = naive_ridge(data, variant, 0.3)
        if variant != "additive":
            np.testing.assert_allclose(sim.A_, A, rtol=1e-8, atol=1e-10)
        if variant != "multiplicative":
            np.testing.assert_allclose(sim.B_, B * factor, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("variant", ["linear", "additive", "multiplicative"])
def test_the_penalty_does_not_depend_on_the_metric_scale(process, variant):
    """A loss of ~2 and the same dynamics as a BLEU of ~40: the same multiplicative factors, B and rollouts x20."""
    p = process(variant, pool=12, subset=8, tests=3, runs=8, splits=(5, 1, 2))
    loss = p.dynamics
    bleu = dataclasses.replace(loss, values=20 * loss.values, metric="bleu")
    small = Simfluence(variant, l2=1.0).fit(loss.select_runs("train"))
    large = Simfluence(variant, l2=1.0).fit(bleu.select_runs("train"))
    if variant != "additive":
        np.testing.assert_allclose(large.A_, small.A_, rtol=1e-8, atol=1e-12)
    if variant != "multiplicative":
        np.testing.assert_allclose(large.B_, 20 * small.B_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(large.simulate(bleu.select_runs("test")), 20 * small.simulate(loss.select_runs("test")))
    chosen = [Simfluence(variant).fit(d.select_runs("train"), d.select_runs("val")).l2_ for d in (loss, bleu)]
    assert chosen[0] == chosen[1]


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
    assert set(sim.val_mse_) == set(grid) and set(sim.val_diverged_) == set(grid)
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


def test_l2_choice_counts_diverged_rollouts_before_averaging(linear_process, monkeypatch):
    """A candidate whose one diverged rollout hides in a low mean loses to one with no diverged rollout."""
    p = linear_process
    train, val = p.split("train"), p.split("val")
    low, high = train.values.min(), train.values.max()

    def fake_grid(self, train, grid):  # candidate k is marked by A = k
        return [(np.full((len(self.train_ids_), train.n_tests), float(k)), None) for k in range(len(grid))]

    def fake_coefficients(self, runs):  # beta replays the true steps, plus a per-candidate error
        steps = np.diff(runs.values, axis=1)
        if self.A_[0, 0] == 0:  # test 0 leaves the band by more than its width at the last step only
            steps[:, -1, 0] += 2 * (high - low) + 0.1
        else:  # every rollout off by a small constant
            steps[:, 0] += 1.5
        return np.ones(runs.values[:, 1:, None].shape), steps

    monkeypatch.setattr(Simfluence, "_fit_grid", fake_grid)
    monkeypatch.setattr(Simfluence, "_coefficients", fake_coefficients)
    sim = Simfluence(l2=(0.1, 1.0)).fit(train, val)
    assert sim.val_mse_[0.1] < sim.val_mse_[1.0]  # the plain mean prefers the diverging candidate
    assert sim.val_diverged_ == {0.1: val.n_runs, 1.0: 0}
    assert sim.l2_ == 1.0


def _with_unfitted_id(d, at_steps):
    """`d` with training id 777 (never in the training runs) in the first batch slot of run r at step at_steps[r]
    (None: run r untouched)."""
    curricula = d.curricula.copy()
    for run, step in enumerate(at_steps):
        if step is not None:
            curricula[run, step, 0] = 777
    return dataclasses.replace(d, curricula=curricula)


def test_l2_is_chosen_on_the_validation_steps_before_an_example_the_training_runs_never_used(linear_process):
    """A validation run that meets a training example without a factor is scored on its steps before it; whole
    runs stay whole, every trajectory weighing the same."""
    p = linear_process
    train, val = p.split("train"), p.split("val")
    grid = (1e-4, 1e-1, 1e3)
    cut = 3
    bad = _with_unfitted_id(val, [cut] + [None] * (val.n_runs - 1))
    sim = Simfluence("linear", l2=grid).fit(train, bad)
    for l2 in grid:
        fixed = Simfluence("linear", l2=l2).fit(train)
        prefix = fixed.simulate(val.select_runs([0]).select_steps(cut))
        rest = fixed.simulate(val.select_runs(list(range(1, val.n_runs))))
        squared = np.concatenate([((prefix - val.values[:1, : cut + 1])[:, 1:] ** 2).mean(axis=1).ravel(),
                                  ((rest - val.values[1:])[:, 1:] ** 2).mean(axis=1).ravel()])
        assert sim.val_mse_[l2] == pytest.approx(squared.mean(), rel=1e-12)
    assert sim.l2_ == min(sim.val_mse_, key=sim.val_mse_.get)
    whole = Simfluence("linear", l2=grid).fit(train, val)  # nothing unfitted: the whole runs, as before
    assert whole.val_mse_[grid[1]] == all_steps_mse(Simfluence("linear", l2=grid[1]).fit(train).simulate(val),
                                                    val.values)[0]


def test_l2_cannot_be_chosen_when_every_validation_run_starts_with_an_unfitted_example(linear_process):
    train, val = linear_process.split("train"), linear_process.split("val")
    with pytest.raises(ValueError, match=r"cannot choose l2: every validation run starts with .*\[777\]"):
        Simfluence("linear", l2=(0.1, 1.0)).fit(train, _with_unfitted_id(val, [0] * val.n_runs))
