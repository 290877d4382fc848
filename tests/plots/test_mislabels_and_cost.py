"""lib.plots.mislabels (Fig 7) and lib.plots.cost's convergence figure (Fig 9): lines, labels and the book's colours."""
import pandas as pd

from lib.plots.cost import plot_convergence
from lib.plots.mislabels import plot_mislabel_curves
from lib.plots.style import method_color


def test_mislabel_curves_draw_each_ranking_with_its_spread():
    rankings = ("random", "TracIn-CP", "GPTfluence A_ii", "GPTfluence self-effect")
    rows = [{"ranking": r, "fraction": f, "found_mean": f * k, "found_min": f * k - (0.1 if r == "random" else 0),
             "found_max": f * k + (0.1 if r == "random" else 0), "accuracy_mean": 0.5 + f * k / 10,
             "accuracy_min": 0.5, "accuracy_max": 0.6 + f, "loss_mean": 1 - f, "loss_min": 0.9 - f, "loss_max": 1.1 - f}
            for k, r in enumerate(rankings, start=1) for f in (0.0, 0.2, 0.4)]
    fig = plot_mislabel_curves(pd.DataFrame(rows), random_seeds=10, retrain_seeds=3, title="Fig 7")
    found, accuracy, loss = fig.axes
    labels = [line.get_label() for line in found.get_lines()]
    assert labels[0] == "Random (10 rankings x 3 retrainings: mean, min-max)" and labels[2].startswith("GPTfluence A_ii")
    assert found.get_lines()[2].get_color() == method_color("GPTfluence") == found.get_lines()[3].get_color()
    assert found.get_lines()[3].get_linestyle() == "--" and fig._suptitle.get_text() == "Fig 7"
    assert len(found.collections) == 1  # mislabels found: only the random rankings spread
    assert len(accuracy.collections) == 4 and len(loss.collections) == 4  # every ranking's retrainings spread


def test_convergence_draws_gptfluence_and_simfluence_in_their_colours():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_mse": [1.0, 0.5, 0.4], "val_mse": [0.9, 0.6, 0.7],
                            "seconds": [1.0, 2.0, 3.0]})
    fig = plot_convergence(history, best_epoch=2, simfluence_val_mse=0.65, title="Fig 9")
    train, val = fig.axes
    assert train.get_lines()[0].get_color() == method_color("GPTfluence")
    gpt, sim, kept = val.get_lines()
    assert gpt.get_color() == method_color("GPTfluence") and sim.get_color() == method_color("Simfluence")
    assert sim.get_ydata()[0] == 0.65 and kept.get_xdata()[0] == 2
