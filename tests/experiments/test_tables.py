import numpy as np
import pandas as pd
import pytest

from lib.experiments.chapters import paper_by_size, values_with_std, wide_table, with_paper


def ours_rows():
    rows = []
    for task in ("sst2", "rte", "average"):
        for method in ("Simfluence", "GPTfluence", "Mean of training runs"):
            for metric in ("mse", "mae", "spearman"):
                rows.append({"task": task, "method": method, "metric": metric, "target": "loss", "value": 0.5,
                             "std": np.nan if task == "average" else 0.1, "n": 4})
    return pd.DataFrame(rows)


def test_with_paper_keeps_only_the_paper_rows_we_report():
    table = with_paper(ours_rows(), table="2", model="pythia-410m", target="loss")
    assert set(table["task"]) == {"sst2", "rte", "average"}
    row = table[(table["task"] == "sst2") & (table["method"] == "GPTfluence") & (table["metric"] == "mse")].iloc[0]
    assert row["ours"] == 0.5 and row["paper"] == pytest.approx(0.014) and row["paper std"] == pytest.approx(0.006)
    assert table[table["method"] == "Mean of training runs"]["paper"].isna().all()


def test_wide_table_orders_and_formats():
    table = with_paper(ours_rows(), table="2", model="pythia-410m", target="loss")
    wide = wide_table(table, task_order=["rte", "sst2"], method_order=["GPTfluence", "Simfluence"])
    assert list(wide.index.get_level_values("task").unique()) == ["RTE", "SST-2", "Average"]
    assert list(wide.loc["RTE"].index) == ["GPTfluence", "Simfluence", "Mean of training runs"]
    assert list(wide.columns) == [(s, o) for s in ("MSE", "MAE", "Spearman") for o in ("ours", "paper")]
    assert wide.loc[("SST-2", "GPTfluence"), ("MSE", "ours")] == "0.500 (0.100)"
    assert wide.loc[("SST-2", "GPTfluence"), ("MSE", "paper")] == "0.014 (0.006)"  # as the paper printed it
    assert wide.loc[("Average", "GPTfluence"), ("MSE", "ours")] == "0.500"
    assert wide.loc[("RTE", "Mean of training runs"), ("MSE", "paper")] == ""


def test_values_with_std_is_one_cell_per_score():
    table = pd.DataFrame({"method": ["a", "a", "a"], "metric": ["spearman", "mse", "mae"],
                          "value": [0.5, 0.012345, np.nan], "std": [0.25, 0.001, np.nan]})
    wide = values_with_std(table, index=["method"])
    assert wide.columns.tolist() == ["mse", "mae", "spearman"]
    assert wide.loc["a"].tolist() == ["0.0123 (0.00100)", "-", "0.500 (0.250)"]


def test_paper_by_size_has_every_pythia_size_in_order():
    wide = paper_by_size("1")
    assert list(wide.columns.get_level_values(1).unique()) == ["410M", "1B", "2.8B"]
    assert list(wide.columns.get_level_values(0).unique()) == ["MSE", "MAE", "Spearman"]
    assert wide.loc["GPTfluence", ("MSE", "410M")] == pytest.approx(0.093)
