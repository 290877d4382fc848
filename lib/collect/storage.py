"""The on-disk collection (Parquet + JSON, see FORMAT.md): atomic run folders, hash checks, loading as Dynamics.

Layout of a collection folder:

    collection.json          config, its hash, format version, run splits, test ids, metrics
    examples.parquet         every pool / test / unseen example (id, role, prompt, target, text, label, references)
    runs/run-0007/           one folder per finished run, created by an atomic rename:
        run.json             run index, split, seed, config hash, timings, environment, checkpoints, file hashes
        curriculum.parquet   step, position, example_id, lr, train_loss
        values.parquet       step, test_id, one column per metric (+ generation text)
        gradients.parquet    step, position, example_id, test_id, all, ckpt10, final   (gradient runs only)
        self_influence.parquet  example_id, tracin                                       (gradient runs only)

A run folder is written under `runs/.tmp-...` in the same parent, every file and the folder fsync'ed,
then `os.replace`d to its final name, so `runs/run-0007` exists only when complete. Every file of a
run carries the config hash (Parquet key-value metadata, run.json) and the loader refuses a run whose
hash differs from the collection's.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import CollectionConfig, ConfigError, config_diff
from .examples import CollectionExamples
from .train_run import RunResult

log = logging.getLogger("lib.collect")

FORMAT_NAME = "gptfluence-collection"
FORMAT_VERSION = 1
RUN_DIR = re.compile(r"^run-(\d{4,})$")
TEMP_PREFIX = ".tmp-"


class StorageError(ValueError):
    """A collection folder is inconsistent: wrong config hash, unknown format, missing or corrupt run files."""


def run_dir_name(run_index: int) -> str:
    """`run-0007` for run 7."""
    return f"run-{run_index:04d}"


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex}")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_parquet(path: Path, columns: dict, config_hash: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    table = table.replace_schema_metadata({b"config_hash": config_hash.encode(),
                                           b"format_version": str(FORMAT_VERSION).encode()})
    pq.write_table(table, path, compression="zstd")
    _fsync_file(path)


def _read_parquet(path: Path, config_hash: str):
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise StorageError(f"{path}: unreadable Parquet file ({err})") from None
    meta = table.schema.metadata or {}
    found = meta.get(b"config_hash", b"").decode()
    if found != config_hash:
        raise StorageError(f"{path}: config hash {found[:12] or '<none>'} != collection hash {config_hash[:12]}")
    return table


# --- the collection header ---------------------------------------------------------------------------------


def collection_header(config: CollectionConfig, examples: CollectionExamples) -> dict:
    """The content of collection.json for `config` and its drawn examples."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config_hash": config.config_hash,
        "config": config.to_dict(),
        "hashed_config": config.hashed_dict(),
        "examples": {"file": "examples.parquet", "fingerprint": examples.fingerprint(),
                     "pool": len(examples.pool), "test": len(examples.test), "unseen": len(examples.unseen)},
        "test_ids": [int(i) for i in examples.test_ids],
        "metrics": list(config.metrics),
        "steps": config.training.steps,
        "batch_size": config.training.batch_size,
        "runs": [{"run": i, "split": config.run_split(i), "gradients": config.records_gradients(i)}
                 for i in range(config.runs.total)],
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **({"flipped_ids": [int(i) for i in examples.flipped]}  # label noise ([data] flip_fraction) only
           if config.data.flip_fraction or config.data.fixed_ids else {}),
    }


def read_header(out_dir: str | os.PathLike) -> dict:
    """collection.json of a collection folder (StorageError if missing or of another format)."""
    path = Path(out_dir) / "collection.json"
    if not path.is_file():
        raise StorageError(f"{out_dir}: no collection.json (not a collection folder, or never started)")
    with open(path, encoding="utf-8") as handle:
        header = json.load(handle)
    if header.get("format") != FORMAT_NAME or header.get("format_version") != FORMAT_VERSION:
        raise StorageError(f"{path}: format {header.get('format')!r} version {header.get('format_version')!r}, "
                           f"expected {FORMAT_NAME!r} version {FORMAT_VERSION}")
    return header


