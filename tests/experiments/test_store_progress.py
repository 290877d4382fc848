"""How many of a collection's runs are stored, and the sentence a chapter shows for an incomplete one."""
from lib.experiments import store
from lib.experiments.store import Progress, collection_config, progress, skipped_sentence


def test_an_empty_folder_of_a_committed_scale_is_incomplete_and_says_its_planned_runs(tmp_path, monkeypatch):
    monkeypatch.delenv(store.COLLECT_ENV, raising=False)
    monkeypatch.setattr(store, "dynamics_folder", lambda scale, name: tmp_path / name)
    planned = collection_config("paper_size", "webnlg").runs.total
    empty = progress("paper_size", "webnlg")
    assert (empty.finished, empty.planned, empty.complete) == (0, planned, False)
    assert empty.runs_text == f"0 of {planned} runs collected"


def test_a_scale_that_collects_on_first_use_counts_as_complete(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "dynamics_folder", lambda scale, name: tmp_path / name)
    assert progress("smoke", "webnlg").complete  # smoke collects the missing runs when a chapter reads them
    monkeypatch.setenv(store.COLLECT_ENV, "1")
    assert progress("paper_size", "webnlg").complete


def test_a_committed_complete_collection_is_complete():
    sst2 = progress("full_fine_tuning", "sst2")
    assert sst2.complete and sst2.finished == sst2.planned == collection_config("full_fine_tuning", "sst2").runs.total


def test_the_skipped_sentence_names_each_collection_with_its_runs():
    missing = [Progress("paper_size", "webnlg", 3, 24), Progress("paper_size", "mixture", 0, 24)]
    text = skipped_sentence(missing, "the encoder ablation")
    assert text.startswith("Left out at this scale, as its collections are incomplete: the encoder ablation")
    assert "webnlg: 3 of 24 runs collected; mixture: 0 of 24 runs collected" in text
    assert skipped_sentence([], "anything") == ""
    assert Progress("paper_size", "rte", 32, 32).complete and not Progress("paper_size", "rte", 31, 32).complete
