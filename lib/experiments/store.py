"""Where each scale's dynamics live, and collecting them when they are missing.

A collection is named by its config, `configs/<scale>/<name>.toml`. The `default` scale reads the
committed dynamics under `data/dynamics/default/<name>`; the `smoke` scale collects into the untracked
`build/dynamics/smoke/<name>` on first use (seconds, with the tiny model). The collector is resumable,
so an interrupted collection is finished, never redone.
"""
from __future__ import annotations

import os
from pathlib import Path

from lib.collect import CollectionConfig, collect, completed_runs, load_dynamics, read_header
from lib.dynamics import Dynamics
from lib.paths import REPO_ROOT
from lib.scales import get_scale

CONFIGS = REPO_ROOT / "configs"
COLLECT_ENV = "GPTFLUENCE_COLLECT"  # "1": collect missing runs of any scale instead of failing


def collection_config(scale: str, name: str) -> CollectionConfig:
    """The collection config `configs/<scale>/<name>.toml`; unknown names list the ones that exist."""
    get_scale(scale)
    path = CONFIGS / scale / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in (CONFIGS / scale).glob("*.toml"))
        raise ValueError(f"no collection {name!r} at scale {scale!r} ({path}); known: {', '.join(known)}")
    return CollectionConfig.from_toml(path)


def dynamics_folder(scale: str, name: str) -> Path:
    """Committed folder for the default scale, untracked build folder for the others."""
    root = REPO_ROOT / "data" / "dynamics" if scale == "default" else REPO_ROOT / "build" / "dynamics"
    return root / scale / name


def dynamics(scale: str, name: str, *, metric: str = "loss", collect_missing: bool | None = None,
             data_dir: str | os.PathLike | None = None) -> Dynamics:
    """The recorded runs of collection `name` at `scale`, collecting missing runs where allowed.

    `collect_missing=None` collects at every scale but `default`, where it is opt-in (parameter or
    $GPTFLUENCE_COLLECT=1) because it costs hours of CPU.
    """
    config = collection_config(scale, name)
    if data_dir is not None:
        config = CollectionConfig.from_dict({**config.to_dict(), "runtime": {**config.to_dict()["runtime"],
                                                                            "data_dir": str(data_dir)}})
    folder = dynamics_folder(scale, name)
    if collect_missing is None:
        collect_missing = scale != "default" or os.environ.get(COLLECT_ENV) == "1"
    finished = _finished(folder, config)
    if finished < config.runs.total:
        if not collect_missing:
            raise FileNotFoundError(
                f"collection {name!r} at scale {scale!r} has {finished} of {config.runs.total} runs in {folder}; "
                f"collect them with `python -m lib.collect {CONFIGS / scale / (name + '.toml')} --out {folder}` "
                f"or set {COLLECT_ENV}=1")
        collect(config, folder, progress=False)
    return load_dynamics(folder, metric=metric, require_complete=True)


def _finished(folder: Path, config: CollectionConfig) -> int:
    if not (folder / "collection.json").is_file():
        return 0
    if read_header(folder)["config_hash"] != config.config_hash:
        return 0  # collect() then refuses the folder with a message naming both hashes
    return len(completed_runs(folder, config.config_hash))


def collections_table(scale: str) -> "pd.DataFrame":
    """One row per collection config of a scale: what is trained, how long, and on how many runs and tests."""
    import pandas as pd

    rows = []
    for path in sorted((CONFIGS / scale).glob("*.toml")):
        c = CollectionConfig.from_toml(path)
        rows.append({"collection": path.stem, "task": c.data.task, "model": c.model.name, "regime": c.model.regime,
                     "pool": c.data.pool_size, "per run": c.training.subset_size, "batch": c.training.batch_size,
                     "steps": c.training.steps, "lr": c.training.lr,
                     "runs (train/val/test)": f"{c.runs.train}/{c.runs.val}/{c.runs.test}",
                     "test examples": c.data.test_size, "metrics": ", ".join(c.metrics)})
    if not rows:
        raise ValueError(f"no collection configs for scale {scale!r} in {CONFIGS / scale}")
    return pd.DataFrame(rows).set_index("collection")
