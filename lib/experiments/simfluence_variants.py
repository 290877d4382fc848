"""Simfluence in the book: its three variants (the Simfluence paper's Table 2) and its closed-form fit beside the
Adam training of GPTfluence's official code (Table 9 settings), on the fine-tuning collections.

- Variants: SIMFLUENCE-LINEAR `y_t = alpha(c_t) y_{t-1} + beta(c_t)`, -ADDITIVE (alpha = 1, TracIn-Ideal) and
  -MULTIPLICATIVE (beta = 0), each fitted in closed form on the train runs (ridge penalty chosen on the val runs)
  and scored on the held-out test runs.
- Fits: the linear variant solved in closed form and trained with Adam (lr 1e-3, 300 epochs, batches of 128
  transitions, `lib.simulators.simfluence_sgd.PAPER_SETTINGS`), the same objective at the same penalty, so the two
  differ only in how the minimum is found: held-out scores, fit seconds and how far their predictions differ.

`run(scale)` returns a `SimfluenceResult` of tidy tables; `facts(result)` is what the chapter glues. Which
collections each part uses is the scale's `ablations.ablation_grid` (`variant_tasks`, `adam_tasks`); an incomplete
collection is left out and listed in `skipped`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from lib.dynamics import Dynamics
from lib.experiments.ablations import Skipped, ablation_grid, complete_only, skipped_text
from lib.experiments.comparisons import Case, claim_facts, difference_table
from lib.experiments.scoring import REFERENCE, mean_trajectory
from lib.experiments.simulation import split_or_none
from lib.experiments.store import dynamics
from lib.experiments.tables import values_with_std
from lib.experiments.wording import cell, compared, ratio_phrase
from lib.metrics import SCORES, evaluate
from lib.paper import paper_rows
from lib.simulators import Simfluence, SimfluenceSGD
from lib.simulators.health import rollout_health, value_band
from lib.simulators.simfluence_sgd import PAPER_SETTINGS

VARIANTS = {"Simfluence-Linear": "linear", "Simfluence-Additive": "additive",
            "Simfluence-Multiplicative": "multiplicative"}
"""The Simfluence paper's method names (its Table 2, the reference CSV) -> our `Simfluence(variant=...)`."""
CLOSED_FORM, ADAM = "closed form", "Adam"
PAPER_METRICS = ("mse", "spearman")
"""The Simfluence paper's Table 2 reports all-steps MSE and final-step Spearman's rho."""


def _fit_and_score(simulator, dyn: Dynamics, **labels) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Fit on the train runs (val runs choose the penalty), score on the test runs; rows carry fit seconds, l2 and
    the n (runs, tests). Also returns the held-out prediction and its diverged rollouts (bool [runs, tests])."""
    start = time.perf_counter()
    simulator.fit(dyn.select_runs("train"), split_or_none(dyn, "val"))
    seconds = time.perf_counter() - start
    truth = dyn.select_runs("test")
    prediction = simulator.simulate(truth)
    rows = evaluate(prediction, truth, method=labels.pop("method"), **labels)
    flags = simulator.health_.diverged
    return rows.assign(fit_seconds=seconds, l2=simulator.l2_, diverged=int(flags.sum()), runs=truth.n_runs,
                       tests=truth.n_tests), prediction, flags


def _blind(dyn: Dynamics, **labels) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The curriculum-blind REFERENCE on the test runs (the train runs' mean change from each run's y_0), scored
    like a variant (no fit: fit_seconds 0, no l2), with its prediction and diverged rollouts."""
    train, truth = dyn.select_runs("train"), dyn.select_runs("test")
    prediction = mean_trajectory(train, truth)
    flags = rollout_health(prediction, truth.metric, value_band(train.values)).diverged
    rows = evaluate(prediction, truth, method=REFERENCE, **labels)
    return rows.assign(fit_seconds=0.0, l2=np.nan, diverged=int(flags.sum()), runs=truth.n_runs,
                       tests=truth.n_tests), prediction, flags


def variant_scores(dyn: Dynamics, *, reference: bool = True, cases: list[Case] | None = None,
                   **labels) -> pd.DataFrame:
    """The three variants, closed form, fitted on the train runs and scored on the test runs (Table 2); with
    `reference`, the curriculum-blind REFERENCE too. `cases`, when given, receives the `comparisons.Case` of the
    test runs (group: the `task` label, else "all")."""
    frames, predictions, diverged = [], {}, {}
    for name, variant in VARIANTS.items():
        rows, predictions[name], diverged[name] = _fit_and_score(Simfluence(variant=variant), dyn, method=name,
                                                                 fit=CLOSED_FORM, **labels)
        frames.append(rows)
    if reference:
        rows, predictions[REFERENCE], diverged[REFERENCE] = _blind(dyn, fit="-", **labels)
        frames.append(rows)
    if cases is not None:
        cases.append(Case(str(labels.get("task", "all")), dyn.select_runs("test"), predictions, diverged, {}))
    return pd.concat(frames, ignore_index=True)


