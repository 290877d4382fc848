"""Where each scale's collections live, and collecting them when they are missing.

A collection is named by its config, `configs/<folder>/<name>.toml`, where <folder> is the scale's `folder`
(lib.scales: the default scale reads the folder of the regime DEFAULT_READS). A committed scale reads the checked-in
dynamics under `data/dynamics/<folder>/<name>`; the `smoke` scale collects into the untracked
`build/dynamics/smoke/<name>` on first use (seconds, with the tiny model). The collector is resumable,
so an interrupted collection is finished, never redone. Chapters hold the returned `StoredCollection`
(header, timings, examples, dynamics per metric) and never build paths themselves.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from lib.collect import CollectionConfig, StoredCollection
from lib.dynamics import Dynamics
from lib.paths import REPO_ROOT
from lib.scales import get_scale

CONFIGS = REPO_ROOT / "configs"
COLLECT_ENV = "GPTFLUENCE_COLLECT"  # "1": collect missing runs of any scale instead of failing


def collection_config(scale: str, name: str, data_dir: str | os.PathLike | None = None) -> CollectionConfig:
    """The collection config `configs/<folder>/<name>.toml` of `scale` (its task data from `data_dir` if given)."""
    folder = CONFIGS / get_scale(scale).folder
    path = folder / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.toml"))
        raise ValueError(f"no collection {name!r} at scale {scale!r} ({path}); known: {', '.join(known)}")
    config = CollectionConfig.from_toml(path)
    return config if data_dir is None else config.with_overrides(runtime={"data_dir": str(data_dir)})


def has_config(scale: str, name: str) -> bool:
    """Whether `scale` has a collection `name` (`configs/<folder>/<name>.toml`)."""
    return (CONFIGS / get_scale(scale).folder / f"{name}.toml").is_file()


def committed(folder: str) -> StoredCollection:
    """A committed collection outside the scales, by its folder under data/dynamics (e.g. "paper_size/sst2")."""
    return StoredCollection(REPO_ROOT / "data" / "dynamics" / folder)


def dynamics_folder(scale: str, name: str) -> Path:
    """Checked-in folder for a committed scale (see lib.scales.Scale), untracked build folder for the others."""
    current = get_scale(scale)
    return REPO_ROOT / ("data" if current.committed else "build") / "dynamics" / current.folder / name


def collects_missing(scale: str) -> bool:
    """Whether missing runs are collected by default: at every scale but the committed ones, where it costs hours
    of CPU and is opt-in ($GPTFLUENCE_COLLECT=1)."""
    return not get_scale(scale).committed or os.environ.get(COLLECT_ENV) == "1"


def stored(scale: str, name: str, *, collect_missing: bool | None = None,
           data_dir: str | os.PathLike | None = None) -> StoredCollection:
    """Collection `name` at `scale`, complete: its missing runs collected where allowed (see `collects_missing`)."""
    config = collection_config(scale, name, data_dir)
    folder = dynamics_folder(scale, name)
    collection = StoredCollection(folder)
    source = CONFIGS / get_scale(scale).folder / f"{name}.toml"
    how = (f"collect them with `python -m lib.collect {source} --out {folder}` "
           f"or set {COLLECT_ENV}=1")
    collection.ensure_collected(config, collect_missing=collects_missing(scale) if collect_missing is None
                                else collect_missing, how=how)
    return collection


def dynamics(scale: str, name: str, *, metric: str = "loss", collect_missing: bool | None = None,
             data_dir: str | os.PathLike | None = None) -> Dynamics:
    """The recorded runs of collection `name` at `scale` as a Dynamics of `metric` (see `stored`)."""
    collection = stored(scale, name, collect_missing=collect_missing, data_dir=data_dir)
    return collection.dynamics(metric, require_complete=True)


def collections_table(scale: str) -> pd.DataFrame:
    """One row per collection config of a scale: what is trained, how long, and on how many runs and tests."""
    rows, configs = [], CONFIGS / get_scale(scale).folder
    for path in sorted(configs.glob("*.toml")):
        c = CollectionConfig.from_toml(path)
        rows.append({"collection": path.stem, "task": c.data.task, "model": c.model.name, "regime": c.model.regime,
                     "pool": c.data.pool_size, "per run": c.training.subset_size, "batch": c.training.batch_size,
                     "steps": c.training.steps, "lr": c.training.lr,
                     "runs (train/val/test)": f"{c.runs.train}/{c.runs.val}/{c.runs.test}",
                     "test examples": c.data.test_size, "metrics": ", ".join(c.metrics)})
    if not rows:
        raise ValueError(f"no collection configs for scale {scale!r} in {configs}")
    return pd.DataFrame(rows).set_index("collection")


@dataclass(frozen=True)
class Progress:
    """How many of a collection's planned runs are stored: a chapter skips an incomplete one and says so."""

    scale: str
    name: str
    finished: int
    planned: int
    collects: bool = False  # the scale collects missing runs on first use (smoke), so it counts as complete

    @property
    def complete(self) -> bool:
        """Whether a chapter may read it: every run stored, or the scale collects the missing ones."""
        return self.collects or self.finished >= self.planned

    @property
    def runs_text(self) -> str:
        """'3 of 24 runs collected'."""
        return f"{self.finished} of {self.planned} runs collected"


def progress(scale: str, name: str, data_dir: str | os.PathLike | None = None) -> Progress:
    """The stored runs of collection `name` at `scale` against its config's planned runs (nothing is collected)."""
    config = collection_config(scale, name, data_dir)
    finished = StoredCollection(dynamics_folder(scale, name)).finished_runs_of(config)
    return Progress(scale, name, finished, config.runs.total, collects=collects_missing(scale))


def skipped_sentence(missing: Iterable[Progress], what: str) -> str:
    """A sentence naming what is left out because its collections are incomplete ('' when none is), e.g.
    "Left out at this scale, as its collections are incomplete: the checkpoint-interval ablation on these tasks
    (webnlg: 3 of 24 runs collected)."."""
    parts = [f"{p.name}: {p.runs_text}" for p in missing]
    if not parts:
        return ""
    return f"Left out at this scale, as its collections are incomplete: {what} ({'; '.join(parts)})."
