from lib.experiments.chapters import cross_check_collections, cross_check_facts
from lib.experiments.store import committed
from lib.scales import SCALES, get_scale


def test_the_dynamics_chapter_compares_a_scale_with_the_other_regime_never_with_itself():
    for name in SCALES:
        folders = cross_check_collections(name, ["sst2", "rte"]).values()
        assert folders and all(not f.startswith(f"{get_scale(name).folder}/") for f in folders), name
    assert cross_check_collections("paper_size", ["sst2"]) == {"SST-2, full fine-tuning": "default/sst2"}
    assert cross_check_facts("paper_size")["compared_trains"].startswith("every weight")


def test_the_cross_check_collections_are_committed():
    for name in ("default", "paper_size"):
        for folder in cross_check_collections(name, ["sst2", "rte"]).values():
            assert len(committed(folder).run_indices()) > 0, folder
