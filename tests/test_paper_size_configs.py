"""The paper-size collection configs use the regime lib.scales states, and the paper's protocol."""
from pathlib import Path

import pytest

from lib.collect import load_config
from lib.scales import PAPER_SIZE_REGIME

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs" / "paper_size").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_paper_size_config_follows_the_stated_regime(path):
    c = load_config(path)
    r = PAPER_SIZE_REGIME
    assert (c.model.regime, c.model.top_blocks, c.model.head, c.training.lr) == ("top", r.top_blocks, r.head, r.lr)
    assert (c.warmup.examples, c.warmup.steps, c.warmup.lr) == (r.warmup_examples, r.warmup_steps, r.warmup_lr)
    assert (c.data.pool_size, c.training.subset_size, c.training.batch_size, c.training.steps) == (200, 128, 4, 96)
    assert (c.runs.train, c.runs.val, c.runs.test) == (25, 2, 5)
    assert c.data.test_size >= (64 if c.metrics == ("loss",) else 32)
    assert c.gradients.checkpoints == 10 and c.gradients.splits == ("test",)


def test_there_are_paper_size_configs():
    assert {p.stem for p in CONFIGS} >= {"sst2", "rte", "boolq"}
