"""Configuration: TOML loading, validation messages that name the bad value, the config hash."""
from __future__ import annotations

import pytest

from lib.collect import ConfigError, collect, load_config
from lib.collect.config import config_diff
from lib.collect.examples import draw_examples
from lib.collect.folder import prepare_folder

from collect_helpers import BENCHMARK_CONFIG, CONFIGS, smoke_config


def test_the_test_and_benchmark_configs_are_valid():
    paths = sorted(CONFIGS.glob("*.toml")) + [BENCHMARK_CONFIG]
    assert len(paths) >= 3
    for path in paths:
        config = load_config(path)
        assert config.name == path.stem
        assert config.training.steps >= 1


def test_the_benchmark_config_is_the_smollm2_setting_the_readme_measures():
    sst2 = load_config(BENCHMARK_CONFIG)
    assert sst2.model.name == "smollm2-135m" and sst2.training.batch_size == 4
    assert sst2.training.steps == 48 and sst2.data.test_size == 64 and sst2.metrics == ("loss",)


@pytest.mark.parametrize("section, values, message", [
    ("data", {"task": "sst3"}, "unknown task 'sst3'"),
    ("model", {"name": "gpt-17"}, "unknown model 'gpt-17'"),
    ("training", {"subset_size": 40}, "subset_size (40) is larger than the pool"),
    ("training", {"batch_size": 9}, "batch_size (9) is larger than the subset"),
    ("runs", {"val": -1}, "[runs] val must be >= 0"),
    ("runs", {"train": 0, "val": 0, "test": 0}, "train + val + test must be >= 1"),
    ("gradients", {"splits": ["tset"]}, "'tset'"),
    ("evaluation", {"metrics": ["bleu"]}, "'bleu' needs a generation task"),
    ("training", {"lr": -1.0}, "lr must be > 0"),
    ("model", {"regime": "qlora"}, "regime"),
])
def test_bad_values_are_named(section, values, message):
    with pytest.raises(ConfigError) as err:
        smoke_config(**{section: values})
    assert message in str(err.value)


def test_unknown_keys_and_types_are_named():
    raw = smoke_config().to_dict()
    raw["training"]["learning_rate"] = 1e-3
    with pytest.raises(ConfigError, match="learning_rate"):
        load_config(raw)
    raw = smoke_config().to_dict()
    raw["training"]["epochs"] = "three"
    with pytest.raises(ConfigError, match=r"\[training\] epochs must be an integer"):
        load_config(raw)


def test_hash_ignores_name_and_runtime_but_not_values():
    base = smoke_config()
    assert smoke_config(name="other", runtime={"threads": 2}).config_hash == base.config_hash
    changed = smoke_config(training={"lr": 5e-4})
    assert changed.config_hash != base.config_hash
    assert config_diff(base.hashed_dict(), changed.hashed_dict()) == ["[training] lr: 0.001 != 0.0005"]


def test_default_metrics_come_from_the_task():
    assert smoke_config().metrics == ("loss",)
    webnlg = load_config(CONFIGS / "smoke_webnlg.toml")
    assert webnlg.metrics == ("loss", "bleu", "rougeL")


def test_pool_larger_than_the_data_fails_before_training(tmp_path):
    with pytest.raises(ConfigError, match="cannot draw the examples"):
        collect(smoke_config(data={"test_size": 10_000}), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_folder_of_another_config_is_refused_before_training(tmp_path):
    other = smoke_config(training={"lr": 5e-4})
    prepare_folder(tmp_path, other, draw_examples(other))
    (tmp_path / "runs" / "run-0000").mkdir()  # a finished run of the other config (without one: set up again)
    with pytest.raises(ConfigError) as err:
        collect(smoke_config(), tmp_path, progress=False)
    assert "another configuration" in str(err.value) and "[training] lr" in str(err.value)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["run-0000"]
