"""lib.experiments.scoreboard: rows read from the values chapters glued, pending where nothing was glued."""
import json

import nbformat
import pytest

from lib.experiments.scoreboard import CLAIMS, as_markdown, chapter_values, counts, row, scoreboard


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
    assert board.loc[board["chapter"] == "05_ablations", "verdict"].str.startswith("pending (chapter not").all()
    assert board.loc[board["chapter"] == "07_mislabels", "verdict"].str.startswith("pending (chapter not").all()
    tallies = counts(board)
    assert tallies["board_undecided"] == 1 and tallies["board_claims"] == len(CLAIMS)
    assert sum(v for k, v in tallies.items() if k != "board_claims") == len(CLAIMS)
    assert "[loss simulation](03_loss_simulation.ipynb)" in as_markdown(board)


def test_a_claim_whose_key_was_not_glued_is_pending():
    claim = next(c for c in CLAIMS if c.key == "t1_gs")
    assert row(claim, {}).get("verdict").startswith("pending")
    assert row(claim, {"t1_gs_claim": "holds"})["verdict"] == "holds"


def test_a_claim_left_out_at_this_scale_says_which_collections_are_incomplete():
    claim = next(c for c in CLAIMS if c.key == "t4_gs_bleu")
    why = "Left out at this scale, as its collections are incomplete: Table 4's simulations (webnlg: 6 of 24 runs collected)."
    out = row(claim, {"t4_gs_bleu_claim": "not testable", "t4_gs_bleu_diff": "n/a", "t4_gs_bleu_flat": "n/a",
                      "t4_gs_bleu_n": "n/a", "t4_gs_bleu_why": why, "t4_red_mse_bleu_paper": "7% lower"})
    assert out["ours"] == why and out["verdict"] == "not testable" and out["paper"] == "average MSE 7% lower"


def test_a_not_testable_claim_shows_its_share_of_flat_truths():
    claim = next(c for c in CLAIMS if c.key == "t3_gs_rougeL")
    out = row(claim, {"t3_gs_rougeL_claim": "not testable", "t3_gs_rougeL_diff": "n/a", "t3_gs_rougeL_flat": "100%",
                      "t3_gs_rougeL_n": "1 held-out run x 4 test examples", "t3_red_mse_rougeL_paper": "43% lower"})
    assert out["ours"] == "100% of the true trajectories flat, 1 held-out run x 4 test examples"
    assert out["verdict"] == "not testable"


def test_the_ablation_claims_read_chapter_05_and_say_why_there_is_no_verdict(tmp_path):
    values = {"interval_dense_claim": "undecided", "interval_dense_diff": "-0.0100",
              "interval_dense_interval": "[-0.0200, 0.00100]", "interval_dense_n": "1 held-out run x 16 test examples",
              "interval_dense_why": "One held-out run: no verdict.",
              "order_high_claim": "does not hold", "order_high_diff": "0.500", "order_high_interval": "[0.300, 0.600]",
              "order_high_n": "2 held-out runs x 16 test examples", "order_high_why": "",
              "order_paper_rte_rho_first": "0.746", "order_paper_rte_rho_last": "0.785", "order_paper_max": 10,
              "order_paper_rte_mse_first": "0.036", "order_paper_rte_mse_last": "0.036"}
    executed(tmp_path, "05_ablations", values)
    board = scoreboard(tmp_path).set_index("claim")
    dense = board.loc[next(c.claim for c in CLAIMS if c.key == "interval_dense")]
    assert dense["verdict"] == "undecided" and dense["ours"].endswith(". One held-out run: no verdict.")
    order = board.loc[next(c.claim for c in CLAIMS if c.key == "order_high")]
    assert order["verdict"] == "does not hold" and order["ours"].startswith("0.500 [0.300, 0.600], 2 held-out runs")
    assert "0.746" in order["paper"] and "n = 10" in order["paper"]
    size = board.loc[next(c.claim for c in CLAIMS if c.key == "size_gs")]
    assert size["verdict"].startswith("pending (the chapter glued no verdict")  # its keys were not glued


def test_the_mislabel_rows_read_chapter_07s_accuracy_claims(tmp_path):
    executed(tmp_path, "07_mislabels", {"mislabel_claim": "holds", "mislabel_diff": "0.0793",
                                        "mislabel_interval": "[0.0237, 0.139]", "mislabel_n": "3 seeds x 200 tests",
                                        "mislabel_random_claim": "undecided", "mislabel_random_diff": "0.0077",
                                        "mislabel_random_interval": "[-0.0154, 0.0329]"})
    rows = scoreboard(tmp_path).set_index("claim")
    tracin = rows.loc[[c for c in rows.index if "than TracIn-CP's" in c][0]]
    random = rows.loc[[c for c in rows.index if "than random checking" in c][0]]
    assert (tracin["verdict"], random["verdict"]) == ("holds", "undecided")
    assert tracin["ours"] == "0.0793 [0.0237, 0.139], 3 seeds x 200 tests" and tracin["chapter"] == "07_mislabels"


def test_every_scale_has_a_book_folder_the_intro_reads_by_default():
    from lib.experiments.scoreboard import CHAPTERS_DIR
    from lib.scales import SCALES

    assert set(CHAPTERS_DIR) == set(SCALES)
    assert CHAPTERS_DIR["default"] == "book/notebooks" and len(set(CHAPTERS_DIR.values())) == len(SCALES)


def test_a_chapter_not_executed_in_this_build_is_named_but_not_linked(tmp_path):
    board = scoreboard(tmp_path)  # no chapter executed here
    text = as_markdown(board)
    assert "](" not in text and "| mislabels |" in text


def test_missing_counterparts_name_each_missing_collection_with_its_reason_or_its_runs(monkeypatch):
    from lib.experiments import scoreboard as board
    from lib.experiments.store import Progress
    configured = {"webnlg_unseen", "rte_unseen"}
    monkeypatch.setattr(board, "has_config", lambda scale, name: name in configured)
    runs = {"webnlg_unseen": (3, 22), "rte_unseen": (22, 22)}
    monkeypatch.setattr(board, "progress", lambda scale, name, data_dir=None: Progress(scale, name, *runs[name]))
    text = board.missing_counterparts("paper_size")
    assert text.startswith("Not yet here: Table 12") and "(not collected: " in text
    assert "(WebNLG) (its collection: 3 of 22 runs collected)" in text
    assert "RTE" not in text  # complete: not missing
    configured.clear()
    assert "Table 11's unseen data on RTE (no collection at this scale)" in board.missing_counterparts("paper_size")
    configured.update({"mixture_unseen", "webnlg_unseen", "rte_unseen"})
    runs.update({"mixture_unseen": (4, 4), "webnlg_unseen": (22, 22)})
    assert board.missing_counterparts("paper_size") == "Every counterpart that needs a collection of its own is here."
