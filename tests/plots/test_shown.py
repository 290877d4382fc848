"""lib.plots.shown: which test examples and panels a figure shows."""
import numpy as np
import pytest
from plot_helpers import make_dynamics

from lib.plots import example_panels, pick_test_examples


def test_pick_test_examples():
    dyn = make_dynamics(tests=5)
    change = np.mean(dyn.values[:, -1] - dyn.values[:, 0], axis=0)
    spread = pick_test_examples(dyn, 2)
    assert spread == [int(dyn.test_ids[np.argmin(change)]), int(dyn.test_ids[np.argmax(change)])]
    moving = pick_test_examples(dyn, 1, by="movement")
    movement = np.mean(np.abs(np.diff(dyn.values, axis=1)).sum(axis=1), axis=0)
    assert moving == [int(dyn.test_ids[np.argmax(movement)])]
    assert pick_test_examples(dyn, 3, groups={"a": [100, 101], "b": [102]}) == [
        min((100, 101), key=lambda t: change[t - 100]), 102, max((100, 101), key=lambda t: change[t - 100])]
    with pytest.raises(ValueError, match="by must"):
        pick_test_examples(dyn, 1, by="size")


def test_example_panels_pick_the_most_moving_candidate_of_each_case():
    dyn = make_dynamics(tests=4)
    predictions = {"GPTfluence": dyn.values + 0.1}
    movement = np.mean(np.abs(np.diff(dyn.values, axis=1)).sum(axis=1), axis=0)
    panels = example_panels([("all", dyn, predictions, None), ("two", dyn, predictions, [100, 101])], run=1)
    assert panels[0].test_id == int(dyn.test_ids[np.argmax(movement)])
    assert panels[1].test_id == 100 + int(np.argmax(movement[:2]))
    assert panels[1].run == 1 and panels[1].title == f"two, test {panels[1].test_id}"
    assert panels[0].predictions is predictions
