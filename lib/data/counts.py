"""Row counts of the task files the registry knows, so a truncated or partial copy fails instead of drawing another pool."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError

OTHER_DATA_ENV = "GPTFLUENCE_ALLOW_OTHER_DATA"
"""Set to 1 to accept files whose counts differ from the known copies (your own, smaller or newer data)."""

KNOWN_COUNTS: dict[str, tuple[int, str]] = {
    # data-folder-relative file (or glob of a multi-file split) -> (count, what is counted); see PROVENANCE.md
    "sst2/train.tsv": (67_349, "data rows"),
    "sst2/dev.tsv": (872, "data rows"),
    "rte/train.tsv": (2_490, "data rows"),
    "rte/dev.tsv": (277, "data rows"),
    "boolq/dev.jsonl": (3_270, "JSON lines"),
    "wmt16_de_en/newstest2015.de": (2_169, "lines"),
    "wmt16_de_en/newstest2015.en": (2_169, "lines"),
    "wmt16_de_en/newstest2016.de": (2_999, "lines"),
    "wmt16_de_en/newstest2016.en": (2_999, "lines"),
    "webnlg/en/train/*triples/*.xml": (13_211, "<entry> elements"),
    "webnlg/en/test/rdf-to-text-generation-test-data-with-refs-en.xml": (1_779, "<entry> elements"),
    "cnn_dailymail/frank_cnndm_test/*.json": (250, "story files"),
}


def check_count(task: str, path: Path, key: str, found: int) -> None:
    """DataError naming `path`, the expected and the found count when `key`'s known count differs (unless opted out)."""
    expected, unit = KNOWN_COUNTS[key]
    if found != expected and os.environ.get(OTHER_DATA_ENV) != "1":
        raise DataError(f"{task}: {path} has {found:,} {unit}, expected {expected:,} (truncated or another version? "
                        f"set {OTHER_DATA_ENV}=1 to use it anyway)")
