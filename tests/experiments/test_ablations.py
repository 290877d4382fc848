import hashlib

import numpy as np
import pandas as pd
import pytest

from lib.book_runner import NOTEBOOKS
from lib.experiments import ablation_text, ablations
from lib.experiments.ablations import (PAPER_SIZE_GRID, FitMemo, ablation_grid, checkpoint_interval_ablation,
                                       encoder_ablation, encoder_facts, interval_facts, markov_order_ablation,
                                       model_description, model_size_ablation, order_facts, size_facts,
                                       table10_beside, table10_wide, usable_intervals, usable_orders)
from lib.experiments.scoring import REFERENCE, mean_trajectory
from lib.experiments.settings import FINE_TUNING_TASKS, INSTRUCTION_TUNING
from lib.experiments.simulation import simulate_methods
from lib.experiments.store import Progress, collection_config, dynamics, progress, stored
from lib.metrics import evaluate
from lib.simulators import GPTfluenceConfig

FAST = GPTfluenceConfig(lr=1e-3, hidden=16, max_epochs=3, warmup_steps=0, patience=2)


class HashEncoder:
    """A fake frozen encoder: a fixed random vector per text (no model to load)."""

    def __init__(self, name="hash", dim=16):
        self.name, self.dim = name, dim

    def embed(self, texts):
        seeds = [int(hashlib.sha1((self.name + t).encode()).hexdigest()[:8], 16) for t in texts]
        return np.stack([np.random.default_rng(s).normal(size=self.dim) for s in seeds]).astype(np.float32)


@pytest.fixture(scope="module")
def sst2():
    return dynamics("smoke", "sst2")


def test_usable_intervals_reach_10_below_T_and_orders_leave_steps_to_predict():
    assert usable_intervals(12) == [1, 2, 3, 4, 5, 6, 8, 10]  # k no longer has to divide T
    assert usable_intervals(8) == [1, 2, 3, 4, 5, 6]
    assert usable_orders(8) == [1, 2, 3, 5]      # n <= T - 3: 10 is capped away
    assert usable_orders(48) == [1, 2, 3, 5, 10]
    assert usable_orders(4) == [1]


def test_held_checkpoints_keep_every_step_and_hold_the_next_recorded_value(sst2):
    assert ablations.recorded_steps(8, 3).tolist() == [0, 3, 6, 8]  # the final step is always recorded
    held = ablations.held_checkpoints(sst2, 3)
    assert held.n_steps == sst2.n_steps and held.batch_size == sst2.batch_size
    np.testing.assert_array_equal(held.curricula, sst2.curricula)
    np.testing.assert_array_equal(held.values, sst2.values[:, [0, 3, 3, 3, 6, 6, 6, 8, 8]])
    np.testing.assert_array_equal(ablations.held_checkpoints(sst2, 1).values, sst2.values)


