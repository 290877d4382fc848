"""simulate_curriculum: the simulator's own rollout as a tidy table; ids or texts; unseen examples refused or embedded."""
import numpy as np
import pandas as pd
import pytest

from lib.collect.curricula import Curriculum
from lib.whatif.simulate import as_batches, simulate_curriculum, simulate_designs


def _run_as_table_input(runs, r):
    """Run r's curriculum and its recorded initial value per test example."""
    run = runs.select_runs([r])
    return run, run.curricula[0], {int(t): float(v) for t, v in zip(run.test_ids, run.values[0, 0])}


@pytest.mark.parametrize("which", ["simfluence", "gptfluence"])
def test_the_table_is_the_simulators_rollout_of_the_curriculum(request, runs, which):
    model = request.getfixturevalue(which)
    run, batches, initial = _run_as_table_input(runs.train, 1)
    table = simulate_curriculum(model, initial, batches)
    assert list(table.columns) == ["step", "test_id", "value", "diverged"] and len(table) == 9 * run.n_tests
    wide = table.pivot(index="step", columns="test_id", values="value")[list(run.test_ids)]
    np.testing.assert_allclose(wide.to_numpy(), model.simulator.simulate(run)[0], rtol=1e-12)
    assert wide.index.tolist() == list(range(9)) and not table["diverged"].any()


def test_texts_of_training_examples_stand_for_them(runs, simfluence):
    _, batches, initial = _run_as_table_input(runs.train, 0)
    texts = [[runs.train.train_texts[int(i)] for i in step] for step in batches]
    by_text = simulate_curriculum(simfluence, initial, texts)
    by_id = simulate_curriculum(simfluence, pd.Series(initial), Curriculum(np.unique(batches), batches))
    pd.testing.assert_frame_equal(by_text, by_id)


def test_designs_share_one_table_named_by_curriculum(runs, simfluence):
    designs = {"run 0": runs.train.curricula[0], "run 1 twice": np.concatenate([runs.train.curricula[1]] * 2)}
    table = simulate_designs(simfluence, None, designs)
    assert list(dict.fromkeys(table["curriculum"])) == ["run 0", "run 1 twice"]
    for name, curriculum in designs.items():
        alone = simulate_curriculum(simfluence, None, curriculum)
        pd.testing.assert_frame_equal(table[table["curriculum"] == name].drop(columns="curriculum")
                                      .reset_index(drop=True), alone)
    with pytest.raises(ValueError, match="at least one curriculum"):
        simulate_designs(simfluence, None, {})


def test_default_initial_values_are_the_fitted_runs_mean(runs, simfluence):
    table = simulate_curriculum(simfluence, None, runs.train.curricula[0][:3])
    first = table[table["step"] == 0].set_index("test_id")["value"]
    np.testing.assert_allclose(first[list(runs.train.test_ids)], runs.train.values[:, 0].mean(axis=0))
    assert table["step"].max() == 3


def test_simfluence_and_tracin_refuse_unseen_texts_by_id(runs, simfluence, tracin):
    known = int(runs.train.curricula[0, 0, 0])
    unseen_id = -1  # as_batches numbers new texts -1, -2, ..
    with pytest.raises(ValueError, match=rf"Simfluence cannot simulate unseen training examples .*ids {unseen_id} "
                                         r"\('a review nobody trained on'\)"):
        simulate_curriculum(simfluence, None, [[known, "a review nobody trained on"]] * 2)
    with pytest.raises(ValueError, match=rf"TracInCP cannot simulate unseen training examples .*ids {unseen_id} "):
        simulate_curriculum(tracin, None, [[int(runs.test.curricula[0, 0, 0]), "a review nobody trained on"]])
    never = int(np.setdiff1d(runs.all.train_ids, runs.train.train_ids)[0])  # a pool example of the other runs only
    with pytest.raises(ValueError, match=rf"unseen training examples .*ids {never} "):
        simulate_curriculum(simfluence, None, [[known, never]])


