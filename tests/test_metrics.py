"""Metrics against independent per-trajectory and per-run reference computations (method.md section 5)."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lib.collect.config import GENERATION_METRICS
from lib.dynamics import METRICS, Dynamics
from lib.metrics import (GENERATION_NAMES, all_steps_mae, all_steps_mse, compare, evaluate, final_step_spearman,
                         final_step_spearman_per_run)


def runs(seed=0, n_runs=4, steps=6, tests=7):
    rng = np.random.default_rng(seed)
    truth = Dynamics.from_arrays(rng.integers(0, 9, size=(n_runs, steps, 2)), rng.normal(size=(n_runs, steps + 1, tests)),
                                 np.arange(tests), "loss")
    return truth, truth.values + rng.normal(scale=0.3, size=truth.values.shape)


@pytest.mark.parametrize("order", [1, 3])
def test_all_steps_errors_pool_per_trajectory_means(order):
    truth, pred = runs()
    squared, absolute = [], []
    for r in range(truth.n_runs):
        for m in range(truth.n_tests):
            e = [pred[r, t, m] - truth.values[r, t, m] for t in range(order, truth.n_steps + 1)]
            squared.append(sum(x * x for x in e) / len(e))
            absolute.append(sum(abs(x) for x in e) / len(e))
    assert all_steps_mse(pred, truth.values, order) == pytest.approx((np.mean(squared), np.std(squared)))
    assert all_steps_mae(pred, truth.values, order) == pytest.approx((np.mean(absolute), np.std(absolute)))


def test_given_values_are_not_scored():
    truth, pred = runs()
    pred[:, 0] += 100.0
    perfect = truth.values.copy()
    perfect[:, 0] += 100.0
    assert all_steps_mse(perfect, truth.values) == (0.0, 0.0)
    assert all_steps_mse(pred, truth.values)[0] < 1.0


def test_final_step_spearman_per_run_then_across_runs():
    truth, pred = runs()
    reference = [pd.Series(pred[r, -1]).corr(pd.Series(truth.values[r, -1]), method="spearman") for r in range(truth.n_runs)]
    np.testing.assert_allclose(final_step_spearman_per_run(pred, truth.values), reference)
    mean, std, n = final_step_spearman(pred, truth.values)
    assert (mean, std, n) == pytest.approx((np.mean(reference), np.std(reference), truth.n_runs))
    assert final_step_spearman(truth.values, truth.values)[0] == pytest.approx(1.0)


def test_constant_final_values_give_nan_and_are_left_out():
    truth, pred = runs()
    pred[1, -1] = 2.0  # a run whose predicted final values are all equal: no ranking
    rho = final_step_spearman_per_run(pred, truth.values)
    assert np.isnan(rho[1]) and not np.isnan(rho[[0, 2, 3]]).any()
    mean, std, n = final_step_spearman(pred, truth.values)
    kept = [stats.spearmanr(pred[r, -1], truth.values[r, -1]).statistic for r in (0, 2, 3)]
    assert (mean, std, n) == pytest.approx((np.mean(kept), np.std(kept), 3))
    pred[:, -1] = 0.0
    mean, std, n = final_step_spearman(pred, truth.values)
    assert np.isnan(mean) and np.isnan(std) and n == 0


def test_evaluate_and_compare_are_tidy():
    truth, pred = runs()
    frame = evaluate(pred, truth, method="Simfluence", task="sst2")
    assert list(frame.columns) == ["method", "target", "metric", "value", "std", "n", "task"]
    assert frame.metric.tolist() == ["mse", "mae", "spearman"]
    assert frame.set_index("metric").loc["mse", "value"] == pytest.approx(all_steps_mse(pred, truth.values)[0])
    assert frame.set_index("metric").loc["mse", "n"] == truth.n_runs * truth.n_tests
    table = compare({"a": pred, "b": truth.values}, truth, order={"a": 1, "b": 2}, task="sst2")
    assert len(table) == 6 and set(table.method) == {"a", "b"} and (table.target == "loss").all()
    assert table[(table.method == "b") & (table.metric == "mse")].value.item() == 0.0


def test_shape_mismatch_is_refused():
    truth, pred = runs()
    with pytest.raises(ValueError, match="pred shape \\(4, 6, 7\\)"):
        all_steps_mse(pred[:, :-1], truth.values)
    with pytest.raises(ValueError, match="order must be in 1..6"):
        all_steps_mse(pred, truth.values, order=7)


def test_generation_names_cover_the_collector_generation_metrics():
    assert tuple(GENERATION_NAMES) == GENERATION_METRICS and set(GENERATION_METRICS) < set(METRICS)
