"""What a chapter shows about recorded collections: their size and cost, the task of each test example, the spread
between runs, and which test examples to plot."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.collect.folder import completed_runs, read_examples, read_header, run_dir_name
from lib.dynamics import Dynamics
from lib.experiments.store import dynamics


def load_collections(scale: str, names: Sequence[str], *, metric: str = "loss",
                     data_dir: str | os.PathLike | None = None) -> dict[str, Dynamics]:
    """name -> Dynamics of `metric` for each collection (collected first where the scale allows)."""
    return {name: dynamics(scale, name, metric=metric, data_dir=data_dir) for name in names}


def collection_folder(dyn: Dynamics) -> Path:
    """The collection folder a Dynamics was loaded from."""
    if "source" not in dyn.config:
        raise ValueError("this Dynamics was not loaded from a collection folder (config has no 'source')")
    return Path(dyn.config["source"])


def recorded_metrics(dyn: Dynamics) -> list[str]:
    """The metrics the collection recorded (loss, and bleu / rougeL for generation)."""
    return list(read_header(collection_folder(dyn))["metrics"])


def run_timings(dyn: Dynamics) -> pd.DataFrame:
    """One row per finished run: split and the timing of its run.json (seconds, steps per second, tokens)."""
    folder = collection_folder(dyn)
    header = read_header(folder)
    rows = []
    for run in completed_runs(folder, header["config_hash"]):
        meta = json.loads((folder / "runs" / run_dir_name(run) / "run.json").read_text())
        rows.append({"run": run, "split": meta["split"], "gradients": "gradients.parquet" in meta["files"],
                     **meta["timing"]})
    return pd.DataFrame(rows).set_index("run")


def collection_summary(collections: Mapping[str, Dynamics]) -> pd.DataFrame:
    """One row per collection: task, model, regime, runs per split, steps, batch, test examples, lr and cost."""
    rows = []
    for name, dyn in collections.items():
        cfg = dyn.config
        timing = run_timings(dyn)
        splits = {s: int(np.sum(dyn.split == s)) for s in ("train", "val", "test")}
        rows.append({
            "collection": name,
            "task": cfg["data"]["task"],
            "model": cfg["model"]["name"],
            "tuning": "instruction" if cfg["data"]["task"] == "mixture" else "fine-tuning",
            "runs (train/val/test)": f"{splits['train']}/{splits['val']}/{splits['test']}",
            "pool": cfg["data"]["pool_size"],
            "examples per run": cfg["training"]["subset_size"],
            "batch": dyn.batch_size,
            "steps": dyn.n_steps,
            "test examples": dyn.n_tests,
            "lr": cfg["training"]["lr"],
            "precision": "bf16 autocast" if cfg["training"].get("bf16") else "fp32",
            "metrics": ", ".join(recorded_metrics(dyn)),
            "s per run": float(timing["wall_seconds"].mean()),
            "steps/s": float(timing["steps_per_second"].mean()),
            "eval s per step": float((timing["eval_seconds"] / dyn.n_steps).mean()),
            "collection s": float(timing["wall_seconds"].sum()),
        })
    return pd.DataFrame(rows).set_index("collection")


def task_of_test(dyn: Dynamics) -> dict[int, str]:
    """test id -> task of every test example (the mixture's test set mixes the six tasks)."""
    rows = read_examples(collection_folder(dyn))
    tasks = {int(r["id"]): str(r["task"]) for r in rows if r["role"] == "test"}
    missing = [int(t) for t in dyn.test_ids if int(t) not in tasks]
    if missing:
        raise ValueError(f"examples.parquet has no task for test ids {missing[:5]}")
    return {int(t): tasks[int(t)] for t in dyn.test_ids}


def ids_by_task(dyn: Dynamics, order: Sequence[str] | None = None) -> dict[str, list[int]]:
    """task -> its test ids (in recording order); tasks in `order` first, then the others in order of appearance."""
    groups: dict[str, list[int]] = {}
    for test_id, task in task_of_test(dyn).items():
        groups.setdefault(task, []).append(test_id)
    ranked = [t for t in (order or ()) if t in groups] + [t for t in groups if t not in (order or ())]
    return {t: groups[t] for t in ranked}


def spread_summary(collections: Mapping[str, Dynamics]) -> pd.DataFrame:
    """How much the metric moves during a run and how much runs differ, per collection.

    change = mean over runs and tests of y_T - y_0; |step change| = mean |y_t - y_{t-1}|;
    between-run std = std over runs of y_T, averaged over tests; ratio = between-run std / |change|.
    A simulator that ignores the curriculum (the mean trajectory) is off by about the between-run std.
    """
    rows = []
    for name, dyn in collections.items():
        v = dyn.values
        change = float(np.mean(v[:, -1] - v[:, 0]))
        between = float(np.mean(np.std(v[:, -1], axis=0)))
        rows.append({"collection": name, "metric": dyn.metric, "y_0": float(np.mean(v[:, 0])),
                     "y_T": float(np.mean(v[:, -1])), "change": change,
                     "|step change|": float(np.mean(np.abs(np.diff(v, axis=1)))),
                     "between-run std at T": between,
                     "std / |change|": between / abs(change) if change != 0 else float("nan")})
    return pd.DataFrame(rows).set_index("collection")


def pick_test_examples(dyn: Dynamics, k: int, *, groups: Mapping[str, Sequence[int]] | None = None,
                       by: str = "change") -> list[int]:
    """k test ids worth plotting.

    by="change": ids whose mean change y_T - y_0 spans the range (evenly spaced ranks, the largest fall first),
    so flat and moving examples both appear. by="movement": the ids whose trajectories move most (mean over runs
    of the summed |y_t - y_{t-1}|), most first. With `groups` (task -> ids) the pick takes the best-ranked id of
    each group in turn.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if by not in ("change", "movement"):
        raise ValueError(f"by must be 'change' or 'movement', got {by!r}")
    position = {int(t): i for i, t in enumerate(dyn.test_ids)}
    if by == "movement":
        score = -np.mean(np.sum(np.abs(np.diff(dyn.values, axis=1)), axis=1), axis=0)
    else:
        score = np.mean(dyn.values[:, -1] - dyn.values[:, 0], axis=0)
    if groups:
        queues = [sorted((int(t) for t in ids), key=lambda t: score[position[t]]) for ids in groups.values()]
        chosen: list[int] = []
        while len(chosen) < k and any(queues):
            for queue in queues:
                if queue and len(chosen) < k:
                    chosen.append(queue.pop(0))
        return chosen
    order = np.argsort(score, kind="stable")
    k = min(k, dyn.n_tests)
    if by == "movement":
        return [int(dyn.test_ids[i]) for i in order[:k]]
    ranks = np.unique(np.round(np.linspace(0, dyn.n_tests - 1, k)).astype(int))
    return [int(dyn.test_ids[order[r]]) for r in ranks]