def test_interval_ablation_trains_on_held_checkpoints_and_scores_every_step(sst2, monkeypatch):
    seen = []
    real = ablations.simulate_methods

    def spy(dyn, methods, **kwargs):
        seen.append((dyn, kwargs["held_out"]))
        return real(dyn, methods, **kwargs)

    monkeypatch.setattr(ablations, "simulate_methods", spy)
    cases = []
    table = checkpoint_interval_ablation(sst2, [1, 3, 6], encoder=HashEncoder(), gptfluence=FAST, task="sst2",
                                         cases=cases)
    test = sst2.select_runs("test")
    for (fitted, truth), k in zip(seen, (1, 3, 6)):
        np.testing.assert_array_equal(truth.values, test.values)  # full resolution, the true values, every k
        assert truth.n_steps == sst2.n_steps
        np.testing.assert_array_equal(fitted.values, ablations.held_checkpoints(sst2, k).values)
    for k in (1, 3, 6):
        rows = table[table["interval"] == k]
        assert set(rows["method"]) == {"Simfluence", "GPTfluence", REFERENCE}
        assert (rows["scored_steps"] == sst2.n_steps).all() and (rows["task"] == "sst2").all()
        assert (rows["runs"] == test.n_runs).all() and (rows["tests"] == test.n_tests).all()
        # the reference of interval k: the mean change of the same approximate train runs
        blind = mean_trajectory(ablations.held_checkpoints(sst2, k).select_runs("train"), test)
        np.testing.assert_allclose(cases[0].predictions[ablations.interval_label(REFERENCE, k)], blind)
        expected = evaluate(blind, test, method=REFERENCE).set_index("metric")["value"]
        np.testing.assert_allclose(rows[rows["method"] == REFERENCE].set_index("metric")["value"], expected)
    (case,) = cases
    assert case.group == "sst2" and set(case.predictions) == set(case.diverged)
    assert np.mean(case.errors(ablations.interval_label("GPTfluence", 3))) == pytest.approx(
        table.query("method == 'GPTfluence' and metric == 'mse' and interval == 3")["value"].iloc[0])
    differences = ablations.interval_comparisons(cases, [1, 3, 6])
    pairs = ablations.interval_pairs([1, 3, 6])
    assert pairs["interval_dense"] == ("GPTfluence, k=1", "GPTfluence, k=6")
    assert set(zip(differences["A"], differences["B"])) == set(pairs.values())
    dense = differences[(differences["A"] == "GPTfluence, k=1") & (differences["B"] == "GPTfluence, k=6")].iloc[0]
    assert dense["difference"] == pytest.approx(
        np.mean(case.errors("GPTfluence, k=1") - case.errors("GPTfluence, k=6")))
    assert dense["runs"] == test.n_runs and dense["tests"] == test.n_tests
    means = ablations.interval_means(table)
    assert (means["runs"] == test.n_runs).all() and (means["tests"] == test.n_tests).all()
    one_std_missing = pd.concat([table.assign(task="a"), table.assign(task="b", std=np.nan)], ignore_index=True)
    assert ablations.interval_means(one_std_missing)["std"].isna().all()  # not the mean of task a's std alone
    assert table.groupby("interval")["recorded_steps"].first().to_dict() == {1: 8, 3: 3, 6: 2}
    facts = interval_facts(table)
    assert facts["interval_list"] == "1, 3, 6" and facts["interval_max"] == 6
    assert facts["interval_gpt_mse_first"] == pytest.approx(
        table.query("method == 'GPTfluence' and metric == 'mse' and interval == 1")["value"].mean())


def test_from_step_starts_the_runs_later(sst2):
    later = ablations.from_step(sst2, 3)
    assert later.n_steps == sst2.n_steps - 3
    np.testing.assert_array_equal(later.values, sst2.values[:, 3:])
    np.testing.assert_array_equal(later.curricula, sst2.curricula[:, 3:])
    with pytest.raises(ValueError):
        ablations.from_step(sst2, sst2.n_steps)


def test_every_order_gets_the_same_true_prefix_and_is_scored_on_the_same_steps(sst2, monkeypatch):
    made = []
    real = ablations.GPTfluence

    def spy(encoder, config):
        made.append(real(encoder, config))
        return made[-1]

    monkeypatch.setattr(ablations, "GPTfluence", spy)
    cases = []
    table = markov_order_ablation(sst2, [1, 2, 3], encoder=HashEncoder(), gptfluence=FAST, task="sst2", cases=cases)
    assert [m.order for m in made] == [1, 2, 3]
    gpt = table[table["method"] == "GPTfluence"]
    assert (gpt["fitted_order"] == gpt["order"]).all()
    own = gpt[gpt["scored"] == ablations.OWN_STEPS]
    assert (own["scored_from"] == own["order"]).all()
    assert (table.loc[table["scored"] == ablations.SAME_PREFIX, "scored_from"] == 3).all()
    assert set(gpt["setting"]) == {"markov_order=1", "markov_order=2", "markov_order=3"}
    reference = table[table["method"] == "Simfluence"]
    assert (reference["fitted_order"] == 1).all() and len(reference) == 6  # 3 metrics x 2 scorings
    test = sst2.select_runs("test")
    for simulator in made:  # order n starts from the true y_{3-n}..y_2 and predicts steps 3..T
        truth = ablations.from_step(test, 3 - simulator.order)
        expected = evaluate(simulator.simulate(truth), truth, order=simulator.order, method="GPTfluence")
        got = gpt.query(f"order == {simulator.order} and scored == '{ablations.SAME_PREFIX}'")
        np.testing.assert_allclose(got.set_index("metric")["value"], expected.set_index("metric")["value"])
        assert got.query("metric == 'mse'")["n"].iloc[0] == test.n_runs * test.n_tests
    # order 1 rolled out from y_0 (own steps) and from y_2 (same prefix) are different predictions
    assert not np.isclose(own.query("order == 1 and metric == 'mse'")["value"].iloc[0],
                          gpt.query(f"order == 1 and scored == '{ablations.SAME_PREFIX}' and metric == 'mse'")
                          ["value"].iloc[0])
    facts = order_facts(table)
    assert facts["order_list"] == "1, 2, 3" and facts["order_dropped"] == "5, 10" and facts["order_prefix"] == 3
    # the same-prefix Case: every method cut to y_2..y_T and scored on steps 3..T, as the table's same-prefix rows
    (case,) = cases
    assert case.group == f"sst2 {sst2.metric}" and case.truth.n_steps == sst2.n_steps - 2
    same = table[table["scored"] == ablations.SAME_PREFIX]
    for label, method, order in (("GPTfluence, n=1", "GPTfluence", 1), ("GPTfluence, n=3", "GPTfluence", 3),
                                 ("Simfluence", "Simfluence", 1), (REFERENCE, REFERENCE, 1)):
        mse = same.query(f"method == '{method}' and order == {order} and metric == 'mse'")["value"].iloc[0]
        assert np.mean(case.errors(label)) == pytest.approx(mse)
    blind = table[table["method"] == REFERENCE]
    assert len(blind) == 6 and set(blind["scored_from"]) == {1, 3}  # own steps from y_0, same prefix from y_2
    differences = ablations.order_comparisons(cases, [1, 2, 3])
    high = differences[(differences["A"] == "GPTfluence, n=3") & (differences["B"] == "GPTfluence, n=1")].iloc[0]
    assert high["difference"] == pytest.approx(np.mean(case.errors("GPTfluence, n=3") - case.errors("GPTfluence, n=1")))
    assert high["setting"] == case.group  # one setting only: no average row


