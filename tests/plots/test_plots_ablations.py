"""lib.plots.ablations: one panel per score, the book's method colours, one legend below."""
import pandas as pd

from lib.experiments.ablations import OWN_STEPS, SAME_PREFIX
from lib.plots.ablations import metric_bars, metric_lines, order_lines
from lib.plots.style import method_color


def _table(x: str, values) -> pd.DataFrame:
    return pd.DataFrame([{"method": m, x: v, "metric": k, "value": 0.1 * v + (0.5 if m == "GPTfluence" else 0),
                          "task": t} for m in ("Simfluence", "GPTfluence") for v in values
                         for k in ("mse", "mae", "spearman") for t in ("a", "b")])


def test_metric_lines_draw_a_mean_line_per_method_in_its_colour():
    fig = metric_lines(_table("interval", [1, 2, 4]), "interval", units="task", xlabel="k", title="Fig 3")
    assert len([ax for ax in fig.axes if ax.get_title()]) == 3
    thick = [line for line in fig.axes[0].get_lines() if line.get_label().endswith("(mean)")]
    assert {line.get_label(): line.get_color() for line in thick} == {
        "Simfluence (mean)": method_color("Simfluence"), "GPTfluence (mean)": method_color("GPTfluence")}
    assert fig.legends and fig._suptitle.get_text() == "Fig 3"


def test_metric_bars_and_order_lines():
    table = _table("encoder", [1, 2])
    table["encoder"] = table["encoder"].map({1: "MiniLM", 2: "GPT"})
    fig = metric_bars(table, "encoder", xlabel="encoder", title="Fig 5", log_mse=True)
    assert len(fig.axes) == 3 and fig.legends
    orders = pd.concat([_table("order", [1, 2, 3]).assign(target="loss", scored=scored)
                        for scored in (SAME_PREFIX, OWN_STEPS)])
    fig = order_lines(orders[orders["task"] == "a"], title="Fig 4")
    assert len(fig.axes) == 3 and fig.axes[0].get_xlabel() == "Markov order n"
    styles = {line.get_label(): line.get_linestyle() for line in fig.axes[0].get_lines()}
    assert styles["GPTfluence, same true prefix, same steps"] == "-"
    assert styles["GPTfluence, own steps n..T (paper)"] == "--"
