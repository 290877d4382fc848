import numpy as np
import pandas as pd
import pytest
from chapter_helpers import make_result, make_runs

from lib.experiments.chapters import (REFERENCE, best_method, cells_won, head_to_head, mean_trajectory,
                                      methods_beating, reduction, scores_by_group, value_of, wins, with_average)
from lib.experiments.scoring import mean_value


def test_mean_trajectory_starts_at_each_run_and_adds_the_mean_change():
    dyn = make_runs()
    train, test = dyn.select_runs("train"), dyn.select_runs("test")
    pred = mean_trajectory(train, test)
    np.testing.assert_allclose(pred[:, 0], test.values[:, 0])
    expected = test.values[:, :1] + (train.values - train.values[:, :1]).mean(axis=0)[None]
    np.testing.assert_allclose(pred, expected)
    with pytest.raises(ValueError, match="share"):
        mean_trajectory(train, test.select_tests([10, 11]))


def test_scores_by_group_scores_each_group_and_averages_the_chosen_ones():
    result = make_result(make_runs(), {"A": 0.1, "B": 0.2})
    scores = scores_by_group(result, {"x": [10, 11], "y": [12], "z": [13]}, average_of=["x", "y"])
    assert set(scores["task"]) == {"x", "y", "z", "average"}
    assert value_of(scores, "A", "mse", task="x") == pytest.approx(0.01)
    assert value_of(scores, "B", "mae", task="z") == pytest.approx(0.2)
    assert value_of(scores, "A", "mse", task="average") == pytest.approx(0.01)
    average = scores[scores["task"] == "average"]
    assert average["std"].isna().all() and (average["n"] == 2).all()
    # one test example per group: Spearman across test examples is undefined
    assert np.isnan(value_of(scores, "A", "spearman", task="y"))


def test_with_average_refuses_an_empty_selection():
    result = make_result(make_runs(), {"A": 0.1})
    scores = scores_by_group(result, {"x": [10, 11]}, average=False)
    with pytest.raises(ValueError, match="no groups"):
        with_average(scores, of=["nope"])


def tidy(values):
    """Tidy rows from {(task, method, metric): value}."""
    return pd.DataFrame([{"task": t, "method": m, "metric": k, "value": v, "target": "loss"}
                         for (t, m, k), v in values.items()])


SCORES = tidy({("a", "G", "mse"): 1.0, ("a", "S", "mse"): 2.0, ("b", "G", "mse"): 3.0, ("b", "S", "mse"): 2.0,
               ("c", "G", "mse"): 1.0, ("c", "S", "mse"): 1.0,
               ("average", "G", "mse"): 1.0, ("average", "S", "mse"): 2.0,
               ("a", "G", "spearman"): 0.9, ("a", "S", "spearman"): 0.5,
               ("average", "G", "spearman"): 0.9, ("average", "S", "spearman"): 0.5,
               ("average", REFERENCE, "mse"): 1.5})


def test_wins_counts_strictly_better_groups_in_the_metric_direction():
    assert wins(SCORES, "G", "S", "mse") == (1, 3)  # a better, b worse, c tied
    assert wins(SCORES, "G", "S", "mse", only=["a", "b"]) == (1, 2)
    assert wins(SCORES, "G", "S", "spearman") == (1, 1)
    assert wins(SCORES, "G", "missing", "mse") == (0, 0)


def test_reduction():
    assert reduction(SCORES, "G", "S", "mse") == pytest.approx(50.0)


def test_best_and_beating_methods():
    assert best_method(SCORES, "mse", ["G", "S"], task="average") == "G"
    assert best_method(SCORES, "spearman", ["G", "S"], task="average") == "G"
    assert methods_beating(SCORES, ["G", "S"], REFERENCE, "mse", task="average") == ["G"]
    with pytest.raises(ValueError, match="expected one value"):
        value_of(SCORES, "G", "mse")


def test_head_to_head_sets_ours_beside_the_paper():
    paper = tidy({("a", "G", "mse"): 1.0, ("a", "S", "mse"): 2.0, ("average", "G", "mse"): 1.0,
                  ("average", "S", "mse"): 4.0})
    table = head_to_head(SCORES, paper, "G", "S", metrics=["mse", "spearman"])
    assert table.loc["mse", ("ours", "better on")] == "1 of 3 tasks"
    assert table.loc["mse", ("paper", "better on")] == "1 of 1 tasks"
    assert table.loc["mse", ("ours", "average error")] == "50% lower"
    assert table.loc["mse", ("paper", "average error")] == "75% lower"
    assert table.loc["spearman", ("ours", "at the average")] == "better"
    assert table.loc["spearman", ("paper", "better on")] == "n/a"
    assert table.loc["spearman", ("paper", "at the average")] == "not comparable"


def test_head_to_head_per_target():
    both = pd.concat([SCORES, SCORES.assign(target="bleu")], ignore_index=True)
    table = head_to_head(both, both, "G", "S", metrics=["mse"], per="target", per_labels={"bleu": "BLEU"})
    assert list(table.index) == [("loss", "mse"), ("BLEU", "mse")]


def test_cells_won():
    scores = tidy({("a", "G", "mse"): 1.0, ("a", "S", "mse"): 2.0, ("b", "G", "mse"): 3.0, ("b", "S", "mse"): 2.0,
                   ("a", "G", "spearman"): 0.9, ("a", "S", "spearman"): 0.9, ("c", "G", "mse"): 1.0,
                   ("average", "G", "mse"): 0.0, ("average", "S", "mse"): 1.0})
    assert cells_won(scores, "G", ["G", "S"]) == (1, 3)  # a-mse won, b-mse lost, a-spearman tied; c lacks S
    assert cells_won(scores, "G", ["G", "S"], only=["b"]) == (0, 1)


def test_value_of_wants_exactly_one_row_and_mean_value_averages_the_matching_rows():
    table = pd.DataFrame({"method": ["G", "G", "S"], "metric": ["mse"] * 3, "task": ["a", "b", "a"],
                          "value": [1.0, 3.0, 5.0]})
    assert value_of(table, "G", "mse", task="b") == 3.0
    with pytest.raises(ValueError, match="expected one value"):
        value_of(table, "G", "mse")
    assert mean_value(table, method="G", metric="mse") == 2.0
    assert np.isnan(mean_value(table, method="X"))
