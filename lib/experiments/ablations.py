"""GPTfluence's ablations (paper Figs 3-6, Table 10): checkpoint interval, Markov order, encoder, model size.

Each function fits simulators on a collection's train runs (val runs for early stopping) and scores them
on its test runs, returning a tidy table (method, target, metric, value, std, n, + the ablated setting)
that the plots of `lib.plots.ablations` draw and `lib.paper.beside` joins with the paper's rows.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import numpy as np
import pandas as pd

from lib.collect import StoredCollection
from lib.dynamics import Dynamics
from lib.experiments.scoring import mean_value
from lib.experiments.simulation import simulate_methods, split_or_none
from lib.experiments.wording import cell, compared, human_count, trend
from lib.metrics import LOWER_IS_BETTER, SCORES, evaluate
from lib.paper import beside, paper_rows
from lib.simulators import GPTfluence, GPTfluenceConfig, Simfluence

INTERVALS = (1, 2, 3, 4, 5, 6, 8, 10)
"""Checkpoint intervals k tried (paper Fig 3 goes up to 10); only those that divide T are used."""
MIN_THINNED_STEPS = 2
"""A thinned run keeps at least this many recorded steps after step 0."""
ORDERS = (1, 2, 3, 5, 10)
"""Markov orders n of the paper (Fig 4, Table 10)."""
MIN_PREDICTED_STEPS = 4
"""An order-n simulator must still predict at least this many steps (n..T), so n <= T - 3."""


def usable_intervals(n_steps: int, candidates: Sequence[int] = INTERVALS,
                     min_steps: int = MIN_THINNED_STEPS) -> list[int]:
    """The intervals k of `candidates` that divide T (so every k ends on the final step) and keep >= min_steps steps."""
    return [int(k) for k in candidates if n_steps % k == 0 and n_steps // k >= min_steps]


def usable_orders(n_steps: int, orders: Sequence[int] = ORDERS,
                  min_predicted: int = MIN_PREDICTED_STEPS) -> list[int]:
    """The orders n of `orders` for which steps n..T hold at least `min_predicted` predicted values."""
    return [int(n) for n in orders if n_steps - n + 1 >= min_predicted]


def checkpoint_interval_ablation(dyn: Dynamics, intervals: Sequence[int], *, encoder, gptfluence: GPTfluenceConfig,
                                 methods: Sequence[str] = ("Simfluence", "GPTfluence"), **labels) -> pd.DataFrame:
    """Fit and score `methods` on the dynamics thinned to every k-th step, for each k (paper Fig 3).

    Train, validation and test runs are all thinned with `Dynamics.every_k_steps(k)`: values are kept at
    steps 0, k, 2k, .., T and the curriculum of a thinned step is the concatenation of the k batches it
    covers (k * B examples). The test runs are scored at their recorded steps k, 2k, .., T.
    """
    frames = []
    for k in intervals:
        thinned = dyn.every_k_steps(int(k))
        result = simulate_methods(thinned, list(methods), encoder=encoder, gptfluence=gptfluence, **labels)
        table = result.table.assign(interval=int(k), recorded_steps=thinned.n_steps,
                                    thinned_batch=thinned.batch_size)
        table["fit_seconds"] = table["method"].map(result.fit_seconds)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def markov_order_ablation(dyn: Dynamics, orders: Sequence[int], *, encoder, gptfluence: GPTfluenceConfig,
                          reference: bool = True, **labels) -> pd.DataFrame:
    """GPTfluence of each Markov order n, fitted on the train runs and scored on the test runs (Fig 4, Table 10).

    Rows with scored="own" follow the paper: an order-n simulator is given y_0..y_{n-1} and scored on steps
    n..T. Rows with scored="common" score every order on the same steps max(orders)..T, which removes the
    advantage of being handed more true values. With `reference`, Simfluence (order 1) is added.
    `fitted_order` is the order of the fitted simulator; `setting` is "markov_order=n" as in the paper CSV.
    """
    train, val, test = dyn.select_runs("train"), split_or_none(dyn, "val"), dyn.select_runs("test")
    common = max(orders)
    simulators: list[tuple[str, int, object]] = []
    for n in orders:
        config = dataclasses.replace(gptfluence, order=int(n))
        simulators.append(("GPTfluence", int(n), GPTfluence(encoder, config)))
    if reference:
        simulators.append(("Simfluence", 1, Simfluence()))
    frames = []
    for method, n, simulator in simulators:
        start = time.perf_counter()
        simulator.fit(train, val)
        seconds = time.perf_counter() - start
        prediction = simulator.simulate(test)
        for scored, from_step in (("own", simulator.order), ("common", common)):
            frames.append(evaluate(prediction, test, order=from_step, method=method, **labels).assign(
                order=n, fitted_order=simulator.order, setting=f"markov_order={n}", scored=scored,
                scored_from=from_step, fit_seconds=seconds))
    return pd.concat(frames, ignore_index=True)


def encoder_ablation(dyn: Dynamics, encoders: dict[str, object], *, gptfluence: GPTfluenceConfig,
                     reference: bool = True, **labels) -> pd.DataFrame:
    """GPTfluence with each frozen encoder (label -> Encoder or encoder name), scored on the test runs (Fig 5).

    With `reference`, Simfluence (no features) is added once, with encoder "(none)".
    """
    frames = []
    for label, encoder in encoders.items():
        result = simulate_methods(dyn, ["GPTfluence"], encoder=encoder, gptfluence=gptfluence, **labels)
        simulator = result.simulators["GPTfluence"]
        frames.append(result.table.assign(encoder=label, encoder_name=simulator.features.encoder.name,
                                          dim=simulator.features.encoder.dim,
                                          fit_seconds=result.fit_seconds["GPTfluence"]))
    if reference:
        result = simulate_methods(dyn, ["Simfluence"], **labels)
        frames.append(result.table.assign(encoder="(none)", encoder_name="(none)", dim=0,
                                          fit_seconds=result.fit_seconds["Simfluence"]))
    return pd.concat(frames, ignore_index=True)


def model_description(collection: StoredCollection) -> dict:
    """The GPT of a collection: name, regime and parameter counts (total, trainable) from its first run's run.json."""
    model = collection.config.get("model", {})
    environment = collection.run_meta(collection.run_indices()[0]).get("environment", {})
    return {"model": model.get("name", "?"), "regime": model.get("regime", "full"),
            "parameters": environment.get("model_parameters", np.nan),
            "trainable": environment.get("trainable_parameters", np.nan)}


