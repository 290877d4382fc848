"""The gradient baselines' what-if table: recorded dot products averaged per pair, the schedule stretched."""
import numpy as np
import pytest

from lib.attribution.result import AttributionResult
from lib.dynamics import Dynamics
from lib.simulators.attribution_baselines import TRAKSimulator
from lib.whatif.pair_scores import attribution_pair_scores, pair_scores

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
    with pytest.raises(ValueError, match=r"no recorded gradient dot products for test ids \[99\]"):
        pairs.decrements(np.array([[1, 2]]), np.array([99]), "TracInCP")
    with pytest.raises(ValueError, match=r"no grad_dots\['final'\]"):
        pair_scores(_runs(), "final")


def test_attribution_scores_are_averaged_per_occurrence_over_the_scored_runs():
    """Each run's stored score of a pair counts once per step its training example was in the batch: ids 1 (twice
    in run 0, once in run 7) and 5 (run 7 only); the scores' own row and column order does not matter."""
    curricula = np.array([[[1, 2], [2, 3], [1, 3], [3, 2]], [[4, 5], [1, 5], [4, 5], [4, 5]]])
    runs = Dynamics.from_arrays(curricula, np.full((2, 5, 2), 2.0), [30, 10], "loss", run_ids=[0, 7],
                                learning_rates=np.array([[4.0, 3.0, 2.0, 1.0], [2.0, 1.0, 1.0, 0.0]]))
    own = {0: {1: [1.0, 10.0], 2: [2.0, 20.0], 3: [3.0, 30.0]}, 7: {5: [5.0, 50.0], 1: [7.0, 70.0], 4: [4.0, 40.0]}}
    scores = {run: AttributionResult(scores=[rows[i][::-1] for i in rows], train_ids=list(rows), test_ids=[10, 30],
                                     seconds={}, info={"method": "trak"}) for run, rows in own.items()}
    pairs = attribution_pair_scores(TRAKSimulator(scores), runs)
    assert pairs.train_ids.tolist() == [1, 2, 3, 4, 5] and pairs.test_ids.tolist() == [30, 10]
    np.testing.assert_allclose(pairs.scores[0], [(2 * 1.0 + 7.0) / 3, (2 * 10.0 + 70.0) / 3])
    np.testing.assert_allclose(pairs.scores[4], [5.0, 50.0])
    np.testing.assert_array_equal(pairs.learning_rates, [3.0, 2.0, 1.5, 0.5])  # both scored runs' mean schedule
    with pytest.raises(ValueError, match=r"no stored trak scores for training ids \[6\]: only examples in the training "
                                         r"subset of a run with stored trak scores"):
        pairs.decrements(np.array([[1, 6]]), np.array([10]), "TRAKSimulator")
    with pytest.raises(ValueError, match=r"trak scores are missing for runs \[7\]"):
        attribution_pair_scores(TRAKSimulator({0: scores[0]}), runs)
