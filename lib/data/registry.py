"""The six tasks: what kind each is, its label words, where its source splits come from and the length caps applied."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import DataError

TASK_NAMES: tuple[str, ...] = ("sst2", "rte", "boolq", "webnlg", "wmt16_de_en", "cnn_dailymail")
SPLITS: tuple[str, ...] = ("train", "test")


@dataclass(frozen=True)
class TaskSpec:
    """Static description of one task; `label_words[i]` is the target text of class index i."""

    name: str
    index: int  # position in TASK_NAMES; embedded in every example id
    kind: str  # "classification" | "generation"
    label_words: tuple[str, ...]
    description: str
    train_source: str  # which file(s) make the "train" source split (pool and unseen are drawn from it)
    test_source: str  # which file(s) make the "test" source split (test examples are drawn from it)
    max_source_words: int | None = None  # cap on the long input field (passage/article), in words; None = no cap
    max_target_words: int | None = None  # cap on a generation target, in words; None = no cap
    metrics: tuple[str, ...] = ("loss",)

    @property
    def is_classification(self) -> bool:
        """Whether targets are label words (accuracy is defined) rather than free text."""
        return self.kind == "classification"

    @property
    def num_labels(self) -> int:
        """Number of classes (0 for generation tasks)."""
        return len(self.label_words)


TASKS: dict[str, TaskSpec] = {
    "sst2": TaskSpec(
        name="sst2",
        index=0,
        kind="classification",
        label_words=(" negative", " positive"),
        description="GLUE SST-2 movie-review sentiment; label 0 negative, 1 positive; PTB spacing undone lightly.",
        train_source="sst2/train.tsv (67,349 rows)",
        test_source="sst2/dev.tsv (872 rows; GLUE test has no labels)",
    ),
    "rte": TaskSpec(
        name="rte",
        index=1,
        kind="classification",
        label_words=(" yes", " no"),
        description="GLUE RTE entailment; label 0 entailment -> ' yes', 1 not_entailment -> ' no' (the HF glue order).",
        train_source="rte/train.tsv (2,490 rows)",
        test_source="rte/dev.tsv (277 rows; GLUE test has no labels)",
    ),
    "boolq": TaskSpec(
        name="boolq",
        index=2,
        kind="classification",
        label_words=(" no", " yes"),
        description="BoolQ yes/no questions on a Wikipedia passage; label 0 false -> ' no', 1 true -> ' yes'.",
        train_source="boolq/dev.jsonl rows whose sha256(question) mod 3 != 0 (about 2/3; no train.jsonl here)",
        test_source="boolq/dev.jsonl rows whose sha256(question) mod 3 == 0 (about 1/3)",
        max_source_words=120,
    ),
    "webnlg": TaskSpec(
        name="webnlg",
        index=3,
        kind="generation",
        label_words=(),
        description="WebNLG 2020 (v3.0) English RDF-to-text; input the modified triples, target the first <lex>.",
        train_source="webnlg/en/train/*triples/*.xml (13,211 entries, files in sorted path order)",
        test_source="webnlg/en/test/rdf-to-text-generation-test-data-with-refs-en.xml (1,779 entries)",
        metrics=("loss", "bleu", "rougeL"),
    ),
    "wmt16_de_en": TaskSpec(
        name="wmt16_de_en",
        index=4,
        kind="generation",
        label_words=(),
        description="WMT16 German-to-English news translation, one reference per sentence.",
        train_source="wmt16_de_en/newstest2015.{de,en} (2,169 pairs)",
        test_source="wmt16_de_en/newstest2016.{de,en} (2,999 pairs)",
        metrics=("loss", "bleu", "rougeL"),
    ),
    "cnn_dailymail": TaskSpec(
        name="cnn_dailymail",
        index=5,
        kind="generation",
        label_words=(),
        description="CNN/DailyMail summarisation (250 FRANK stories); target the gold highlights, PTB spacing undone.",
        train_source="cnn_dailymail/frank_cnndm_test/*.json: the 200 stories not in the test split",
        test_source="cnn_dailymail/frank_cnndm_test/*.json: the 50 stories whose sha256(file stem) sorts first",
        max_source_words=150,
        max_target_words=64,
        metrics=("loss", "rougeL"),
    ),
}


def get_task(name: str) -> TaskSpec:
    """The TaskSpec called `name`; an unknown name raises DataError listing the valid ones."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown task {name!r}; valid tasks: {', '.join(TASK_NAMES)}") from None


def check_split(task: str, split: str) -> str:
    """`split` if it is a source split name, else DataError naming the task and the valid splits."""
    if split not in SPLITS:
        raise DataError(f"{task}: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    return split