def test_order_above_the_step_count_is_refused(sst2):
    with pytest.raises(ValueError, match="order"):
        markov_order_ablation(sst2, [9], encoder=HashEncoder(), gptfluence=FAST, reference=False)


def test_table10_puts_both_scorings_beside_the_paper_and_keeps_orders_we_left_out():
    ours = pd.DataFrame({"method": "GPTfluence", "task": "rte", "target": "loss",
                         "scored": [ablations.SAME_PREFIX] * 2 + [ablations.OWN_STEPS] * 2,
                         "setting": ["markov_order=1", "markov_order=2"] * 2, "metric": "mse",
                         "value": [0.5, 0.6, 0.7, 0.8], "std": [0.1, 0.1, 0.2, 0.2]})
    table = table10_beside(ours)
    assert table["setting"].tolist() == [f"markov_order={n}" for n in (1, 2, 3, 5, 10)]
    assert table.loc[0, "paper"] == pytest.approx(0.036)
    assert table.loc[0, ablations.SAME_PREFIX] == 0.5 and table.loc[0, ablations.OWN_STEPS] == 0.7
    assert table[ablations.SAME_PREFIX].isna().sum() == 3
    wide = table10_wide(table)
    assert wide.loc[("rte", "loss", 10), ("mse", ablations.SAME_PREFIX)] == "-"
    assert wide.loc[("rte", "loss", 1), ("mse", "paper")] == "0.036 (0.029)"  # as the paper printed it


def test_encoder_ablation_labels_each_encoder_and_adds_simfluence(sst2):
    encoders = {"a": HashEncoder("a", 8), "b": HashEncoder("b", 12)}
    cases = []
    table = encoder_ablation(sst2, encoders, gptfluence=FAST, cases=cases)
    assert list(dict.fromkeys(table["encoder"])) == ["a", "b", "(none)", REFERENCE]
    assert table.groupby("encoder")["dim"].first().to_dict() == {"a": 8, "b": 12, "(none)": 0, REFERENCE: 0}
    assert set(table.loc[table["encoder"] == "(none)", "method"]) == {"Simfluence"}
    assert set(cases[0].predictions) == {"a", "b", "Simfluence", REFERENCE}
    best, second = ablations.top_two(table, "mse")
    differences = ablations.encoder_comparisons(cases, table, "a")
    pairs = list(zip(differences["A"], differences["B"]))
    assert pairs[0] == (best, second) and len(pairs) == len(set(pairs))
    assert {("a", "Simfluence"), ("a", REFERENCE)} <= set(pairs)
    assert len({("b", "a"), ("a", "b")} & set(pairs)) == 1  # each encoder against the default once, either way
    facts = encoder_facts(table, {"mean": "a", "gpt": "b"}, sentence_roles=("mean",))
    best = facts["encoder_best_mse"]
    assert best in {"a", "b"}
    assert facts["encoder_best_mse_kind"].startswith("a sentence" if best == "a" else "not")
    assert table["held_out_curricula"].nunique() == 1 and facts["encoder_same_runs"] == "the same"
    assert (table["test_runs"] == 2).all() and facts["encoder_train_runs"] == 4


