"""lib.collect.run_store: one JSON file per run, in a folder per config; only abandoned temporary files removed."""
from __future__ import annotations

import os
import time

from collect_helpers import smoke_config

from lib.collect.folder import read_json
from lib.collect.run_store import ABANDONED_AFTER_S, ConfigRunStore


def test_a_payload_is_written_beside_its_config(tmp_path):
    store, config = ConfigRunStore(tmp_path), smoke_config()
    path = store.write_payload(config, store.config_folder(config) / "run.json", {"x": 1})
    assert path.parent.name == config.config_hash[:16] and read_json(path) == {"x": 1}
    assert read_json(path.parent / "config.json")["config_hash"] == config.config_hash
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.json", "run.json"]  # no temporary file left


def test_only_abandoned_temporary_files_are_removed(tmp_path):
    """Another process's write in flight (a young temporary file) survives a clean; an interrupted one goes."""
    store = ConfigRunStore(tmp_path)
    (tmp_path / "abc").mkdir()
    young, old = tmp_path / "abc" / ".tmp-run.json.1", tmp_path / "abc" / ".tmp-run.json.2"
    young.write_text("{")
    old.write_text("{")
    past = time.time() - ABANDONED_AFTER_S - 60
    os.utime(old, (past, past))
    assert store.clean_temp() == [old]
    assert young.exists() and not old.exists()