def test_gptfluence_simulates_unseen_texts_from_their_embedding(runs, gptfluence):
    known = [int(i) for i in runs.train.curricula[0, 0]]
    plain = simulate_curriculum(gptfluence, None, [known] * 4)
    new = simulate_curriculum(gptfluence, None, [[known[0], "an unseen and rather glowing review"]] * 4)
    same_text = simulate_curriculum(gptfluence, None, [[known[0], runs.train.train_texts[known[1]]]] * 4)
    assert np.isfinite(new["value"]).all() and not np.allclose(new["value"], plain["value"])
    pd.testing.assert_frame_equal(same_text, plain)


def test_texts_given_for_new_ids_are_embedded_as_the_same_texts_in_the_curriculum(runs, gptfluence, simfluence):
    known = int(runs.train.curricula[0, 0, 0])
    text = "a review from the unseen examples"
    by_id = simulate_curriculum(gptfluence, None, [[known, 10**7]] * 3, texts={10**7: text})
    by_text = simulate_curriculum(gptfluence, None, [[known, text]] * 3)
    pd.testing.assert_frame_equal(by_id, by_text)
    with pytest.raises(ValueError, match=rf"ids {10**7} \('a review from the unseen"):
        simulate_curriculum(simfluence, None, [[known, 10**7]], texts={10**7: text})


def test_tracin_on_its_own_run_uses_the_recorded_pair_scores(runs, tracin):
    run, batches, initial = _run_as_table_input(runs.test, 0)
    table = simulate_curriculum(tracin, initial, batches)
    wide = table.pivot(index="step", columns="test_id", values="value")[list(run.test_ids)].to_numpy()
    decrement = -np.diff(wide, axis=0)  # [steps, tests]
    pairs = tracin.pairs
    rows = np.searchsorted(pairs.train_ids, batches)
    expected = tracin.simulator.sigma_ * pairs.learning_rates[:, None] * pairs.scores[rows].mean(axis=1)
    np.testing.assert_allclose(decrement, expected, rtol=1e-9)


def test_ekfac_on_its_own_run_is_the_loss_chapters_simulation(runs, ekfac):
    """On the held-out run its scores come from, the what-if rollout (pair scores, stretched schedule) is exactly the
    loss chapter's simulation of that run (the run's own scores and learning rates, the same sigma)."""
    run, batches, initial = _run_as_table_input(runs.test, 0)
    table = simulate_curriculum(ekfac, initial, batches)
    wide = table.pivot(index="step", columns="test_id", values="value")[list(run.test_ids)].to_numpy()
    np.testing.assert_allclose(wide, ekfac.simulator.simulate(run)[0], rtol=1e-12)
    assert ekfac.pairs.source == "stored ekfac scores"
    assert not np.allclose(wide[-1], wide[0])  # the scores move the trajectories


def test_ekfac_refuses_examples_outside_its_scored_runs(runs, ekfac):
    known = int(runs.test.curricula[0, 0, 0])
    never = int(np.setdiff1d(runs.all.train_ids, runs.test.train_ids)[0])  # a pool example the scored run never saw
    with pytest.raises(ValueError, match=rf"EKFACInfluence cannot simulate unseen training examples \(it needs stored "
                                         rf"ekfac scores for each training example\): ids {never}"):
        simulate_curriculum(ekfac, None, [[known, never]])
    with pytest.raises(ValueError, match=r"ids -1 \('a review nobody scored'\)"):
        simulate_curriculum(ekfac, None, [[known, "a review nobody scored"]])


def test_bad_curricula_and_initial_values(runs, simfluence, gptfluence):
    with pytest.raises(ValueError, match="every step the same number"):
        as_batches([[1, 2], [3]], {})
    with pytest.raises(ValueError, match="step 0 holds 1.5"):
        as_batches([[1, 1.5]], {})
    batches, new = as_batches([[5, "x"], ["y", "x"], ["w", 9]], {2: "y", 9: "z", 3: "y"})
    assert batches.tolist() == [[5, -1], [2, -1], [-2, 9]] and new == {-1: "x", -2: "w"}
    test_id = int(runs.train.test_ids[0])
    with pytest.raises(ValueError, match=rf"test id {test_id}: a Markov order 1 simulator needs 1 initial value"):
        simulate_curriculum(simfluence, {test_id: [2.0, 2.1]}, runs.train.curricula[0])
    with pytest.raises(ValueError, match="unseen test ids: \\[7\\]"):
        simulate_curriculum(simfluence, {7: 2.0}, runs.train.curricula[0])
