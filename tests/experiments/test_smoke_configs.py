"""The smoke collections of the book's chapters: valid, tiny, and simulable by Simfluence."""
import pytest

from lib.collect.coverage import planned_curricula, unfitted_training_ids
from lib.experiments.store import collection_config

NAMES = ["sst2", "rte", "boolq", "webnlg", "wmt16_de_en", "mixture"]


@pytest.mark.parametrize("name", NAMES)
def test_smoke_config_is_tiny_and_every_held_out_example_is_seen_in_training(name):
    config = collection_config("smoke", name)
    assert config.model.name == "tiny-neox"
    assert config.training.steps <= 10 and config.runs.total <= 8 and config.data.test_size <= 12
    assert config.runs.val >= 1 and config.runs.test >= 2 and "test" in config.gradients.splits
    assert unfitted_training_ids(config) == {"val": [], "test": []}


def test_generation_collections_record_bleu_and_rouge():
    for name in ("webnlg", "wmt16_de_en", "mixture"):
        assert set(collection_config("smoke", name).metrics) == {"loss", "bleu", "rougeL"}
    assert collection_config("smoke", "mixture").data.task == "mixture"


def test_planned_curricula_match_the_config():
    config = collection_config("smoke", "rte")
    plans = planned_curricula(config)
    assert len(plans) == config.runs.total
    assert all(p.shape == (config.training.steps, config.training.batch_size) for p in plans.values())