def model_size_ablation(collections: dict[str, Dynamics], models: dict[str, dict], *, encoder,
                        gptfluence: GPTfluenceConfig, methods: Sequence[str] = ("Simfluence", "GPTfluence")
                        ) -> pd.DataFrame:
    """Fit and score `methods` on each collection (collection name -> Dynamics, one GPT size each) (Fig 6).

    `models`: collection name -> its `model_description`. Rows carry the collection name, its GPT (model, regime,
    parameters, trainable) and a display label.
    """
    frames = []
    for name, dyn in collections.items():
        info = models[name]
        result = simulate_methods(dyn, list(methods), encoder=encoder, gptfluence=gptfluence, collection=name)
        table = result.table.assign(**info, label=model_label(info))
        table["fit_seconds"] = table["method"].map(result.fit_seconds)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def model_label(info: dict) -> str:
    """"smollm2-135m (full, 135M)": the GPT, its regime and its trainable parameter count."""
    trainable = info.get("trainable")
    count = "?" if trainable is None or not np.isfinite(trainable) else human_count(trainable)
    return f"{info['model']} ({info['regime']}, {count} trainable)"


def table10_beside(ours: pd.DataFrame) -> pd.DataFrame:
    """Our Markov-order rows (scored="own") beside the paper's Table 10, joined on task, target, setting, metric.

    `ours` needs a `task` column (the paper's task names: rte, webnlg). Paper rows of tasks, targets or
    metrics we did not run are left out; our rows the paper lacks are kept with an empty paper column.
    """
    mine = ours[(ours["scored"] == "own") & (ours["method"] == "GPTfluence")]
    paper = paper_rows(table="10")
    paper = paper[paper["task"].isin(mine["task"]) & paper["target"].isin(mine["target"])
                  & paper["metric"].isin(mine["metric"])]
    on = ["task", "target", "setting", "metric"]
    table = beside(mine, paper, on=on)
    table["order"] = table["setting"].str.split("=").str[1].astype(int)
    return table.sort_values(["task", "target", "metric", "order"]).drop(columns="order").reset_index(drop=True)


def table10_wide(table: pd.DataFrame) -> pd.DataFrame:
    """`table10_beside` as a display table: rows (task, target, order n), columns metric x (ours, paper) "v (std)"."""
    cells = table.assign(n=table["setting"].str.split("=").str[1].astype(int))
    for who in ("ours", "paper"):
        cells[f"{who}_cell"] = [cell(v, s, missing="-")
                                for v, s in zip(table[who], table[f"{who} std"])]
    wide = cells.pivot(index=["task", "target", "n"], columns="metric", values=["ours_cell", "paper_cell"])
    wide = wide.swaplevel(axis=1).rename(columns={"ours_cell": "ours", "paper_cell": "paper"}, level=1)
    metrics = [m for m in SCORES if m in wide.columns.get_level_values(0)]
    return wide.reindex(columns=[(m, who) for m in metrics for who in ("ours", "paper")]).sort_index()


