import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from lib.plots.style import BOOK_WIDTH, book_figure, cap_log_axis, mark_off_scale, off_scale_limits


def test_every_book_figure_is_the_book_width():
    fig, axes = book_figure(2, 3, height=4.0, squeeze=False)
    assert tuple(fig.get_size_inches()) == (BOOK_WIDTH, 4.0) and axes.shape == (2, 3)
    plt.close(fig)


def test_diverged_predictions_are_clipped_and_named_but_fitting_ones_leave_the_axis_alone():
    truth = np.array([3.0, 2.5, 2.0])
    assert off_scale_limits(truth, {"GPTfluence": truth + 0.1}) == (None, [])
    limits, beyond = off_scale_limits(truth, {"GPTfluence": truth + 0.1, "Grad-Dot": np.array([3.0, 40.0, 1e23])})
    assert beyond == ["Grad-Dot"] and limits == (1.0, 4.0)
    flat = np.zeros(3)  # a ROUGE-L that never leaves 0: the axis keeps a readable range around it
    assert off_scale_limits(flat, {"GPTfluence": np.array([0.0, 5.0, -3.0])}) == ((-0.1, 0.1), ["GPTfluence"])
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [3.0, 40.0, np.inf])
    assert mark_off_scale(ax, truth, {"Grad-Dot": np.array([3.0, 40.0, np.inf])}) == ["Grad-Dot"]
    assert ax.get_ylim() == (1.0, 4.0)
    assert any("off scale: Grad-Dot" in t.get_text() for t in ax.texts)
    plt.close(fig)


def test_a_log_axis_is_cut_above_an_exploded_value_only():
    fig, ax = plt.subplots()
    ax.set_xscale("log")
    ax.set_xlabel("all-steps MSE")
    assert cap_log_axis(ax, "x", [0.01, 0.02, 0.03]) is None
    assert cap_log_axis(ax, "x", [0.01, 0.02, 0.03, 1e23]) == 0.025 * 1e3
    assert ax.get_xlim()[1] == 25.0 and "cut at 25" in ax.get_xlabel()
    plt.close(fig)


def test_a_long_title_wraps_instead_of_widening_the_figure():
    from lib.plots.style import TITLE_CHARS, finish

    fig, axes = book_figure(1, 2, height=4.5)
    line = axes[0].plot([0, 1], [0, 1], label="GPTfluence")[0]
    finish(fig, [line], ["GPTfluence"], ncol=1, title="word " * 60)
    lines = fig._suptitle.get_text().split("\n")
    assert len(lines) >= 3 and max(len(t) for t in lines) <= TITLE_CHARS
    fig.canvas.draw()
    assert fig._suptitle.get_window_extent().width <= fig.bbox.width
    plt.close(fig)


def test_long_legend_entries_take_fewer_columns_so_the_legend_fits_the_figure():
    from lib.plots.style import finish_panels, legend_columns

    labels = ["GPTfluence, own steps n..T (paper)", "GPTfluence, common steps",
              "Simfluence, own steps n..T (paper) (order 1)", "Simfluence, common steps (order 1)"]
    assert legend_columns(labels, 4) == 2 and legend_columns(["a", "b", "c"], 4) == 3
    fig, axes = book_figure(1, 3, height=3.0)
    for label in labels:
        axes[0].plot([0, 1], [0, 1], label=label)
    finish_panels(fig, axes[0], "title")
    fig.canvas.draw()
    assert fig.legends[0].get_window_extent().width <= fig.bbox.width
    plt.close(fig)
