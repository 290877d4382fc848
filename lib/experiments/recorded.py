"""What a chapter shows about recorded collections: their size and cost, the task of each test example, and the
spread between runs."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.collect import StoredCollection
from lib.dynamics import Dynamics


def collection_summary(collections: Mapping[str, StoredCollection]) -> pd.DataFrame:
    """One row per collection: task, model, regime, runs per split, steps, batch, test examples, lr and cost."""
    rows = []
    for name, collection in collections.items():
        dyn = collection.dynamics(require_complete=True)
        cfg = dyn.config
        timing = collection.timings()
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
            "metrics": ", ".join(collection.metrics),
            "s per run": float(timing["wall_seconds"].mean()),
            "steps/s": float(timing["steps_per_second"].mean()),
            "eval s per step": float((timing["eval_seconds"] / dyn.n_steps).mean()),
            "collection s": float(timing["wall_seconds"].sum()),
        })
    return pd.DataFrame(rows).set_index("collection")


def ids_by_task(tasks_of: Mapping[int, str], order: Sequence[str] | None = None,
                test_ids: Sequence[int] | None = None) -> dict[str, list[int]]:
    """task -> its test ids (of `test_ids`, default all, in their order), from `StoredCollection.test_tasks()`;
    tasks in `order` first, then the others in order of appearance."""
    groups: dict[str, list[int]] = {}
    for test_id in (tasks_of if test_ids is None else (int(t) for t in test_ids)):
        groups.setdefault(tasks_of[test_id], []).append(test_id)
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
