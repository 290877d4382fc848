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
import logging
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

log = logging.getLogger("lib.collect")


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


_VERIFIED: dict[tuple, str] = {}  # (path, inode, size, mtime, ctime) -> the sha256 it was verified against


def verify_file(path: Path, digest: str, *, listed_in: str = "run.json") -> None:
    """StorageError naming `path` when it is missing or its sha256 differs from `digest`. A file verified
    before and not changed since (same inode, size, mtime and ctime) is not hashed again in this process."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise StorageError(f"{path}: missing, although {listed_in} lists it") from None
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if _VERIFIED.get(key) == digest:
        return
    if sha256(path) != digest:
        raise StorageError(f"{path}: sha256 differs from the one {listed_in} records (corrupt file)")
    _VERIFIED[key] = digest


def read_json(path: Path) -> dict:
    """A JSON object from `path`; StorageError naming the file when it is not one (corrupt or truncated)."""
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except json.JSONDecodeError as err:
        raise StorageError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except UnicodeDecodeError as err:
        raise StorageError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not isinstance(payload, dict):
        raise StorageError(f"{path}: expected a JSON object, found {type(payload).__name__}")
    return payload


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


def collection_header(config: CollectionConfig, examples: CollectionExamples, environment: dict | None = None) -> dict:
    """The content of collection.json for `config`, its drawn examples and the collecting `environment`
    (threads, torch version: they change the last bits of the numbers, so a resume compares them)."""
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
        **({"environment": dict(environment)} if environment else {}),
    }


def read_header(out_dir: str | os.PathLike) -> dict:
    """collection.json of a collection folder (StorageError if missing or of another format)."""
    path = Path(out_dir) / HEADER_FILE
    if not path.is_file():
        raise StorageError(f"{out_dir}: no {HEADER_FILE} (not a collection folder, or never started)")
    header = read_json(path)
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


def rows_fingerprint(rows: list[dict]) -> str:
    """sha256 of example rows as `CollectionExamples.fingerprint` computes it (collection.json records it)."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def read_examples(out_dir: str | os.PathLike, config_hash: str | None = None) -> list[dict]:
    """The rows of examples.parquet (id, role, task, prompt, target, text, label, references), checked against
    the fingerprint collection.json records (a corrupt file would otherwise give other texts)."""
    out = Path(out_dir)
    header = read_header(out)
    path = out / EXAMPLES_FILE
    rows = read_parquet(path, config_hash or header["config_hash"]).to_pylist()
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    expected = header["examples"]["fingerprint"]
    if _VERIFIED.get(key) != expected:
        if rows_fingerprint(rows) != expected:
            raise StorageError(f"{path}: its rows differ from the fingerprint {HEADER_FILE} records (corrupt file)")
        _VERIFIED[key] = expected
    return rows


def finished_run_folders(out_dir: str | os.PathLike) -> list[Path]:
    """The `runs/run-NNNN` folders of a collection folder (finished runs, before any check of their files)."""
    runs = Path(out_dir) / RUNS_FOLDER
    if not runs.is_dir():
        return []
    return [p for p in sorted(runs.iterdir()) if RUN_DIR.match(p.name) and p.is_dir()]


def check_output_folder(out_dir: str | os.PathLike) -> None:
    """Refuse, before anything is created in it, an output path that is a file, a collection folder whose
    collection.json is unreadable, or a non-empty folder that is not a collection (only leftovers of an
    initialisation killed before collection.json may be there)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise StorageError(f"output folder {out} is a file; use an empty or new folder")
    if not out.is_dir():
        return
    if (out / HEADER_FILE).exists():
        read_header(out)
        return
    others = [p.name for p in out.iterdir() if p.name not in (".lock", EXAMPLES_FILE)
              and not p.name.startswith(TEMP_PREFIX) and not (p.name == RUNS_FOLDER and p.is_dir()
                                                               and not any(p.iterdir()))]
    if others:
        raise ConfigError(f"output folder {out} is not empty ({', '.join(sorted(others)[:5])}) and has no "
                          f"{HEADER_FILE}; use an empty or new folder")


def _mismatch(out: Path, header: dict, config: CollectionConfig, examples: CollectionExamples) -> str | None:
    """Why the folder's header does not fit `config` and `examples`, or None when it does."""
    if header["config_hash"] != config.config_hash:
        diff = config_diff(header.get("hashed_config", {}), config.hashed_dict())
        return (f"output folder {out} holds runs of another configuration (config hash "
                f"{header['config_hash'][:12]} != {config.config_hash[:12]}); differences: "
                f"{'; '.join(diff) or 'unknown'}. Use another --out folder.")
    if header["examples"]["fingerprint"] != examples.fingerprint():
        return (f"output folder {out}: the examples drawn now differ from those recorded in {EXAMPLES_FILE} "
                "(the task data changed?); use another --out folder")
    return None


def prepare_folder(out_dir: str | os.PathLike, config: CollectionConfig, examples: CollectionExamples,
                   environment: dict | None = None) -> dict:
    """Create the collection folder, or check that an existing one holds this configuration and these examples.

    A folder set up for another configuration but holding no finished run (e.g. its model failed to load) is
    set up again; one with finished runs is refused.
    """
    out = Path(out_dir)
    header_path = out / HEADER_FILE
    if header_path.exists():
        header = read_header(out)
        problem = _mismatch(out, header, config, examples)
        if problem is None:
            return header
        if finished_run_folders(out):
            raise ConfigError(problem)
        log.warning("output folder %s was set up for config %s but holds no finished run: set up again for %s",
                    out, header["config_hash"][:12], config.config_hash[:12])
    else:
        check_output_folder(out)
    (out / RUNS_FOLDER).mkdir(parents=True, exist_ok=True)
    header = collection_header(config, examples, environment)
    tmp = out / f"{TEMP_PREFIX}examples.{uuid.uuid4().hex}.parquet"
    write_parquet(tmp, examples_columns(examples), config.config_hash)
    os.replace(tmp, out / EXAMPLES_FILE)
    write_json_atomic(header_path, header)  # written last: its presence means the folder is initialised
    return header


# --- one writer at a time, and what interrupted writers leave ---------------------------------------------


@contextlib.contextmanager
def collection_lock(out_dir: str | os.PathLike, *, wait: bool = False) -> Iterator[None]:
    """An exclusive lock on the collection folder for the duration of a collection (one writer at a time).

    A held lock is refused with a StorageError, or with `wait` waited for: a reader that needs the runs another
    process is writing (two chapters of the book, side by side, collecting the same smoke dynamics) then finds
    them finished instead of failing.
    """
    out = Path(out_dir)
    check_output_folder(out)  # before .lock is created in a folder that is not ours
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"cannot create output folder {out}: {err.strerror}") from None
    handle = open(out / ".lock", "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise StorageError(f"{out} is being written by another collection process (.lock is held)") from None
            log.info("%s is being written by another collection process: waiting for it to finish", out)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
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
    for path in finished_run_folders(out):
        index = int(RUN_DIR.match(path.name).group(1))
        meta_path = path / "run.json"
        if not meta_path.is_file():
            raise StorageError(f"{path}: run folder without run.json (written by another tool?)")
        meta = read_json(meta_path)
        if meta.get("config_hash") != config_hash:
            raise StorageError(f"{path}: run of config {str(meta.get('config_hash'))[:12]}, collection is "
                               f"{config_hash[:12]}: incompatible runs can't be mixed")
        if meta.get("run") != index:
            raise StorageError(f"{path}: run.json says run {meta.get('run')}")
        done.append(index)
    return done
