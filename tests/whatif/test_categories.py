"""WebNLG categories: read by the example's row from the task's XML files; the category a design drops."""
import pytest

from lib.data.example import SECOND_FILE_OFFSET, make_id
from lib.data.registry import get_task
from lib.data.sources import WEBNLG_TEST_FILE
from lib.whatif.categories import dropped_category, webnlg_categories

WEBNLG = get_task("webnlg").index


def _entry(category: str, eid: int) -> str:
    return (f'<entry category="{category}" eid="Id{eid}" shape="" shape_type="" size="1"><modifiedtripleset>'
            f"<mtriple>S{eid} | p | o</mtriple></modifiedtripleset><lex>Text {eid}.</lex></entry>")


def _write(path, categories):
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = "".join(_entry(c, i) for i, c in enumerate(categories))
    path.write_text(f"<benchmark><entries>{entries}</entries></benchmark>")


@pytest.fixture()
def data_dir(tmp_path):
    """Train files read in sorted path order (1triples/B before 2triples/A), and the test file."""
    _write(tmp_path / "webnlg/en/train/2triples/Airport.xml", ["Airport", "Airport"])
    _write(tmp_path / "webnlg/en/train/1triples/Building_allSolutions.xml", ["Building", "City", "Building"])
    _write(tmp_path / WEBNLG_TEST_FILE, ["Film", "Building"])
    return tmp_path


def test_an_ids_row_is_its_entrys_position_in_the_split(data_dir):
    ids = [make_id(WEBNLG, row) for row in (0, 1, 2, 3, 4, SECOND_FILE_OFFSET, SECOND_FILE_OFFSET + 1)]
    assert webnlg_categories(ids, data_dir) == dict(zip(ids, ["Building", "City", "Building", "Airport", "Airport",
                                                              "Film", "Building"]))


def test_ids_of_another_task_or_past_the_files_are_refused(data_dir):
    with pytest.raises(ValueError, match=f"id {make_id(0, 3)} is no WebNLG example"):
        webnlg_categories([make_id(0, 3)], data_dir)
    with pytest.raises(ValueError, match="hold 5 entries, not 6"):
        webnlg_categories([make_id(WEBNLG, 5)], data_dir)


def test_the_real_files_give_each_entry_the_category_its_file_is_named_after():
    """On the task data: a training entry's category is its file's name (Airport_allSolutions.xml: Airport)."""
    from lib import paths
    from lib.data.sources import source_files

    files = source_files("webnlg", "train", paths.data_dir())
    first_of = {}
    row = 0
    for path in files[:3]:
        first_of[make_id(WEBNLG, row)] = path.stem.split("_")[0]
        row += path.read_text().count("<entry ")
    assert webnlg_categories(first_of) == first_of


def test_the_dropped_category_weighs_most_on_pool_and_test():
    pool = {1: "A", 2: "A", 3: "A", 4: "B", 5: "B", 6: "C"}
    assert dropped_category(pool, {10: "B", 11: "B", 12: "A"}) == "B"  # 2 x 2 > 3 x 1
    assert dropped_category(pool, {10: "B", 11: "A"}) == "A"  # 3 x 1 > 2 x 1
    assert dropped_category(pool, {10: "Film"}) == "A"  # none on both sides: the pool's largest
    assert dropped_category({1: "B", 2: "A"}, {}) == "A"  # ties: the name
    with pytest.raises(ValueError, match="pool holds no example"):
        dropped_category({}, {10: "A"})
