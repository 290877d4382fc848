"""Fixtures for the data tests: the real shared data folder and small hand-written data folders for error paths."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from lib import paths
from lib.data import clear_cache


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch):
    """Never let a test reach the Hugging Face fallback (nothing may be downloaded)."""
    monkeypatch.delenv("GPTFLUENCE_ALLOW_HUB", raising=False)


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The shared task-data folder the project ships beside the repo (or $GPTFLUENCE_DATA_DIR)."""
    root = paths.data_dir()
    assert root.is_dir(), f"shared data folder missing: {root}"
    return root


def write_sst2(
    root: Path, train_rows, dev_rows=(("a fine film .", 1), ("a dull film .", 0)), header="sentence\tlabel"
) -> Path:
    """A minimal sst2/ folder with the given (sentence, label) rows; returns the data root."""
    folder = root / "sst2"
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.tsv", train_rows), ("dev.tsv", dev_rows)):
        lines = [header] + [f"{s} \t{y}" for s, y in rows]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_boolq(root: Path, lines: list[str]) -> Path:
    """A boolq/dev.jsonl made of the given raw lines; returns the data root."""
    folder = root / "boolq"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dev.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def boolq_line(question: str, answer: bool, passage: str = "Some passage text.") -> str:
    """One valid BoolQ JSON line."""
    return json.dumps({"question": question, "title": "T", "answer": answer, "passage": passage})


@pytest.fixture
def build(monkeypatch):
    """Builders for small data folders: build.sst2(root, rows), build.boolq(root, lines), build.boolq_line(q, a).

    Their files are not the known copies, so the known-row-count check is switched off (GPTFLUENCE_ALLOW_OTHER_DATA).
    """
    monkeypatch.setenv("GPTFLUENCE_ALLOW_OTHER_DATA", "1")
    return SimpleNamespace(sst2=write_sst2, boolq=write_boolq, boolq_line=boolq_line)


@pytest.fixture
def fresh_cache():
    """Clear the in-process parse cache before and after a test that edits files."""
    clear_cache()
    yield
    clear_cache()
