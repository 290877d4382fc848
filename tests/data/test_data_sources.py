"""Real-file counts, label balance and first rows (numbers from shared/data/PROVENANCE.md), and Example invariants."""
from __future__ import annotations

import csv
from collections import Counter

import pytest

from lib.data import (
    FLAN,
    PLAIN,
    TASK_NAMES,
    TASKS,
    Example,
    get_task,
    load_examples,
    load_records,
    split_id,
    template_index,
)

# (task, split, examples, {label: count} or None), from PROVENANCE.md
COUNTS = [
    ("sst2", "train", 67_349, {0: 29_780, 1: 37_569}),
    ("sst2", "test", 872, {0: 428, 1: 444}),
    ("rte", "train", 2_490, {0: 1_249, 1: 1_241}),  # 0 = entailment
    ("rte", "test", 277, {0: 146, 1: 131}),
    ("webnlg", "train", 13_211, None),
    ("webnlg", "test", 1_779, None),
    ("wmt16_de_en", "train", 2_169, None),
    ("wmt16_de_en", "test", 2_999, None),
]


@pytest.mark.parametrize("task,split,n,labels", COUNTS)
def test_counts_and_labels(real_dir, task, split, n, labels):
    examples = load_examples(task, split)
    assert len(examples) == n
    if labels is not None:
        assert Counter(e.label for e in examples) == labels


def test_webnlg_reference_counts(real_dir):
    # 35,426 <lex> texts in train and 5,150 in test (PROVENANCE.md)
    assert sum(len(e.references) for e in load_examples("webnlg", "train")) == 35_426
    assert sum(len(e.references) for e in load_examples("webnlg", "test")) == 5_150


def test_boolq_self_made_split(real_dir):
    train, test = load_examples("boolq", "train"), load_examples("boolq", "test")
    both = train + test
    assert len(both) == 3_270
    assert Counter(e.label for e in both) == {1: 2_033, 0: 1_237}  # 1 = true -> " yes"
    assert not {e.id for e in train} & {e.id for e in test}
    assert 0.6 < len(train) / len(both) < 0.73  # about two thirds train
    questions = lambda xs: {e.prompt.split("\nQuestion: ")[1].split("\n")[0].lower() for e in xs}  # noqa: E731
    assert not questions(train) & questions(test)  # split by question: a repeated question stays on one side


def test_cnn_self_made_split(real_dir):
    train, test = load_examples("cnn_dailymail", "train"), load_examples("cnn_dailymail", "test")
    assert (len(train), len(test)) == (200, 50)
    assert len({e.id for e in train + test}) == 250
    assert all(e.prompt.startswith("Article: ") and e.prompt.endswith("\nSummary:") for e in train + test)


def test_first_rows_match_provenance(real_dir):
    sst = load_examples("sst2", "test")[0]
    assert "charming and often affecting journey" in sst.prompt and sst.target == " positive" and sst.label == 1
    rte = load_examples("rte", "train")[0]
    assert "No Weapons of Mass Destruction Found in Iraq Yet." in rte.prompt
    assert "Hypothesis: Weapons of Mass Destruction Found in Iraq." in rte.prompt
    assert (rte.label, rte.target) == (1, " no")  # not_entailment
    wmt = load_examples("wmt16_de_en", "test")[0]
    assert wmt.prompt == "German: Obama empfängt Netanyahu\nEnglish:" and wmt.target == " Obama receives Netanyahu"
    wmt15 = load_examples("wmt16_de_en", "train")[0]
    assert wmt15.target == " India and Japan prime ministers meet in Tokyo"
    boolq = {e.id: e for e in load_examples("boolq", "train") + load_examples("boolq", "test")}
    first = boolq[get_task("boolq").index * 10_000_000 + 0]  # line 1 of dev.jsonl
    assert "does ethanol take more energy make that produces" in first.prompt.lower()
    assert (first.label, first.target) == (0, " no")


