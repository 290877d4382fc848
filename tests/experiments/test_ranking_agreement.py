"""Two regimes' rankings of the methods, read from their paired verdicts: agree, disagree or undecided."""
import pandas as pd

from lib.experiments.ranking_agreement import agreement, agreement_table, facts, overall

PAIRS = [("GPTfluence", "Simfluence"), ("GPTfluence", "Reference")]


def table(verdicts, reasons=None):
    """A difference table (verdict on A) with one row per ((task, B) -> verdict)."""
    reasons = reasons or {}
    return pd.DataFrame([{"task": task, "A": "GPTfluence", "B": b, "verdict": v, "reason": reasons.get((task, b), "")}
                         for (task, b), v in verdicts.items()])


def test_two_decided_verdicts_agree_or_disagree_and_any_undecided_one_is_undecided():
    assert agreement("better", "better") == "agrees" and agreement("worse", "worse") == "agrees"
    assert agreement("better", "worse") == "disagrees"
    assert agreement("better", "undecided") == agreement("undecided", "undecided") == "undecided"
    assert agreement("not testable", "better") == "undecided"


def test_rankings_that_decide_alike_agree():
    here = table({("sst2", "Simfluence"): "better", ("sst2", "Reference"): "worse", ("average", "Simfluence"): "better"})
    there = table({("sst2", "Simfluence"): "better", ("sst2", "Reference"): "worse", ("rte", "Simfluence"): "worse",
                   ("average", "Simfluence"): "worse"})  # an average of other tasks: not compared
    compared = agreement_table(here, there, PAIRS)
    assert list(zip(compared["task"], compared["B"])) == [("sst2", "Simfluence"), ("sst2", "Reference")]  # both have
    assert overall(compared) == "agrees"
    out = facts(here, there, PAIRS, here_label="full", there_label="top")
    assert out["rank_agreement"] == "agrees" and out["rank_counts"] == "2 agree, 0 disagree, 0 undecided of 2"
    assert out["rank_answer"].startswith("yes")
    assert "GPTfluence against Simfluence and Reference on SST-2" in out["rank_sentence"]


def test_one_opposite_decision_makes_the_rankings_disagree():
    here = table({("sst2", "Simfluence"): "better", ("rte", "Simfluence"): "undecided"})
    there = table({("sst2", "Simfluence"): "worse", ("rte", "Simfluence"): "better"})
    out = facts(here, there, PAIRS, here_label="full", there_label="top")
    assert out["rank_agreement"] == "disagrees" and out["rank_counts"] == "0 agree, 1 disagree, 1 undecided of 2"


def test_overlapping_intervals_leave_the_agreement_undecided_not_agreed():
    here = table({("sst2", "Simfluence"): "better", ("rte", "Simfluence"): "undecided"}, {("rte", "Simfluence"): "one run"})
    there = table({("sst2", "Simfluence"): "better", ("rte", "Simfluence"): "better"})
    out = facts(here, there, PAIRS, here_label="full fine-tuning", there_label="top blocks")
    assert out["rank_agreement"] == "undecided" and out["rank_answer"].startswith("undecided")
    assert "RTE, GPTfluence against Simfluence: undecided (one run) here, better in the cross-check" in out["rank_sentence"]
    assert "(full fine-tuning)" in out["rank_sentence"] and "(top blocks)" in out["rank_sentence"]


def test_a_comparison_stated_the_other_way_round_is_read_with_its_verdict_flipped():
    here = table({("sst2", "Simfluence"): "better"})
    there = pd.DataFrame([{"task": "sst2", "A": "Simfluence", "B": "GPTfluence", "verdict": "worse", "reason": ""}])
    assert overall(agreement_table(here, there, PAIRS)) == "agrees"


def test_without_a_cross_check_nothing_is_compared_and_the_sentence_says_so():
    out = facts(table({("sst2", "Simfluence"): "better"}), None, PAIRS, here_label="a", there_label="b")
    assert out["rank_agreement"] == "not compared" and "No comparison" in out["rank_sentence"]
    assert "nan" not in " ".join(map(str, out.values()))


def test_the_loss_chapter_cites_only_keys_the_agreement_glues():
    from lib.book_runner import NOTEBOOKS

    from test_ablations import cited_keys

    cited = {k for k in cited_keys(NOTEBOOKS / "03_loss_simulation.ipynb") if k.startswith("rank_")}
    glued = facts(table({("sst2", "Simfluence"): "better"}), None, PAIRS, here_label="a", there_label="b")
    assert cited and cited <= set(glued), sorted(cited - set(glued))
