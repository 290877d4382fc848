import dataclasses

import numpy as np
import pandas as pd
import pytest

from lib.experiments import unseen
from lib.experiments.scoring import REFERENCE
from lib.experiments.store import Progress
from lib.experiments.unseen import SCENARIO_TITLES, run
from lib.experiments.unseen_diagnosis import (diagnosis_text, distance_table, divergence_table, growth_table,
                                              nearest_cosines, roles_table, step_factors)
from lib.metrics import trajectory_errors
from lib.simulators import GPTfluenceConfig
from lib.simulators.health import RolloutHealth
from test_unseen import HashEncoder  # the same fake encoder as the chapter's tests

FAST = GPTfluenceConfig(lr=1e-3, hidden=16, max_epochs=3, warmup_steps=0, patience=2)


@pytest.fixture(scope="module")
def result():
    return run("smoke", encoder=HashEncoder(), gptfluence=FAST)


class ConstantFactors:
    """A stand-in simulator whose every A_i is `value / batch`, so every step's factor is exactly `value`."""

    order = 1

    def __init__(self, value: float, batch: int):
        self.value, self.batch = value, batch

    def factors(self, train_ids, test_ids, texts_from=None):
        a = np.full((len(train_ids), 1, len(test_ids)), self.value / self.batch)
        return a, np.zeros((len(train_ids), len(test_ids)))


def test_step_factors_are_the_batch_sums_the_rollout_multiplies(result):
    simulator = result.simulators["GPTfluence"]
    runs = result.truth["test"]
    alpha, _ = simulator._coefficients(runs)
    assert np.allclose(step_factors(simulator, runs), alpha.sum(axis=2), atol=1e-6)


@pytest.mark.parametrize("value", [1.05, 0.95])
def test_growth_is_the_product_of_the_step_factors(result, value):
    runs = result.truth["none"]
    fake = dataclasses.replace(result, simulators={**result.simulators,
                                                   "GPTfluence": ConstantFactors(value, runs.batch_size)})
    table = growth_table(fake)
    row = table.loc[SCENARIO_TITLES["none"]]
    assert row["median"] == pytest.approx(value)
    assert row["largest product"] == pytest.approx(value ** runs.n_steps)
    n = runs.n_runs * runs.n_tests
    assert row["trajectories with product > 1"] == (f"{n} of {n}" if value > 1 else f"0 of {n}")
    assert row["steps with factor > 1 (%)"] == (100 if value > 1 else 0)


def test_a_diverged_rollout_is_counted_and_left_out_of_the_other_mean(result):
    health = dict(result.health)
    shape = health[("GPTfluence", "test")].diverged.shape
    diverged = np.zeros(shape, dtype=bool)
    diverged[0, 1] = True
    health[("GPTfluence", "test")] = RolloutHealth(out_of_range=diverged, diverged=diverged)
    table = divergence_table({"SST-2": dataclasses.replace(result, health=health)})
    row = table.query("method == 'GPTfluence' and scenario == @SCENARIO_TITLES['test']").iloc[0]
    case = result.case("test")
    errors, reference = case.errors("GPTfluence"), case.errors(REFERENCE)
    assert row["diverged"] == 1 and row["tests with a diverged run"] == f"1 of {shape[1]}"
    assert row["mean MSE"] == pytest.approx(errors.mean())
    assert row["mean MSE, not diverged"] == pytest.approx(errors[~diverged].mean())
    assert row["reference, same trajectories"] == pytest.approx(reference[~diverged].mean())
    assert row["median difference"] == pytest.approx(np.median(errors) - np.median(reference))
    assert set(table["method"]) == {"GPTfluence", "Simfluence", REFERENCE}


def test_nearest_cosines_use_the_texts_of_the_right_test_examples(result):
    split, texts = result.split, result.truth["test"].test_texts | result.truth["none"].test_texts

    def unit(ids):
        v = HashEncoder().embed([texts[int(i)] for i in ids])
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    seen, unseen_ = unit(split.seen_tests), unit(split.unseen_tests)
    among = seen @ seen.T
    np.fill_diagonal(among, -2)
    got_seen, got_unseen = nearest_cosines(result.simulators["GPTfluence"], result)
    assert np.allclose(got_seen, among.max(axis=1), atol=1e-6)
    assert np.allclose(got_unseen, (unseen_ @ seen.T).max(axis=1), atol=1e-6)
    table = distance_table(result)
    assert table["n"].tolist()[:2] == [len(split.seen_tests), len(split.unseen_tests)]


