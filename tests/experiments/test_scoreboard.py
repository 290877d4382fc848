"""lib.experiments.scoreboard: rows read from the values chapters glued, pending where nothing was glued."""
import json

import nbformat
import pytest

from lib.experiments.scoreboard import CLAIMS, UNDER_REDESIGN, as_markdown, chapter_values, counts, row, scoreboard


def executed(folder, name, values):
    """An executed notebook whose one cell glued `values` (as myst-nb does)."""
    outputs = [nbformat.v4.new_output("display_data", data={"text/plain": repr(v)},
                                      metadata={"scrapbook": {"name": k, "mime_prefix": ""}})
               for k, v in values.items()]
    cell = nbformat.v4.new_code_cell("glue", outputs=outputs)
    (folder / f"{name}.ipynb").write_text(json.dumps(nbformat.v4.new_notebook(cells=[cell])))


def test_rows_read_the_glued_claim_and_the_papers_figure(tmp_path):
    executed(tmp_path, "03_loss_simulation", {"t2_gs_claim": "undecided", "t2_gs_diff": "-0.0100",
                                              "t2_gs_interval": "[-0.0200, 0.00100]",
                                              "t2_gs_n": "5 held-out runs x 40 test examples",
                                              "t2_red_mse_paper": "42% lower"})
    assert chapter_values(tmp_path, "03_loss_simulation")["t2_gs_claim"] == "undecided"
    board = scoreboard(tmp_path)
    fine_tuning = board[board["claim"].str.contains("loss better than Simfluence \\(fine-tuning")].iloc[0]
    assert fine_tuning["verdict"] == "undecided" and fine_tuning["paper"] == "average MSE 42% lower"
    assert fine_tuning["ours"] == "-0.0100 [-0.0200, 0.00100], 5 held-out runs x 40 test examples"
    missing = board[board["chapter"] == "04_metric_simulation"]
    assert missing["verdict"].str.startswith("pending (chapter not executed").all()
    assert (board.loc[board["chapter"] == "05_ablations", "verdict"] == UNDER_REDESIGN).all()
    tallies = counts(board)
    assert tallies["board_undecided"] == 1 and tallies["board_claims"] == len(CLAIMS)
    assert sum(v for k, v in tallies.items() if k != "board_claims") == len(CLAIMS)
    assert "[loss simulation](03_loss_simulation.ipynb)" in as_markdown(board)


def test_a_claim_whose_key_was_not_glued_is_pending():
    claim = next(c for c in CLAIMS if c.key == "t1_gs")
    assert row(claim, {}).get("verdict").startswith("pending")
    assert row(claim, {"t1_gs_claim": "holds"})["verdict"] == "holds"


def test_a_not_testable_claim_shows_its_share_of_flat_truths():
    claim = next(c for c in CLAIMS if c.key == "t3_gs_rougeL")
    out = row(claim, {"t3_gs_rougeL_claim": "not testable", "t3_gs_rougeL_diff": "n/a", "t3_gs_rougeL_flat": "100%",
                      "t3_gs_rougeL_n": "1 held-out run x 4 test examples", "t3_red_mse_rougeL_paper": "43% lower"})
    assert out["ours"] == "100% of the true trajectories flat, 1 held-out run x 4 test examples"
    assert out["verdict"] == "not testable"