def prepare_folder(out_dir: str | os.PathLike, config: CollectionConfig, examples: CollectionExamples) -> dict:
    """Create the collection folder, or check that an existing one holds this configuration and these examples."""
    out = Path(out_dir)
    header_path = out / "collection.json"
    if header_path.exists():
        header = read_header(out)
        if header["config_hash"] != config.config_hash:
            diff = config_diff(header.get("hashed_config", {}), config.hashed_dict())
            raise ConfigError(
                f"output folder {out} holds runs of another configuration (config hash "
                f"{header['config_hash'][:12]} != {config.config_hash[:12]}); differences: "
                f"{'; '.join(diff) or 'unknown'}. Use another --out folder.")
        if header["examples"]["fingerprint"] != examples.fingerprint():
            raise ConfigError(
                f"output folder {out}: the examples drawn now differ from those recorded in examples.parquet "
                "(the task data changed?); use another --out folder")
        return header
    if out.exists():  # only leftovers of an initialisation killed before collection.json may be there
        others = [p.name for p in out.iterdir() if p.name not in (".lock", "examples.parquet")
                  and not p.name.startswith(TEMP_PREFIX) and not (p.name == "runs" and p.is_dir()
                                                                   and not any(p.iterdir()))]
        if others:
            raise ConfigError(f"output folder {out} is not empty ({', '.join(sorted(others)[:5])}) and has no "
                              "collection.json; use an empty or new folder")
    (out / "runs").mkdir(parents=True, exist_ok=True)
    header = collection_header(config, examples)
    rows = examples.rows()
    import pyarrow as pa

    columns = {
        "id": pa.array([r["id"] for r in rows], pa.int64()),
        "role": pa.array([r["role"] for r in rows], pa.string()),
        "task": pa.array([r["task"] for r in rows], pa.string()),
        "prompt": pa.array([r["prompt"] for r in rows], pa.string()),
        "target": pa.array([r["target"] for r in rows], pa.string()),
        "text": pa.array([r["text"] for r in rows], pa.string()),
        "label": pa.array([r["label"] for r in rows], pa.int64()),
        "references": pa.array([r["references"] for r in rows], pa.list_(pa.string())),
    }
    tmp = out / f"{TEMP_PREFIX}examples.{uuid.uuid4().hex}.parquet"
    _write_parquet(tmp, columns, config.config_hash)
    os.replace(tmp, out / "examples.parquet")
    _write_json_atomic(header_path, header)  # written last: its presence means the folder is initialised
    return header


@contextlib.contextmanager
def collection_lock(out_dir: str | os.PathLike):
    """An exclusive lock on the collection folder for the duration of a collection (one writer at a time)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / ".lock", "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StorageError(f"{out} is being written by another collection process (.lock is held)") from None
        yield
    finally:
        handle.close()


def clean_temp(out_dir: str | os.PathLike) -> list[str]:
    """Remove the temporary folders/files of interrupted writes (call only while holding the lock)."""
    removed = []
    for parent in (Path(out_dir), Path(out_dir) / "runs"):
        if not parent.is_dir():
            continue
        for path in parent.iterdir():
            if path.name.startswith(TEMP_PREFIX):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


# --- runs ----------------------------------------------------------------------------------------------------


def write_run(out_dir: str | os.PathLike, result: RunResult, config: CollectionConfig) -> Path:
    """Write one finished run atomically; a run folder that already exists is left as it is."""
    import pyarrow as pa

    if result.config_hash != config.config_hash:
        raise StorageError(f"run {result.run_index} was computed for config {result.config_hash[:12]}, "
                           f"not {config.config_hash[:12]}")
    runs = Path(out_dir) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    final = runs / run_dir_name(result.run_index)
    if final.exists():
        log.warning("run %d already written; keeping the existing folder", result.run_index)
        return final
    tmp = runs / f"{TEMP_PREFIX}{run_dir_name(result.run_index)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    h = config.config_hash
    steps, batch = result.curriculum.shape
    n_tests = len(result.test_ids)
    step_col = np.repeat(np.arange(1, steps + 1, dtype=np.int32), batch)
    _write_parquet(tmp / "curriculum.parquet", {
        "step": step_col,
        "position": np.tile(np.arange(batch, dtype=np.int16), steps),
        "example_id": result.curriculum.reshape(-1).astype(np.int64),
        "lr": np.repeat(result.learning_rates, batch),
        "train_loss": np.repeat(result.train_losses, batch),
    }, h)
    values = {"step": np.repeat(np.arange(steps + 1, dtype=np.int32), n_tests),
              "test_id": np.tile(result.test_ids.astype(np.int64), steps + 1)}
    for metric, array in result.values.items():
        values[metric] = array.reshape(-1).astype(np.float64)
    if result.generations is not None:
        values["generation"] = pa.array([g for row in result.generations for g in row], pa.string())
    _write_parquet(tmp / "values.parquet", values, h)
    if result.grad_dots:
        grid = np.stack(np.meshgrid(np.arange(1, steps + 1), np.arange(batch), np.arange(n_tests), indexing="ij"))
        s, b, k = (g.reshape(-1) for g in grid)
        columns = {"step": s.astype(np.int32), "position": b.astype(np.int16),
                   "example_id": result.curriculum[s - 1, b].astype(np.int64),
                   "test_id": result.test_ids[k].astype(np.int64)}
        for key, array in result.grad_dots.items():
            columns[key] = array.reshape(-1).astype(np.float64)
        _write_parquet(tmp / "gradients.parquet", columns, h)
        ids = sorted(result.self_influence)
        _write_parquet(tmp / "self_influence.parquet", {
            "example_id": np.array(ids, dtype=np.int64),
            "tracin": np.array([result.self_influence[i] for i in ids], dtype=np.float64)}, h)
    files = {p.name: _sha256(p) for p in sorted(tmp.iterdir())}
    meta = {
        "format_version": FORMAT_VERSION, "config_hash": h, "run": result.run_index, "split": result.split,
        "seed": result.seed, "steps": steps, "batch_size": batch, "tests": n_tests,
        "subset": [int(i) for i in result.subset],
        "checkpoints": None if result.checkpoints is None else [int(c) for c in result.checkpoints],
        "timing": {k: float(v) for k, v in result.timing.items()},
        "environment": result.environment, "files": files,
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with open(tmp / "run.json", "w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_dir(tmp)
    try:
        os.replace(tmp, final)
    except OSError:  # another writer finished the same run first
        shutil.rmtree(tmp, ignore_errors=True)
        if not (final / "run.json").is_file():
            raise
        log.warning("run %d was written concurrently; keeping the existing folder", result.run_index)
    _fsync_dir(runs)
    return final


def completed_runs(out_dir: str | os.PathLike, config_hash: str | None = None) -> list[int]:
    """Indices of the finished runs in a collection folder, checking each run.json's config hash."""
    out = Path(out_dir)
    config_hash = config_hash or read_header(out)["config_hash"]
    done = []
    runs = out / "runs"
    if not runs.is_dir():
        return done
    for path in sorted(runs.iterdir()):
        match = RUN_DIR.match(path.name)
        if not match or not path.is_dir():
            continue
        meta_path = path / "run.json"
        if not meta_path.is_file():
            raise StorageError(f"{path}: run folder without run.json (written by another tool?)")
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
        if meta.get("config_hash") != config_hash:
            raise StorageError(f"{path}: run of config {str(meta.get('config_hash'))[:12]}, collection is "
                               f"{config_hash[:12]}: incompatible runs can't be mixed")
        if meta.get("run") != int(match.group(1)):
            raise StorageError(f"{path}: run.json says run {meta.get('run')}")
        done.append(int(match.group(1)))
    return done