def interval_facts(table: pd.DataFrame) -> dict[str, object]:
    """Gluable facts of the checkpoint-interval ablation, averaged over tasks (the paper's Fig 3 claims)."""
    ks = sorted(table["interval"].unique())
    k0, k1 = int(ks[0]), int(ks[-1])
    out: dict[str, object] = {"interval_list": ", ".join(map(str, ks)), "interval_max": k1,
                              "interval_tasks": int(table["task"].nunique()) if "task" in table else 1}
    for method, key in (("GPTfluence", "gpt"), ("Simfluence", "sim")):
        for metric in SCORES:
            for k, tag in ((k0, "first"), (k1, "last")):
                out[f"interval_{key}_{metric}_{tag}"] = mean_value(table, method=method, metric=metric, interval=k)
    for metric in SCORES:
        out[f"interval_gpt_{metric}_trend"] = trend(out[f"interval_gpt_{metric}_first"],
                                                    out[f"interval_gpt_{metric}_last"])
    out["interval_gpt_vs_sim_rho_last"] = compared(out["interval_gpt_spearman_last"], out["interval_sim_spearman_last"],
                                                   "spearman")
    out["interval_gpt_vs_sim_mse_last"] = compared(out["interval_gpt_mse_last"], out["interval_sim_mse_last"], "mse")
    degrades = (out["interval_gpt_mse_trend"] == "rises") and (out["interval_gpt_spearman_trend"] == "falls")
    out["interval_claim"] = "holds" if degrades else "does not hold"
    return out


def order_facts(table: pd.DataFrame) -> dict[str, object]:
    """Gluable facts of the Markov-order ablation per (task, target): first/last order scores and the best order."""
    out: dict[str, object] = {}
    gpt = table[table["method"] == "GPTfluence"]
    orders = sorted(gpt["order"].unique())
    out["order_list"] = ", ".join(map(str, orders))
    out["order_max"] = int(orders[-1])
    dropped = [n for n in ORDERS if n not in orders]
    out["order_dropped"] = ", ".join(map(str, dropped)) if dropped else "none"
    wins = 0
    groups = list(gpt.groupby(["task", "target"], sort=False))
    for (task, target), part in groups:
        key = f"order_{task}_{target}"
        for scored in ("own", "common"):
            mse = part[(part["metric"] == "mse") & (part["scored"] == scored)].set_index("order")["value"]
            out[f"{key}_best_mse_{scored}"] = int(mse.idxmin()) if mse.notna().any() else "none"
        rho = part[(part["metric"] == "spearman") & (part["scored"] == "own")].set_index("order")["value"]
        out[f"{key}_rho_first"], out[f"{key}_rho_last"] = float(rho.iloc[0]), float(rho.iloc[-1])
        out[f"{key}_rho_trend"] = trend(float(rho.iloc[0]), float(rho.iloc[-1]))
        mse_common = part[(part["metric"] == "mse") & (part["scored"] == "common")].set_index("order")["value"]
        wins += int(mse_common.iloc[-1] < mse_common.iloc[0])
    out["order_groups"] = len(groups)
    out["order_higher_wins"] = wins
    return out


def encoder_facts(table: pd.DataFrame, roles: dict[str, str],
                    sentence_roles: Sequence[str] = ("mean", "cls")) -> dict[str, object]:
    """Gluable facts of the encoder ablation: the best encoder per metric and each role's scores.

    `roles` names encoder labels by a scale-independent role (e.g. {"mean": "MiniLM, mean pooling", "gpt": ..}),
    giving keys such as `encoder_gpt_mse`; `encoder_best_mse` is the label of the best encoder and
    `encoder_best_mse_kind` says whether it is one of the `sentence_roles` (the paper's finding).
    """
    gpt = table[table["method"] == "GPTfluence"]
    out: dict[str, object] = {}
    for metric in SCORES:
        scores = gpt[gpt["metric"] == metric].set_index("encoder")["value"].dropna()
        pick = scores.idxmin if LOWER_IS_BETTER[metric] else scores.idxmax
        out[f"encoder_best_{metric}"] = pick() if len(scores) else "none"
        for role, label in roles.items():
            out[f"encoder_{role}_{metric}"] = mean_value(gpt, encoder=label, metric=metric)
        out[f"encoder_sim_{metric}"] = mean_value(table, method="Simfluence", metric=metric)
    sentence = {roles[r] for r in sentence_roles if r in roles}
    for metric in ("mse", "spearman"):
        best = out[f"encoder_best_{metric}"]
        out[f"encoder_best_{metric}_kind"] = ("a sentence encoder, as in the paper" if best in sentence
                                              else "not a sentence encoder, unlike the paper")
    return out


def size_facts(table: pd.DataFrame) -> dict[str, object]:
    """Gluable facts of the model-size ablation: in how many model settings GPTfluence beats Simfluence."""
    out: dict[str, object] = {"size_settings": int(table["collection"].nunique())}
    for metric in SCORES:
        wins = 0
        for name in table["collection"].unique():
            verdict = compared(mean_value(table, collection=name, method="GPTfluence", metric=metric),
                               mean_value(table, collection=name, method="Simfluence", metric=metric), metric)
            wins += verdict == "better than"
        out[f"size_gpt_wins_{metric}"] = wins
    return out
