"""Run files are verified against their recorded sha256 on every load (cached per unchanged file), corrupt
headers and examples are named, and a resume sets a corrupt run aside and runs it again."""
from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from collect_helpers import assert_same_dynamics, smoke_config

from lib.collect import StorageError, collect, completed_runs, load_dynamics, load_runs
from lib.collect import folder as folder_module

GRADIENT_RUN = 3  # the smoke config's one gradient run: it has all four Parquet files


@pytest.fixture
def copy(reference_collection, tmp_path) -> Path:
    """A private copy of the reference collection, free to damage."""
    return Path(shutil.copytree(reference_collection, tmp_path / "copy"))


def _flip(path: Path, offset: int) -> bytes:
    """Invert one byte of `path` in place; returns the original bytes."""
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[offset] ^= 0xFF
    path.write_bytes(bytes(damaged))
    return original


@pytest.mark.parametrize("name", ["curriculum.parquet", "values.parquet", "gradients.parquet",
                                  "self_influence.parquet"])
def test_every_flipped_byte_is_a_storage_error_naming_the_file(copy, name):
    """A sample of the byte-flip experiment (benchmarks/byte_flips.py flips every byte): no flip loads."""
    path = copy / "runs" / f"run-{GRADIENT_RUN:04d}" / name
    size = path.stat().st_size
    for offset in sorted({*range(0, size, 29), *range(size - 8, size)}):  # the footer's last bytes included
        original = _flip(path, offset)
        with pytest.raises(StorageError) as err:
            load_dynamics(copy)
        assert str(path) in str(err.value) and "sha256" in str(err.value), (offset, str(err.value))
        path.write_bytes(original)
    load_dynamics(copy)  # restored: loads again


def test_hashes_are_checked_once_per_unchanged_file(copy, monkeypatch):
    hashed = []
    real = folder_module.sha256
    monkeypatch.setattr(folder_module, "sha256", lambda path: hashed.append(path.name) or real(path))
    load_dynamics(copy)
    files = sorted(p.name for p in (copy / "runs").rglob("*.parquet"))
    assert sorted(hashed) == files
    hashed.clear()
    load_runs(copy)
    assert hashed == []  # unchanged since verified: not hashed again
    values = copy / "runs" / "run-0001" / "values.parquet"
    values.write_bytes(values.read_bytes())  # rewritten (same bytes): verified again
    load_dynamics(copy)
    assert hashed == ["values.parquet"]


def test_unlisted_or_missing_run_files_are_refused(copy):
    run = copy / "runs" / "run-0001"
    shutil.copy(copy / "runs" / f"run-{GRADIENT_RUN:04d}" / "gradients.parquet", run / "gradients.parquet")
    with pytest.raises(StorageError, match=r"run-0001/gradients.parquet: not listed in run.json"):
        load_dynamics(copy)
    (run / "gradients.parquet").unlink()
    (run / "values.parquet").unlink()
    with pytest.raises(StorageError, match=r"run-0001/values.parquet: missing, although .*run.json lists it"):
        load_dynamics(copy)


def test_examples_parquet_is_checked_against_the_recorded_fingerprint(copy):
    path = copy / "examples.parquet"
    table = pq.read_table(path)
    texts = table.column("text").to_pylist()
    texts[0] = texts[0] + " (edited)"
    table = table.set_column(table.schema.get_field_index("text"), "text", [texts])
    pq.write_table(table, path)  # same config hash in its metadata, other text
    with pytest.raises(StorageError, match=r"examples.parquet: its rows differ from the fingerprint"):
        load_dynamics(copy)


@pytest.mark.parametrize("relative", ["collection.json", "runs/run-0002/run.json"])
def test_corrupt_json_files_are_named(copy, relative):
    path = copy / relative
    path.write_text(path.read_text()[:-40])
    with pytest.raises(StorageError, match=f"{relative}: not valid JSON"):
        load_dynamics(copy)


def test_without_verification_a_damaged_run_is_still_a_storage_error(copy):
    path = copy / "runs" / "run-0001" / "curriculum.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["lr"]), path)  # readable, wrong: no lr column
    with pytest.raises(StorageError, match=r"run-0001: inconsistent run files \(KeyError"):
        load_dynamics(copy, verify_files=False)


def test_resume_sets_a_corrupt_run_aside_and_runs_it_again(copy, reference_collection, caplog):
    _flip(copy / "runs" / "run-0002" / "values.parquet", 100)
    meta = copy / "runs" / "run-0000" / "run.json"
    meta.write_text(meta.read_text()[:50])
    caplog.set_level("WARNING", logger="lib.collect")
    collect(smoke_config(), copy, progress=False)
    assert completed_runs(copy) == [0, 1, 2, 3]
    assert_same_dynamics(load_dynamics(copy), load_dynamics(reference_collection))  # bitwise the same again
    aside = sorted(p.name for p in (copy / "runs").iterdir() if p.name.startswith("corrupt-"))
    assert [name[:len("corrupt-run-0000")] for name in aside] == ["corrupt-run-0000", "corrupt-run-0002"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "run 2 set aside" in messages and "values.parquet: sha256 differs" in messages
    assert "run 0 set aside" in messages and "run.json: not valid JSON" in messages
