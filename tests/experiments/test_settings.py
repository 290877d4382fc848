import pandas as pd
import pytest

from lib.experiments.chapters import gptfluence_config, gptfluence_config_table, paper_protocol_table, task_label
from lib.simulators import GPTfluenceConfig


def test_gptfluence_settings_per_scale():
    for scale in ("smoke", "full_fine_tuning"):
        config = gptfluence_config(scale)
        assert isinstance(config, GPTfluenceConfig)
        assert config.lr == pytest.approx(1e-3)  # lr 1e-4 stops before leaving the initialisation here
    assert gptfluence_config("smoke").max_epochs < gptfluence_config("full_fine_tuning").max_epochs
    with pytest.raises(ValueError, match="unknown scale"):
        gptfluence_config("huge")
    table = gptfluence_config_table("full_fine_tuning")
    assert table.loc["lr", "this book"] == "0.001"
    assert table.loc["lr", table.columns[1]] == "0.0001"


def test_paper_size_fits_full_batch_with_patience_in_steps():
    """At paper size an epoch is one full-batch step, so patience and the warm-up count steps, not passes of 1,188."""
    config = gptfluence_config("paper_size")
    assert config.batch_size is None and config.max_epochs >= 10 * config.patience >= 1000
    assert config.warmup_steps < config.patience
    assert gptfluence_config_table("paper_size").loc["batch_size", "this book"] == "all transitions (full batch)"


def test_protocol_table_puts_ours_beside_the_paper():
    summary = pd.DataFrame({"tuning": ["fine-tuning", "fine-tuning", "instruction"], "model": ["m"] * 3,
                            "pool": [10, 16, 12], "examples per run": [8] * 3, "batch": [2] * 3, "steps": [8, 8, 10],
                            "runs (train/val/test)": ["4/1/2"] * 3, "lr": [1e-3] * 3, "precision": ["fp32"] * 3})
    table = paper_protocol_table(summary)
    assert list(table.columns) == ["paper, fine-tuning", "ours, fine-tuning", "paper, instruction tuning",
                                   "ours, instruction tuning"]
    assert table.loc["pool", "ours, fine-tuning"] == "10 / 16"
    assert table.loc["steps", "ours, instruction tuning"] == "10"
    assert table.loc["examples per run", "paper, fine-tuning"] == "128"


def test_task_labels():
    assert task_label("wmt16_de_en") == "WMT16 DE/EN" and task_label("other") == "other"


def test_the_papers_gptfluence_column_says_unit_norm_features_are_the_books_addition():
    from lib.experiments.settings import gptfluence_config_table

    table = gptfluence_config_table("full_fine_tuning")
    assert table.loc["normalize_features"].tolist() == ["True", "False"]


def test_settings_follow_the_regime_a_scale_reads_not_its_name(monkeypatch):
    """Flipping the default scale to the paper-size collections (lib.scales.DEFAULT_READS) flips its settings too."""
    import dataclasses

    from lib import scales
    from lib.experiments.ablations import PAPER_SIZE_GRID, ablation_grid

    assert gptfluence_config("default") == gptfluence_config(scales.DEFAULT_READS)
    flipped = dataclasses.replace(scales.REGIMES["paper_size"], name="default")
    monkeypatch.setitem(scales.SCALES, "default", flipped)
    assert gptfluence_config("default") == gptfluence_config("paper_size")
    assert gptfluence_config("default").batch_size is None
    assert ablation_grid("default") == PAPER_SIZE_GRID
    assert gptfluence_config("full_fine_tuning").lr == pytest.approx(1e-3)


def test_every_regime_says_why_its_gptfluence_settings_differ_and_the_reason_matches_them():
    from lib.experiments.settings import GPTFLUENCE_WHY, gptfluence_config, gptfluence_why
    from lib.scales import DEFAULT_READS, REGIMES
    assert set(GPTFLUENCE_WHY) == set(REGIMES)
    assert gptfluence_why("default") == GPTFLUENCE_WHY[DEFAULT_READS]
    for regime in REGIMES:
        full_batch = gptfluence_config(regime).batch_size is None
        assert ("full-batch" in gptfluence_why(regime)) == full_batch, regime
