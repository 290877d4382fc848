"""The command line's input files: CSV and JSONL curricula of ids and texts, CSV initial values."""
import pytest

from lib.whatif.files import read_curriculum, read_initial


def test_csv_and_jsonl_give_the_same_steps(tmp_path):
    (tmp_path / "c.csv").write_text('step,id,text\n2,7,\n1,3,\n1,,"a new, quoted text"\n2,,plain\n')
    (tmp_path / "c.jsonl").write_text('[3, "a new, quoted text"]\n\n[7, "plain"]\n')
    expected = [[3, "a new, quoted text"], [7, "plain"]]
    assert read_curriculum(tmp_path / "c.csv") == expected == read_curriculum(tmp_path / "c.jsonl")
    (tmp_path / "ids.csv").write_text("step,id\n0,5\n0,6\n1,8\n1,9\n")
    assert read_curriculum(tmp_path / "ids.csv") == [[5, 6], [8, 9]]


@pytest.mark.parametrize("name, content, match", [
    ("c.jsonl", '[3, 4]\n{"ids": [1]}\n', "c.jsonl:2: each line must be a JSON list"),
    ("f.jsonl", "[3, 4.5]\n", "f.jsonl:1"),
    ("c.csv", "step,id\n0,x\n", "id 'x' is not an integer training id"),
    ("e.csv", "step,id,text\n0,,\n", "step 0 has a row with neither an id nor a text"),
    ("n.csv", "id\n4\n", "needs a `step` column"),
    ("c.txt", "4\n", "must end in .csv or .jsonl"),
])
def test_bad_files_are_refused_with_their_place(tmp_path, name, content, match):
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=match):
        read_curriculum(tmp_path / name)


def test_initial_values_keep_the_file_order_per_test_id(tmp_path):
    (tmp_path / "i.csv").write_text("test_id,value\n5,2.5\n6,1.0\n5,2.25\n")
    assert read_initial(tmp_path / "i.csv") == {5: [2.5, 2.25], 6: [1.0]}
    (tmp_path / "bad.csv").write_text("test,value\n5,2.5\n")
    with pytest.raises(ValueError, match="need columns test_id and value"):
        read_initial(tmp_path / "bad.csv")
