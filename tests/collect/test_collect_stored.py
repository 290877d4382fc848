"""lib.collect.stored: a collection folder read through one handle, without importing torch."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from collect_helpers import assert_same_dynamics, smoke_config

from lib.collect import StorageError, StoredCollection, load_dynamics
from lib.collect.folder import collection_lock

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


def test_a_held_lock_is_refused_or_waited_for(tmp_path):
    out = tmp_path / "out"
    released = threading.Event()
    with collection_lock(out):
        with pytest.raises(StorageError, match=r"out is being written by another collection process"):
            with collection_lock(out):
                pass
        threading.Timer(0.3, released.set).start()
        entered = []

        def waiter():
            with collection_lock(out, wait=True):
                entered.append(released.is_set())

        thread = threading.Thread(target=waiter)
        thread.start()
        released.wait()
    thread.join(timeout=30)
    assert entered == [True]  # it entered, and only after the first holder had let go


def test_ensure_collected_waits_for_another_writer_and_keeps_its_runs(tmp_path, reference_collection):
    """Two chapters collecting the same dynamics side by side: the second waits for the first's lock, then finds
    the missing run written by it and trains nothing."""
    folder = tmp_path / "smoke_sst2"
    shutil.copytree(reference_collection, folder)
    last = sorted((folder / "runs").iterdir())[-1]
    aside = tmp_path / last.name
    last.rename(aside)
    stored = StoredCollection(folder)
    assert stored.finished_runs_of(smoke_config()) == 3

    def other_writer(locked: threading.Event):
        with collection_lock(folder):
            locked.set()
            time.sleep(0.5)
            aside.rename(last)  # the other process finishes the run

    locked = threading.Event()
    thread = threading.Thread(target=other_writer, args=(locked,))
    thread.start()
    locked.wait()
    stored.ensure_collected(smoke_config(), collect_missing=True, how="unused")
    thread.join()
    assert stored.finished_runs_of(smoke_config()) == 4
    assert_same_dynamics(stored.dynamics("loss"), load_dynamics(reference_collection))