def test_rte_rows_align_with_raw_file(real_dir):
    # an independent QUOTE_NONE read of the raw TSV: every row keeps its label at the same index
    with open(real_dir / "rte" / "dev.tsv", newline="", encoding="utf-8") as f:
        raw = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    examples = load_examples("rte", "test")
    assert len(raw) == len(examples)
    for (idx, _, hyp, label), ex in zip(raw, examples):
        assert ex.label == {"entailment": 0, "not_entailment": 1}[label]
        assert " ".join(hyp.split()) in ex.prompt


@pytest.mark.parametrize("style", ["plain", "flan"])
@pytest.mark.parametrize("task", TASK_NAMES)
def test_example_invariants(real_dir, task, style):
    spec = get_task(task)
    for split in ("train", "test"):
        examples = load_examples(task, split, style=style)
        assert examples and all(isinstance(e, Example) and e.task == task for e in examples)
        for e in examples[:3000]:
            assert e.target.startswith(" ") and not e.target.startswith("  ") and e.target.strip()
            assert e.prompt == e.prompt.strip() and e.prompt[-1] in ":?"
            assert not e.prompt.endswith(e.target.strip())  # the prompt stops right before the answer
            assert e.text == e.prompt + e.target
            assert split_id(e.id)[0] == spec.index == TASK_NAMES.index(task)
            if spec.kind == "classification":
                assert e.target == spec.label_words[e.label] and e.references == ()
            else:
                assert e.label is None and e.target == " " + e.references[0]


def test_ids_unique_across_all_tasks_and_splits(real_dir):
    ids = [e.id for t in TASK_NAMES for s in ("train", "test") for e in load_examples(t, s)]
    assert len(ids) == len(set(ids))


def test_ids_stable_across_calls_and_styles(real_dir, fresh_cache):
    first = [e.id for e in load_examples("rte", "train")]
    from lib.data import clear_cache

    clear_cache()
    assert [e.id for e in load_examples("rte", "train")] == first
    assert [e.id for e in load_examples("rte", "train", style="flan")] == first
    assert [e.id for e in load_examples("rte", "train", style="flan", template=2)] == first
    # ids are source row numbers: row i of train.tsv has id index*1e7 + i
    assert first == [get_task("rte").index * 10_000_000 + i for i in range(2_490)]


def test_flan_templates(real_dir):
    plain = load_examples("sst2", "test")
    flan = load_examples("sst2", "test", style="flan")
    assert Counter(template_index("sst2", "flan", e.id) for e in flan).keys() == {0, 1, 2}
    assert len({e.prompt.split("\n")[0] for e in flan[:30]}) > 3  # several templates in one split
    assert [e.target for e in flan] == [e.target for e in plain]  # same label words as plain
    forced = load_examples("sst2", "test", style="flan", template=2)
    assert all(e.prompt.startswith("Classify the sentiment") for e in forced)
    for task in TASK_NAMES:
        assert len(FLAN[task]) >= 3 and all(t != PLAIN[task] for t in FLAN[task])


def test_generation_caps_and_cleanup(real_dir):
    for e in load_examples("boolq", "train"):
        passage = e.prompt.split("\nQuestion: ")[0].removeprefix("Passage: ")
        assert len(passage.split()) <= TASKS["boolq"].max_source_words + 1  # + the "..." marker
    for e in load_examples("cnn_dailymail", "train"):
        article = e.prompt.removeprefix("Article: ").removesuffix("\nSummary:")
        assert len(article.split()) <= TASKS["cnn_dailymail"].max_source_words + 1
        assert len(e.target.split()) <= TASKS["cnn_dailymail"].max_target_words
        assert " 's " not in e.target  # PTB spacing undone
    webnlg = load_examples("webnlg", "train")
    assert not any("_" in e.prompt.removeprefix("Triples: ") for e in webnlg[:2000])
    assert sum(len(e.references) > 1 for e in webnlg) > 1000


def test_records_carry_keys(real_dir):
    recs = load_records("sst2", "test")
    assert len(recs) == 872 and all(r.key == r.key.lower() and r.key for r in recs)
