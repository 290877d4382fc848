"""Every error path raises DataError (a ValueError) naming the task, the path and what was expected."""
from __future__ import annotations

import importlib.util
import json
import os

import pytest

from lib.data import DataError, get_task, load_examples


def _raises(task, root, *fragments, split="train"):
    """load_examples(task, split) under `root` raises DataError whose message holds task and every fragment."""
    with pytest.raises(DataError) as err:
        load_examples(task, split, data_dir=root)
    msg = str(err.value)
    assert isinstance(err.value, ValueError)
    assert task in msg, msg
    for fragment in fragments:
        assert str(fragment) in msg, msg
    return err.value


def test_unknown_task():
    for call in (lambda: get_task("sst3"), lambda: load_examples("sst3")):
        with pytest.raises(DataError) as err:
            call()
        assert "sst3" in str(err.value) and "sst2" in str(err.value) and "cnn_dailymail" in str(err.value)


def test_unknown_split_style_template(real_dir):
    with pytest.raises(DataError, match=r"rte.*'validation'"):
        load_examples("rte", "validation")
    with pytest.raises(DataError, match=r"rte.*'chat'"):
        load_examples("rte", style="chat")
    with pytest.raises(DataError, match=r"rte.*template"):
        load_examples("rte", style="flan", template=99)


def test_missing_data_directory(tmp_path):
    missing = tmp_path / "nowhere"
    err = _raises("sst2", missing, "data directory not found", missing, "GPTFLUENCE_DATA_DIR")
    assert err.__cause__ is None  # no chained stack trace


def test_missing_file(tmp_path, build):
    build.sst2(tmp_path, [("x .", 1)])
    _raises("rte", tmp_path, "data file not found", tmp_path / "rte" / "train.tsv")
    _raises("wmt16_de_en", tmp_path, tmp_path / "wmt16_de_en" / "newstest2016.de", split="test")
    _raises("webnlg", tmp_path, tmp_path / "webnlg" / "en" / "train")
    (tmp_path / "sst2" / "dev.tsv").unlink()
    _raises("sst2", tmp_path, tmp_path / "sst2" / "dev.tsv", split="test")


def test_wrong_tsv_header(tmp_path, build):
    build.sst2(tmp_path, [("x .", 1)], header="text\tlabel")
    path = tmp_path / "sst2" / "train.tsv"
    _raises("sst2", tmp_path, "expected header", "'sentence\\tlabel'", "'text\\tlabel'", path)


def test_bad_tsv_rows_and_labels(tmp_path, build):
    build.sst2(tmp_path, [("fine .", 1), ("odd .", 2)])
    _raises("sst2", tmp_path, "unexpected label", "'2'", tmp_path / "sst2" / "train.tsv")
    (tmp_path / "rte").mkdir()
    (tmp_path / "rte" / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tonly two\tfields\n")
    _raises("rte", tmp_path, "line 2", "3 tab-separated fields", tmp_path / "rte" / "train.tsv")


def test_bad_json_line(tmp_path, build):
    build.boolq(tmp_path, [build.boolq_line("is it", True), '{"question": "broken"', build.boolq_line("is x", False)])
    err = _raises("boolq", tmp_path, "bad JSON on line 2", tmp_path / "boolq" / "dev.jsonl")
    assert err.__cause__ is None and err.__suppress_context__


def test_json_line_missing_keys_and_bad_answer(tmp_path, build):
    build.boolq(tmp_path, [json.dumps({"question": "q", "passage": "p"})])
    _raises("boolq", tmp_path, "line 1", "answer", tmp_path / "boolq" / "dev.jsonl")
    build.boolq(tmp_path, [json.dumps({"question": "q", "passage": "p", "answer": "yes"})])
    _raises("boolq", tmp_path, "true/false", tmp_path / "boolq" / "dev.jsonl")


def test_misaligned_parallel_files(tmp_path):
    folder = tmp_path / "wmt16_de_en"
    folder.mkdir()
    (folder / "newstest2015.de").write_text("eins\nzwei\n", encoding="utf-8")
    (folder / "newstest2015.en").write_text("one\n", encoding="utf-8")
    _raises("wmt16_de_en", tmp_path, "2 lines", "has 1", folder / "newstest2015.de")


def test_malformed_xml_and_story_json(tmp_path):
    bad_xml = tmp_path / "webnlg" / "en" / "test" / "rdf-to-text-generation-test-data-with-refs-en.xml"
    bad_xml.parent.mkdir(parents=True)
    bad_xml.write_text("<benchmark><entries><entry>", encoding="utf-8")
    _raises("webnlg", tmp_path, "malformed XML", bad_xml, split="test")
    story = tmp_path / "cnn_dailymail" / "frank_cnndm_test" / "abc.json"
    story.parent.mkdir(parents=True)
    story.write_text('{"article": "text"', encoding="utf-8")
    _raises("cnn_dailymail", tmp_path, "bad JSON", story)
    story.write_text('{"article": "text"}', encoding="utf-8")
    _raises("cnn_dailymail", tmp_path, "bart_reference", story)


def test_env_var_is_honored(tmp_path, monkeypatch, build, fresh_cache):
    build.sst2(tmp_path, [("a truly great film .", 1), ("it 's awful .", 0)])
    monkeypatch.setenv("GPTFLUENCE_DATA_DIR", str(tmp_path))
    examples = load_examples("sst2")
    assert [e.prompt for e in examples] == [
        "Review: a truly great film.\nSentiment:",
        "Review: it's awful.\nSentiment:",
    ]
    assert [e.target for e in examples] == [" positive", " negative"]
    missing = tmp_path / "elsewhere"
    monkeypatch.setenv("GPTFLUENCE_DATA_DIR", str(missing))
    _raises("sst2", None, missing)
    # an explicit data_dir wins over the environment variable
    assert len(load_examples("sst2", data_dir=tmp_path)) == 2


def test_edited_file_is_reread(tmp_path, build, fresh_cache):
    build.sst2(tmp_path, [("one .", 1)])
    assert len(load_examples("sst2", data_dir=tmp_path)) == 1
    path = build.sst2(tmp_path, [("one .", 1), ("two .", 0)]) / "sst2" / "train.tsv"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert len(load_examples("sst2", data_dir=tmp_path)) == 2


@pytest.mark.skipif(importlib.util.find_spec("datasets") is not None, reason="could download")
def test_hub_fallback_without_datasets(tmp_path, monkeypatch):
    monkeypatch.setenv("GPTFLUENCE_ALLOW_HUB", "1")
    with pytest.raises(DataError, match=r"sst2.*`datasets` is not installed"):
        load_examples("sst2", data_dir=tmp_path / "missing")
