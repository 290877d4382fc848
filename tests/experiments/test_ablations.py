import hashlib

import numpy as np
import pandas as pd
import pytest

from lib.experiments import ablations
from lib.experiments.ablations import (checkpoint_interval_ablation, encoder_ablation, encoder_facts, interval_facts,
                                       markov_order_ablation, model_description, model_size_ablation, order_facts,
                                       size_facts, table10_beside, table10_wide, usable_intervals, usable_orders)
from lib.experiments.store import collection_config, dynamics, stored
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


def test_usable_intervals_divide_the_steps_and_orders_leave_steps_to_predict():
    assert usable_intervals(8) == [1, 2, 4]
    assert usable_intervals(48) == [1, 2, 3, 4, 6, 8]
    assert usable_intervals(60) == [1, 2, 3, 4, 5, 6, 10]
    assert usable_orders(8) == [1, 2, 3, 5]      # n <= T - 3: 10 is capped away
    assert usable_orders(48) == [1, 2, 3, 5, 10]
    assert usable_orders(4) == [1]


def test_thinned_step_is_the_concatenation_of_the_k_batches_it_covers(sst2):
    thinned = sst2.every_k_steps(4)
    assert thinned.n_steps == 2 and thinned.batch_size == 4 * sst2.batch_size
    np.testing.assert_array_equal(thinned.steps, [0, 4, 8])
    np.testing.assert_array_equal(thinned.values, sst2.values[:, [0, 4, 8]])
    np.testing.assert_array_equal(thinned.curricula[:, 1], sst2.curricula[:, 4:8].reshape(sst2.n_runs, -1))


def test_interval_ablation_fits_and_scores_on_thinned_dynamics(sst2, monkeypatch):
    seen = []
    real = ablations.simulate_methods

    def spy(dyn, methods, **kwargs):
        seen.append((dyn.n_steps, dyn.batch_size, dyn.steps.tolist()))
        return real(dyn, methods, **kwargs)

    monkeypatch.setattr(ablations, "simulate_methods", spy)
    table = checkpoint_interval_ablation(sst2, [1, 2, 4], encoder=HashEncoder(), gptfluence=FAST, task="sst2")
    T, B = sst2.n_steps, sst2.batch_size
    assert seen == [(T // k, k * B, list(range(0, T + 1, k))) for k in (1, 2, 4)]
    for k in (1, 2, 4):
        rows = table[table["interval"] == k]
        assert set(rows["method"]) == {"Simfluence", "GPTfluence"}
        assert (rows["recorded_steps"] == T // k).all() and (rows["thinned_batch"] == k * B).all()
        assert (rows["task"] == "sst2").all()
    facts = interval_facts(table)
    assert facts["interval_list"] == "1, 2, 4" and facts["interval_max"] == 4
    assert facts["interval_gpt_mse_first"] == pytest.approx(
        table.query("method == 'GPTfluence' and metric == 'mse' and interval == 1")["value"].mean())


def test_markov_order_runs_use_order_n_and_score_the_right_steps(sst2, monkeypatch):
    made = []
    real = ablations.GPTfluence

    def spy(encoder, config):
        made.append(config.order)
        return real(encoder, config)

    monkeypatch.setattr(ablations, "GPTfluence", spy)
    table = markov_order_ablation(sst2, [1, 2, 3], encoder=HashEncoder(), gptfluence=FAST, task="sst2")
    assert made == [1, 2, 3]
    gpt = table[table["method"] == "GPTfluence"]
    assert (gpt["fitted_order"] == gpt["order"]).all()
    assert (gpt.loc[gpt["scored"] == "own", "scored_from"] == gpt.loc[gpt["scored"] == "own", "order"]).all()
    assert (table.loc[table["scored"] == "common", "scored_from"] == 3).all()
    assert set(gpt["setting"]) == {"markov_order=1", "markov_order=2", "markov_order=3"}
    reference = table[table["method"] == "Simfluence"]
    assert (reference["fitted_order"] == 1).all() and len(reference) == 6  # 3 metrics x 2 scorings
    # order 1 scored on its own steps and on the common steps differ only in the steps scored
    own = gpt.query("order == 1 and scored == 'own' and metric == 'mse'")["value"].iloc[0]
    common = gpt.query("order == 1 and scored == 'common' and metric == 'mse'")["value"].iloc[0]
    assert own != common
    facts = order_facts(table)
    assert facts["order_list"] == "1, 2, 3" and facts["order_dropped"] == "5, 10"


def test_order_above_the_step_count_is_refused(sst2):
    with pytest.raises(ValueError, match="order"):
        markov_order_ablation(sst2, [9], encoder=HashEncoder(), gptfluence=FAST, reference=False)


def test_table10_puts_ours_beside_the_paper_and_keeps_orders_we_left_out():
    ours = pd.DataFrame({"method": "GPTfluence", "task": "rte", "target": "loss", "scored": "own",
                         "setting": ["markov_order=1", "markov_order=2"], "metric": "mse",
                         "value": [0.5, 0.6], "std": [0.1, 0.1]})
    table = table10_beside(ours)
    assert table["setting"].tolist() == [f"markov_order={n}" for n in (1, 2, 3, 5, 10)]
    assert table.loc[0, "paper"] == pytest.approx(0.036) and table.loc[0, "ours"] == 0.5
    assert table["ours"].isna().sum() == 3
    wide = table10_wide(table)
    assert wide.loc[("rte", "loss", 10), ("mse", "ours")] == "-"
    assert wide.loc[("rte", "loss", 1), ("mse", "paper")] == "0.0360 (0.0290)"


def test_encoder_ablation_labels_each_encoder_and_adds_simfluence(sst2):
    encoders = {"a": HashEncoder("a", 8), "b": HashEncoder("b", 12)}
    table = encoder_ablation(sst2, encoders, gptfluence=FAST)
    assert list(dict.fromkeys(table["encoder"])) == ["a", "b", "(none)"]
    assert table.groupby("encoder")["dim"].first().to_dict() == {"a": 8, "b": 12, "(none)": 0}
    assert set(table.loc[table["encoder"] == "(none)", "method"]) == {"Simfluence"}
    facts = encoder_facts(table, {"mean": "a", "gpt": "b"}, sentence_roles=("mean",))
    best = facts["encoder_best_mse"]
    assert best in {"a", "b"}
    assert facts["encoder_best_mse_kind"].startswith("a sentence" if best == "a" else "not")


def test_model_size_rows_name_each_gpt_setting():
    runs = {name: dynamics("smoke", name) for name in ("sst2", "sst2_size2")}
    models = {name: model_description(stored("smoke", name)) for name in runs}
    full, lora = models["sst2"], models["sst2_size2"]
    assert full["regime"] == "full" and lora["regime"] == "lora"
    assert full["trainable"] == full["parameters"] and lora["trainable"] < lora["parameters"] / 10
    assert collection_config("smoke", "sst2_size2").training.steps == collection_config("smoke", "sst2").training.steps
    table = model_size_ablation(runs, models, encoder=HashEncoder(), gptfluence=FAST)
    assert set(table["collection"]) == {"sst2", "sst2_size2"}
    assert table.groupby("collection")["regime"].first().to_dict() == {"sst2": "full", "sst2_size2": "lora"}
    assert size_facts(table)["size_settings"] == 2

