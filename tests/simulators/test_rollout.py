"""The vectorized rollout equals a plain per-step loop."""
import numpy as np
import pytest

from lib.simulators.rollout import rollout


def loop_rollout(alpha, beta, initial):
    """Reference: one (run, test) trajectory at a time, one step at a time."""
    runs, steps, order, tests = alpha.shape
    out = np.zeros((runs, steps + 1, tests))
    for r in range(runs):
        for m in range(tests):
            y = list(initial[r, :, m])
            for t in range(order, steps + 1):
                y.append(sum(alpha[r, t - 1, j - 1, m] * y[t - j] for j in range(1, order + 1)) + beta[r, t - 1, m])
            out[r, :, m] = y
    return out


@pytest.mark.parametrize("order", [1, 2, 3])
def test_rollout_equals_loop(order):
    rng = np.random.default_rng(order)
    runs, steps, tests = 3, 9, 4
    alpha = rng.normal(scale=0.5, size=(runs, steps, order, tests))
    beta = rng.normal(size=(runs, steps, tests))
    initial = rng.normal(size=(runs, order, tests))
    got = rollout(alpha, beta, initial)
    np.testing.assert_allclose(got, loop_rollout(alpha, beta, initial), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got[:, :order], initial)


def test_rollout_known_values():
    # y_t = 0.5 y_{t-1} + 1 from y_0 = 4: 4, 3, 2.5, 2.25
    got = rollout(np.full((1, 3, 1, 1), 0.5), np.ones((1, 3, 1)), np.full((1, 1, 1), 4.0))
    np.testing.assert_allclose(got[0, :, 0], [4, 3, 2.5, 2.25])


def test_rollout_shape_errors():
    with pytest.raises(ValueError, match="beta must be"):
        rollout(np.zeros((2, 3, 1, 4)), np.zeros((2, 3, 5)), np.zeros((2, 1, 4)))
    with pytest.raises(ValueError, match="initial must be"):
        rollout(np.zeros((2, 3, 2, 4)), np.zeros((2, 3, 4)), np.zeros((2, 1, 4)))
