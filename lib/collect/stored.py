"""A collection folder as its readers see it: header, runs, examples, timings, and its dynamics per metric.

The book and the experiments hold a `StoredCollection` instead of a path: everything they read about a collection
goes through it, and `ensure_collected` finishes a collection whose runs are missing (the book's COLLECT=1).
Reading imports no torch; only collecting does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from lib.dynamics import GRAD_SETTINGS, Dynamics

from .config import CollectionConfig
from .folder import HEADER_FILE, StorageError, completed_runs, read_examples, read_header, run_folder
from .run_schema import RunRecord, read_run, read_run_meta


@dataclass(frozen=True)
class StoredCollection:
    """The collection recorded in `folder` (see FORMAT.md)."""

    folder: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", Path(self.folder))

    @property
    def header(self) -> dict:
        """collection.json (config, hash, metrics, run splits, test ids, flipped ids of a label-noise collection)."""
        return read_header(self.folder)

    @property
    def config(self) -> dict:
        """The collection's configuration as recorded in its header (a plain dict)."""
        return self.header["config"]

    @property
    def metrics(self) -> list[str]:
        """The metrics recorded (loss, and bleu / rougeL for generation tasks)."""
        return list(self.header["metrics"])

    def run_indices(self) -> list[int]:
        """Indices of the finished runs."""
        return completed_runs(self.folder)

    def run_meta(self, run_index: int) -> dict:
        """run.json of one finished run (split, seed, timing, environment, file hashes)."""
        return read_run_meta(run_folder(self.folder, run_index), self.header["config_hash"])

    def runs(self, *, verify_files: bool = True) -> list[RunRecord]:
        """Every finished run, by run index."""
        h = self.header["config_hash"]
        return [read_run(run_folder(self.folder, i), h, verify_files=verify_files)
                for i in completed_runs(self.folder, h)]

    def examples(self) -> pd.DataFrame:
        """examples.parquet: one row per pool / test / unseen example (id, role, task, prompt, target, text, ...)."""
        return pd.DataFrame(read_examples(self.folder))

    def test_tasks(self) -> dict[int, str]:
        """test id -> task of every test example, in recording order (the mixture's test set mixes six tasks)."""
        tasks = {int(r["id"]): str(r["task"]) for r in read_examples(self.folder) if r["role"] == "test"}
        test_ids = [int(t) for t in self.header["test_ids"]]
        missing = [t for t in test_ids if t not in tasks]
        if missing:
            raise StorageError(f"{self.folder}: examples.parquet has no task for test ids {missing[:5]}")
        return {t: tasks[t] for t in test_ids}

    def timings(self) -> pd.DataFrame:
        """One row per finished run: split, whether it recorded gradients, whether it was reused from a sibling
        collection (its timing is then the source's: a collection's own cost sums the others), and the timing of its
        run.json."""
        rows = []
        for run in self.run_indices():
            meta = self.run_meta(run)
            rows.append({"run": run, "split": meta["split"], "gradients": "gradients.parquet" in meta["files"],
                         "reused": bool(meta.get("reused_from")), **meta["timing"]})
        return pd.DataFrame(rows).set_index("run")

    def dynamics(self, metric: str = "loss", *, splits: Sequence[str] | None = None, require_complete: bool = False,
                 verify_files: bool = True) -> Dynamics:
        """The finished runs as a Dynamics (values of `metric`, splits, texts, gradient data).

        grad_dots hold NaN for runs that recorded no gradients; self_influence["tracin"] is, per training
        example, the mean over the gradient runs whose subset contains it.
        """
        header = self.header
        if metric not in header["metrics"]:
            raise StorageError(f"{self.folder}: metric {metric!r} was not recorded; recorded: {header['metrics']}")
        records = self.runs(verify_files=verify_files)
        if require_complete and len(records) != len(header["runs"]):
            missing = sorted(set(r["run"] for r in header["runs"]) - {r.run_index for r in records})
            raise StorageError(f"{self.folder}: runs {missing} are not finished")
        if splits is not None:
            records = [r for r in records if r.split in splits]
        if not records:
            raise StorageError(f"{self.folder}: no finished run" + (f" in splits {list(splits)}" if splits else ""))
        test_ids = np.asarray(header["test_ids"], dtype=np.int64)
        for r in records:
            if not np.array_equal(r.test_ids, test_ids):
                raise StorageError(f"{self.folder}: run {r.run_index} has other test ids than {HEADER_FILE}")
        rows = read_examples(self.folder, header["config_hash"])
        grad_dots = {}
        if any(r.grad_dots for r in records):
            shape = records[0].curriculum.shape + (len(test_ids),)
            for key in GRAD_SETTINGS:
                grad_dots[key] = np.stack([r.grad_dots.get(key, np.full(shape, np.nan)) for r in records])
        tracin: dict[int, list[float]] = {}
        for r in records:
            for i, v in r.self_influence.items():
                tracin.setdefault(i, []).append(v)
        return Dynamics.from_arrays(
            np.stack([r.curriculum for r in records]),
            np.stack([r.values[metric] for r in records]),
            test_ids, metric,
            run_ids=np.array([r.run_index for r in records]),
            split=np.array([r.split for r in records]),
            steps=np.arange(records[0].curriculum.shape[0] + 1),
            train_texts={int(r["id"]): r["text"] for r in rows if r["role"] in ("pool", "unseen")},
            test_texts={int(r["id"]): r["text"] for r in rows if r["role"] == "test"},
            grad_dots=grad_dots,
            learning_rates=np.stack([r.learning_rates for r in records]),
            self_influence={"tracin": {i: float(np.mean(v)) for i, v in tracin.items()}} if tracin else {},
            config={**header["config"], "config_hash": header["config_hash"]},
        )

    def finished_runs_of(self, config: CollectionConfig) -> int:
        """How many runs of `config` are finished here (0 when the folder is empty or holds another config)."""
        if not (self.folder / HEADER_FILE).is_file():
            return 0
        if self.header["config_hash"] != config.config_hash:
            return 0  # collect() then refuses the folder with a message naming both hashes
        return len(completed_runs(self.folder, config.config_hash))

    def ensure_collected(self, config: CollectionConfig, *, collect_missing: bool, how: str) -> None:
        """Collect the missing runs of `config` here when allowed, else raise FileNotFoundError saying `how` to.

        Another process collecting the same folder (chapters executed side by side) is waited for, not refused.
        """
        finished = self.finished_runs_of(config)
        if finished >= config.runs.total:
            return
        if not collect_missing:
            raise FileNotFoundError(f"collection {config.name!r} has {finished} of {config.runs.total} runs in "
                                    f"{self.folder}; {how}")
        from .collection import collect  # the trainer imports torch: loaded only when runs must be trained

        collect(config, self.folder, progress=False, wait=True)


def load_runs(out_dir: str | os.PathLike, *, verify_files: bool = True) -> list[RunRecord]:
    """Every finished run of a collection folder, by run index."""
    return StoredCollection(Path(out_dir)).runs(verify_files=verify_files)


def load_dynamics(out_dir: str | os.PathLike, metric: str = "loss", *, splits: Sequence[str] | None = None,
                  require_complete: bool = False, verify_files: bool = True) -> Dynamics:
    """The finished runs of a collection folder as a Dynamics (see `StoredCollection.dynamics`)."""
    return StoredCollection(Path(out_dir)).dynamics(metric, splits=splits, require_complete=require_complete,
                                                    verify_files=verify_files)