def test_equal_runs_cut_every_setting_to_the_smallest_counts(sst2):
    train = np.flatnonzero(sst2.split == "train")
    fewer = sst2.select_runs(np.flatnonzero(sst2.split != "train")[:2].tolist() + train[:3].tolist())
    cut = ablations.equal_runs({"big": sst2, "small": fewer})
    for dyn in cut.values():
        assert [int((dyn.split == s).sum()) for s in ("train", "val", "test")] == [3, 1, 1]
    for name, dyn in cut.items():  # the kept train runs cover every example the held-out runs train on
        held = dyn.select_runs(dyn.split != "train")
        assert set(np.unique(held.curricula)) <= set(np.unique(dyn.select_runs("train").curricula))
    with pytest.raises(ValueError, match="train and test"):
        ablations.equal_runs({"big": sst2, "none": sst2.select_runs("train")})
    one = sst2.select_runs(np.flatnonzero(sst2.split != "train").tolist() + train[:1].tolist())
    with pytest.raises(ValueError, match="cover the examples"):  # Simfluence could not simulate the held-out runs
        ablations.equal_runs({"big": sst2, "one": one})


def test_size_paper_rows_are_table_1_per_pythia_size():
    rows = ablations.size_paper_rows()
    assert set(rows["model"]) == {"pythia-410m", "pythia-1b", "pythia-2.8b"}
    assert set(rows["method"]) == {"Simfluence", "GPTfluence"} and (rows["source"] == "paper (Table 1)").all()


def test_model_size_rows_name_each_gpt_setting():
    runs = {name: dynamics("smoke", name) for name in ("sst2", "sst2_size2")}
    models = {name: model_description(stored("smoke", name)) for name in runs}
    full, lora = models["sst2"], models["sst2_size2"]
    assert full["regime"] == "full" and lora["regime"] == "lora"
    assert full["trainable"] == full["parameters"] and lora["trainable"] < lora["parameters"] / 10
    assert collection_config("smoke", "sst2_size2").training.steps == collection_config("smoke", "sst2").training.steps
    cases = []
    table = model_size_ablation(runs, models, encoder=HashEncoder(), gptfluence=FAST, cases=cases)
    assert set(table["collection"]) == {"sst2", "sst2_size2"}
    assert set(table["method"]) == {"Simfluence", "GPTfluence", REFERENCE}
    assert [c.group for c in cases] == ["sst2", "sst2_size2"]
    differences = ablations.size_comparisons(cases)
    assert set(differences["collection"]) == {"sst2", "sst2_size2", "average"}
    pooled = differences[(differences["collection"] == "average") & (differences["A"] == "GPTfluence")
                         & (differences["B"] == "Simfluence")].iloc[0]
    assert pooled["runs"] == sum(c.truth.n_runs for c in cases)  # each setting its own runs
    assert table.groupby("collection")["regime"].first().to_dict() == {"sst2": "full", "sst2_size2": "lora"}
    facts = size_facts(table)
    assert facts["size_settings"] == 2 and facts["size_train_runs"] == 4 and facts["size_test_runs"] == 2
    shown = ablations.size_beside_paper(table, ablations.size_paper_rows())
    assert {"ours", "paper (Table 1)"} == set(shown.index.get_level_values("source"))




def test_model_description_gives_float_counts_that_tables_show_with_separators():
    from lib.experiments.store import committed
    from lib.experiments.wording import number

    info = ablations.model_description(committed("default/sst2"))
    assert isinstance(info["parameters"], float) and info["parameters"] > 1e8
    shown = pd.DataFrame([info])[["parameters"]].to_string(float_format=number)
    assert f"{int(info['parameters']):,}" in shown


