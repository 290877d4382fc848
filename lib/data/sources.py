"""Where each task's "train" and "test" source splits live, and how raw rows become template-ready Records."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .counts import check_count
from .errors import HINT, DataError
from .example import SECOND_FILE_OFFSET
from .readers import WebNLGEntry, read_json_files, read_jsonl, read_parallel, read_tsv, read_webnlg_xml
from .registry import TASKS, check_split, get_task
from .text import detokenize_ptb, source_key, squash, truncate_words

WEBNLG_TEST_FILE = "webnlg/en/test/rdf-to-text-generation-test-data-with-refs-en.xml"
CNN_DIR = "cnn_dailymail/frank_cnndm_test"
CNN_TEST_STORIES = 50  # of the 250 FRANK stories; the other 200 form the train source split
BOOLQ_TEST_MODULUS = 3  # a BoolQ row is a test row when sha256(question) mod 3 == 0


@dataclass(frozen=True)
class Record:
    """A parsed source row: template fields, class index or references, and a content key for disjointness."""

    row: int  # row index in the task's deterministic file ordering, file offset included; id = make_id(index, row)
    fields: dict[str, str] = field(hash=False)
    label: int | None
    references: tuple[str, ...]
    key: str


# --------------------------------------------------------------------------- file lists


def _require(task: str, root: Path, rel: str) -> Path:
    """root/rel if it exists, else DataError naming the missing data directory or file."""
    if not root.is_dir():
        raise DataError(f"{task}: data directory not found: {root} {HINT}")
    path = root / rel
    if not path.is_file():
        raise DataError(f"{task}: data file not found: {path} {HINT}")
    return path


def _require_glob(task: str, root: Path, folder: str, pattern: str) -> list[Path]:
    """The files under root/folder matching `pattern`, sorted by relative path; DataError when there are none."""
    if not root.is_dir():
        raise DataError(f"{task}: data directory not found: {root} {HINT}")
    base = root / folder
    files = sorted(base.glob(pattern), key=lambda p: p.relative_to(base).as_posix()) if base.is_dir() else []
    if not files:
        raise DataError(f"{task}: no data files matching {base / pattern} {HINT}")
    return files


def source_files(task: str, split: str, root: Path) -> list[Path]:
    """The files that make up `task`'s source `split` under the data folder `root` (checked to exist)."""
    get_task(task)
    check_split(task, split)
    train = split == "train"
    if task == "sst2":
        return [_require(task, root, "sst2/train.tsv" if train else "sst2/dev.tsv")]
    if task == "rte":
        return [_require(task, root, "rte/train.tsv" if train else "rte/dev.tsv")]
    if task == "boolq":
        return [_require(task, root, "boolq/dev.jsonl")]
    if task == "webnlg":
        if train:
            return _require_glob(task, root, "webnlg/en/train", "*triples/*.xml")
        return [_require(task, root, WEBNLG_TEST_FILE)]
    if task == "wmt16_de_en":
        year = "2015" if train else "2016"
        return [_require(task, root, f"wmt16_de_en/newstest{year}.{lang}") for lang in ("de", "en")]
    if task == "cnn_dailymail":
        return _require_glob(task, root, CNN_DIR, "*.json")
    raise AssertionError(f"no source files defined for registered task {task!r}")


# --------------------------------------------------------------------------- raw rows -> Records


def _hash_int(text: str) -> int:
    """A stable integer hash of `text` (sha256), independent of PYTHONHASHSEED."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def sst2_records(rows: list[tuple[str, int]], offset: int) -> list[Record]:
    """SST-2 (sentence, label) rows; the sentence's PTB spacing is undone lightly."""
    out = []
    for i, (sentence, label) in enumerate(rows):
        text = detokenize_ptb(sentence)
        out.append(Record(offset + i, {"sentence": text}, label, (), source_key(text)))
    return out


def rte_records(rows: list[tuple[str, str, int]], offset: int) -> list[Record]:
    """RTE (premise, hypothesis, label) rows; label 0 entailment, 1 not_entailment."""
    out = []
    for i, (premise, hypothesis, label) in enumerate(rows):
        p, h = squash(premise), squash(hypothesis)
        out.append(Record(offset + i, {"premise": p, "hypothesis": h}, label, (), source_key(p, h)))
    return out


def boolq_records(rows: list[tuple[str, str, int]], offset: int, max_words: int | None) -> list[Record]:
    """BoolQ (question, passage, label) rows; the passage is cut to `max_words`, the question gets a '?'."""
    out = []
    for i, (question, passage, label) in enumerate(rows):
        q = squash(question)
        q = q[:1].upper() + q[1:]
        if not q.endswith("?"):
            q += "?"
        fields = {"question": q, "passage": truncate_words(squash(passage), max_words)}
        out.append(Record(offset + i, fields, label, (), source_key(question, passage)))
    return out


