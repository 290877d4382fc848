"""Optional fallback to Hugging Face `datasets` when a local file is missing and GPTFLUENCE_ALLOW_HUB=1."""
from __future__ import annotations

from functools import lru_cache

from .errors import DataError
from .example import SECOND_FILE_OFFSET
from .readers import WebNLGEntry
from .registry import TASKS
from .sources import (
    Record,
    boolq_records,
    cnn_records,
    rte_records,
    sst2_records,
    webnlg_records,
    wmt_records,
)

# (dataset path, config, split) per task and source split; GLUE/SuperGLUE test splits unlabeled: "test" = validation.
HUB_SOURCES: dict[str, dict[str, tuple[str, str | None, str]]] = {
    "sst2": {"train": ("glue", "sst2", "train"), "test": ("glue", "sst2", "validation")},
    "rte": {"train": ("glue", "rte", "train"), "test": ("glue", "rte", "validation")},
    "boolq": {"train": ("super_glue", "boolq", "train"), "test": ("super_glue", "boolq", "validation")},
    "webnlg": {"train": ("web_nlg", "release_v3.0_en", "train"), "test": ("web_nlg", "release_v3.0_en", "test")},
    "wmt16_de_en": {"train": ("wmt16", "de-en", "validation"), "test": ("wmt16", "de-en", "test")},
    "cnn_dailymail": {"train": ("cnn_dailymail", "3.0.0", "validation"), "test": ("cnn_dailymail", "3.0.0", "test")},
}


@lru_cache(maxsize=16)
def hub_records(task: str, split: str) -> tuple[Record, ...]:
    """Records of a source split downloaded with `datasets`, mapped exactly like the local files."""
    try:
        import datasets
    except ImportError:
        msg = f"{task}: local data missing and GPTFLUENCE_ALLOW_HUB=1, but `datasets` is not installed"
        raise DataError(msg) from None
    name, config, hub_split = HUB_SOURCES[task][split]
    ds = datasets.load_dataset(name, config, split=hub_split)
    offset = 0 if split == "train" else SECOND_FILE_OFFSET
    spec = TASKS[task]
    if task == "sst2":
        return tuple(sst2_records([(r["sentence"], int(r["label"])) for r in ds], offset))
    if task == "rte":
        return tuple(rte_records([(r["sentence1"], r["sentence2"], int(r["label"])) for r in ds], offset))
    if task == "boolq":
        rows = [(r["question"], r["passage"], int(r["label"])) for r in ds]
        return tuple(boolq_records(rows, offset, spec.max_source_words))
    if task == "webnlg":
        entries = [
            WebNLGEntry(tuple(r["modified_triple_sets"]["mtriple_set"][0]), tuple(r["lex"]["text"]), r["category"])
            for r in ds
        ]
        return tuple(webnlg_records(entries, offset))
    if task == "wmt16_de_en":
        return tuple(wmt_records([(r["translation"]["de"], r["translation"]["en"]) for r in ds], offset))
    rows = [(r["article"], r["highlights"].replace("\n", " ")) for r in ds]
    return tuple(cnn_records(rows, offset, spec.max_source_words, spec.max_target_words))
