"""Self-influence vectors stored with their collection: path, atomic round trip, the per-id mean over runs, refusals."""
import numpy as np
import pytest

from lib.attribution.self_influence import SelfInfluence
from lib.attribution.store import load_self_scores, save_self_scores, self_influence, self_score_path


def vector(method: str, ids, scores) -> SelfInfluence:
    return SelfInfluence(scores=np.asarray(scores, float), ids=np.asarray(ids), seconds={"fit": 1.0, "score": 2.0},
                         info={"method": method, "run": 0})


def test_round_trip_beside_the_pairwise_scores(tmp_path):
    saved = vector("ekfac", [5, 3, 9], [0.5, 2.0, 1.25])
    path = save_self_scores(tmp_path, 27, saved)
    assert path == self_score_path(tmp_path, "ekfac", 27) == tmp_path / "attribution" / "ekfac-self" / "run-0027.npz"
    assert [p.name for p in path.parent.iterdir()] == ["run-0027.npz"]  # no temporary file left behind
    loaded = load_self_scores(tmp_path, "ekfac")[27]
    np.testing.assert_array_equal(loaded.scores, saved.scores)
    np.testing.assert_array_equal(loaded.ids, saved.ids)
    assert loaded.seconds == saved.seconds and loaded.method == "ekfac"
    assert load_self_scores(tmp_path, "trak") == {}


def test_self_influence_is_the_mean_over_runs_by_id(tmp_path):
    save_self_scores(tmp_path, 27, vector("trak", [5, 3, 9], [1.0, 2.0, 3.0]))
    save_self_scores(tmp_path, 28, vector("trak", [9, 5, 3], [5.0, 3.0, 0.0]))  # another order of the same ids
    assert self_influence(tmp_path, "trak") == {3: 1.0, 5: 2.0, 9: 4.0}


def test_refusals(tmp_path):
    with pytest.raises(ValueError, match="no ekfac self-influence stored"):
        self_influence(tmp_path, "ekfac")
    with pytest.raises(ValueError, match="method must be one of"):
        self_score_path(tmp_path, "tracin", 0)
    save_self_scores(tmp_path, 1, vector("ekfac", [1, 2], [1.0, 1.0]))
    save_self_scores(tmp_path, 2, vector("ekfac", [1, 3], [1.0, 1.0]))
    with pytest.raises(ValueError, match="runs \\[1, 2\\] covers different example ids"):
        self_influence(tmp_path, "ekfac")
    with pytest.raises(ValueError, match="one per id"):
        vector("ekfac", [1, 2], [1.0])
