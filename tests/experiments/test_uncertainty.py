"""The bootstrap finds a known difference, calls a zero difference undecided at about the expected rate, and withholds
what rests on too few items."""
import numpy as np
import pytest

from lib.experiments.uncertainty import (MIN_ITEMS, final_spearman, flat_share, interval, lds, paired_difference,
                                         pooled_difference, spearman_difference, spearman_interval, is_testable,
                                         unpaired_difference, verdict)


def null_pair(rng, runs, tests):
    """Two methods' per-trajectory errors with shared run and test effects and no difference in expectation."""
    base = rng.normal(size=(runs, 1)) * 0.5 + rng.normal(size=(1, tests))

    def method():
        return (base + rng.normal(size=(runs, 1)) * 0.3 + rng.normal(size=(1, tests)) * 0.3
                + rng.normal(size=(runs, tests)) * 0.3)
    return method(), method()


def test_known_difference_is_found_with_the_right_sign():
    rng = np.random.default_rng(0)
    a, b = null_pair(rng, 5, 20)
    lower = paired_difference(a - 1.0, b)
    assert lower.verdict == "better" and lower.high < 0 and lower.low <= lower.estimate <= lower.high
    assert paired_difference(a + 1.0, b).verdict == "worse"
    assert paired_difference(a + 1.0, b, lower_is_better=False).verdict == "better"


def test_zero_difference_is_undecided_at_about_the_expected_rate():
    rng = np.random.default_rng(1)
    decided = [paired_difference(*null_pair(rng, 10, 30), n_resamples=400, seed=k).verdict != "undecided"
               for k in range(200)]
    rate = float(np.mean(decided))
    assert 0.01 <= rate <= 0.12  # nominal 5%; a percentile bootstrap over 10 runs is slightly liberal


def test_one_run_never_decides_but_shows_its_interval():
    rng = np.random.default_rng(2)
    a, b = null_pair(rng, 1, 16)
    result = paired_difference(a - 5.0, b)
    assert result.verdict == "undecided" and result.reason == "one run" and result.shown
    assert result.high < 0


def test_pooled_difference_over_tasks_of_one_run_each_is_not_overconfident():
    rng = np.random.default_rng(3)
    decided = [pooled_difference([null_pair(rng, 1, 8) for _ in range(5)], shared_runs=False, n_resamples=400,
                                 seed=k).verdict != "undecided" for k in range(200)]
    assert float(np.mean(decided)) <= 0.12
    shifted = [(a - 1.0, b) for a, b in (null_pair(rng, 1, 8) for _ in range(5))]
    assert pooled_difference(shifted, shared_runs=False).verdict == "better"


def test_pooled_difference_of_shared_runs_counts_them_once():
    rng = np.random.default_rng(4)
    groups = [null_pair(rng, 1, 4) for _ in range(3)]
    result = pooled_difference([(a - 2.0, b) for a, b in groups], shared_runs=True)
    assert result.runs == 1 and result.tests == 12 and result.verdict == "undecided"
    assert result.estimate == pytest.approx(np.mean([np.mean(a - 2.0 - b) for a, b in groups]))


def test_unpaired_difference_finds_a_shift():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(4, 10)), rng.normal(size=(3, 12)) + 2.0
    assert unpaired_difference(a, b).verdict == "better"


def test_too_few_trajectories_are_withheld():
    result = paired_difference(np.zeros((1, MIN_ITEMS - 1)), np.ones((1, MIN_ITEMS - 1)))
    assert result.reason == "few trajectories" and not result.shown and np.isnan(result.estimate)
    assert not interval(np.zeros((2, 2))).shown


def test_interval_of_a_median():
    values = np.arange(40, dtype=float).reshape(4, 10)
    result = interval(values, statistic="median")
    assert result.estimate == pytest.approx(19.5) and result.low < 19.5 < result.high


def test_spearman_over_few_tests_or_runs_is_withheld():
    rng = np.random.default_rng(6)
    few_tests = rng.normal(size=(8, MIN_ITEMS - 1))
    assert spearman_interval(few_tests, few_tests).reason == "few tests"
    few_runs = rng.normal(size=(MIN_ITEMS - 1, 20))
    assert spearman_interval(few_runs, few_runs, across="runs").reason == "few runs"
    assert spearman_difference(few_runs, few_runs, few_runs, across="runs").reason == "few runs"


def test_lds_ranks_runs_and_final_spearman_ranks_tests():
    rng = np.random.default_rng(7)
    truth = rng.normal(size=(6, 20))
    per_test_offset = truth + rng.normal(size=(1, 20)) * 100  # right across runs, scrambled across tests
    assert lds(per_test_offset, truth) == pytest.approx(1.0)
    assert final_spearman(per_test_offset, truth) < 0.9
    per_run_offset = truth + rng.normal(size=(6, 1)) * 100  # right across tests, scrambled across runs
    assert final_spearman(per_run_offset, truth) == pytest.approx(1.0)
    assert lds(per_run_offset, truth) < 0.9


def test_spearman_difference_prefers_the_better_ranking():
    rng = np.random.default_rng(8)
    truth = rng.normal(size=(6, 30))
    good, bad = truth + rng.normal(size=truth.shape) * 0.2, rng.normal(size=truth.shape)
    assert spearman_difference(good, bad, truth).verdict == "better"
    assert spearman_difference(good, bad, truth, across="runs").verdict == "better"


def test_flat_share_and_testable():
    values = np.zeros((2, 5, 4))
    values[0, :, 0] = np.arange(5)
    share, moving = flat_share(values)
    assert share == pytest.approx(7 / 8) and moving == 1
    assert not is_testable(values)
    assert is_testable(np.random.default_rng(9).normal(size=(2, 5, 4)))


def test_verdict_reads_the_interval():
    assert verdict(-2, -1, True) == "better" and verdict(-2, -1, False) == "worse"
    assert verdict(-1, 1, True) == "undecided" and verdict(np.nan, 1, True) == "undecided"


def test_a_prediction_constant_across_runs_has_no_lds():
    rng = np.random.default_rng(10)
    truth = rng.normal(size=(6, 20))
    constant = np.tile(rng.normal(size=(1, 20)), (6, 1))
    assert spearman_interval(constant, truth, across="runs").reason == "constant"
    assert spearman_interval(constant, truth).shown
