"""Collections end to end on tiny-neox: format, determinism, resume after kill -9, refusal to mix configs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from collect_helpers import CONFIGS, assert_same_dynamics, smoke_config

from lib.collect import StorageError, collect, completed_runs, load_dynamics, load_runs, read_header
from lib.collect.cli import main
from lib.collect.folder import TEMP_PREFIX

REPO = Path(__file__).resolve().parents[2]


def test_collection_folder_layout(reference_collection):
    header = read_header(reference_collection)
    config = smoke_config()
    assert header["config_hash"] == config.config_hash and header["format_version"] == 1
    assert [r["split"] for r in header["runs"]] == ["train", "train", "val", "test"]
    assert completed_runs(reference_collection) == [0, 1, 2, 3]
    run = reference_collection / "runs" / "run-0003"
    assert sorted(p.name for p in run.iterdir()) == ["curriculum.parquet", "gradients.parquet", "run.json",
                                                     "self_influence.parquet", "values.parquet"]
    assert not (reference_collection / "runs" / "run-0000" / "gradients.parquet").exists()
    for name in ("curriculum.parquet", "values.parquet", "gradients.parquet"):
        meta = pq.read_schema(run / name).metadata
        assert meta[b"config_hash"].decode() == config.config_hash
    meta = json.loads((run / "run.json").read_text())
    assert meta["split"] == "test" and meta["timing"]["steps_per_second"] > 0 and meta["timing"]["wall_seconds"] > 0
    assert 0 < meta["timing"]["cpu_seconds"] < meta["timing"]["wall_seconds"] * (os.cpu_count() or 1) + 1
    assert pq.read_table(reference_collection / "examples.parquet").num_rows == 16 + 8


def test_load_dynamics(reference_collection):
    dyn = load_dynamics(reference_collection)
    assert (dyn.n_runs, dyn.n_steps, dyn.batch_size, dyn.n_tests) == (4, 8, 2, 8)
    assert dyn.split.tolist() == ["train", "train", "val", "test"]
    assert dyn.steps.tolist() == list(range(9))
    assert set(dyn.train_ids) <= set(dyn.train_texts) and set(dyn.test_ids.tolist()) == set(dyn.test_texts)
    assert dyn.config["config_hash"] == smoke_config().config_hash
    assert dyn.values[:, -1].mean() < dyn.values[:, 0].mean()  # training moves the loss
    np.testing.assert_array_equal(dyn.values[:, 0], np.broadcast_to(dyn.values[0, 0], dyn.values[:, 0].shape))
    for run in range(4):  # each epoch is a permutation of the run's subset
        epochs = dyn.curricula[run].reshape(2, -1)
        assert sorted(epochs[0].tolist()) == sorted(epochs[1].tolist()) and len(set(epochs[0].tolist())) == 8
    assert len({tuple(sorted(set(dyn.curricula[r].ravel().tolist()))) for r in range(4)}) > 1
    only_test = load_dynamics(reference_collection, splits=("test",))
    assert only_test.n_runs == 1 and np.isfinite(only_test.grad_dots["all"]).all()
    with pytest.raises(StorageError, match="'bleu' was not recorded"):
        load_dynamics(reference_collection, "bleu")


def test_same_config_and_seed_give_identical_trajectories(reference_collection, tmp_path):
    out = collect(smoke_config(name="again"), tmp_path / "again", progress=False)
    assert_same_dynamics(load_dynamics(out), load_dynamics(reference_collection))
    other = collect(smoke_config(runs={"seed": 1, "train": 1, "val": 0, "test": 0}), tmp_path / "seed1",
                    progress=False)
    assert not np.array_equal(load_dynamics(other).curricula[0], load_dynamics(reference_collection).curricula[0])


def test_kill_9_then_rerun_equals_uninterrupted(reference_collection, tmp_path):
    """Start the CLI, kill -9 it as soon as the first run is written, rerun: same result as uninterrupted."""
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "lib.collect", str(CONFIGS / "smoke_sst2.toml"), "--out", str(out),
               "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (out / "runs" / "run-0000").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the first run never finished"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    done = completed_runs(out)
    assert 1 <= len(done) < 4, f"kill -9 came too late to interrupt anything: {done}"
    (out / "runs" / f"{TEMP_PREFIX}run-0009-123-deadbeef").mkdir()  # a killed writer's leftovers
    assert main([str(CONFIGS / "smoke_sst2.toml"), "--out", str(out), "--no-progress"]) == 0
    assert completed_runs(out) == [0, 1, 2, 3]
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(TEMP_PREFIX)]
    finished_first = {r.run_index: r.finished for r in load_runs(out)}
    assert_same_dynamics(load_dynamics(out), load_dynamics(reference_collection))
    assert main([str(CONFIGS / "smoke_sst2.toml"), "--out", str(out), "--no-progress"]) == 0  # nothing to do
    assert {r.run_index: r.finished for r in load_runs(out)} == finished_first


def test_partial_collection_then_finish(reference_collection, tmp_path):
    out = tmp_path / "partial"
    collect(smoke_config(), out, progress=False, only=[3])
    assert completed_runs(out) == [3]
    collect(smoke_config(), out, progress=False, max_runs=1)
    assert completed_runs(out) == [0, 3]
    collect(smoke_config(), out, progress=False)
    assert_same_dynamics(load_dynamics(out), load_dynamics(reference_collection))


def test_a_run_of_another_config_is_never_mixed_in(reference_collection, tmp_path):
    import shutil

    out = tmp_path / "mixed"
    shutil.copytree(reference_collection, out)
    meta_path = out / "runs" / "run-0001" / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["config_hash"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(StorageError, match="incompatible runs"):
        load_dynamics(out)
    with pytest.raises(StorageError, match="run-0001"):
        collect(smoke_config(), out, progress=False)


def test_cli_reports_bad_config_without_training(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((CONFIGS / "smoke_sst2.toml").read_text().replace("subset_size = 8", "subset_size = 99"))
    assert main([str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "subset_size (99) is larger than the pool" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main([str(CONFIGS / "smoke_sst2.toml"), "--check"]) == 0


def test_generation_metrics_on_webnlg(tmp_path):
    out = collect(CONFIGS / "smoke_webnlg.toml", tmp_path / "webnlg", progress=False)
    bleu, rouge, loss = (load_dynamics(out, m) for m in ("bleu", "rougeL", "loss"))
    assert bleu.values.shape == (2, 5, 6) and ((bleu.values >= 0) & (bleu.values <= 100)).all()
    assert ((rouge.values >= 0) & (rouge.values <= 1)).all()
    assert np.isfinite(loss.values).all() and np.isfinite(loss.grad_dots["final"][1]).all()
    runs = load_runs(out)
    assert len(runs[0].generations) == 5 and all(isinstance(g, str) for g in runs[0].generations[0])
    again = collect(CONFIGS / "smoke_webnlg.toml", tmp_path / "webnlg2", progress=False, only=[0])
    np.testing.assert_array_equal(load_dynamics(again, "bleu").values[0], bleu.values[0])
    assert load_runs(again)[0].generations == runs[0].generations


def test_lora_regime(tmp_path):
    config = smoke_config(model={"regime": "lora", "lora_r": 4, "lora_alpha": 8},
                          training={"lr": 1e-2, "epochs": 1}, runs={"train": 0, "val": 0, "test": 1},
                          gradients={"checkpoints": 2})
    out = collect(config, tmp_path / "lora", progress=False)
    run = load_runs(out)[0]
    env = run.environment
    assert 0 < env["trainable_parameters"] < env["model_parameters"] / 10
    assert np.isfinite(run.grad_dots["all"]).all() and not np.allclose(run.values["loss"][0], run.values["loss"][-1])
