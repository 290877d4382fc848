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
from .folder import (FORMAT_VERSION, RUN_DIR, RUNS_FOLDER, TEMP_PREFIX, StorageError, finished_run_folders, fsync_dir,
                     read_json, read_parquet, run_dir_name, sha256, verify_file, write_json, write_parquet)

log = logging.getLogger("lib.collect")

RUN_META_FILE = "run.json"
REQUIRED_FILES = ("curriculum.parquet", "values.parquet")
CORRUPT_PREFIX = "corrupt-"  # runs/corrupt-run-0007-<time>: a run set aside by a resume (never read again)


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
    reused_from: dict | None = None  # a run taken over from a sibling collection (lib/collect/reuse.py): its origin

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
        **({"reused_from": dict(record.reused_from)} if record.reused_from else {}),
    }
    write_json(folder / RUN_META_FILE, meta)
    fsync_dir(folder)


def read_run_meta(run_path: str | os.PathLike, config_hash: str) -> dict:
    """run.json of a finished run folder, refused when it belongs to another config."""
    path = Path(run_path)
    if not (path / RUN_META_FILE).is_file():
        raise StorageError(f"{path}: run folder without {RUN_META_FILE}")
    meta = read_json(path / RUN_META_FILE)
    if meta.get("config_hash") != config_hash:
        raise StorageError(f"{path}: config hash {str(meta.get('config_hash'))[:12]} != {config_hash[:12]}")
    return meta


def verify_run_files(path: Path, meta: dict) -> None:
    """Every file of the run folder against the sha256 run.json records (StorageError naming the file)."""
    files = meta.get("files")
    if not isinstance(files, dict) or not all(isinstance(d, str) for d in files.values()):
        raise StorageError(f"{path / RUN_META_FILE}: no 'files' table of sha256 digests")
    present = {p.name for p in path.iterdir() if p.suffix == ".parquet"}
    for name in sorted(set(REQUIRED_FILES) | present):
        if name not in files:
            raise StorageError(f"{path / name}: not listed in {RUN_META_FILE} (unverifiable file)")
    for name, digest in sorted(files.items()):
        verify_file(path / name, digest, listed_in=str(path / RUN_META_FILE))


def read_run(run_path: str | os.PathLike, config_hash: str, *, verify_files: bool = True) -> RunRecord:
    """Read a finished run folder, checking every file's sha256 against run.json (`verify_files`, cached per
    unchanged file) and config hash; a corrupt run is a StorageError naming the file, never other numbers."""
    path = Path(run_path)
    meta = read_run_meta(path, config_hash)
    if verify_files:
        verify_run_files(path, meta)
    try:
        return _parse_run(path, meta, config_hash)
    except StorageError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as err:  # unverified files, or a writer's bug
        raise StorageError(f"{path}: inconsistent run files ({type(err).__name__}: {err})") from None


def set_aside_corrupt_runs(out_dir: str | os.PathLike, config_hash: str) -> dict[int, str]:
    """Rename every finished run folder that fails to read (corrupt file, unreadable or missing run.json) to
    runs/corrupt-run-NNNN-<time>, so the resumed collection runs it again; returns run index -> reason.
    A readable run.json of another configuration is left in place (`completed_runs` refuses the folder)."""
    out = {}
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    for path in finished_run_folders(out_dir):
        try:
            if (path / RUN_META_FILE).is_file() and read_json(path / RUN_META_FILE).get("config_hash") != config_hash:
                continue
            read_run(path, config_hash)
        except StorageError as err:
            index = int(RUN_DIR.match(path.name).group(1))
            target = path.with_name(f"{CORRUPT_PREFIX}{path.name}-{stamp}-{uuid.uuid4().hex[:6]}")
            os.replace(path, target)
            log.warning("run %d set aside as %s and run again: %s", index, target.name, err)
            out[index] = str(err)
    if out:
        fsync_dir(Path(out_dir) / RUNS_FOLDER)
    return out


def _parse_run(path: Path, meta: dict, config_hash: str) -> RunRecord:
    """The RunRecord of a run folder whose run.json is `meta` (files already verified when asked)."""
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
        finished=str(meta.get("finished", "")), files=dict(meta.get("files", {})),
        reused_from=dict(meta["reused_from"]) if meta.get("reused_from") else None)