def test_the_distance_display_shows_a_dash_not_nan_for_an_empty_row():
    from lib.experiments.tables import WITHHELD
    from lib.experiments.unseen_diagnosis import distance_display

    table = pd.DataFrame({"n": [3, 0], "median": [0.54213, np.nan], "lowest": [0.2, np.nan], "highest": [0.9, np.nan]},
                         index=["unseen tests, to the nearest seen one", "unseen tests with a diverged rollout"])
    shown = distance_display(table)
    assert shown.loc["unseen tests with a diverged rollout"].tolist() == [0, WITHHELD, WITHHELD, WITHHELD]
    assert shown.loc["unseen tests, to the nearest seen one", "median"] == "0.542"
    assert "nan" not in shown.to_string().lower()


def test_roles_compare_with_the_reference_on_each_role(result):
    table = roles_table(result)
    fit = result.split.fit
    change = fit.values - fit.values[:, :1]
    own_mean_error = np.mean((change - change.mean(axis=0))[:, 1:] ** 2)  # the reference on the runs it averages
    assert table.loc["fit runs (fitted on)", REFERENCE] == pytest.approx(own_mean_error)
    ours = trajectory_errors(result.simulators["GPTfluence"].simulate(fit), fit.values)[0]
    assert table.loc["fit runs (fitted on)", "GPTfluence"] == pytest.approx(ours.mean())
    assert table.loc["seen-pool future runs", "n (runs x tests)"] == f"{result.truth['none'].n_runs} x {len(result.split.seen_tests)}"


def test_the_paragraph_reads_its_numbers_from_the_tables(result):
    divergence = divergence_table({"SST-2": result})
    growth, distance, roles = growth_table(result), distance_table(result), roles_table(result)
    text = diagnosis_text("SST-2", divergence, growth, distance, roles)
    row = divergence.query("method == 'GPTfluence' and scenario == @SCENARIO_TITLES['test']").iloc[0]
    assert text.startswith(f"**SST-2.** With unseen test data, {row['diverged']} of {row['trajectories']} ")


def test_run_all_reads_every_complete_collection_and_names_the_others(monkeypatch):
    monkeypatch.setattr(unseen, "collections", lambda scale: ["sst2_unseen", "rte_unseen", "webnlg_unseen"])
    monkeypatch.setattr(unseen, "progress", lambda scale, name, data_dir=None: Progress(
        scale, name, 3 if name == "webnlg_unseen" else 22, 22))
    read = []
    monkeypatch.setattr(unseen, "run", lambda scale, collection, **kw: read.append(collection) or collection)
    chapter = unseen.run_all("paper_size", encoder=None)
    assert read == ["sst2_unseen", "rte_unseen"] and chapter.main == "sst2_unseen"
    assert "webnlg_unseen: 3 of 22 runs collected" in chapter.skipped_text


def test_collections_of_a_scale_are_those_with_a_config_in_the_folder_it_reads():
    from lib.scales import DEFAULT_READS
    assert unseen.collections("full_fine_tuning") == ["sst2_unseen"]
    assert {"sst2_unseen", "rte_unseen"} <= set(unseen.collections("paper_size"))
    assert unseen.collections("default") == unseen.collections(DEFAULT_READS)  # configs/<folder>, not configs/<scale>


def test_the_growth_sentence_explains_divergence_by_the_product_of_step_factors():
    from lib.experiments.unseen_diagnosis import growth_sentence

    assert growth_sentence(15, 0, 135.0).startswith("Of the diverged rollouts every one has a product of its step "
                                                    "factors above 1 (largest 135)")
    none = growth_sentence(2, 2, 0.844)
    assert none.startswith("None of the diverged rollouts") and "additive terms" in none and "multiplied" not in none
    mixed = growth_sentence(5, 2, 3.1)
    assert "Of the 5 diverged rollouts 3 have a product" in mixed and "for the other 2" in mixed
