import pandas as pd
import pytest

from lib.paper import PAPER_TABLES, beside, paper_rows


def test_copied_paper_tables_equal_the_shared_reference():
    shared = PAPER_TABLES.parents[3] / "shared" / "reference" / "paper_tables.csv"
    assert PAPER_TABLES.read_bytes() == shared.read_bytes()


def test_paper_rows_filters_and_reads_a_known_cell():
    rows = paper_rows(table=2, task="sst2", method="GPTfluence", metric="mse")
    assert len(rows) == 1 and rows.loc[0, "regime"] == "fine_tuning"
    assert 0 < rows.loc[0, "value"] < rows.loc[0, "value"] + rows.loc[0, "std"]
    assert set(paper_rows(table=2, metric=["mse", "mae"])["metric"]) == {"mse", "mae"}


def test_bad_filters_are_named():
    with pytest.raises(ValueError, match="colour"):
        paper_rows(colour="red")
    with pytest.raises(ValueError, match="no paper-table rows"):
        paper_rows(task="no-such-task")


def test_beside_joins_ours_and_paper_and_keeps_unmatched_rows():
    paper = paper_rows(table=2, task=["sst2", "rte"], method="GPTfluence", metric="mse")
    ours = pd.DataFrame({"task": ["sst2", "boolq"], "method": "GPTfluence", "metric": "mse",
                         "value": [0.5, 0.7], "std": [0.1, 0.2]})
    table = beside(ours, paper, on=["task", "method", "metric"])
    assert list(table["task"]) == ["boolq", "rte", "sst2"]
    sst2 = table.set_index("task").loc["sst2"]
    assert sst2["ours"] == 0.5 and sst2["paper"] == paper.set_index("task").loc["sst2", "value"]
    assert pd.isna(table.set_index("task").loc["rte", "ours"])
