"""The gradient baselines' what-if table: recorded dot products averaged per pair, the schedule stretched."""
import numpy as np
import pytest

from lib.dynamics import Dynamics
from lib.whatif.pair_scores import pair_scores

CURRICULA = np.array([[[1, 2], [2, 3], [1, 3], [3, 2]],
                      [[4, 5], [4, 5], [4, 5], [4, 5]]])  # run 1 recorded no gradients


def _runs() -> Dynamics:
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(2, 4, 2, 3))
    grads[1] = np.nan
    return Dynamics.from_arrays(CURRICULA, np.full((2, 5, 3), 2.0), [30, 10, 20], "loss", grad_dots={"all": grads},
                                learning_rates=np.array([[4.0, 3.0, 2.0, 1.0], [9.0, 9.0, 9.0, 9.0]]))


def test_scores_are_the_mean_over_the_recorded_occurrences_of_each_pair():
    runs = _runs()
    pairs = pair_scores(runs, "all")
    assert pairs.train_ids.tolist() == [1, 2, 3] and pairs.test_ids.tolist() == [30, 10, 20]
    grads = runs.grad_dots["all"][0]
    for row, train_id in enumerate(pairs.train_ids):
        where = CURRICULA[0] == train_id
        np.testing.assert_allclose(pairs.scores[row], grads[where].mean(axis=0))
    np.testing.assert_array_equal(pairs.learning_rates, [4.0, 3.0, 2.0, 1.0])  # the recorded run's schedule only


def test_decrements_stretch_the_schedule_and_refuse_unrecorded_examples():
    pairs = pair_scores(_runs(), "all")
    batches = np.array([[1, 2]] * 8)
    out = pairs.decrements(batches, np.array([10, 30]), "TracInCP")
    assert out.shape == (8, 2)
    mean_score = pairs.scores[[0, 1]][:, [1, 0]].mean(axis=0)
    midpoints = (np.arange(8) + 0.5) / 8
    rates = np.clip(4.5 - 4 * midpoints, 1.0, 4.0)  # the schedule 4, 3, 2, 1 as a line over the run's fraction
    np.testing.assert_allclose(out, rates[:, None] * mean_score[None])
    with pytest.raises(ValueError, match=r"no recorded gradient dot products for training ids \[4\]"):
        pairs.decrements(np.array([[1, 4]]), np.array([10]), "TracInCP")
    with pytest.raises(ValueError, match=r"no recorded gradients for test ids \[99\]"):
        pairs.decrements(np.array([[1, 2]]), np.array([99]), "TracInCP")
    with pytest.raises(ValueError, match=r"no grad_dots\['final'\]"):
        pair_scores(_runs(), "final")