def fit_comparison(dyn: Dynamics, *, adam: dict | None = None, cases: list[Case] | None = None,
                   **labels) -> pd.DataFrame:
    """SIMFLUENCE-LINEAR fitted in closed form and with Adam (`adam` overrides the paper's settings), scored alike.

    The closed form chooses the ridge penalty on the val runs; Adam minimizes the same objective at that penalty
    (training it for every value of the grid would cost the grid's length times more). Each row also carries
    `prediction_rms_gap`: the root mean square difference between the two fits' held-out predictions (0 when both
    reach the same minimum). `cases`, when given, receives the `comparisons.Case` of the test runs whose methods are
    CLOSED_FORM and ADAM.
    """
    closed_form = Simfluence()
    closed, closed_pred, closed_flags = _fit_and_score(closed_form, dyn, method="Simfluence-Linear", fit=CLOSED_FORM,
                                                       **labels)
    trained, adam_pred, adam_flags = _fit_and_score(SimfluenceSGD(l2=closed_form.l2_, **(adam or {})), dyn,
                                                    method="Simfluence-Linear", fit=ADAM, **labels)
    gap = float(np.sqrt(np.mean((closed_pred[:, 1:] - adam_pred[:, 1:]) ** 2)))
    if cases is not None:
        cases.append(Case(str(labels.get("task", "all")), dyn.select_runs("test"),
                          {CLOSED_FORM: closed_pred, ADAM: adam_pred}, {CLOSED_FORM: closed_flags, ADAM: adam_flags},
                          {}))
    return pd.concat([closed, trained], ignore_index=True).assign(prediction_rms_gap=gap)


def paper_variant_rows() -> pd.DataFrame:
    """The Simfluence paper's Table 2 rows of the three variants (regime FMT / IA3, models, tasks; mse, spearman)."""
    return paper_rows(source="simfluence", method=list(VARIANTS))


def variants_wide(table: pd.DataFrame, index: Sequence[str]) -> pd.DataFrame:
    """A display table: rows `index`, columns (metric, variant) as "value (std)" (the book's number rule)."""

    cells = table.assign(cell=[cell(v, s, missing="-") for v, s in zip(table["value"], table["std"])])
    wide = cells.pivot_table(index=list(index), columns=["metric", "method"], values="cell", aggfunc="first",
                             sort=False)
    metrics = [m for m in SCORES if m in wide.columns.get_level_values(0)]
    methods = list(VARIANTS) + [REFERENCE]
    wide = wide.reindex(columns=[(m, v) for m in metrics for v in methods if (m, v) in wide.columns])
    wide = wide.rename(columns=lambda name: name.removeprefix("Simfluence-"), level=1)
    if {"runs", "tests"} <= set(table.columns):  # ours: held-out runs x test examples per row
        n = table.groupby(list(index), sort=False)[["runs", "tests"]].first()
        wide[("n", "runs x tests")] = [f"{int(r)} x {int(t)}" for r, t in n.loc[wide.index].to_numpy()]
    return wide


@dataclass
class SimfluenceResult:
    """The chapter section's tables, and its comparisons (`comparisons.difference_table`, column task)."""

    variants: pd.DataFrame   # variant_scores per task (column task)
    fits: pd.DataFrame       # fit_comparison per task
    paper: pd.DataFrame      # paper_variant_rows
    adam: dict               # the Adam settings used
    variant_differences: pd.DataFrame | None = None  # VARIANT_PAIRS per task and over the tasks
    fit_differences: pd.DataFrame | None = None      # Adam against the closed form per task and over the tasks
    skipped: list[Skipped] = field(default_factory=list)  # parts left out ("variants", "adam"): incomplete collections


VARIANT_PAIRS = {"sv_la": ("Simfluence-Linear", "Simfluence-Additive"),
                 "sv_lm": ("Simfluence-Linear", "Simfluence-Multiplicative"),
                 "sv_lr": ("Simfluence-Linear", REFERENCE)}
"""The variant comparisons (A, B) by glue key: the linear variant against the other two and against the
curriculum-blind reference."""
FIT_PAIR = {"sv_ac": (ADAM, CLOSED_FORM)}


