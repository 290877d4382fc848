"""plot_whatif: one line per test example and design, colours by test example, line styles by design."""
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from lib.whatif.figure import plot_whatif


def _table(design: str, offset: float) -> pd.DataFrame:
    rows = [{"step": s, "test_id": t, "value": offset + t - 0.1 * s, "diverged": False, "curriculum": design}
            for t in (1, 2) for s in range(4)]
    return pd.DataFrame(rows)


def test_one_line_per_test_example_and_design():
    table = pd.concat([_table("random", 0.0), _table("easy first", 0.5)])
    fig = plot_whatif(table, title="designs")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4 and fig.axes[0].get_title() == "designs"
    assert lines[0].get_color() == lines[2].get_color() != lines[1].get_color()  # colour: test example
    assert lines[0].get_linestyle() != lines[2].get_linestyle()  # line style: design
    assert list(lines[3].get_ydata()) == list(table[(table.curriculum == "easy first") & (table.test_id == 2)].value)
    plt.close(fig)
    one = plot_whatif(_table("random", 0.0).drop(columns="curriculum"), test_ids=[2])
    assert len(one.axes[0].get_lines()) == 1
    plt.close(one)


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match=r"lacks columns \['value'\]"):
        plot_whatif(_table("random", 0.0).drop(columns="value"))
    with pytest.raises(ValueError, match=r"test ids \[9\] are not in the table"):
        plot_whatif(_table("random", 0.0), test_ids=[9])