def test_the_papers_table_10_values_are_read_as_published():
    facts = ablations.paper_order_facts()
    rows = ablations.paper_rows(table="10", task="rte", target="loss", method="GPTfluence", metric="spearman")
    first = rows.loc[rows["setting"] == "markov_order=1", "value"].iloc[0]
    assert facts["order_paper_rte_rho_first"] == ablations.published(first)
    assert facts["order_paper_max"] == 10


def test_table10_states_our_n():
    ours = pd.DataFrame({"method": "GPTfluence", "task": "rte", "target": "loss",
                         "scored": [ablations.SAME_PREFIX, ablations.OWN_STEPS], "setting": "markov_order=1",
                         "metric": "mse", "value": [0.5, 0.7], "std": [0.1, 0.2], "runs": [2, 2], "tests": [8, 8]})
    wide = table10_wide(table10_beside(ours))
    assert (wide[("n", "runs x tests")] == "2 x 8").all()


def test_comparison_facts_glue_every_claim_the_scoreboard_reads(sst2):
    from lib.experiments.comparisons import Case
    from lib.experiments.scoreboard import CLAIMS

    test = sst2.select_runs("test")
    rng = np.random.default_rng(0)

    def case(group, methods, truth=test):
        noise = {m: truth.values + rng.normal(scale=0.1 * (k + 1), size=truth.values.shape)
                 for k, m in enumerate(methods)}
        return Case(group, truth, noise, {m: np.zeros((truth.n_runs, truth.n_tests), bool) for m in methods}, {})

    names = ["GPTfluence", "Simfluence", REFERENCE]
    interval_cases = [case(t, [ablations.interval_label(m, k) for m in names for k in (1, 6)]) for t in ("a", "b")]
    order_cases = [case(f"{t} loss", ["GPTfluence, n=1", "GPTfluence, n=3", "Simfluence", REFERENCE])
                   for t in ("rte", "webnlg")]
    encoder_table = pd.DataFrame({"method": "GPTfluence", "metric": "mse", "encoder": ["x", "y"], "value": [1., 2.]})
    result = ablations.AblationResult(
        scale="smoke", gptfluence=FAST, encoder_name="x", interval=pd.DataFrame({"interval": [1, 6]}),
        interval_steps=[8], order_steps=[8], orders=pd.DataFrame({"method": "GPTfluence", "order": [1, 3]}),
        encoders=encoder_table, encoder_roles={"default": "x"}, sizes=pd.DataFrame(),
        size_models=pd.DataFrame({"model": ["small", "large"], "regime": "full", "parameters": [1e6, 2e6],
                                  "trainable": [1e6, 2e6]}, index=["s", "l"]),
        size_paper=pd.DataFrame(),
        interval_differences=ablations.interval_comparisons(interval_cases, [1, 6]),
        order_differences=ablations.order_comparisons(order_cases, [1, 3]),
        encoder_differences=ablations.encoder_comparisons([case("mixture", ["x", "y", "Simfluence", REFERENCE])],
                                                          encoder_table, "x"),
        size_differences=ablations.size_comparisons([case(n, names) for n in ("s", "l")]))
    facts = ablations.comparison_facts(result)
    for claim in (c for c in CLAIMS if c.chapter == "05_ablations"):
        for suffix in ("claim", "diff", "interval", "n"):
            assert f"{claim.key}_{suffix}" in facts
    assert facts["size_largest"].startswith("large") and facts["size_gs_n"] == "2 held-out runs x 8 test examples"
    # the truth plus growing noise: GPTfluence (least noise) beats the others, pooled over the two tasks
    assert facts["interval_gs_last_claim"] == "holds" and facts["order_high_n"].startswith("4 held-out runs")


# ------------------------------------------------ the grid per scale, shared fits, parts left out

def test_smoke_and_full_fine_tuning_keep_the_full_grid_so_their_books_do_not_move():
    for scale in ("smoke", "full_fine_tuning"):
        grid = ablation_grid(scale)
        assert grid.interval_tasks == FINE_TUNING_TASKS and grid.intervals == (1, 2, 3, 4, 5, 6, 8, 10)
        assert dict(grid.order_targets) == {"rte": ("loss",), "webnlg": ("loss", "bleu", "rougeL")}
        assert grid.orders == (1, 2, 3, 5, 10)
        assert grid.encoder_collection == INSTRUCTION_TUNING and grid.size_collections == ("sst2", "sst2_size2")
        assert grid.variant_tasks == FINE_TUNING_TASKS and grid.adam_tasks == FINE_TUNING_TASKS


