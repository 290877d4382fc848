"""The mechanics of a collection folder (see FORMAT.md): atomic writes, the lock, the header, temp cleanup.

Layout of a collection folder:

    collection.json          config, its hash, format version, run splits, test ids, metrics
    examples.parquet         every pool / test / unseen example (id, role, prompt, target, text, label, references)
    runs/run-0007/           one folder per finished run, created by an atomic rename (lib.collect.run_schema)

Every file is written under a `.tmp-` name in its final parent, fsync'ed, then `os.replace`d, so a file or
run folder exists under its final name only when complete. Every Parquet file carries the config hash in its
key-value metadata and is refused on reading when that hash differs from the collection's. No torch here:
reading a committed collection needs only this module and the run schema.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .config import CollectionConfig, ConfigError, config_diff
from .examples import CollectionExamples

FORMAT_NAME = "gptfluence-collection"
FORMAT_VERSION = 1
HEADER_FILE = "collection.json"
EXAMPLES_FILE = "examples.parquet"
RUNS_FOLDER = "runs"
RUN_DIR = re.compile(r"^run-(\d{4,})$")
TEMP_PREFIX = ".tmp-"


class StorageError(ValueError):
    """A collection folder is inconsistent: wrong config hash, unknown format, missing or corrupt run files."""


def run_dir_name(run_index: int) -> str:
    """`run-0007` for run 7."""
    return f"run-{run_index:04d}"


def run_folder(out_dir: str | os.PathLike, run_index: int) -> Path:
    """The folder of run `run_index` in a collection folder (it exists only once the run is finished)."""
    return Path(out_dir) / RUNS_FOLDER / run_dir_name(run_index)


def fsync_file(path: Path) -> None:
    """Flush a written file to disk (before the rename that publishes it)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (after a rename inside it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (run.json records one per run file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, payload: dict) -> None:
    """Write indented JSON and fsync it (the caller publishes it, e.g. by renaming its folder)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write JSON under a temporary name in the same folder, then rename it over `path`."""
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex}")
    write_json(tmp, payload)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_parquet(path: Path, columns: dict, config_hash: str) -> None:
    """A zstd Parquet file of `columns`, tagged with the config hash and format version, fsync'ed."""
    table = pa.table(columns)
    table = table.replace_schema_metadata({b"config_hash": config_hash.encode(),
                                           b"format_version": str(FORMAT_VERSION).encode()})
    pq.write_table(table, path, compression="zstd")
    fsync_file(path)


def read_parquet(path: Path, config_hash: str) -> pa.Table:
    """A Parquet file of the collection, refused (StorageError) when unreadable or tagged with another hash."""
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise StorageError(f"{path}: unreadable Parquet file ({err})") from None
    meta = table.schema.metadata or {}
    found = meta.get(b"config_hash", b"").decode()
    if found != config_hash:
        raise StorageError(f"{path}: config hash {found[:12] or '<none>'} != collection hash {config_hash[:12]}")
    return table


# --- the collection header and its examples -----------------------------------------------------------------


def collection_header(config: CollectionConfig, examples: CollectionExamples) -> dict:
    """The content of collection.json for `config` and its drawn examples."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config_hash": config.config_hash,
        "config": config.to_dict(),
        "hashed_config": config.hashed_dict(),
        "examples": {"file": EXAMPLES_FILE, "fingerprint": examples.fingerprint(),
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
    path = Path(out_dir) / HEADER_FILE
    if not path.is_file():
        raise StorageError(f"{out_dir}: no {HEADER_FILE} (not a collection folder, or never started)")
    with open(path, encoding="utf-8") as handle:
        header = json.load(handle)
    if header.get("format") != FORMAT_NAME or header.get("format_version") != FORMAT_VERSION:
        raise StorageError(f"{path}: format {header.get('format')!r} version {header.get('format_version')!r}, "
                           f"expected {FORMAT_NAME!r} version {FORMAT_VERSION}")
    return header


def examples_columns(examples: CollectionExamples) -> dict[str, pa.Array]:
    """The columns of examples.parquet: one row per pool / test / unseen example."""
    rows = examples.rows()
    return {
        "id": pa.array([r["id"] for r in rows], pa.int64()),
        "role": pa.array([r["role"] for r in rows], pa.string()),
        "task": pa.array([r["task"] for r in rows], pa.string()),
        "prompt": pa.array([r["prompt"] for r in rows], pa.string()),
        "target": pa.array([r["target"] for r in rows], pa.string()),
        "text": pa.array([r["text"] for r in rows], pa.string()),
        "label": pa.array([r["label"] for r in rows], pa.int64()),
        "references": pa.array([r["references"] for r in rows], pa.list_(pa.string())),
    }


def read_examples(out_dir: str | os.PathLike, config_hash: str | None = None) -> list[dict]:
    """The rows of examples.parquet (id, role, task, prompt, target, text, label, references)."""
    out = Path(out_dir)
    config_hash = config_hash or read_header(out)["config_hash"]
    return read_parquet(out / EXAMPLES_FILE, config_hash).to_pylist()


def prepare_folder(out_dir: str | os.PathLike, config: CollectionConfig, examples: CollectionExamples) -> dict:
    """Create the collection folder, or check that an existing one holds this configuration and these examples."""
    out = Path(out_dir)
    header_path = out / HEADER_FILE
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
                f"output folder {out}: the examples drawn now differ from those recorded in {EXAMPLES_FILE} "
                "(the task data changed?); use another --out folder")
        return header
    if out.exists():  # only leftovers of an initialisation killed before collection.json may be there
        others = [p.name for p in out.iterdir() if p.name not in (".lock", EXAMPLES_FILE)
                  and not p.name.startswith(TEMP_PREFIX) and not (p.name == RUNS_FOLDER and p.is_dir()
                                                                   and not any(p.iterdir()))]
        if others:
            raise ConfigError(f"output folder {out} is not empty ({', '.join(sorted(others)[:5])}) and has no "
                              f"{HEADER_FILE}; use an empty or new folder")
    (out / RUNS_FOLDER).mkdir(parents=True, exist_ok=True)
    header = collection_header(config, examples)
    tmp = out / f"{TEMP_PREFIX}examples.{uuid.uuid4().hex}.parquet"
    write_parquet(tmp, examples_columns(examples), config.config_hash)
    os.replace(tmp, out / EXAMPLES_FILE)
    write_json_atomic(header_path, header)  # written last: its presence means the folder is initialised
    return header


# --- one writer at a time, and what interrupted writers leave ---------------------------------------------


@contextlib.contextmanager
def collection_lock(out_dir: str | os.PathLike) -> Iterator[None]:
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
    for parent in (Path(out_dir), Path(out_dir) / RUNS_FOLDER):
        if not parent.is_dir():
            continue
        for path in parent.iterdir():
            if path.name.startswith(TEMP_PREFIX):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


def completed_runs(out_dir: str | os.PathLike, config_hash: str | None = None) -> list[int]:
    """Indices of the finished runs in a collection folder, checking each run.json's config hash."""
    out = Path(out_dir)
    config_hash = config_hash or read_header(out)["config_hash"]
    done = []
    runs = out / RUNS_FOLDER
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
