"""lib.plots.mislabels (Fig 7) and lib.plots.cost's convergence figure (Fig 9): lines, labels and the book's colours."""
import pandas as pd

from lib.plots.cost import plot_convergence
from lib.plots.mislabels import plot_mislabel_curves
from lib.plots.style import method_color


def test_mislabel_curves_draw_each_ranking_and_the_noisy_baseline():
    rows = [{"ranking": r, "fraction": f, "found_mean": f * k, "found_min": f * k - 0.1, "found_max": f * k + 0.1,
             "accuracy_mean": 0.5 + f * k / 10, "accuracy_min": 0.5, "accuracy_max": 0.6}
            for k, r in enumerate(("random", "TracIn-CP", "GPTfluence"), start=1) for f in (0.0, 0.2, 0.4)]
    fig = plot_mislabel_curves(pd.DataFrame(rows), 0.55, random_seeds=2, title="Fig 7")
    found, accuracy = fig.axes
    labels = [line.get_label() for line in found.get_lines()]
    assert labels == ["Random (mean, min-max over 2 seeds)", "TracIn-CP", "GPTfluence"]
    assert found.get_lines()[2].get_color() == method_color("GPTfluence")
    assert accuracy.get_lines()[-1].get_ydata()[0] == 0.55 and fig._suptitle.get_text() == "Fig 7"
    assert len(found.collections) == 1  # the random band only


def test_convergence_draws_gptfluence_and_simfluence_in_their_colours():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_mse": [1.0, 0.5, 0.4], "val_mse": [0.9, 0.6, 0.7],
                            "seconds": [1.0, 2.0, 3.0]})
    fig = plot_convergence(history, best_epoch=2, simfluence_val_mse=0.65, title="Fig 9")
    train, val = fig.axes
    assert train.get_lines()[0].get_color() == method_color("GPTfluence")
    gpt, sim, kept = val.get_lines()
    assert gpt.get_color() == method_color("GPTfluence") and sim.get_color() == method_color("Simfluence")
    assert sim.get_ydata()[0] == 0.65 and kept.get_xdata()[0] == 2
