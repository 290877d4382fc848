"""The paper-size collection configs use the regime lib.scales states and the protocol issue 11 asks for: the
paper's (pool 200, 128 per run, batch 4, 96 steps, 25/2/5 runs) for loss-only fine-tuning, at least 24 runs of 48
steps for generation, at least 10 fitting and 5 future runs per case for the unseen-data experiment."""
from pathlib import Path

import pytest

from lib.collect import load_config
from lib.scales import PAPER_SIZE_COLLECTIONS, PAPER_SIZE_REGIME

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs" / "paper_size").glob("*.toml"))
MEDIAN_REFERENCE_TOKENS = {"webnlg": 32, "wmt16_de_en": 23, "mixture": 61}
"""Median reference length in SmolLM2 tokens of the test split (measured on the committed data); for the mixture,
its longest-answer task's (CNN/DM)."""


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_paper_size_config_follows_the_stated_regime(path):
    c = load_config(path)
    r = PAPER_SIZE_REGIME
    assert (c.model.regime, c.model.top_blocks, c.model.head, c.training.lr) == ("top", r.top_blocks, r.head, r.lr)
    assert (c.warmup.examples, c.warmup.steps, c.warmup.lr) == (r.warmup_examples, r.warmup_steps, r.warmup_lr)
    mixture = c.data.task == "mixture"  # paper Table 5: batch 8; 8 test examples per task
    assert (c.data.pool_size, c.training.batch_size) == ((240, 8) if mixture else (200, 4))
    generating = c.metrics != ("loss",)
    if generating:
        assert c.training.steps >= 48 and c.runs.val >= 2
        assert c.runs.test >= 5 if c.runs.unseen_splits else (c.runs.train >= 18 and c.runs.test >= 4)
        assert c.data.test_size >= (48 if mixture else 32)
        assert c.evaluation.max_new_tokens > MEDIAN_REFERENCE_TOKENS[c.data.task]
    else:
        assert (c.training.subset_size, c.training.steps) == (128, 96)
        assert c.data.test_size >= 64
    if c.runs.unseen_splits:
        fit_runs = c.runs.train - c.runs.test  # the last `test` train-split runs are seen-pool future runs
        assert fit_runs >= 10 and c.runs.test >= 5 and c.runs.val >= 2
        assert c.data.unseen_size >= c.data.pool_size
    else:  # TracIn-CP (10 checkpoints ~T/10 apart) and Grad-Dot need gradient data on the held-out runs
        mislabel = c.data.flip_fraction > 0  # self-influence must score every pool example some run trains on
        assert c.gradients.checkpoints == 10
        assert c.gradients.splits == (("train", "val", "test") if mislabel else ("test",))
        if not generating:
            assert (c.runs.train, c.runs.val, c.runs.test) == (25, 2, 5)


def test_there_are_paper_size_configs():
    assert {p.stem for p in CONFIGS} >= {"sst2", "rte", "boolq", "sst2_unseen", "rte_unseen", "sst2_size2",
                                        "sst2_mislabel", "webnlg", "wmt16_de_en", "webnlg_unseen", "mixture"}


def test_every_paper_size_config_has_its_stated_size_in_scales():
    stated = {c.name: c for c in PAPER_SIZE_COLLECTIONS}
    assert {p.stem for p in CONFIGS} == set(stated)
    for path in CONFIGS:
        c, s = load_config(path), stated[path.stem]
        assert s.runs == f"{c.runs.train}/{c.runs.val}/{c.runs.test}"
        assert (s.steps, s.test_examples) == (c.training.steps, c.data.test_size)
        assert s.metrics.lower().replace("-", "").replace("rougel", "rougeL") == ", ".join(c.metrics)
