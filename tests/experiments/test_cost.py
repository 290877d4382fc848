"""lib.experiments.cost: FLOP formulas against hand counts, latency and paper tables on synthetic inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.dynamics import Dynamics
from lib.experiments import cost
from lib.experiments.simulation import SimulationResult


def test_mlp_flops_by_hand():
    # dim 3 -> hidden 2: W1 x is 2 outputs x 3 multiply-adds = 12, +2 bias; W2 h is 2 x 2 multiply-adds = 8, +2 bias
    assert cost.mlp_flops(3, 2) == 12 + 2 + 8 + 2


def test_gptfluence_flops_by_hand():
    # dim 3, hidden 2, order 1 (2 towers of 24 FLOPs each = 48 per embedding), batch 2, 3 steps
    # per step: 2 embeddings x 48 = 96; batch sums 2 towers x 1 addition x 2 dims = 4;
    # bilinear 2 factors x (2 mult + 1 add) = 6; recurrence alpha*y + beta = 2  -> 108
    out = cost.gptfluence_flops(steps=3, batch=2, dim=3, hidden=2, order=1)
    assert out["per step"] == 108
    assert out["once"] == 48
    assert out["per trajectory"] == 3 * 108 + 48


def test_gptfluence_order_adds_towers():
    one = cost.gptfluence_flops(steps=1, batch=1, dim=3, hidden=2, order=1)
    two = cost.gptfluence_flops(steps=1, batch=1, dim=3, hidden=2, order=2)
    # one more tower (24 on the batch embedding), one more bilinear product (3), one more multiply-add (2)
    assert two["per step"] - one["per step"] == 24 + 3 + 2


def test_gptfluence_shared_is_cheaper_when_pool_is_small():
    alone = cost.gptfluence_flops(steps=10, batch=4, dim=8, hidden=8, order=1)["per trajectory"]
    shared = cost.gptfluence_flops_shared(steps=10, batch=4, dim=8, hidden=8, order=1, pool=5, runs=3, tests=7)
    assert 0 < shared < alone


def test_simfluence_flops_by_hand():
    # batch 4: alpha = A1+A2+A3+A4 (3 additions), beta the same (3), y = alpha*y + beta (2) -> 8 per step
    out = cost.simfluence_flops(steps=5, batch=4)
    assert out["per step"] == 8 and out["per trajectory"] == 40


def test_tracin_flops_by_hand():
    # 2 target tokens x 1 test token, vocab 5, d 3: per token pair 9 + 5 + 1 + 2 = 17 -> 34 per example pair
    assert cost.grad_dot_flops(2, 1, vocab=5, d_model=3) == 34
    kw = dict(subset=6, checkpoints=2, train_tokens=2, test_tokens=1, vocab=5, d_model=3)
    all_steps = cost.tracin_flops(steps=4, batch=3, setting="all", **kw)
    assert all_steps["gradient dot products"] == 4 * 3 * 34
    assert all_steps["simulator"] == 4 * (2 + 3)
    assert cost.tracin_flops(steps=4, batch=3, setting="ckpt10", **kw)["gradient dot products"] == 2 * 6 * 34
    assert cost.tracin_flops(steps=4, batch=3, setting="final", **kw)["gradient dot products"] == 6 * 34
    with pytest.raises(ValueError):
        cost.tracin_flops(steps=4, batch=3, setting="every", **kw)


def _shapes(**overrides) -> cost.CostShapes:
    base = dict(steps=4, batch=2, subset=6, pool=8, runs=2, tests=3, checkpoints=2, encoder_dim=3, hidden=2, order=1,
                vocab=5, d_model=3, gpt_parameters=100, train_tokens=2.0, test_tokens=1.0, subset_tokens=30.0)
    return cost.CostShapes(**{**base, **overrides})


def test_flop_table_rows_and_values():
    table = cost.flop_table(_shapes())
    assert list(table.index) == ["Simfluence", "GPTfluence", "TracIn-CP (10 ckpts)", "TracIn-CP (all steps)",
                                 "Grad-Dot"]
    assert table.loc["GPTfluence", "per trajectory"] == 4 * cost.gptfluence_flops(1, 2, 3, 2)["per step"] + 48
    assert table.loc["Simfluence", "per trajectory"] == 4 * 4
    assert table.loc["TracIn-CP (all steps)", "gradient dot products"] == 4 * 2 * 34
    # forwards: 2 checkpoints x 2 x 100 parameters x 30 tokens; all steps reuse the training forward
    assert table.loc["TracIn-CP (10 ckpts)", "GPT forwards per run"] == 2 * 2 * 100 * 30
    assert table.loc["TracIn-CP (all steps)", "GPT forwards per run"] == 0
    assert table.loc["Grad-Dot", "GPT forwards per run"] == 2 * 100 * 30


class _Fake:
    def __init__(self, pause: float):
        self.pause = pause

    def simulate(self, runs):
        import time

        time.sleep(self.pause)
        return np.zeros((runs.n_runs, runs.n_steps + 1, runs.n_tests))


def _truth(runs=2, steps=3, tests=4) -> Dynamics:
    rng = np.random.default_rng(0)
    return Dynamics(curricula=rng.integers(0, 5, size=(runs, steps, 2)), values=rng.random((runs, steps + 1, tests)),
                    test_ids=np.arange(tests), metric="loss", run_ids=np.arange(runs),
                    split=np.array(["test"] * runs), steps=np.arange(steps + 1))


def test_latency_table_one_row_per_method_positive():
    truth = _truth()
    sims = {"Simfluence": _Fake(0.0), "GPTfluence": _Fake(0.008)}
    result = SimulationResult(truth, {}, pd.DataFrame(), fit_seconds={"Simfluence": 0.1, "GPTfluence": 2.0},
                              simulate_seconds={"Simfluence": 0.08, "GPTfluence": 0.8}, simulators=sims)
    table = cost.latency_table(result, repeats=2)
    assert list(table.index) == ["Simfluence", "GPTfluence"]
    assert (table["trajectories"] == 8).all()
    assert table.loc["GPTfluence", "first call"] == pytest.approx(0.1)
    assert (table[["first call", "median", "min"]] > 0).all().all()
    assert table.loc["GPTfluence", "median"] >= 0.008 / 8  # the sleep, shared by 8 trajectories
    with pytest.raises(ValueError):
        cost.latency_table(result, methods=["Grad-Dot"])


def test_latency_with_recording_adds_only_to_gradient_methods():
    latency = pd.DataFrame({"median": [1.0, 2.0, 3.0]}, index=["Simfluence", "GPTfluence", "Grad-Dot"])
    total = cost.latency_with_recording(latency, 10.0)
    assert total.tolist() == [1.0, 2.0, 13.0]


def test_with_paper_cost_maps_both_tracin_rows():
    paper = pd.DataFrame({"method": ["TracIn-CP", "TracIn-CP", "GPTfluence", "GPTfluence"],
                          "metric": ["latency_s_per_sample", "flops"] * 2, "value": [153.0, 1.1e13, 0.2, 5.3e6]})
    ours = pd.DataFrame({"latency": [1e-3, 2e-3, 3e-3], "flops": [1.0, 2.0, 3.0]},
                        index=["GPTfluence", "TracIn-CP (all steps)", "Grad-Dot"])
    table = cost.with_paper_cost(ours, paper)
    assert table.loc["TracIn-CP (all steps)", "latency (s/sample), paper"] == 153.0
    assert table.loc["GPTfluence", "FLOPs, paper"] == 5.3e6
    assert np.isnan(table.loc["Grad-Dot", "FLOPs, paper"])
    assert table.loc["Grad-Dot", "FLOPs, ours"] == 3.0


def test_convergence_summary_reports_the_kept_epoch():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_mse": [1.0, 0.5, 0.4], "val_mse": [2.0, 0.7, 0.9],
                            "seconds": [0.5, 1.0, 1.5]})
    out = cost.convergence(history, best_epoch=2)
    assert out["best epoch"] == 2 and out["best val mse"] == 0.7 and out["first val mse"] == 2.0
    assert out["epochs"] == 3 and out["seconds per epoch"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        cost.convergence(history.drop(columns="seconds"), best_epoch=2)
    with pytest.raises(ValueError, match="not an epoch"):
        cost.convergence(history, best_epoch=7)


def test_convergence_follows_best_epoch_not_the_lowest_mse():
    """Epoch 2 has the lowest all-rollout MSE, but the simulator kept epoch 3 (e.g. fewer diverged rollouts)."""
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_mse": [1.0, 0.5, 0.4], "val_mse": [2.0, 0.7, 0.9],
                            "seconds": [0.5, 1.0, 1.5]})
    out = cost.convergence(history, best_epoch=3)
    assert out["best epoch"] == 3 and out["best val mse"] == 0.9 and out["lowest val mse"] == 0.7


class _HashEncoder:
    """A fake frozen encoder: a fixed random vector per text (no model to load)."""

    name, dim = "hash", 8

    def embed(self, texts):
        return np.stack([np.random.default_rng(sum(map(ord, t))).normal(size=self.dim) for t in texts])


def test_the_chapter_run_and_its_facts_on_the_smoke_collection():
    result = cost.run("smoke", "sst2", encoder=_HashEncoder(), repeats=1)
    out = cost.facts(result)
    truth = result.simulation.truth
    assert out["n_traj"] == truth.n_runs * truth.n_tests and out["repeats"] == 1
    assert set(result.latency.index) == set(cost.COST_METHODS) and out["enc_dim"] == 8
    assert out["pshape_sim_traj"] == "768"  # 96 steps x (2 (4 - 1) + 2) FLOPs
    assert out["p_lat_gpt"] == "0.2" and out["n_all_runs"] == len(result.timings)
    assert out["stop_reason"].startswith(("it stopped after", "it ran all"))
    assert out["payoff"].startswith(("a simulator pays off", "at this scale"))
