"""One reader per raw file format (GLUE TSV, JSON lines, WebNLG XML, aligned text, JSON files): parse, validate."""
from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError


def _read_text(task: str, path: Path) -> str:
    """The whole file as UTF-8 text, with decoding problems reported as DataError."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{task}: {path} is not valid UTF-8 ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{task}: cannot read {path}: {err.strerror}") from None


def _lines(text: str) -> list[str]:
    """Lines split on "\n" only (str.splitlines would also split on U+2028 etc. inside sentences), "\r" stripped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_tsv(task: str, path: Path, header: tuple[str, ...]) -> list[list[str]]:
    """Data rows of a GLUE-style TSV whose first line must be `header`; read with QUOTE_NONE (RTE has stray quotes)."""
    lines = _lines(_read_text(task, path))
    rows = list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    expected = "\t".join(header)
    if not rows or tuple(rows[0]) != header:
        found = "\t".join(rows[0]) if rows else "an empty file"
        raise DataError(f"{task}: expected header {expected!r} in {path}, found {found!r}")
    out: list[list[str]] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataError(
                f"{task}: line {lineno} of {path} has {len(row)} tab-separated fields, "
                f"expected {len(header)} ({expected!r})"
            )
        out.append(row)
    return out


def read_jsonl(task: str, path: Path, keys: tuple[str, ...]) -> list[dict]:
    """One JSON object per non-blank line, each holding at least `keys`."""
    out: list[dict] = []
    for lineno, line in enumerate(_lines(_read_text(task, path)), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{task}: bad JSON on line {lineno} of {path}: {err.msg} (column {err.colno})") from None
        if not isinstance(obj, dict) or any(k not in obj for k in keys):
            raise DataError(f"{task}: line {lineno} of {path} is not a JSON object with keys {list(keys)}")
        out.append(obj)
    return out


def read_json_files(task: str, paths: list[Path], keys: tuple[str, ...]) -> list[dict]:
    """One JSON object per file (FRANK's CNN/DM stories), each holding at least `keys`, in the given file order."""
    out: list[dict] = []
    for path in paths:
        try:
            obj = json.loads(_read_text(task, path))
        except json.JSONDecodeError as err:
            raise DataError(f"{task}: bad JSON in {path}: {err.msg} (line {err.lineno}, column {err.colno})") from None
        if not isinstance(obj, dict) or any(k not in obj for k in keys):
            raise DataError(f"{task}: {path} is not a JSON object with keys {list(keys)}")
        out.append(obj)
    return out


def read_parallel(task: str, source: Path, target: Path) -> list[tuple[str, str]]:
    """Line-aligned (source, target) pairs from two plain-text files that must have the same number of lines."""
    src = _lines(_read_text(task, source))
    tgt = _lines(_read_text(task, target))
    if len(src) != len(tgt):
        raise DataError(
            f"{task}: {source} has {len(src)} lines but {target} has {len(tgt)}; expected line-aligned files"
        )
    return list(zip(src, tgt))


@dataclass(frozen=True)
class WebNLGEntry:
    """One WebNLG <entry>: its modified triples ("subject | predicate | object") and its <lex> verbalisations."""

    triples: tuple[str, ...]
    lexes: tuple[str, ...]
    category: str


def read_webnlg_xml(task: str, paths: list[Path]) -> list[WebNLGEntry]:
    """All <entry> elements of the WebNLG XML files, in file order then document order."""
    out: list[WebNLGEntry] = []
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as err:
            raise DataError(f"{task}: malformed XML in {path}: {err}") from None
        for entry in root.iter("entry"):
            mts = entry.find("modifiedtripleset")
            if mts is None:
                raise DataError(f"{task}: entry eid={entry.get('eid')!r} in {path} has no <modifiedtripleset>")
            triples = tuple((t.text or "").strip() for t in mts.findall("mtriple"))
            lexes = tuple((lex.text or "").strip() for lex in entry.findall("lex"))
            out.append(WebNLGEntry(triples=triples, lexes=lexes, category=entry.get("category", "")))
    return out
