"""lib.collect.stored: a collection folder read through one handle, without importing torch."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from collect_helpers import assert_same_dynamics, smoke_config

from lib.collect import StoredCollection, load_dynamics

REPO = Path(__file__).resolve().parents[2]


def test_reading_a_collection_imports_no_torch(reference_collection):
    code = ("import sys; from lib.collect import StoredCollection; "
            f"StoredCollection({str(reference_collection)!r}).dynamics('loss'); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_reading_a_committed_collection_imports_no_torch():
    """A committed default collection read through the public handle: every metric's dynamics, the timings,
    examples and runs (run files verified), in a fresh interpreter that never imports torch."""
    folder = REPO / "data" / "dynamics" / "default" / "sst2"
    assert (folder / "collection.json").is_file()
    code = (f"import sys; from lib.collect import StoredCollection; c = StoredCollection({str(folder)!r}); "
            "[c.dynamics(m, require_complete=True) for m in c.metrics]; c.timings(); c.examples(); c.runs(); "
            "print(len(c.run_indices()), sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    runs, torch_modules = out.stdout.strip().split(" ", 1)
    assert int(runs) > 0 and torch_modules == "[]"


def test_the_handle_reads_what_the_collector_wrote(reference_collection):
    stored = StoredCollection(reference_collection)
    assert stored.metrics == ["loss"] and stored.run_indices() == [0, 1, 2, 3]
    assert_same_dynamics(stored.dynamics("loss"), load_dynamics(reference_collection))
    timings = stored.timings()
    assert timings.index.tolist() == [0, 1, 2, 3] and timings["gradients"].tolist() == [False, False, False, True]
    assert (timings["wall_seconds"] > 0).all()
    examples = stored.examples()
    assert sorted(examples["role"].unique()) == ["pool", "test"] and len(examples) == 16 + 8
    assert stored.run_meta(3)["split"] == "test"
    runs = stored.runs()
    np.testing.assert_array_equal(runs[1].curriculum, stored.dynamics().curricula[1])


def test_ensure_collected_says_how_when_collecting_is_not_allowed(tmp_path, reference_collection):
    config = smoke_config()
    StoredCollection(reference_collection).ensure_collected(config, collect_missing=False, how="unused")
    empty = StoredCollection(tmp_path / "empty")
    assert empty.finished_runs_of(config) == 0
    with pytest.raises(FileNotFoundError, match="0 of 4 runs.*collect it yourself"):
        empty.ensure_collected(config, collect_missing=False, how="collect it yourself")
