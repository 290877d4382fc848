"""Score matrices stored with their collection: <collection>/attribution/<method>/run-NNNN.npz (weights never are).

One small file per (method, run): the scores [train subset, tests] in float64, the example ids and a JSON
string with the timings, settings and replay checks, and the machine's load when the file was written
(info["machine_load"]: the timings are wall seconds, so they say little without it). The collection's own
files are never touched; the loaders of the collection ignore this folder.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np

from lib.attribution.result import AttributionResult
from lib.attribution.self_influence import SelfInfluence

ATTRIBUTION_FOLDER = "attribution"
METHODS = ("ekfac", "trak")


def score_path(collection: str | os.PathLike, method: str, run_index: int) -> Path:
    """Where the scores of one method for one run live."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return Path(collection) / ATTRIBUTION_FOLDER / method / f"run-{int(run_index):04d}.npz"


def machine_load() -> dict[str, object]:
    """The load averages over the last 1, 5 and 15 minutes and the CPUs of this machine, recorded when a result is
    written: how many jobs shared the CPU while the scoring (minutes, single-threaded) ran."""
    return {"load_average_1_5_15": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}


def save_scores(collection: str | os.PathLike, run_index: int, result: AttributionResult) -> Path:
    """Write one result atomically (temporary file, then rename) with the machine's load, and return its path."""
    meta = {"seconds": result.seconds, "info": {**result.info, "machine_load": machine_load()}, "run": int(run_index)}
    return _write_npz(score_path(collection, result.method, run_index), meta, scores=result.scores,
                      train_ids=result.train_ids, test_ids=result.test_ids)


def load_scores(collection: str | os.PathLike, method: str) -> dict[int, AttributionResult]:
    """Every stored result of a method, by run index (empty when none was computed)."""
    return {int(meta["run"]): AttributionResult(**arrays, seconds=meta["seconds"], info=meta["info"])
            for meta, arrays in _read_npz(score_path(collection, method, 0).parent)}


SELF_SUFFIX = "-self"
"""Self-influence vectors live in <collection>/attribution/<method>-self/run-NNNN.npz (lib/attribution/self_influence.py)."""


def self_score_path(collection: str | os.PathLike, method: str, run_index: int) -> Path:
    """Where the self-influence vector of one method at one run's final model lives."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return Path(collection) / ATTRIBUTION_FOLDER / f"{method}{SELF_SUFFIX}" / f"run-{int(run_index):04d}.npz"


def save_self_scores(collection: str | os.PathLike, run_index: int, result: SelfInfluence) -> Path:
    """Write one self-influence vector atomically (temporary file, then rename) with the machine's load, and return
    its path."""
    meta = {"seconds": result.seconds, "info": {**result.info, "machine_load": machine_load()}, "run": int(run_index)}
    return _write_npz(self_score_path(collection, result.method, run_index), meta, scores=result.scores, ids=result.ids)


def _write_npz(path: Path, meta: dict, **arrays: np.ndarray) -> Path:
    """Write arrays and a JSON `meta` string to a compressed .npz atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.stem}-{uuid.uuid4().hex}.npz")
    np.savez_compressed(tmp, **arrays, meta=np.array(json.dumps(meta, sort_keys=True, default=str)))
    os.replace(tmp, path)
    return path


def load_self_scores(collection: str | os.PathLike, method: str) -> dict[int, SelfInfluence]:
    """Every stored self-influence vector of a method, by run index (empty when none was computed)."""
    return {int(meta["run"]): SelfInfluence(**arrays, seconds=meta["seconds"], info=meta["info"])
            for meta, arrays in _read_npz(self_score_path(collection, method, 0).parent)}


def _read_npz(folder: Path) -> Iterator[tuple[dict, dict[str, np.ndarray]]]:
    """(meta, arrays) of each run-*.npz in a folder, in name order (none when the folder does not exist)."""
    for path in sorted(folder.glob("run-*.npz")) if folder.is_dir() else []:
        with np.load(path) as data:
            yield json.loads(str(data["meta"])), {key: data[key] for key in data.files if key != "meta"}


def self_influence(collection: str | os.PathLike, method: str) -> dict[int, float]:
    """{pool id: self-influence} of a method, the mean over the stored runs' final models (every run scores the
    same ids); a ValueError names the method when none is stored or the runs scored different ids."""
    runs = load_self_scores(collection, method)
    if not runs:
        raise ValueError(f"no {method} self-influence stored under {self_score_path(collection, method, 0).parent}; "
                         f"compute it with `python -m lib.attribution <collection> --self --methods {method}`")
    ids = [np.sort(r.ids) for r in runs.values()]
    if any(not np.array_equal(i, ids[0]) for i in ids):
        raise ValueError(f"{method} self-influence of runs {sorted(runs)} covers different example ids")
    mean = np.mean([[r.by_id()[int(i)] for i in ids[0]] for r in runs.values()], axis=0)
    return dict(zip(ids[0].tolist(), mean.tolist()))
