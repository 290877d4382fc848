"""Rollout health: out-of-range and diverged trajectories, the diverged-first selection score, and simulate's health_."""
import numpy as np
import pytest

from lib.simulators import Simfluence
from lib.simulators.health import METRIC_RANGES, robust_mse, rollout_health, selection_score


def test_metric_ranges():
    assert METRIC_RANGES == {"loss": (0.0, np.inf), "bleu": (0.0, 100.0), "rougeL": (0.0, 1.0)}


def test_out_of_range_and_diverged_trajectories():
    band = (10.0, 40.0)  # fitted BLEU values; diverged below -20 or above 70
    pred = np.full((2, 4, 3), 20.0)
    pred[0, 2, 0] = -1.0      # leaves 0-100, within the band's reach: out of range only
    pred[0, 3, 1] = 75.0      # beyond the band by more than its width: diverged, still in 0-100
    pred[1, 1, 2] = np.nan    # not finite: both
    pred[1, 0, 0] = 500.0     # a given (order) column: never checked
    health = rollout_health(pred, "bleu", band, order=1)
    np.testing.assert_array_equal(health.out_of_range, [[True, False, False], [False, False, True]])
    np.testing.assert_array_equal(health.diverged, [[False, True, False], [False, False, True]])
    assert (health.n_out_of_range, health.n_diverged, health.n_trajectories) == (2, 2, 6)
    with pytest.raises(ValueError, match="metric must be one of"):
        rollout_health(pred, "accuracy", band)


def test_selection_score_counts_diverged_then_averages_the_others():
    truth = np.zeros((1, 3, 2))
    pred = truth.copy()
    pred[0, 1:, 0] = 1.0
    pred[0, 2, 1] = 100.0  # diverged for a band (0, 2)
    assert selection_score(pred, truth, "loss", (0.0, 2.0)) == (1, pytest.approx(1.0))
    everything = np.ones((1, 2), dtype=bool)  # all diverged: the mean of all still ranks candidates
    assert robust_mse(pred, truth, everything) == pytest.approx((1.0 + 5000.0) / 2)
    pred[0, 1, 1] = np.inf
    assert robust_mse(pred, truth, everything) == np.inf


def test_simulate_reports_the_health_of_its_rollouts(linear_process):
    p = linear_process
    sim = Simfluence(l2=1.0).fit(p.split("train"))
    pred = sim.simulate(p.split("test"))
    assert sim.health_.n_trajectories == pred.shape[0] * pred.shape[2] and sim.health_.n_diverged == 0
    exploded = pred.copy()
    exploded[0, -1, 0] = 1e6
    assert sim.health(exploded).diverged[0, 0] and sim.health(exploded).n_diverged == 1
