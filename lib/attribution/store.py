"""Score matrices stored with their collection: <collection>/attribution/<method>/run-NNNN.npz (weights never are).

One small file per (method, run): the scores [train subset, tests] in float64, the example ids and a JSON
string with the timings, settings and replay checks. The collection's own files are never touched; the
loaders of the collection ignore this folder.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np

from lib.attribution.result import AttributionResult

ATTRIBUTION_FOLDER = "attribution"
METHODS = ("ekfac", "trak")


def score_path(collection: str | os.PathLike, method: str, run_index: int) -> Path:
    """Where the scores of one method for one run live."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return Path(collection) / ATTRIBUTION_FOLDER / method / f"run-{int(run_index):04d}.npz"


def save_scores(collection: str | os.PathLike, run_index: int, result: AttributionResult) -> Path:
    """Write one result atomically (temporary file, then rename) and return its path."""
    path = score_path(collection, result.method, run_index)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.stem}-{uuid.uuid4().hex}.npz")
    info = {"seconds": result.seconds, "info": result.info, "run": int(run_index)}
    np.savez_compressed(tmp, scores=result.scores, train_ids=result.train_ids, test_ids=result.test_ids,
                        meta=np.array(json.dumps(info, sort_keys=True, default=str)))
    os.replace(tmp, path)
    return path


def load_scores(collection: str | os.PathLike, method: str) -> dict[int, AttributionResult]:
    """Every stored result of a method, by run index (empty when none was computed)."""
    folder = score_path(collection, method, 0).parent
    out = {}
    for path in sorted(folder.glob("run-*.npz")) if folder.is_dir() else []:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            out[int(meta["run"])] = AttributionResult(scores=data["scores"], train_ids=data["train_ids"],
                                                      test_ids=data["test_ids"], seconds=meta["seconds"],
                                                      info=meta["info"])
    return out