@dataclass
class RunRecord:
    """One finished run read back from disk."""

    meta: dict
    curriculum: np.ndarray  # [T, B]
    learning_rates: np.ndarray  # [T]
    train_losses: np.ndarray  # [T]
    test_ids: np.ndarray
    values: dict[str, np.ndarray]  # metric -> [T + 1, tests]
    generations: list[list[str]] | None
    grad_dots: dict[str, np.ndarray]  # setting -> [T, B, tests]
    self_influence: dict[int, float]

    @property
    def run_index(self) -> int:
        """The run's index in the collection."""
        return int(self.meta["run"])

    @property
    def split(self) -> str:
        """"train" | "val" | "test"."""
        return str(self.meta["split"])


def read_run(run_path: str | os.PathLike, config_hash: str, *, verify_files: bool = False) -> RunRecord:
    """Read a finished run folder, checking the config hash of every file (and their sha256 if asked)."""
    path = Path(run_path)
    with open(path / "run.json", encoding="utf-8") as handle:
        meta = json.load(handle)
    if meta.get("config_hash") != config_hash:
        raise StorageError(f"{path}: config hash {str(meta.get('config_hash'))[:12]} != {config_hash[:12]}")
    if verify_files:
        for name, digest in meta["files"].items():
            if _sha256(path / name) != digest:
                raise StorageError(f"{path / name}: sha256 differs from run.json (corrupt file)")
    steps, batch, n_tests = meta["steps"], meta["batch_size"], meta["tests"]
    cur = _read_parquet(path / "curriculum.parquet", config_hash).to_pydict()
    order = np.lexsort((np.asarray(cur["position"]), np.asarray(cur["step"])))
    curriculum = np.asarray(cur["example_id"], dtype=np.int64)[order].reshape(steps, batch)
    learning_rates = np.asarray(cur["lr"], dtype=np.float64)[order].reshape(steps, batch)[:, 0]
    train_losses = np.asarray(cur["train_loss"], dtype=np.float64)[order].reshape(steps, batch)[:, 0]
    val = _read_parquet(path / "values.parquet", config_hash)
    columns = val.column_names
    val = val.to_pydict()
    order = np.lexsort((np.arange(len(val["step"])), np.asarray(val["step"])))
    test_ids = np.asarray(val["test_id"], dtype=np.int64)[order][:n_tests]
    values = {m: np.asarray(val[m], dtype=np.float64)[order].reshape(steps + 1, n_tests)
              for m in ("loss", "bleu", "rougeL") if m in columns}
    generations = None
    if "generation" in columns:
        flat = [val["generation"][i] for i in order]
        generations = [flat[s * n_tests:(s + 1) * n_tests] for s in range(steps + 1)]
    grad_dots, self_influence = {}, {}
    if (path / "gradients.parquet").is_file():
        table = _read_parquet(path / "gradients.parquet", config_hash)
        names = table.column_names
        g = table.to_pydict()
        position = {int(t): k for k, t in enumerate(test_ids)}
        s = np.asarray(g["step"], dtype=np.int64) - 1
        b = np.asarray(g["position"], dtype=np.int64)
        k = np.array([position[int(t)] for t in g["test_id"]], dtype=np.int64)
        for key in ("all", "ckpt10", "final"):
            if key in names:
                array = np.full((steps, batch, n_tests), np.nan)
                array[s, b, k] = np.asarray(g[key], dtype=np.float64)
                grad_dots[key] = array
        si = _read_parquet(path / "self_influence.parquet", config_hash).to_pydict()
        self_influence = {int(i): float(v) for i, v in zip(si["example_id"], si["tracin"])}
    return RunRecord(meta=meta, curriculum=curriculum, learning_rates=learning_rates, train_losses=train_losses,
                     test_ids=test_ids, values=values, generations=generations, grad_dots=grad_dots,
                     self_influence=self_influence)


