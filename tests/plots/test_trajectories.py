import numpy as np
import pytest

from lib.plots import TrajectoryPanel, plot_trajectories, plot_trajectory_panels

from plot_helpers import make_dynamics


def predictions_for(dyn, methods=("GPTfluence", "Simfluence")):
    return {m: dyn.values + 0.1 * (i + 1) for i, m in enumerate(methods)}


def test_one_panel_per_test_example_with_truth_and_every_method(dyn):
    preds = predictions_for(dyn)
    fig = plot_trajectories(dyn, preds, [100, 102, 103], run=1, labels={100: "SST-2"}, ncols=2)
    axes = fig.get_axes()
    assert len(axes) == 3  # the unused fourth panel is removed
    for ax in axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ["ground truth", "GPTfluence", "Simfluence"]
        assert ax.get_xlabel() == "training step"
    assert axes[0].get_title() == "test 100 (SST-2)"
    assert axes[1].get_title() == "test 102"
    truth_line = axes[1].get_lines()[0]
    np.testing.assert_allclose(truth_line.get_ydata(), dyn.values[1, :, 2])
    np.testing.assert_allclose(axes[1].get_lines()[2].get_ydata(), preds["Simfluence"][1, :, 2])
    assert "held-out run 1" in fig._suptitle.get_text()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["ground truth", "GPTfluence", "Simfluence"]


def test_methods_can_be_chosen_and_raw_baselines_are_dotted(dyn):
    preds = predictions_for(dyn, ("GPTfluence", "Grad-Dot, raw", "Simfluence"))
    fig = plot_trajectories(dyn, preds, [101], methods=["Grad-Dot, raw"])
    lines = fig.get_axes()[0].get_lines()
    assert [line.get_label() for line in lines] == ["ground truth", "Grad-Dot, raw"]
    assert lines[1].get_linestyle() == ":"


def test_bad_requests_are_refused(dyn):
    preds = predictions_for(dyn)
    with pytest.raises(ValueError, match="no predictions"):
        plot_trajectories(dyn, preds, [100], methods=["TracIn-CP (10 ckpts)"])
    with pytest.raises(ValueError, match="unknown test id"):
        plot_trajectories(dyn, preds, [999])
    with pytest.raises(ValueError, match="out of range"):
        plot_trajectories(dyn, preds, [100], run=7)
    with pytest.raises(ValueError, match="at least one"):
        plot_trajectories(dyn, preds, [])


def test_panels_from_different_collections_and_metrics():
    loss, bleu = make_dynamics(), make_dynamics(steps=7, tests=2, metric="bleu", seed=1)
    panels = [TrajectoryPanel(loss, predictions_for(loss), 100, 0, "SST-2"),
              TrajectoryPanel(bleu, predictions_for(bleu), 101, 2, "WebNLG BLEU")]
    fig = plot_trajectory_panels(panels, ncols=3, title="two collections")
    axes = fig.get_axes()
    assert len(axes) == 2
    assert [ax.get_title() for ax in axes] == ["SST-2", "WebNLG BLEU"]
    assert axes[0].get_ylabel() == "test loss" and axes[1].get_ylabel() == "BLEU (0-100)"
    assert len(axes[1].get_lines()[0].get_xdata()) == 8
    assert fig._suptitle.get_text() == "two collections"
