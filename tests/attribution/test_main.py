"""The command line on a tiny top-block collection: stored (method, run) scores are skipped unless --force."""
import logging
import os

import pytest
from attribution_helpers import top_block_collection

from lib.attribution.__main__ import main
from lib.attribution.held_out import unscored_methods
from lib.attribution.store import score_path, self_score_path

ARGS = ["--trak-proj-dim", "4"]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """A tiny-neox top-block collection (4 runs x 8 steps, held-out run 3) with both methods' scores of run 3."""
    out = top_block_collection(tmp_path_factory.mktemp("attribution_main"))
    main([str(out), *ARGS])
    return out


def written(path) -> tuple[int, int]:
    """(inode, modification time): a file written again (atomically, by rename) changes both."""
    stat = os.stat(path)
    return stat.st_ino, stat.st_mtime_ns


def test_stored_runs_are_skipped_and_said_so(collection, caplog):
    before = {m: written(score_path(collection, m, 3)) for m in ("ekfac", "trak")}
    assert unscored_methods(collection, 3) == []
    with caplog.at_level(logging.INFO, logger="lib.attribution"):
        main([str(collection), *ARGS])
    assert {m: written(score_path(collection, m, 3)) for m in ("ekfac", "trak")} == before
    assert "run 3: ekfac/trak scores already stored, skipped (--force re-scores)" in caplog.text
    assert "replay" not in caplog.text.lower() and " fit " not in caplog.text  # no run was replayed or scored


def test_only_the_missing_method_is_computed(collection, caplog):
    ekfac = written(score_path(collection, "ekfac", 3))
    score_path(collection, "trak", 3).unlink()
    assert unscored_methods(collection, 3) == ["trak"]
    with caplog.at_level(logging.INFO, logger="lib.attribution"):
        main([str(collection), *ARGS])
    assert score_path(collection, "trak", 3).is_file() and written(score_path(collection, "ekfac", 3)) == ekfac
    assert "run 3: ekfac scores already stored, skipped" in caplog.text and "run 3 trak: fit" in caplog.text


def test_force_scores_again(collection):
    trak, ekfac = written(score_path(collection, "trak", 3)), written(score_path(collection, "ekfac", 3))
    main([str(collection), "--methods", "trak", "--force", *ARGS])
    assert written(score_path(collection, "trak", 3)) != trak and written(score_path(collection, "ekfac", 3)) == ekfac


def test_self_influence_is_skipped_on_its_own_files(collection, caplog):
    """Stored pairwise scores do not count as stored self-influence, and stored self-influence is skipped."""
    assert unscored_methods(collection, 3, ["trak"], self_influence=True) == ["trak"]
    main([str(collection), "--self", "--methods", "trak", *ARGS])
    stored = written(self_score_path(collection, "trak", 3))
    with caplog.at_level(logging.INFO, logger="lib.attribution"):
        main([str(collection), "--self", "--methods", "trak", *ARGS])
    assert written(self_score_path(collection, "trak", 3)) == stored
    assert "run 3: trak self-influence already stored, skipped" in caplog.text
    with pytest.raises(ValueError, match="unknown methods \\['tracin'\\]"):
        unscored_methods(collection, 3, ["tracin"])


def test_settings_the_collection_cannot_take_are_a_clear_error(collection, capsys):
    with pytest.raises(SystemExit) as stop:
        main([str(collection), "--methods", "trak", "--force", "--trak-proj-dim", "1000"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "run 3: proj_dim 1000 >= " in err and "Traceback" not in err
