import pandas as pd

from lib.plots import plot_run_cost, plot_run_spread, plot_runs_of_tests
from lib.plots.runs import plot_picked_runs
from lib.plots.style import METHOD_COLORS, method_color, method_linestyle, metric_label

from plot_helpers import make_dynamics


def test_runs_of_tests_draws_one_line_per_run_coloured_by_split():
    dyn = make_dynamics(runs=4, split=["train", "train", "val", "test"])
    fig = plot_runs_of_tests(dyn, [100, 101], labels={101: "RTE"})
    axes = fig.get_axes()
    assert len(axes) == 2
    assert all(len(ax.get_lines()) == 4 for ax in axes)
    assert axes[1].get_title() == "test 101 (RTE)"
    colours = {line.get_color() for line in axes[0].get_lines()}
    assert len(colours) == 3
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["train runs", "val runs", "test runs"]


def test_picked_runs_take_one_group_at_a_time_and_label_each_panel_by_its_group():
    dyn = make_dynamics(tests=6)
    fig = plot_picked_runs(dyn, 3, groups={"SST-2": [100, 102, 104], "RTE": [101, 103, 105]}, ncols=3)
    titles = [ax.get_title() for ax in fig.get_axes()]
    assert len(titles) == 3 and [t.split(" (")[1] for t in titles] == ["SST-2)", "RTE)", "SST-2)"]
    plain = plot_picked_runs(dyn, 2, ncols=2)
    assert all("(" not in ax.get_title() for ax in plain.get_axes()) and len(plain.get_axes()) == 2


def test_run_spread_has_one_panel_per_collection():
    collections = {"SST-2": make_dynamics(), "RTE": make_dynamics(runs=5, seed=2), "BLEU": make_dynamics(metric="bleu")}
    fig = plot_run_spread(collections, ncols=2)
    axes = fig.get_axes()
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["SST-2", "RTE", "BLEU"]
    assert len(axes[1].get_lines()) == 5
    assert axes[2].get_ylabel() == "mean BLEU (0-100)"
    assert "range across runs" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_run_spread_wraps_long_panel_titles_so_that_neighbours_do_not_overlap():
    bleu, rouge = (f"instruction mixture, {m} (WebNLG and WMT16 examples)" for m in ("BLEU", "ROUGE-L"))
    fig = plot_run_spread({bleu: make_dynamics(), rouge: make_dynamics(seed=2), "RTE": make_dynamics()}, ncols=2)
    titles = [ax.get_title() for ax in fig.get_axes()]
    assert [t.replace("\n", " ") for t in titles] == [bleu, rouge, "RTE"] and "\n" in titles[0]
    fig.canvas.draw()
    left, right = (ax.title.get_window_extent() for ax in fig.get_axes()[:2])
    assert left.x1 < right.x0  # the two titles do not overlap


def test_run_cost_stacks_three_parts_per_collection():
    timing = pd.DataFrame({"train_seconds": [1.0, 2.0], "eval_seconds": [3.0, 3.0], "gradient_seconds": [0.0, 1.0]})
    fig = plot_run_cost({"a": timing, "b": timing}, {"a": 10, "b": 5})
    ax = fig.get_axes()[0]
    assert len(ax.patches) == 6
    widths = sorted(round(p.get_width(), 3) for p in ax.patches)
    assert widths == [0.05, 0.1, 0.15, 0.3, 0.3, 0.6]
    assert ax.get_xlabel() == "seconds per training step"


def test_style_is_stable():
    assert method_color("GPTfluence") == METHOD_COLORS["GPTfluence"]
    assert method_color("Unknown A", 0) != method_color("Unknown B", 1)
    assert method_linestyle("Grad-Dot, raw") == ":" and method_linestyle("GPTfluence") == "-"
    assert metric_label("rougeL") == "ROUGE-L F (0-1)" and metric_label("other") == "other"


def test_every_compared_method_has_its_own_colour():
    """The methods the loss and mislabel chapters plot side by side never share a colour (a fallback would)."""
    from lib.experiments.paper_size_loss import SECTION_METHODS

    plotted = list(SECTION_METHODS)  # the papers' methods, EK-FAC, TRAK and the curriculum-blind reference
    assert all(m in METHOD_COLORS for m in plotted)
    assert len({METHOD_COLORS[m] for m in plotted}) == len(plotted)