def test_paper_size_grid_keeps_the_ends_of_each_range_on_two_tasks():
    grid = ablation_grid("paper_size")
    assert grid is PAPER_SIZE_GRID
    assert grid.interval_tasks == ("sst2", "webnlg") and grid.intervals == (1, 4, 10)
    assert dict(grid.order_targets) == {"rte": ("loss",), "webnlg": ("loss",)} and grid.orders == (1, 2, 5)
    assert grid.adam_tasks == ("sst2",) and grid.variant_tasks == FINE_TUNING_TASKS
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        ablation_grid("huge")


def test_interval_k1_and_order_n1_are_the_plain_fit_made_once(sst2):
    encoder, fits = HashEncoder(), FitMemo()
    interval = checkpoint_interval_ablation(sst2, [1, 3], encoder=encoder, gptfluence=FAST, fits=fits, task="sst2")
    assert (fits.made, fits.reused) == (4, 0)  # two methods at two intervals: k = 3 is other runs' values
    orders = markov_order_ablation(sst2, [1, 2], encoder=encoder, gptfluence=FAST, fits=fits, task="sst2")
    assert (fits.made, fits.reused) == (5, 2)  # order 2 is new; GPTfluence n = 1 and Simfluence are the k = 1 fits
    main = simulate_methods(sst2, ["Simfluence", "GPTfluence"], encoder=encoder, gptfluence=FAST).table
    k1 = interval[(interval["interval"] == 1) & interval["method"].isin(["Simfluence", "GPTfluence"])]
    n1 = orders[(orders["order"] == 1) & (orders["scored"] == ablations.OWN_STEPS)
                & orders["method"].isin(["Simfluence", "GPTfluence"])]
    on = ["method", "metric"]
    for rows in (k1, n1):  # both equal the main fit's scores, made without any memo
        joined = rows[on + ["value"]].merge(main[on + ["value"]], on=on, suffixes=("", "_main"))
        assert len(joined) == len(main)
        np.testing.assert_allclose(joined["value"], joined["value_main"], equal_nan=True)


def test_model_size_reuses_the_interval_fit_of_the_same_collection(sst2):
    encoder, fits = HashEncoder(), FitMemo()
    checkpoint_interval_ablation(sst2, [1], encoder=encoder, gptfluence=FAST, fits=fits, task="sst2")
    other = sst2.select_runs(np.arange(sst2.n_runs))  # the same runs under another name
    model_size_ablation({"sst2": sst2, "copy": other}, {n: {"model": n, "regime": "full", "parameters": 1.0,
                                                            "trainable": 1.0} for n in ("sst2", "copy")},
                        encoder=encoder, gptfluence=FAST, fits=fits)
    assert (fits.made, fits.reused) == (2, 4)


def test_fitted_methods_refuse_methods_fitted_on_the_held_out_runs(sst2):
    with pytest.raises(ValueError, match="Grad-Dot"):
        ablations.fitted_methods(sst2, ["Grad-Dot"], encoder=HashEncoder(), gptfluence=FAST, fits=FitMemo())


def incomplete(names):
    """A stand-in for store.progress: the collections `names` have 3 of 24 runs, the others all theirs."""
    def fake(scale, name, data_dir=None):
        return Progress(scale, name, 3 if name in names else 24, 24)
    return fake


