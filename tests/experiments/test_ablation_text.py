"""The ablation chapter's computed paragraphs: findings where a part ran, its left-out sentence where it did not,
and never a 'nan' or 'n/a' in the prose."""
import re

import pytest

from lib.book_runner import NOTEBOOKS
from lib.experiments import ablation_text, ablations
from lib.experiments.settings import INSTRUCTION_TUNING

from test_ablations import FAST, HashEncoder, cited_keys, incomplete

TINY = ablations.AblationGrid(
    interval_tasks=("sst2", "webnlg"), intervals=(1, 4), order_targets={"sst2": ("loss",), "webnlg": ("loss",)},
    orders=(1, 2), encoder_collection=INSTRUCTION_TUNING, size_collections=("sst2", "sst2_size2"),
    variant_tasks=("sst2",), adam_tasks=("sst2",), why="test")
MISSING = re.compile(r"\bnan\b|\bn/a\b", re.IGNORECASE)


def run_tiny(monkeypatch, missing):
    """The chapter at smoke scale on TINY, with the collections `missing` incomplete: (result, facts, texts)."""
    monkeypatch.setitem(ablations.GRIDS, "smoke", TINY)
    monkeypatch.setattr(ablations, "progress", incomplete(missing))
    monkeypatch.setattr(ablations, "gptfluence_config", lambda scale: FAST)
    result = ablations.run("smoke", encoder=HashEncoder(), encoder_loader=lambda name: HashEncoder(name))
    facts = ablations.facts(result)
    return result, facts, ablation_text.texts(result, facts)


def test_left_out_parts_read_their_sentence_and_no_fact_or_paragraph_says_nan(monkeypatch):
    result, facts, texts = run_tiny(monkeypatch, {"webnlg", INSTRUCTION_TUNING, "sst2_size2"})
    assert not result.has("encoder") and not result.has("size") and result.has("interval") and result.has("order")
    assert not [k for k, v in facts.items() if isinstance(v, float) and v != v], "a fact is NaN"
    assert not [k for k, v in facts.items() if re.search(r"\bnan\b", str(v))]
    assert not [k for k, v in texts.items() if MISSING.search(v)], {k: v for k, v in texts.items() if MISSING.search(v)}
    for part in ("encoder", "size"):  # left out whole: no paragraph, and the Reading says why
        assert all(texts[k] == "" for k in ablation_text.TEXT_KEYS[part] if not k.startswith("reading_"))
        sentence = ablations.skipped_text(result.skipped, part)
        assert sentence and texts[f"reading_{part}"] == f"**{ablation_text.READING_TITLES[part]}** {sentence}"
    assert "sst2_size2: 3 of 24 runs collected" in texts["reading_size"]
    # left out on WebNLG only: the findings on SST-2, then the sentence naming WebNLG
    assert "Averaged over SST-2," in texts["interval_text_values"] and "WebNLG" not in texts["order_text_values"]
    assert texts["reading_interval"].endswith(ablations.skipped_text(result.skipped, "interval"))
    assert "webnlg: 3 of 24 runs collected" in texts["reading_order"]


def test_every_part_that_ran_says_its_findings_with_its_numbers(monkeypatch):
    result, facts, texts = run_tiny(monkeypatch, set())
    assert result.skipped == [] and all(texts.values())
    assert not [k for k, v in texts.items() if MISSING.search(v)]
    assert f"{facts['interval_gpt_mse_first']:#.3g} at $k = 1$" in texts["interval_text_values"]
    assert f"**{facts['interval_dense_claim']}** here" in texts["interval_text_claims"]
    assert "On WebNLG loss" in texts["order_text_values"] and "SST-2 and WebNLG" in texts["order_text_how"]
    assert "Averaged over SST-2 and WebNLG," in texts["interval_text_values"]
    assert f"**{facts['encoder_best_mse']}**" in texts["encoder_text_values"]
    assert f"**{facts['size_gs_claim']}** on it" in texts["size_text_claims"]
    assert texts["reading_size"].startswith("**Model size.** The paper's claim")


def test_the_page_cites_every_computed_paragraph_as_markdown():
    cited = cited_keys(NOTEBOOKS / "05_ablations.ipynb")
    keys = {k for part in ablation_text.PARTS for k in ablation_text.TEXT_KEYS[part]}
    assert keys <= cited, sorted(keys - cited)
    assert not {k for k in cited if k in ablations.PART_KEYS["interval"] + ablations.PART_KEYS["encoder"]}


@pytest.mark.parametrize("value, shown", [(0.0123456, "0.0123"), (float("nan"), "not computed"), (12.0, "12.0")])
def test_numbers_keep_the_pages_format_and_a_missing_one_reads_in_words(value, shown):
    assert ablation_text.g3(value) == shown
