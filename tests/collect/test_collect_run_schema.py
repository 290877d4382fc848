"""lib.collect.run_schema: one record type, written to a run folder and read back unchanged."""
from __future__ import annotations

import json

import numpy as np
import pytest
from collect_helpers import smoke_config

from lib.collect.folder import StorageError, run_folder
from lib.collect.run_schema import RunRecord, read_run, write_run


def _record(config_hash: str, *, gradients: bool) -> RunRecord:
    rng = np.random.default_rng(0)
    steps, batch, tests = 3, 2, 4
    curriculum = rng.integers(100, 110, size=(steps, batch))
    return RunRecord(
        run_index=2, split="val", seed=7, config_hash=config_hash, subset=np.arange(100, 110),
        curriculum=curriculum, learning_rates=np.array([1e-4, 2e-4, 3e-4]), train_losses=np.array([3.0, 2.5, 2.0]),
        test_ids=np.array([5, 1, 9, 3]), values={"loss": rng.random((steps + 1, tests))},
        generations=[[f"g{s}{k}" for k in range(tests)] for s in range(steps + 1)],
        grad_dots={"all": rng.random((steps, batch, tests))} if gradients else {},
        self_influence={100: 0.5, 103: 1.5} if gradients else {}, checkpoints=np.array([1, 3]) if gradients else None,
        timing={"wall_seconds": 1.0}, environment={"torch": "x"})


@pytest.mark.parametrize("gradients", [False, True])
def test_a_written_record_reads_back_equal(tmp_path, gradients):
    h = smoke_config().config_hash
    written = _record(h, gradients=gradients)
    write_run(tmp_path, written, smoke_config())
    read = read_run(run_folder(tmp_path, 2), h, verify_files=True)
    for name in ("run_index", "split", "seed", "config_hash", "generations", "self_influence", "timing",
                 "environment"):
        assert getattr(read, name) == getattr(written, name), name
    for name in ("subset", "curriculum", "learning_rates", "train_losses", "test_ids"):
        np.testing.assert_array_equal(getattr(read, name), getattr(written, name))
    np.testing.assert_array_equal(read.values["loss"], written.values["loss"])
    assert read.grad_dots.keys() == written.grad_dots.keys()
    for key in written.grad_dots:
        np.testing.assert_array_equal(read.grad_dots[key], written.grad_dots[key])
    assert read.finished and set(read.files) >= {"curriculum.parquet", "values.parquet"}


def test_a_run_of_another_config_is_refused(tmp_path):
    config = smoke_config()
    with pytest.raises(StorageError, match="computed for config"):
        write_run(tmp_path, _record("f" * 64, gradients=False), config)
    write_run(tmp_path, _record(config.config_hash, gradients=False), config)
    with pytest.raises(StorageError, match="config hash"):
        read_run(run_folder(tmp_path, 2), "0" * 64)
    meta_path = run_folder(tmp_path, 2) / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["files"]["values.parquet"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(StorageError, match="sha256"):
        read_run(run_folder(tmp_path, 2), config.config_hash, verify_files=True)
