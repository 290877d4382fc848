"""lib.plots.unseen: scores per scenario with refusals marked, and trajectories per scenario (paper Fig 8)."""
import pandas as pd
from plot_helpers import make_dynamics

from lib.plots.style import method_color
from lib.plots.unseen import scenario_scores, scenario_trajectories

TITLES = {"none": "nothing unseen", "train": "unseen training data"}


def test_scores_mark_a_refused_scenario():
    table = pd.DataFrame([{"method": m, "scenario": s, "metric": k, "value": v}
                          for m, s in (("GPTfluence", "none"), ("GPTfluence", "train"), ("Simfluence", "none"))
                          for k, v in (("mse", 0.1), ("mae", 0.2), ("spearman", 0.5))])
    fig = scenario_scores(table, {("Simfluence", "train"): "never saw these examples"}, order=["none", "train"],
                          title="scores")
    assert len(fig.axes) == 3
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["refused"] and [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["none", "train"]


def test_trajectories_draw_truth_and_each_method_that_simulated_the_scenario():
    truth = {"none": make_dynamics(tests=3), "train": make_dynamics(tests=3, seed=1)}
    predictions = {("GPTfluence", "none"): truth["none"].values, ("GPTfluence", "train"): truth["train"].values,
                   ("Simfluence", "none"): truth["none"].values}
    fig = scenario_trajectories(truth, predictions, titles=TITLES, scenarios=("none", "train"), examples=2,
                                title="trajectories")
    none_ax, train_ax = fig.axes[0], fig.axes[2]
    assert len(none_ax.get_lines()) == 3 and len(train_ax.get_lines()) == 2
    assert train_ax.get_title().startswith("unseen training data")
    assert train_ax.get_lines()[1].get_color() == method_color("GPTfluence")
