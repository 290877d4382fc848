import numpy as np
import pandas as pd
import pytest

from lib.plots import plot_comparison


def beside_table():
    rows = []
    for task in ("sst2", "rte", "average"):
        for method in ("Simfluence", "GPTfluence"):
            for metric, value in (("mse", 0.02), ("mae", 0.1), ("spearman", 0.8)):
                rows.append({"task": task, "method": method, "metric": metric, "ours": value,
                             "ours std": 0.01, "paper": value * 2 if task != "rte" else np.nan, "paper std": 0.0})
    return pd.DataFrame(rows)


def test_one_panel_per_score_with_ours_and_paper_per_method():
    fig = plot_comparison(beside_table(), category_labels={"sst2": "SST-2"}, order=["rte"], title="T")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["all-steps MSE", "all-steps MAE", "final-step Spearman's rho"]
    for ax in axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ["Simfluence (ours)", "Simfluence (paper)", "GPTfluence (ours)", "GPTfluence (paper)"]
        ours, paper = ax.get_lines()[0], ax.get_lines()[1]
        assert len(ours.get_xdata()) == 3
        assert len(paper.get_xdata()) == 2  # the paper has no rte value: left out
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["rte", "SST-2", "average"]
    assert axes[0].get_xscale() == "log" and axes[2].get_xscale() == "linear"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["Simfluence", "GPTfluence", "ours", "paper"]
    assert fig._suptitle.get_text() == "T"


def test_log_scale_only_when_all_values_are_positive():
    table = beside_table()
    table.loc[table["metric"] == "mae", "ours"] = 0.0
    fig = plot_comparison(table, metrics=["mae"])
    assert len(fig.get_axes()) == 1
    assert fig.get_axes()[0].get_xscale() == "linear"


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="paper"):
        plot_comparison(beside_table().drop(columns=["paper"]))