def test_a_part_on_an_incomplete_collection_is_left_out_and_named(sst2, monkeypatch):
    tiny = ablations.AblationGrid(
        interval_tasks=("sst2", "webnlg"), intervals=(1,), order_targets={"sst2": ("loss",), "webnlg": ("loss",)},
        orders=(1,), encoder_collection=INSTRUCTION_TUNING, size_collections=("sst2", "sst2_size2"),
        variant_tasks=("sst2",), adam_tasks=("sst2",), why="test")
    monkeypatch.setitem(ablations.GRIDS, "smoke", tiny)
    monkeypatch.setattr(ablations, "progress", incomplete({"webnlg", INSTRUCTION_TUNING, "sst2_size2"}))
    monkeypatch.setattr(ablations, "gptfluence_config", lambda scale: FAST)
    result = ablations.run("smoke", encoder=HashEncoder(), encoder_loader=lambda name: HashEncoder(name))
    assert set(result.interval["task"]) == {"sst2"} and set(result.orders["task"]) == {"sst2"}
    assert not result.has("encoder") and not result.has("size") and result.has("interval")
    assert (result.fits_made, result.fits_reused) == (2, 2)  # order 1 on sst2 is the k = 1 fit
    text = ablations.skipped_text(result.skipped, "interval")
    assert "webnlg: 3 of 24 runs collected" in text and "sst2:" not in text
    assert "sst2_size2: 3 of 24 runs collected" in ablations.skipped_text(result.skipped, "size")
    assert f"{INSTRUCTION_TUNING}: 3 of 24" in ablations.skipped_text(result.skipped, "encoder")
    facts = ablations.facts(result)  # no numbers for the parts left out, the others' as always
    assert facts["encoder_best_mse"] == "n/a" and facts["encoder_mean_mse"] == "n/a"  # the page cites neither
    assert facts["size_gs_claim"] == "not testable" and "sst2_size2: 3 of 24 runs collected" in facts["size_gs_why"]
    assert facts["order_webnlg_loss_rho_first_same"] == facts["order_webnlg_loss_best_mse_same"] == "n/a"
    assert "interval_dense_claim" in facts and "order_sst2_loss_best_mse_same" in facts
    assert facts["interval_dense_claim"] != "not testable" or "webnlg" not in facts["interval_dense_why"]
    assert facts["interval_task_names"] == "SST-2"  # the text names the tasks averaged, not "the five"
    texts = ablation_text.texts(result, facts)
    cited = {k for k in cited_keys(NOTEBOOKS / "05_ablations.ipynb") if not k.startswith("sv_")}  # sv_: variants
    assert cited <= set(facts) | set(texts), sorted(cited - set(facts) - set(texts))  # built whatever is left out


def cited_keys(notebook):
    """The glue keys the markdown cells of `notebook` cite."""
    import re

    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    return {m.split(":")[0] for c in cells if c.cell_type == "markdown"
            for m in re.findall(r"\{glue:[a-z]+\}`([^`]+)`", c.source)}


def test_nothing_is_glued_for_left_out_parts_when_nothing_is_left_out():
    assert ablations.left_out_facts([], {}) == {}
    skipped = [ablations.Skipped("encoder", "the encoder ablation", (Progress("s", "mixture", 0, 24),))]
    facts = ablations.left_out_facts(skipped, {"encoder_default": "kept"})
    assert facts["encoder_top_why"].endswith("the encoder ablation (mixture: 0 of 24 runs collected).")
    assert "encoder_default" not in facts and not any(k.startswith("size_") for k in facts)


def test_nothing_is_left_out_when_every_collection_is_complete(monkeypatch):
    monkeypatch.setattr(ablations, "progress", incomplete(set()))
    skipped = []
    assert ablations.complete_only("smoke", ["sst2", "rte"], "interval", "x", skipped) == ["sst2", "rte"]
    assert skipped == [] and ablations.skipped_text(skipped, "interval") == ""


def test_every_collection_of_the_full_fine_tuning_grid_is_committed_complete():
    # Named by regime, not by the scale "default" (which reads lib.scales.DEFAULT_READS): a paper-size collection
    # may still be incomplete, and the chapter leaves its part out (tests above).
    grid = ablation_grid("full_fine_tuning")
    names = {*grid.interval_tasks, *grid.order_targets, grid.encoder_collection, *grid.size_collections,
             *grid.variant_tasks, *grid.adam_tasks}
    assert all(progress("full_fine_tuning", name).complete for name in names)


def test_the_reading_says_each_verdict_is_one_fits_where_other_chapters_refit():
    """At a scale whose chapters refit GPTfluence the note counts the refits and says this chapter has none; at a
    scale without refits it says every chapter fits once."""
    from lib.experiments.ablations import one_fit_note
    from lib.experiments.settings import refit_seeds

    seeds = refit_seeds("default")
    assert seeds  # the default book reads the paper-size collections, which are refitted
    note = one_fit_note("default")
    assert f"with {len(seeds)} other seeds" in note and f"{len(seeds) + 1} times its fits" in note
    assert not refit_seeds("smoke")
    assert one_fit_note("smoke") == ("One fit per setting: at this scale every chapter fits GPTfluence once per "
                                     "setting, this one too.")
