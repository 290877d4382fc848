"""Shared fixture of the collector tests: one uninterrupted reference collection of the smoke config."""
from __future__ import annotations

from pathlib import Path

import pytest
from collect_helpers import smoke_config

from lib.collect import collect


@pytest.fixture(scope="session")
def reference_collection(tmp_path_factory) -> Path:
    """An uninterrupted local collection of fixtures/configs/smoke_sst2.toml (shared by several tests; never modified)."""
    out = tmp_path_factory.mktemp("reference") / "smoke_sst2"
    collect(smoke_config(), out, progress=False)
    return out
