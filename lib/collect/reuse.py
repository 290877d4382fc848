"""Reusing the runs a sibling collection already recorded, instead of training them again.

Run j of a collection is decided by its hashed settings (bar those that only say which runs exist and which record
gradients: [runs] split counts and unseen_splits, [data] unseen_size, [gradients]), its seed and curriculum (both
functions of the collection seed and j) and the examples it trains and is tested on. A source collection whose
settings agree on the rest and which holds the same pool, test and warm-up examples therefore recorded run j of the
target too, when the target trains it on the seen pool and records no gradients for it. Such a run is written into
the target folder as a finished run of the target (its config hash and split; atomically, like a collected run) with
a `reused_from` record in its run.json. "The same run" holds up to float rounding: the top-block regime's cached
frozen-bottom states are computed over each collection's own example set, which moves recorded losses by ~1e-5.
Source runs that recorded gradients are not reused (their gradient files would have to be dropped; none is needed).
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from .config import CollectionConfig, ConfigError, config_diff
from .curricula import run_seed, sample_curriculum
from .examples import CollectionExamples, draw_examples
from .folder import HEADER_FILE, StorageError, completed_runs, read_examples, read_header, run_folder
from .run_schema import RunRecord, read_run, read_run_meta, write_run

NOT_COMPARED: dict[str, tuple[str, ...] | None] = {
    "runs": ("train", "val", "test", "unseen_splits"), "data": ("unseen_size", "unseen_avoids_warmup"),
    "gradients": None}
"""Hashed settings that say which runs a collection holds, not what a run computes (None: the whole section)."""
COMPARED_ROLES = ("pool", "test", "warmup")
"""The example roles a seen-pool run depends on (the unseen pool is not trained on by a reused run)."""
EQUAL_UP_TO = "float rounding"


@dataclass(frozen=True)
class ReusePlan:
    """Which runs of the target reuse which runs of `source` (`runs`: target run -> source run), and why the others
    don't (`skipped`: target run -> reason; `refused`: why no run can, e.g. a differing setting)."""

    source: Path
    source_hash: str | None
    runs: dict[int, int] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)
    refused: str | None = None
    records: dict[int, RunRecord] = field(default_factory=dict, repr=False, compare=False)  # the source runs read

    def summary(self, verb: str = "reused") -> str:
        """One line: how many runs of the source, which, and why the others not."""
        if self.refused:
            return f"{verb} no run of {self.source.name}: {self.refused}"
        line = f"{verb} {len(self.runs)} runs of {self.source.name} (config {str(self.source_hash)[:12]})"
        line += f": runs {run_ranges(self.runs)}" if self.runs else ""
        by_reason: dict[str, list[int]] = {}
        for run, reason in self.skipped.items():
            by_reason.setdefault(reason, []).append(run)
        if by_reason:
            line += "; not reused: " + "; ".join(f"runs {run_ranges(r)}: {why}" for why, r in by_reason.items())
        return line

    def describe(self, config: CollectionConfig) -> str:
        """One line per reused run (target run and split <- source run and split), after the summary."""
        lines = [self.summary("would reuse")]
        for run, j in sorted(self.runs.items()):
            lines.append(f"  run {run} ({config.run_split(run)}) <- {self.source.name} run {j} "
                         f"({self.records[run].split})")
        return "\n".join(lines)


def run_ranges(runs: Iterable[int]) -> str:
    """"0-12, 15" for the runs 0..12 and 15."""
    ordered = sorted(int(r) for r in runs)
    groups = [[r for _, r in g] for _, g in itertools.groupby(enumerate(ordered), lambda p: p[1] - p[0])]
    return ", ".join(str(g[0]) if len(g) == 1 else f"{g[0]}-{g[-1]}" for g in groups)


def comparable_settings(hashed: dict) -> dict:
    """A hashed config dict without the `NOT_COMPARED` settings."""
    out = copy.deepcopy(hashed)
    for section, keys in NOT_COMPARED.items():
        if keys is None:
            out.pop(section, None)
        for key in keys or ():
            out.get(section, {}).pop(key, None)
    return out


def settings_mismatch(source_hashed: dict, config: CollectionConfig) -> str | None:
    """Which compared settings differ between a source's hashed config and `config` (None when none does)."""
    diff = config_diff(comparable_settings(source_hashed), comparable_settings(config.hashed_dict()))
    if not diff:
        return None
    return "settings differ (source != target): " + "; ".join(diff[:3]) + (" ..." if len(diff) > 3 else "")


def examples_mismatch(source_rows: list[dict], target_rows: list[dict]) -> str | None:
    """The first difference between the pool, test and warm-up examples of two collections (None when equal)."""
    for role in COMPARED_ROLES:
        a = [r for r in source_rows if r["role"] == role]
        b = [r for r in target_rows if r["role"] == role]
        ids_a, ids_b = [int(r["id"]) for r in a], [int(r["id"]) for r in b]
        if ids_a != ids_b:
            if len(a) != len(b):
                return f"the {role} examples differ ({len(a)} in the source, {len(b)} in the target)"
            k = next(k for k, (x, y) in enumerate(zip(ids_a, ids_b)) if x != y)
            return f"the {role} examples differ (position {k}: id {ids_a[k]} in the source, {ids_b[k]} in the target)"
        for x, y in zip(a, b):
            keys = [key for key in sorted(set(x) | set(y)) if x.get(key) != y.get(key)]
            if keys:
                return f"{role} example {x['id']}: its {keys[0]} differs"
    return None


