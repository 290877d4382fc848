"""lib/collect/config.py: the LoRA settings are one dataclass, written flat in [model] as they always were, so every
committed collection keeps its config hash."""
from __future__ import annotations

import json

import pytest

from lib.collect import ConfigError, load_config
from lib.collect.config import LORA_KEYS, CollectionConfig, LoraSettings
from lib.paths import REPO_ROOT

from collect_helpers import smoke_config

COMMITTED = sorted((REPO_ROOT / "data" / "dynamics" / "default").glob("*/collection.json"))
RETRAINED = sorted((REPO_ROOT / "data" / "dynamics" / "default" / "mislabel_retrain").glob("*/config.json"))


def test_lora_settings_are_read_from_the_flat_model_keys_into_one_dataclass():
    config = smoke_config(model={"regime": "lora", "lora_r": 4, "lora_alpha": 8, "lora_targets": ["q_proj"]})
    assert config.model.lora == LoraSettings(r=4, alpha=8, target_modules=("q_proj",))
    assert (config.model.lora_r, config.model.lora_targets) == (4, ("q_proj",))  # the file's names read through
    model = config.to_dict()["model"]
    assert "lora" not in model and {k: model[k] for k in LORA_KEYS} == {
        "lora_r": 4, "lora_alpha": 8, "lora_dropout": LoraSettings.dropout, "lora_targets": ["q_proj"]}
    assert load_config(config.to_dict()) == config  # collection.json's form reads back to the same config
    assert smoke_config().model.lora == LoraSettings()


def test_a_lora_setting_changes_the_hash_and_bad_ones_are_named_by_their_key():
    assert smoke_config(model={"lora_r": 16}).config_hash != smoke_config().config_hash
    with pytest.raises(ConfigError, match=r"\[model\] lora_dropout must be in \[0, 1\)"):
        smoke_config(model={"lora_dropout": 1.5})
    with pytest.raises(ConfigError, match=r"\[model\] lora_r must be an integer"):
        smoke_config(model={"lora_r": "eight"})
    raw = smoke_config().to_dict()
    raw["model"]["lora"] = {"r": 4}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['lora'\] in \[model\]; expected .*'lora_r'"):
        load_config(raw)


@pytest.mark.parametrize("path", COMMITTED + RETRAINED, ids=lambda p: p.parent.name)
def test_every_committed_collection_keeps_its_config_hash(path):
    stored = json.loads(path.read_text())
    config = CollectionConfig.from_dict(stored["config"])
    assert config.config_hash == stored["config_hash"]
    if "hashed_config" in stored:
        assert config.hashed_dict() == stored["hashed_config"]


def test_there_are_committed_collections_to_check():
    assert len(COMMITTED) >= 5 and len(RETRAINED) >= 10
