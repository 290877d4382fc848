"""lib.plots.foundation: the encoder's similarity heatmap and the token-length box plots."""
import numpy as np
import pandas as pd

from lib.plots.foundation import plot_similarity, plot_token_lengths


def test_similarity_heatmap_annotates_every_cell():
    texts = ["a", "b", "c"]
    table = pd.DataFrame(np.eye(3) * 0.5 + 0.25, index=texts, columns=texts)
    fig = plot_similarity(table, title="Cosine similarity")
    ax = fig.get_axes()[0]
    assert ax.get_title() == "Cosine similarity"
    assert sorted(t.get_text() for t in ax.texts) == ["0.25"] * 6 + ["0.75"] * 3


def test_token_lengths_draw_prompts_left_and_targets_right_per_task():
    lengths = pd.DataFrame({"task": ["sst2", "sst2", "rte"], "prompt tokens": [10, 12, 40],
                            "target tokens": [1, 1, 2]})
    fig = plot_token_lengths(lengths, title="Tokens per example")
    left, right = fig.get_axes()[:2]
    assert left.get_xlabel() == "prompt tokens" and right.get_xlabel() == "target tokens"
    assert [t.get_text() for t in left.get_yticklabels()] == ["sst2", "rte"]
    assert fig._suptitle.get_text() == "Tokens per example"
