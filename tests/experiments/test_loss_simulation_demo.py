"""The cross-check section's SST-2 sentence: both scores where the collections allow an LDS, the reason where not."""
import pandas as pd

from lib.experiments.loss_simulation import demo_facts
from lib.experiments.scoring import REFERENCE

NAN = float("nan")


def across(runs, lds_reason):
    """An across_runs_table of Simfluence and the reference on SST-2 with `runs` held-out runs."""
    lds = (NAN, NAN, NAN) if lds_reason else (-0.3, -0.6, 0.2)
    return pd.DataFrame([
        {"task": "sst2", "method": m, "runs": runs, "tests": 64, "Spearman": rho, "Spearman low": rho - 0.1,
         "Spearman high": rho + 0.01, "Spearman reason": "", "LDS": lds[0], "LDS low": lds[1], "LDS high": lds[2],
         "LDS reason": lds_reason} for m, rho in (("Simfluence", 0.9), (REFERENCE, 0.97))])


def test_with_enough_runs_the_sentence_gives_both_scores_with_their_intervals():
    text = demo_facts(across(5, ""))["demo_text"]
    assert "final-step Spearman (within a run) of 0.900 [0.800, 0.910]" in text and "0.970 [0.870, 0.980]" in text
    assert "Simfluence's LDS is -0.300 [-0.600, 0.200]" in text


def test_with_too_few_runs_for_an_lds_the_sentence_says_why_and_shows_no_nan():
    text = demo_facts(across(2, "few runs"))["demo_text"]
    assert "Simfluence has no LDS here: a score across runs needs at least 5 held-out runs." in text
    assert "nan" not in text and "n/a" not in text