def run(scale: str, *, tasks: Sequence[str] | None = None, adam_tasks: Sequence[str] | None = None,
        adam: dict | None = None, data_dir: str | os.PathLike | None = None) -> SimfluenceResult:
    """The variants on the loss of each of `tasks` and closed form vs Adam on each of `adam_tasks` (default: the
    scale's `ablation_grid`; Adam's tasks default to `tasks` when these are given), complete collections only."""
    grid = ablation_grid(scale)
    adam_tasks = list(adam_tasks or (grid.adam_tasks if tasks is None else tasks))
    tasks = list(tasks or grid.variant_tasks)
    skipped: list[Skipped] = []
    tasks = complete_only(scale, tasks, "variants", "Simfluence's variants on these tasks", skipped, data_dir)
    adam_tasks = complete_only(scale, adam_tasks, "adam", "the closed form against Adam on these tasks", skipped,
                               data_dir)
    if not tasks or not adam_tasks:
        parts = [ablation for ablation, names in (("variants", tasks), ("adam", adam_tasks)) if not names]
        raise ValueError(f"scale {scale!r}: no complete collection for " + " or ".join(
            f"{ablation} ({skipped_text(skipped, ablation) or 'no task given'})" for ablation in parts))
    runs = {task: dynamics(scale, task, data_dir=data_dir) for task in dict.fromkeys(tasks + adam_tasks)}
    variant_cases: list[Case] = []
    fit_cases: list[Case] = []
    variants = pd.concat([variant_scores(runs[task], task=task, cases=variant_cases) for task in tasks],
                         ignore_index=True)
    fits = pd.concat([fit_comparison(runs[task], adam=adam, task=task, cases=fit_cases) for task in adam_tasks],
                     ignore_index=True)
    return SimfluenceResult(variants=variants, fits=fits, paper=paper_variant_rows(),
                            adam={**PAPER_SETTINGS, **(adam or {})},
                            variant_differences=difference_table(variant_cases, list(VARIANT_PAIRS.values()),
                                                                 shared_runs=False),
                            fit_differences=difference_table(fit_cases, list(FIT_PAIR.values()), shared_runs=False),
                            skipped=skipped)


def best_variant_counts(table: pd.DataFrame, by: Sequence[str], metric: str = "mse") -> dict[str, int]:
    """Variant -> in how many groups (`by` columns) it has the best `metric` (ties go to the first variant)."""
    rows = table[(table["metric"] == metric) & table["method"].isin(list(VARIANTS))]
    best = rows.loc[rows.groupby(list(by))["value"].idxmin() if metric != "spearman"
                    else rows.groupby(list(by))["value"].idxmax(), "method"]
    return {name: int((best == name).sum()) for name in VARIANTS}


def facts(result: SimfluenceResult) -> dict[str, object]:
    """Gluable facts: which variant wins where (ours and the paper's), and closed form against Adam."""
    out: dict[str, object] = {"sv_tasks": int(result.variants["task"].nunique())}
    paper = result.paper[result.paper["metric"].isin(PAPER_METRICS)]
    settings = ["regime", "model", "task"]
    out["sv_paper_settings"] = int(paper.groupby(settings).ngroups)
    for metric in ("mse", "spearman"):
        ours = best_variant_counts(result.variants, ["task"], metric)
        theirs = best_variant_counts(paper, settings, metric)
        for name, key in zip(VARIANTS, ("linear", "additive", "multiplicative")):
            out[f"sv_best_{metric}_{key}"] = ours[name]
            out[f"sv_paper_best_{metric}_{key}"] = theirs[name]
    fits = result.fits
    for fit, key in ((CLOSED_FORM, "closed"), (ADAM, "adam")):
        rows = fits[fits["fit"] == fit]
        out[f"sv_{key}_seconds"] = float(rows.drop_duplicates("task")["fit_seconds"].sum())
        for metric in SCORES:
            out[f"sv_{key}_{metric}"] = float(rows.loc[rows["metric"] == metric, "value"].mean())
    out["sv_adam_vs_closed_mse"] = compared(out["sv_adam_mse"], out["sv_closed_mse"], "mse")
    out["sv_adam_time"] = ratio_phrase(out["sv_adam_seconds"], out["sv_closed_seconds"])
    out["sv_gap_max"] = float(fits["prediction_rms_gap"].max())
    out["sv_adam_epochs"], out["sv_adam_lr"] = int(result.adam["epochs"]), float(result.adam["lr"])
    out["sv_adam_batch"] = int(result.adam["batch_size"])
    for differences, pairs in ((result.variant_differences, VARIANT_PAIRS), (result.fit_differences, FIT_PAIR)):
        if differences is not None:
            for key, (a, b) in pairs.items():
                out.update(claim_facts(differences, a, b, key))
    return out


def fits_table(fits: pd.DataFrame) -> pd.DataFrame:
    """A display table of `fit_comparison` rows: (task, fit) x the scores as "value (std)", plus the fit seconds,
    the ridge penalty and the held-out predictions' rms gap between the two fits."""

    scores = values_with_std(fits, index=["task", "fit"]).rename_axis(columns=None)
    extra = fits.drop_duplicates(["task", "fit"]).set_index(["task", "fit"])[
        ["fit_seconds", "l2", "prediction_rms_gap"]].rename(
        columns={"fit_seconds": "fit s", "prediction_rms_gap": "rms gap"})
    return scores.join(extra)