def _run_mismatch(config: CollectionConfig, examples: CollectionExamples, source: Path, header: dict, run: int,
                  finished: set[int]) -> tuple[RunRecord | None, str | None]:
    """The source run that is target run `run`, or why there is none."""
    split = config.run_split(run)
    if split in config.runs.unseen_splits:
        return None, f"train on the unseen pool here ({split} split)"
    if config.records_gradients(run):
        return None, f"record gradients here ({split} split)"
    if run not in finished:
        return None, "not finished in the source"
    h = header["config_hash"]
    try:
        meta = read_run_meta(run_folder(source, run), h)
    except StorageError as err:
        return None, f"unreadable in the source ({err})"
    there = str(meta.get("split"))
    if there in header["config"]["runs"].get("unseen_splits", []):
        return None, f"trained on the source's unseen pool ({there} split there)"
    if "gradients.parquet" in (meta.get("files") or {}):
        return None, f"recorded gradients in the source ({there} split there; gradient runs are not reused)"
    if int(meta.get("seed", -1)) != run_seed(config.runs.seed, run):
        return None, f"the source's run seed {meta.get('seed')} differs"
    try:
        record = read_run(run_folder(source, run), h)
    except StorageError as err:
        return None, f"unreadable in the source ({err})"
    t = config.training
    curriculum = sample_curriculum(examples.pool_ids, subset_size=t.subset_size, batch_size=t.batch_size,
                                   epochs=t.epochs, seed=config.runs.seed, run_index=run)
    if not (np.array_equal(record.subset, curriculum.subset) and np.array_equal(record.curriculum, curriculum.batches)):
        return None, "the source's curriculum differs from the one sampled here"
    if not np.array_equal(record.test_ids, examples.test_ids):
        return None, "the source's test ids differ"
    return record, None


def plan_reuse(config: CollectionConfig, examples: CollectionExamples, source: str | os.PathLike, *,
               done: Iterable[int] = ()) -> ReusePlan:
    """Which of `config`'s runs (not in `done`) the collection folder `source` recorded; reads, never writes."""
    source = Path(source)
    try:
        header = read_header(source)
        rows = read_examples(source)
        finished = set(completed_runs(source, header["config_hash"]))
    except StorageError as err:
        return ReusePlan(source, None, refused=str(err))
    problem = (settings_mismatch(header.get("hashed_config") or {}, config) if "hashed_config" in header
               else f"{source / HEADER_FILE} records no hashed_config")
    problem = problem or examples_mismatch(rows, examples.rows())
    if problem:
        return ReusePlan(source, header["config_hash"], refused=problem)
    runs, skipped, records = {}, {}, {}
    done = {int(i) for i in done}
    for run in range(config.runs.total):
        if run in done:
            continue
        record, why = _run_mismatch(config, examples, source, header, run, finished)
        if record is None:
            skipped[run] = str(why)
        else:
            runs[run], records[run] = record.run_index, record
    return ReusePlan(source, header["config_hash"], runs, skipped, records=records)


def reused_record(record: RunRecord, config: CollectionConfig, run: int, source: Path, source_hash: str) -> RunRecord:
    """The source's `record` as run `run` of `config` (its hash and split), with its provenance."""
    return dataclasses.replace(
        record, run_index=run, split=config.run_split(run), config_hash=config.config_hash, grad_dots={},
        self_influence={}, checkpoints=None, files={}, finished="",
        reused_from={"collection": source.name, "config_hash": source_hash, "run": record.run_index,
                     "split": record.split, "finished": record.finished, "equal_up_to": EQUAL_UP_TO})


def reuse_runs(config: CollectionConfig, examples: CollectionExamples, out: str | os.PathLike,
               source: str | os.PathLike, *, done: Iterable[int] = ()) -> ReusePlan:
    """Write every run of `source` that is a run of `config` (and not in `done`) into the target folder `out`.

    The caller holds `out`'s collection lock and has set the folder up for `config` (`collect` does both).
    """
    plan = plan_reuse(config, examples, source, done=done)
    for run, record in sorted(plan.records.items()):
        write_run(out, reused_record(record, config, run, plan.source, str(plan.source_hash)), config)
    return plan


def reuse_source(config: CollectionConfig, out: str | os.PathLike) -> Path | None:
    """The folder `[runtime] reuse_runs_from` names (a sibling of `out`), or None when the config names none."""
    name = config.runtime.reuse_runs_from
    if name is None:
        return None
    source = Path(out).parent / name
    if source.resolve() == Path(out).resolve():
        raise ConfigError(f"[runtime] reuse_runs_from = {name!r} names the output folder {out} itself")
    return source


def plan_for_folder(config: CollectionConfig, out: str | os.PathLike) -> ReusePlan:
    """The reuse `collect(config, out)` would do now (a dry run: nothing is written)."""
    source = reuse_source(config, out)
    if source is None:
        raise ConfigError(f"config {config.name!r} sets no [runtime] reuse_runs_from: nothing to reuse")
    out = Path(out)
    done = completed_runs(out, config.config_hash) if (out / HEADER_FILE).is_file() else []
    return plan_reuse(config, draw_examples(config), source, done=done)
