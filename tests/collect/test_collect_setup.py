"""What collect refuses or reports before it sets a folder up: a model that cannot load, a path that is a file
or a foreign folder, a too short max_length, examples it cuts; and what it records to compare on a resume."""
from __future__ import annotations

import logging

import pytest
import torch
from collect_helpers import CONFIGS, smoke_config

from lib.collect import ConfigError, StorageError, collect, completed_runs, read_header
from lib.collect.cli import main
from lib.collect.examples import draw_examples
from lib.collect.folder import prepare_folder
from lib.collect.preflight import preflight

SMOKE = str(CONFIGS / "smoke_sst2.toml")


def test_a_model_that_cannot_load_fails_before_the_folder_exists(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"\[model\] name = 'no-such-org/no-such-model' cannot be loaded"):
        collect(smoke_config(model={"name": "no-such-org/no-such-model"}), out, progress=False)
    assert not out.exists()
    collect(smoke_config(), out, progress=False, max_runs=1)  # the corrected config is accepted
    assert completed_runs(out) == [0]


def test_a_folder_with_no_finished_run_is_set_up_again(tmp_path, caplog):
    out = tmp_path / "out"
    other = smoke_config(training={"lr": 5e-4})
    prepare_folder(out, other, draw_examples(other))  # e.g. a collection whose first run never finished
    caplog.set_level(logging.WARNING, logger="lib.collect")
    collect(smoke_config(), out, progress=False, max_runs=1)
    assert read_header(out)["config_hash"] == smoke_config().config_hash and completed_runs(out) == [0]
    assert "holds no finished run: set up again" in caplog.text
    with pytest.raises(ConfigError, match="holds runs of another configuration"):  # with a finished run: refused
        collect(other, out, progress=False, max_runs=1)


def test_a_foreign_folder_is_refused_before_lock_is_created(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("not a collection")
    with pytest.raises(ConfigError, match=r"mine is not empty \(notes.txt\) and has no collection.json"):
        collect(smoke_config(), out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    with pytest.raises(StorageError, match="output folder .*file is a file"):
        collect(smoke_config(), out, progress=False)
    with pytest.raises(StorageError, match=r"cannot create output folder .*file/sub"):
        collect(smoke_config(), out / "sub", progress=False)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("x"), "is a file"),
    (lambda p: (p.mkdir(), (p / "collection.json").write_text('{"format": "gptfluence-collection", ')),
     "collection.json: not valid JSON"),
])
def test_cli_gives_one_line_and_exit_2_for_unusable_output_folders(tmp_path, capsys, make, message):
    out = tmp_path / "out"
    make(out)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main([SMOKE, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, not even .lock


def test_max_length_below_2_is_refused():
    with pytest.raises(ConfigError, match=r"\[model\] max_length must be >= 2"):
        smoke_config(model={"max_length": 1})


def test_examples_cut_at_max_length_are_logged_once_per_collection(tmp_path, caplog):
    config = smoke_config(model={"max_length": 48})
    examples = draw_examples(config)
    counts = preflight(config, examples)
    assert set(counts) == {"pool", "test"}
    assert counts["pool"][1] == 16 and counts["test"][1] == 8
    assert 0 < counts["pool"][0] < 16 and 0 < counts["test"][0] <= 8  # some SST-2 prompts exceed 48 bytes
    assert preflight(smoke_config(model={"max_length": 4096}), examples) == {"pool": (0, 16), "test": (0, 8)}
    caplog.set_level(logging.WARNING, logger="lib.collect")
    caplog.clear()
    collect(config, tmp_path / "out", progress=False, max_runs=2)
    cut = [r.getMessage() for r in caplog.records if "max_length" in r.getMessage()]
    (pool, n_pool), (test, n_test) = counts["pool"], counts["test"]
    assert cut == [f"smoke_sst2: [model] max_length = 48 cuts {pool} of {n_pool} pool, {test} of {n_test} test "
                   "(their prompts lose their beginning)"]


def test_threads_and_torch_are_recorded_and_a_resume_with_others_warns(tmp_path, caplog):
    out = tmp_path / "out"
    collect(smoke_config(), out, progress=False, max_runs=1)
    assert read_header(out)["environment"] == {"threads": 1, "torch": torch.__version__}
    caplog.set_level(logging.WARNING, logger="lib.collect")
    collect(smoke_config(), out, progress=False, max_runs=1)  # same threads: no warning
    assert "resuming" not in caplog.text
    collect(smoke_config(runtime={"threads": 2}), out, progress=False, max_runs=1)
    warning = [r.getMessage() for r in caplog.records if "resuming" in r.getMessage()]
    assert len(warning) == 1 and "with threads 2" in warning[0]
    assert "threads 1 (collection.json)" in warning[0] and "threads 1 (run 0)" in warning[0]
    assert completed_runs(out) == [0, 1, 2]