def webnlg_records(entries: list[WebNLGEntry], offset: int) -> list[Record]:
    """WebNLG entries: "subject | predicate | object" triples (_ -> space) joined by '; ', <lex> texts as refs."""
    out = []
    for i, entry in enumerate(entries):
        triples = "; ".join(squash(t.replace("_", " ")) for t in entry.triples)
        refs = tuple(r for r in (squash(x) for x in entry.lexes) if r)
        if refs and triples:
            out.append(Record(offset + i, {"triples": triples}, None, refs, source_key(triples)))
    return out


def wmt_records(pairs: list[tuple[str, str]], offset: int) -> list[Record]:
    """WMT (German, English) pairs; pairs with an empty side are skipped (their row numbers stay reserved)."""
    out = []
    for i, (de, en) in enumerate(pairs):
        de, en = squash(de), squash(en)
        if de and en:
            out.append(Record(offset + i, {"de": de}, None, (en,), source_key(de)))
    return out


def cnn_records(
    stories: list[tuple[str, str]], offset: int, max_source: int | None, max_target: int | None
) -> list[Record]:
    """CNN/DM (article, reference) stories; article cut to `max_source` words, reference detokenised and cut."""
    out = []
    for i, (article, reference) in enumerate(stories):
        ref = truncate_words(detokenize_ptb(reference), max_target, marker="")
        art = squash(article)
        if ref and art:
            fields = {"article": truncate_words(art, max_source)}
            out.append(Record(offset + i, fields, None, (ref,), source_key(art)))
    return out


def _label(task: str, path: Path, value: str, mapping: dict[str, int]) -> int:
    """mapping[value], or DataError naming the unexpected label."""
    try:
        return mapping[value]
    except KeyError:
        raise DataError(f"{task}: unexpected label {value!r} in {path}; expected one of {sorted(mapping)}") from None


def read_source(task: str, split: str, files: list[Path]) -> list[Record]:
    """Parse the files of `task`'s source `split` (as listed by source_files) into Records."""
    spec = TASKS[task]
    offset = 0 if split == "train" else SECOND_FILE_OFFSET
    if task == "sst2":
        path = files[0]
        rows = read_tsv(task, path, ("sentence", "label"))
        check_count(task, path, "sst2/train.tsv" if split == "train" else "sst2/dev.tsv", len(rows))
        return sst2_records([(s, _label(task, path, y, {"0": 0, "1": 1})) for s, y in rows], offset)
    if task == "rte":
        path = files[0]
        rows = read_tsv(task, path, ("index", "sentence1", "sentence2", "label"))
        check_count(task, path, "rte/train.tsv" if split == "train" else "rte/dev.tsv", len(rows))
        labels = {"entailment": 0, "not_entailment": 1}
        return rte_records([(p, h, _label(task, path, y, labels)) for _, p, h, y in rows], offset)
    if task == "boolq":
        path = files[0]
        objs = read_jsonl(task, path, ("question", "passage", "answer"))
        check_count(task, path, "boolq/dev.jsonl", len(objs))
        rows = []
        for obj in objs:
            if not isinstance(obj["answer"], bool):
                raise DataError(f"{task}: 'answer' must be true/false in {path}, found {obj['answer']!r}")
            rows.append((str(obj["question"]), str(obj["passage"]), int(obj["answer"])))
        records = boolq_records(rows, 0, spec.max_source_words)
        in_test = [_hash_int(squash(q).lower()) % BOOLQ_TEST_MODULUS == 0 for q, _, _ in rows]
        return [r for r, t in zip(records, in_test) if t == (split == "test")]
    if task == "webnlg":
        entries = read_webnlg_xml(task, files)
        if split == "train":
            check_count(task, files[0].parents[1] / "*triples/*.xml", "webnlg/en/train/*triples/*.xml", len(entries))
        else:
            check_count(task, files[0], WEBNLG_TEST_FILE, len(entries))
        return webnlg_records(entries, offset)
    if task == "wmt16_de_en":
        pairs = read_parallel(task, files[0], files[1])
        for path in files:
            check_count(task, path, f"wmt16_de_en/{path.name}", len(pairs))
        return wmt_records(pairs, offset)
    if task == "cnn_dailymail":
        objs = read_json_files(task, files, ("article", "bart_reference"))
        check_count(task, files[0].parent / "*.json", f"{CNN_DIR}/*.json", len(objs))
        stories = [(str(o["article"]), str(o["bart_reference"])) for o in objs]
        records = cnn_records(stories, 0, spec.max_source_words, spec.max_target_words)
        ranked = sorted(range(len(files)), key=lambda i: hashlib.sha256(files[i].stem.encode()).hexdigest())
        test_rows = set(ranked[:CNN_TEST_STORIES])
        return [r for r in records if (r.row in test_rows) == (split == "test")]
    raise AssertionError(f"no reader defined for registered task {task!r}")
