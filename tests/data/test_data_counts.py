"""A known task file truncated or missing a file is refused with its path, expected and found counts."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lib.data import TASK_NAMES, DataError, load_records
from lib.data.counts import KNOWN_COUNTS, OTHER_DATA_ENV
from lib.data.sources import source_files


def _mirror(real: Path, root: Path, folder: str) -> Path:
    """root/folder as a tree of symlinks to real/folder (so single files can be replaced or left out cheaply)."""
    for path in sorted((real / folder).rglob("*")):
        if path.is_file():
            link = root / path.relative_to(real)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    return root


def _truncate(path: Path, keep_lines: int) -> None:
    """Replace the symlink `path` with a copy of its first `keep_lines` lines (a cut at a line boundary)."""
    lines = path.read_bytes().split(b"\n")[:keep_lines]
    path.unlink()
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_every_known_source_file_has_a_known_count(real_dir):
    known = set(KNOWN_COUNTS)
    for task in TASK_NAMES:
        for split in ("train", "test"):
            for path in source_files(task, split, real_dir):
                rel = path.relative_to(real_dir).as_posix()
                assert rel in known or any(Path(rel).match(k) for k in known if "*" in k), rel


@pytest.mark.parametrize("task, split", [(t, s) for t in TASK_NAMES for s in ("train", "test")])
def test_the_shared_data_has_the_known_counts(real_dir, task, split, monkeypatch):
    monkeypatch.delenv(OTHER_DATA_ENV, raising=False)
    assert load_records(task, split, data_dir=real_dir)


def test_sst2_train_cut_at_a_line_boundary_is_refused(real_dir, tmp_path, fresh_cache, monkeypatch):
    monkeypatch.delenv(OTHER_DATA_ENV, raising=False)
    root = _mirror(real_dir, tmp_path, "sst2")
    path = root / "sst2" / "train.tsv"
    _truncate(path, 30_001)  # header + 30,000 rows
    with pytest.raises(DataError) as err:
        load_records("sst2", "train", data_dir=root)
    assert str(err.value).startswith(f"sst2: {path} has 30,000 data rows, expected 67,349")
    assert OTHER_DATA_ENV in str(err.value) and err.value.__cause__ is None
    assert len(load_records("sst2", "test", data_dir=root)) == 872  # the untouched file still loads
    monkeypatch.setenv(OTHER_DATA_ENV, "1")
    assert len(load_records("sst2", "train", data_dir=root)) == 30_000  # the explicit opt-out


@pytest.mark.parametrize("task, split, rel, keep, message", [
    ("rte", "test", "rte/dev.tsv", 201, "has 200 data rows, expected 277"),
    ("boolq", "train", "boolq/dev.jsonl", 3_000, "has 3,000 JSON lines, expected 3,270"),
    ("boolq", "test", "boolq/dev.jsonl", 3_269, "has 3,269 JSON lines, expected 3,270"),
])
def test_truncated_single_files_are_refused(real_dir, tmp_path, fresh_cache, monkeypatch, task, split, rel, keep,
                                            message):
    monkeypatch.delenv(OTHER_DATA_ENV, raising=False)
    root = _mirror(real_dir, tmp_path, task)
    _truncate(root / rel, keep)
    with pytest.raises(DataError, match=f"{task}: {root / rel} {message}"):
        load_records(task, split, data_dir=root)


def test_both_wmt_files_cut_at_the_same_line_are_refused(real_dir, tmp_path, fresh_cache, monkeypatch):
    monkeypatch.delenv(OTHER_DATA_ENV, raising=False)
    root = _mirror(real_dir, tmp_path, "wmt16_de_en")
    for lang in ("de", "en"):
        _truncate(root / "wmt16_de_en" / f"newstest2016.{lang}", 2_000)
    with pytest.raises(DataError, match="newstest2016.de has 2,000 lines, expected 2,999"):
        load_records("wmt16_de_en", "test", data_dir=root)


@pytest.mark.parametrize("task, split, folder, message", [
    ("webnlg", "train", "webnlg/en/train", r"webnlg/en/train/\*triples/\*.xml has [\d,]+ <entry> elements, expected 13,211"),
    ("cnn_dailymail", "train", "cnn_dailymail/frank_cnndm_test", r"frank_cnndm_test/\*.json has 249 story files, expected 250"),
])
def test_a_missing_file_of_a_multi_file_split_is_refused(real_dir, tmp_path, fresh_cache, monkeypatch, task, split,
                                                         folder, message):
    monkeypatch.delenv(OTHER_DATA_ENV, raising=False)
    root = _mirror(real_dir, tmp_path, folder)
    victim = sorted(p for p in (root / folder).rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))[-1]
    os.unlink(victim)
    with pytest.raises(DataError, match=message):
        load_records(task, split, data_dir=root)
