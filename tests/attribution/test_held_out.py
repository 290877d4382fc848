"""End to end on a tiny top-block collection: replay its held-out run, score it, store, load, simulate."""
import numpy as np
import pytest
from attribution_helpers import top_block_collection

from lib.attribution.held_out import held_out_runs, score_run
from lib.attribution.store import load_scores, save_scores, score_path
from lib.attribution.trak import TRAKSettings
from lib.collect import load_dynamics
from lib.simulators.attribution_baselines import EKFACInfluence, TRAKSimulator


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A tiny-neox top-block collection (4 runs x 8 steps, 1 held-out) with both methods' scores of its test run."""
    out = top_block_collection(tmp_path_factory.mktemp("attribution"))
    results = {}
    for run in held_out_runs(out):
        results[run] = score_run(out, run, trak=TRAKSettings(proj_dim=4))
    return out, results


def test_scores_are_stored_next_to_the_collection_and_load_back(scored):
    out, results = scored
    assert list(results) == [3]
    for method in ("ekfac", "trak"):
        assert score_path(out, method, 3).is_file()
        loaded = load_scores(out, method)[3]
        np.testing.assert_array_equal(loaded.scores, results[3][method].scores)
        np.testing.assert_array_equal(loaded.test_ids, load_dynamics(out).test_ids)
        assert sorted(loaded.train_ids) == sorted(load_dynamics(out).select_runs([3]).train_ids)
        assert loaded.info["replay"].startswith("bitwise") and loaded.seconds["replay"] > 0
    assert load_dynamics(out).n_runs == 4  # the collection still loads, the scores folder beside it


@pytest.mark.parametrize("cls, method", [(EKFACInfluence, "ekfac"), (TRAKSimulator, "trak")])
def test_the_simulators_run_on_the_stored_scores(scored, cls, method):
    out, _ = scored
    held_out = load_dynamics(out, splits=("test",))
    sim = cls(load_scores(out, method)).fit(held_out)  # sigma on the held-out run, as the papers' oracle TracIn
    pred = sim.simulate(held_out)
    assert np.isfinite(pred).all() and np.isfinite(sim.sigma_)
    with pytest.raises(ValueError, match="scores are missing for runs \\[0\\]"):
        sim.simulate(load_dynamics(out).select_runs([0]))


def test_store_refuses_unknown_methods(tmp_path, scored):
    with pytest.raises(ValueError, match="method must be one of"):
        score_path(tmp_path, "tracin", 0)
    result = scored[1][3]["ekfac"]
    assert save_scores(tmp_path, 9, result) == score_path(tmp_path, "ekfac", 9)
    assert set(load_scores(tmp_path, "ekfac")) == {9} and load_scores(tmp_path, "trak") == {}
    with pytest.raises(ValueError, match="unknown methods \\['tracin'\\]"):
        score_run(scored[0], 3, ["tracin"])


def test_self_influence_of_every_pool_example_at_a_held_out_run(scored):
    """--self: every pool example (trained on by run 3 or not) gets a score >= 0, stored and loaded by id."""
    from lib.attribution.__main__ import main
    from lib.attribution.store import load_self_scores, self_influence
    from lib.collect import StoredCollection

    out, _ = scored
    main([str(out), "--self", "--trak-proj-dim", "4"])
    examples = StoredCollection(out).examples()
    pool = sorted(examples.loc[examples["role"] == "pool", "id"].astype(int))
    trained = sorted(set(int(i) for i in load_dynamics(out).select_runs([3]).train_ids))
    assert set(trained) < set(pool)  # the run trained on part of the pool only
    for method in ("ekfac", "trak"):
        stored = load_self_scores(out, method)
        assert list(stored) == [3] and stored[3].info["trained_ids"] == trained
        scores = self_influence(out, method)
        assert sorted(scores) == pool and all(np.isfinite(s) and s >= 0 for s in scores.values())
    assert load_dynamics(out).n_runs == 4