def read_examples(out_dir: str | os.PathLike, config_hash: str | None = None) -> list[dict]:
    """The rows of examples.parquet (id, role, task, prompt, target, text, label, references)."""
    out = Path(out_dir)
    config_hash = config_hash or read_header(out)["config_hash"]
    return _read_parquet(out / "examples.parquet", config_hash).to_pylist()


def load_runs(out_dir: str | os.PathLike, *, verify_files: bool = False) -> list[RunRecord]:
    """Every finished run of a collection folder, by run index."""
    header = read_header(out_dir)
    h = header["config_hash"]
    return [read_run(Path(out_dir) / "runs" / run_dir_name(i), h, verify_files=verify_files)
            for i in completed_runs(out_dir, h)]


def load_dynamics(out_dir: str | os.PathLike, metric: str = "loss", *, splits: tuple[str, ...] | None = None,
                  require_complete: bool = False, verify_files: bool = False):
    """The finished runs of a collection as a Dynamics (values of `metric`, splits, texts, gradient data).

    grad_dots hold NaN for runs that recorded no gradients; self_influence["tracin"] is, per training
    example, the mean over the gradient runs whose subset contains it.
    """
    from lib.dynamics import Dynamics

    header = read_header(out_dir)
    if metric not in header["metrics"]:
        raise StorageError(f"{out_dir}: metric {metric!r} was not recorded; recorded: {header['metrics']}")
    records = load_runs(out_dir, verify_files=verify_files)
    if require_complete and len(records) != len(header["runs"]):
        missing = sorted(set(r["run"] for r in header["runs"]) - {r.run_index for r in records})
        raise StorageError(f"{out_dir}: runs {missing} are not finished")
    if splits is not None:
        records = [r for r in records if r.split in splits]
    if not records:
        raise StorageError(f"{out_dir}: no finished run" + (f" in splits {list(splits)}" if splits else ""))
    test_ids = np.asarray(header["test_ids"], dtype=np.int64)
    for r in records:
        if not np.array_equal(r.test_ids, test_ids):
            raise StorageError(f"{out_dir}: run {r.run_index} has other test ids than collection.json")
    rows = read_examples(out_dir, header["config_hash"])
    train_texts = {int(r["id"]): r["text"] for r in rows if r["role"] in ("pool", "unseen")}
    test_texts = {int(r["id"]): r["text"] for r in rows if r["role"] == "test"}
    grad_dots = {}
    if any(r.grad_dots for r in records):
        shape = records[0].curriculum.shape + (len(test_ids),)
        for key in ("all", "ckpt10", "final"):
            grad_dots[key] = np.stack([r.grad_dots.get(key, np.full(shape, np.nan)) for r in records])
    tracin: dict[int, list[float]] = {}
    for r in records:
        for i, v in r.self_influence.items():
            tracin.setdefault(i, []).append(v)
    self_influence = {"tracin": {i: float(np.mean(v)) for i, v in tracin.items()}} if tracin else {}
    return Dynamics.from_arrays(
        np.stack([r.curriculum for r in records]),
        np.stack([r.values[metric] for r in records]),
        test_ids, metric,
        run_ids=np.array([r.run_index for r in records]),
        split=np.array([r.split for r in records]),
        steps=np.arange(records[0].curriculum.shape[0] + 1),
        train_texts=train_texts, test_texts=test_texts, grad_dots=grad_dots,
        learning_rates=np.stack([r.learning_rates for r in records]),
        self_influence=self_influence,
        config={**header["config"], "config_hash": header["config_hash"], "source": str(Path(out_dir))},
    )
