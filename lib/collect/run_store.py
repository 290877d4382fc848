"""What the retraining and designed-run stores share: one JSON file per finished run, in a folder per config.

`<folder>/<config hash[:16]>/<name>.json`, each written atomically beside a `config.json` describing the config, so
that several processes may add runs to one store and a reader never sees half a file.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .config import CollectionConfig
from .folder import TEMP_PREFIX, write_json_atomic

ABANDONED_AFTER_S = 600.0
"""A temporary file older than this is an interrupted write (a write lasts milliseconds); a younger one may be
another process's write in flight, so it is left alone."""


class ConfigRunStore:
    """Finished runs as JSON files under `<folder>/<config hash[:16]>/`, each written atomically."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def config_folder(self, config: CollectionConfig) -> Path:
        """The sub-folder of `config`'s runs."""
        return self.folder / config.config_hash[:16]

    def write_payload(self, config: CollectionConfig, path: Path, payload: dict) -> Path:
        """Write `payload` to `path` atomically, with the config described beside it on its first run."""
        path.parent.mkdir(parents=True, exist_ok=True)
        described = path.parent / "config.json"
        if not described.is_file():
            write_json_atomic(described, {"config_hash": config.config_hash, "config": config.to_dict()})
        write_json_atomic(path, payload)
        return path

    def clean_temp(self, older_than_s: float = ABANDONED_AFTER_S) -> list[Path]:
        """Remove the temporary files interrupted writes left behind (those older than `older_than_s`)."""
        now = time.time()
        removed = []
        for path in self.folder.glob(f"*/{TEMP_PREFIX}*"):
            try:
                if now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:  # its writer renamed it meanwhile
                continue
        return removed
