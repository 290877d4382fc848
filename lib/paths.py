"""Where the project reads task data and keeps its caches, configurable by environment variables."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "GPTFLUENCE_DATA_DIR"
CACHE_DIR_ENV = "GPTFLUENCE_CACHE_DIR"


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The task-data folder: `path` if given, else $GPTFLUENCE_DATA_DIR, else ../shared/data beside the repo."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return REPO_ROOT.parent / "shared" / "data"


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache folder (converted models, embeddings): `path`, else $GPTFLUENCE_CACHE_DIR, else ~/.cache/gptfluence."""
    if path is not None:
        root = Path(path).expanduser()
    elif os.environ.get(CACHE_DIR_ENV):
        root = Path(os.environ[CACHE_DIR_ENV]).expanduser()
    else:
        root = Path.home() / ".cache" / "gptfluence"
    root.mkdir(parents=True, exist_ok=True)
    return root
