"""Tests of lib.curriculum_signal on trajectories whose signal figures are known by construction."""
import numpy as np
import pytest

from lib.curriculum_signal import curriculum_signal, signal_table
from lib.dynamics import Dynamics


def dynamics(values: np.ndarray, split=("train", "train", "val", "test")) -> Dynamics:
    runs, steps_plus_1, tests = values.shape
    curricula = np.zeros((runs, steps_plus_1 - 1, 1), dtype=np.int64)
    return Dynamics.from_arrays(curricula, values, np.arange(tests), "loss", split=list(split))


def test_format_learning_is_all_early_and_identical_runs_have_no_spread():
    # every run: 4 -> 1 in the first 2 steps, then flat; the same in every run
    traj = np.array([4.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    s = curriculum_signal(dynamics(np.broadcast_to(traj[None, :, None], (4, 6, 3)).copy()))
    assert s.early_share == pytest.approx(1.0)
    assert s.spread == pytest.approx(0.0)
    assert s.blind_mse == pytest.approx(0.0) and s.blind_share == pytest.approx(0.0)
    assert (s.runs, s.steps, s.tests, s.flat_share) == (4, 5, 3, 0.0)


def test_linear_trajectories_with_run_dependent_ends():
    # run r goes linearly from 1 to 1 - d_r over 10 steps, d = 0.2, 0.4, 0.6, 0.8 (one test example)
    d = np.array([0.2, 0.4, 0.6, 0.8])
    t = np.arange(11) / 10
    values = (1 - d[:, None] * t[None, :])[:, :, None]
    s = curriculum_signal(dynamics(values))
    assert s.early_share == pytest.approx(0.2)  # 2 of 10 steps of a straight line
    assert s.spread == pytest.approx(np.std(d, ddof=1) / d.mean())
    # blind reference: the mean of the two training runs (d = 0.3); held-out runs have d = 0.6 and 0.8
    expected = np.mean([((0.3 - dd) * t[1:]) ** 2 for dd in (0.6, 0.8)])
    assert s.blind_mse == pytest.approx(expected)
    movement = np.mean([(dd * t[1:]) ** 2 for dd in (0.6, 0.8)])
    assert s.blind_share == pytest.approx(expected / movement)


def test_flat_trajectories_are_counted_and_short_runs_refused():
    values = np.ones((4, 5, 2))
    values[:, 1:, 0] = 0.5  # test 0 moves, test 1 never does
    s = curriculum_signal(dynamics(values))
    assert s.flat_share == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least 2 steps"):
        curriculum_signal(dynamics(np.ones((4, 2, 1))))
    no_held_out = curriculum_signal(dynamics(values, split=["train"] * 4))
    assert np.isnan(no_held_out.blind_mse)
    table = signal_table({"a": s})
    assert table.loc["a", "flat_share"] == pytest.approx(0.5)
