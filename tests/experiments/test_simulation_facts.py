"""lib.experiments.loss_simulation and lib.experiments.metric_simulation: the chapters' tables read into words."""
import pandas as pd

from lib.experiments.loss_simulation import rescaling_facts, table1_facts, table2_facts
from lib.experiments.metric_simulation import comparison_facts, table3_status, unchecked_facts
from lib.experiments.scoring import REFERENCE, head_to_head

G, S = "GPTfluence", "Simfluence"


def tidy(values: dict, target: str = "loss") -> pd.DataFrame:
    """Tidy rows from {(task, method, metric): value}."""
    return pd.DataFrame([{"task": t, "method": m, "metric": k, "value": v, "target": target}
                         for (t, m, k), v in values.items()])


def scores(g_a: float) -> pd.DataFrame:
    """GPTfluence beats Simfluence on task a's MSE when g_a < 2 and on b's never; spearman and mae tie."""
    values = {}
    for task, g, s in (("a", g_a, 2.0), ("b", 3.0, 2.0), ("average", (g_a + 3.0) / 2, 2.0)):
        values.update({(task, G, "mse"): g, (task, S, "mse"): s, (task, G, "mae"): 1.0, (task, S, "mae"): 1.0,
                       (task, G, "spearman"): 0.5, (task, S, "spearman"): 0.5})
        values[(task, REFERENCE, "mse")] = 2.2
        values[(task, REFERENCE, "mae")] = values[(task, REFERENCE, "spearman")] = 0.0
    return tidy(values)


def test_table1_facts_count_wins_cells_and_the_reference():
    ours, paper = scores(1.0), scores(2.5)
    out = table1_facts(ours, paper, {"a": [1, 2], "b": [3, 4, 5], "cnn": [6]}, 3, ["a", "b"], [G, S])
    assert out["t1_tests"] == "2 to 3" and out["t1_runs"] == 3
    assert out["t1_wins_mse_ours"] == "1 of 2" and out["t1_wins_mse_paper"] == "0 of 2"
    assert "t1_verdict" not in out and out["t1_cells_ours"] == "1 of 6"  # verdicts come from intervals
    assert out["t1_best_mse_ours"] == G and out["t1_gpt_mse"] == "2.00" and out["t1_ref_mse"] == "2.20"
    assert out["t1_n_beat_ref"] == 2 and out["t1_beat_ref"] == f"{G}, {S}"


def test_table2_and_rescaling_facts():
    out = table2_facts(scores(1.0), scores(2.5))
    assert out["t2_red_mse_ours"] == "equal" and out["t2_red_mse_paper"] == "38% higher"
    assert out["t2_wins_mse_ours"] == "1 of 2" and out["t2_gpt_beats_ref"] == "1 of 2"
    rescaling = pd.DataFrame({"sigma": [0.5, 2.0], "mse raw": [1.0, 3.0], "mse rescaled": [0.25, 0.5]},
                             index=["TracIn-CP (10 ckpts)", "Grad-Dot"])
    assert rescaling_facts(rescaling) == {"sigma_tracin": "0.500", "sigma_graddot": "2.00",
                                          "raw_mse_tracin": "1.00", "resc_mse_tracin": "0.250"}


def test_comparison_facts_per_target_and_their_absence():
    ours = pd.concat([scores(1.0).assign(target="bleu"), scores(3.0).assign(target="rougeL")], ignore_index=True)
    comparison = head_to_head(ours, ours, G, S, per="target", per_labels={"bleu": "BLEU", "rougeL": "ROUGE-L"})
    out = comparison_facts("4", comparison, ours, ["bleu", "rougeL"], reference=True)
    assert out["t4_wins_mse_bleu_ours"] == "1 of 2 tasks" and out["t4_wins_mse_rougeL_paper"] == "0 of 2 tasks"
    assert "t4_verdict_rougeL" not in out and out["t4_gpt_ref_bleu"] == "1 of 2"
    assert out["t4_red_mse_rougeL_ours"] == "50% higher"
    unchecked = unchecked_facts("3", ["bleu"])
    assert {"t3_wins_mse_bleu_ours", "t3_wins_mse_bleu_paper", "t3_red_mse_bleu_ours",
            "t3_red_mse_bleu_paper"} <= set(unchecked)
    assert unchecked["t3_gs_bleu_claim"] == "not testable" and unchecked["t3_gr_bleu_interval"] == "n/a"
    assert table3_status(["loss", "bleu"], {"webnlg": [1, 2]}) == "it records loss, bleu, with 2 WebNLG test examples"
    assert table3_status(["loss"], None).startswith("it records only loss")


def test_demo_facts_read_the_across_runs_table_or_say_there_is_none():
    from lib.experiments.loss_simulation import demo_facts
    assert set(demo_facts(None).values()) == {"n/a"}
    table = pd.DataFrame([
        {"task": "sst2", "method": S, "runs": 5, "tests": 64, "Spearman": 0.9, "Spearman low": 0.8,
         "Spearman high": 0.95, "Spearman reason": "", "LDS": -0.3, "LDS low": -0.6, "LDS high": 0.2, "LDS reason": ""},
        {"task": "sst2", "method": REFERENCE, "runs": 5, "tests": 64, "Spearman": 0.97, "Spearman low": 0.9,
         "Spearman high": 0.99, "Spearman reason": "", "LDS": float("nan"), "LDS low": float("nan"),
         "LDS high": float("nan"), "LDS reason": "constant"}])
    out = demo_facts(table)
    assert out["demo_n"] == "5 held-out runs x 64 test examples" and out["demo_sim_lds"] == "-0.300"
    assert out["demo_sim_lds_interval"] == "[-0.600, 0.200]" and out["demo_ref_lds"].startswith("the prediction is")
