"""One finished run: the record the trainer returns, written to and read back from its run folder (FORMAT.md).

A run folder `runs/run-0007/` holds:

    run.json                run index, split, seed, config hash, timings, environment, checkpoints, file hashes
    curriculum.parquet      step, position, example_id, lr, train_loss
    values.parquet          step, test_id, one column per metric (+ generation text)
    gradients.parquet       step, position, example_id, test_id, all, ckpt10, final   (gradient runs only)
    self_influence.parquet  example_id, tracin                                       (gradient runs only)

It is written under `runs/.tmp-...`, every file and the folder fsync'ed, then renamed to its final name, so it
exists only when complete. No torch here: the trainer imports this record type, not the other way round.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from lib.dynamics import GRAD_SETTINGS, METRICS

from .config import CollectionConfig
from .folder import (FORMAT_VERSION, RUNS_FOLDER, TEMP_PREFIX, StorageError, fsync_dir, read_parquet, run_dir_name,
                     sha256, write_json, write_parquet)

log = logging.getLogger("lib.collect")

RUN_META_FILE = "run.json"


@dataclass
class RunRecord:
    """Everything one run records: curriculum, per-step values, optional gradient data, timings, environment."""

    run_index: int
    split: str  # "train" | "val" | "test"
    seed: int
    config_hash: str
    subset: np.ndarray  # [subset_size] training ids
    curriculum: np.ndarray  # [T, B] training ids
    learning_rates: np.ndarray  # [T] learning rate of each step's update
    train_losses: np.ndarray  # [T] batch loss at theta_{t-1}
    test_ids: np.ndarray  # [tests]
    values: dict[str, np.ndarray]  # metric -> [T + 1, tests]
    generations: list[list[str]] | None = None  # [T + 1][tests] when generation metrics are recorded
    grad_dots: dict[str, np.ndarray] = field(default_factory=dict)  # "all" | "ckpt10" | "final" -> [T, B, tests]
    self_influence: dict[int, float] = field(default_factory=dict)  # training id -> TracIn self-influence
    checkpoints: np.ndarray | None = None  # checkpoint steps used for "ckpt10" and self-influence
    timing: dict[str, float] = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    finished: str = ""  # when the run folder was written (ISO time); empty until it is
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256, as run.json lists them

    @property
    def steps(self) -> int:
        """Training steps T."""
        return int(self.curriculum.shape[0])


def write_run(out_dir: str | os.PathLike, record: RunRecord, config: CollectionConfig) -> Path:
    """Write one finished run atomically; a run folder that already exists is left as it is."""
    if record.config_hash != config.config_hash:
        raise StorageError(f"run {record.run_index} was computed for config {record.config_hash[:12]}, "
                           f"not {config.config_hash[:12]}")
    runs = Path(out_dir) / RUNS_FOLDER
    runs.mkdir(parents=True, exist_ok=True)
    final = runs / run_dir_name(record.run_index)
    if final.exists():
        log.warning("run %d already written; keeping the existing folder", record.run_index)
        return final
    tmp = runs / f"{TEMP_PREFIX}{run_dir_name(record.run_index)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    _write_run_files(tmp, record, config.config_hash)
    try:
        os.replace(tmp, final)
    except OSError:  # another writer finished the same run first
        shutil.rmtree(tmp, ignore_errors=True)
        if not (final / RUN_META_FILE).is_file():
            raise
        log.warning("run %d was written concurrently; keeping the existing folder", record.run_index)
    fsync_dir(runs)
    return final


def _write_run_files(folder: Path, record: RunRecord, config_hash: str) -> None:
    """The Parquet files, then run.json with their hashes, into a temporary run folder."""
    h = config_hash
    steps, batch = record.curriculum.shape
    n_tests = len(record.test_ids)
    write_parquet(folder / "curriculum.parquet", {
        "step": np.repeat(np.arange(1, steps + 1, dtype=np.int32), batch),
        "position": np.tile(np.arange(batch, dtype=np.int16), steps),
        "example_id": record.curriculum.reshape(-1).astype(np.int64),
        "lr": np.repeat(record.learning_rates, batch),
        "train_loss": np.repeat(record.train_losses, batch),
    }, h)
    values = {"step": np.repeat(np.arange(steps + 1, dtype=np.int32), n_tests),
              "test_id": np.tile(record.test_ids.astype(np.int64), steps + 1)}
    for metric, array in record.values.items():
        values[metric] = array.reshape(-1).astype(np.float64)
    if record.generations is not None:
        values["generation"] = pa.array([g for row in record.generations for g in row], pa.string())
    write_parquet(folder / "values.parquet", values, h)
    if record.grad_dots:
        grid = np.stack(np.meshgrid(np.arange(1, steps + 1), np.arange(batch), np.arange(n_tests), indexing="ij"))
        s, b, k = (g.reshape(-1) for g in grid)
        columns = {"step": s.astype(np.int32), "position": b.astype(np.int16),
                   "example_id": record.curriculum[s - 1, b].astype(np.int64),
                   "test_id": record.test_ids[k].astype(np.int64)}
        for key, array in record.grad_dots.items():
            columns[key] = array.reshape(-1).astype(np.float64)
        write_parquet(folder / "gradients.parquet", columns, h)
        ids = sorted(record.self_influence)
        write_parquet(folder / "self_influence.parquet", {
            "example_id": np.array(ids, dtype=np.int64),
            "tracin": np.array([record.self_influence[i] for i in ids], dtype=np.float64)}, h)
    meta = {
        "format_version": FORMAT_VERSION, "config_hash": h, "run": record.run_index, "split": record.split,
        "seed": record.seed, "steps": steps, "batch_size": batch, "tests": n_tests,
        "subset": [int(i) for i in record.subset],
        "checkpoints": None if record.checkpoints is None else [int(c) for c in record.checkpoints],
        "timing": {k: float(v) for k, v in record.timing.items()},
        "environment": record.environment, "files": {p.name: sha256(p) for p in sorted(folder.iterdir())},
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(folder / RUN_META_FILE, meta)
    fsync_dir(folder)


def read_run_meta(run_path: str | os.PathLike, config_hash: str) -> dict:
    """run.json of a finished run folder, refused when it belongs to another config."""
    path = Path(run_path)
    with open(path / RUN_META_FILE, encoding="utf-8") as handle:
        meta = json.load(handle)
    if meta.get("config_hash") != config_hash:
        raise StorageError(f"{path}: config hash {str(meta.get('config_hash'))[:12]} != {config_hash[:12]}")
    return meta


def read_run(run_path: str | os.PathLike, config_hash: str, *, verify_files: bool = False) -> RunRecord:
    """Read a finished run folder, checking the config hash of every file (and their sha256 if asked)."""
    path = Path(run_path)
    meta = read_run_meta(path, config_hash)
    if verify_files:
        for name, digest in meta["files"].items():
            if sha256(path / name) != digest:
                raise StorageError(f"{path / name}: sha256 differs from run.json (corrupt file)")
    steps, batch, n_tests = meta["steps"], meta["batch_size"], meta["tests"]
    cur = read_parquet(path / "curriculum.parquet", config_hash).to_pydict()
    order = np.lexsort((np.asarray(cur["position"]), np.asarray(cur["step"])))
    curriculum = np.asarray(cur["example_id"], dtype=np.int64)[order].reshape(steps, batch)
    learning_rates = np.asarray(cur["lr"], dtype=np.float64)[order].reshape(steps, batch)[:, 0]
    train_losses = np.asarray(cur["train_loss"], dtype=np.float64)[order].reshape(steps, batch)[:, 0]
    val = read_parquet(path / "values.parquet", config_hash)
    columns = val.column_names
    val = val.to_pydict()
    order = np.lexsort((np.arange(len(val["step"])), np.asarray(val["step"])))
    test_ids = np.asarray(val["test_id"], dtype=np.int64)[order][:n_tests]
    values = {m: np.asarray(val[m], dtype=np.float64)[order].reshape(steps + 1, n_tests)
              for m in METRICS if m in columns}
    generations = None
    if "generation" in columns:
        flat = [val["generation"][i] for i in order]
        generations = [flat[s * n_tests:(s + 1) * n_tests] for s in range(steps + 1)]
    grad_dots, self_influence = {}, {}
    if (path / "gradients.parquet").is_file():
        table = read_parquet(path / "gradients.parquet", config_hash)
        names = table.column_names
        g = table.to_pydict()
        position = {int(t): k for k, t in enumerate(test_ids)}
        s = np.asarray(g["step"], dtype=np.int64) - 1
        b = np.asarray(g["position"], dtype=np.int64)
        k = np.array([position[int(t)] for t in g["test_id"]], dtype=np.int64)
        for key in GRAD_SETTINGS:
            if key in names:
                array = np.full((steps, batch, n_tests), np.nan)
                array[s, b, k] = np.asarray(g[key], dtype=np.float64)
                grad_dots[key] = array
        si = read_parquet(path / "self_influence.parquet", config_hash).to_pydict()
        self_influence = {int(i): float(v) for i, v in zip(si["example_id"], si["tracin"])}
    return RunRecord(
        run_index=int(meta["run"]), split=str(meta["split"]), seed=int(meta["seed"]), config_hash=config_hash,
        subset=np.asarray(meta["subset"], dtype=np.int64), curriculum=curriculum, learning_rates=learning_rates,
        train_losses=train_losses, test_ids=test_ids, values=values, generations=generations, grad_dots=grad_dots,
        self_influence=self_influence,
        checkpoints=None if meta.get("checkpoints") is None else np.asarray(meta["checkpoints"], dtype=np.int64),
        timing=dict(meta.get("timing", {})), environment=dict(meta.get("environment", {})),
        finished=str(meta.get("finished", "")), files=dict(meta.get("files", {})))
