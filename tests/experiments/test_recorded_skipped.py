"""The dynamics chapter leaves out a collection that is incomplete at its scale and says so."""
from lib.experiments import recorded
from lib.experiments.store import Progress, progress

CHAPTER_COLLECTIONS = ("sst2", "rte", "boolq", "webnlg", "wmt16_de_en", "mixture")
"""The collections the dynamics chapter reads (its notebook's parameter)."""


def test_an_incomplete_collection_is_left_out_and_named(monkeypatch):
    monkeypatch.setattr(recorded, "progress",
                        lambda scale, name, data_dir=None: Progress(scale, name, 2 if name == "rte" else 7, 7))
    result = recorded.run("smoke", ["sst2", "rte"])
    assert list(result.dynamics) == ["sst2"] and list(result.summary.index) == ["sst2"]
    assert [p.name for p in result.skipped] == ["rte"]
    assert "rte: 2 of 7 runs collected" in result.skipped_text
    assert recorded.facts(result)["n_collections"] == 1


def test_nothing_is_left_out_when_every_collection_is_complete(monkeypatch):
    monkeypatch.setattr(recorded, "progress", lambda scale, name, data_dir=None: Progress(scale, name, 7, 7))
    result = recorded.run("smoke", ["sst2", "rte"])
    assert list(result.dynamics) == ["sst2", "rte"] and result.skipped == [] and result.skipped_text == ""


def test_every_full_fine_tuning_collection_of_the_chapter_is_committed_complete():
    # The full fine-tuning collections are the default book's own or its cross-check (lib.scales.DEFAULT_READS):
    # either way it reads them whole; a paper-size one may still be incomplete and is left out (tests above).
    assert all(progress("full_fine_tuning", name).complete for name in CHAPTER_COLLECTIONS)
