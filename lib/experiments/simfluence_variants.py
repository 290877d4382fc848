"""Simfluence in the book: its three variants (the Simfluence paper's Table 2) and its closed-form fit beside the
Adam training of GPTfluence's official code (Table 9 settings), on the fine-tuning collections.

- Variants: SIMFLUENCE-LINEAR `y_t = alpha(c_t) y_{t-1} + beta(c_t)`, -ADDITIVE (alpha = 1, TracIn-Ideal) and
  -MULTIPLICATIVE (beta = 0), each fitted in closed form on the train runs (ridge penalty chosen on the val runs)
  and scored on the held-out test runs.
- Fits: the linear variant solved in closed form and trained with Adam (lr 1e-3, 300 epochs, batches of 128
  transitions, `lib.simulators.simfluence_sgd.PAPER_SETTINGS`), the same objective at the same penalty, so the two
  differ only in how the minimum is found: held-out scores, fit seconds and how far their predictions differ.

`run(scale)` returns a `SimfluenceResult` of tidy tables; `facts(result)` is what the chapter glues.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from lib.dynamics import Dynamics
from lib.experiments.settings import FINE_TUNING_TASKS
from lib.experiments.simulation import split_or_none
from lib.experiments.store import dynamics
from lib.experiments.tables import values_with_std
from lib.experiments.wording import cell, compared, ratio_phrase
from lib.metrics import SCORES, evaluate
from lib.paper import paper_rows
from lib.simulators import Simfluence, SimfluenceSGD
from lib.simulators.simfluence_sgd import PAPER_SETTINGS

VARIANTS = {"Simfluence-Linear": "linear", "Simfluence-Additive": "additive",
            "Simfluence-Multiplicative": "multiplicative"}
"""The Simfluence paper's method names (its Table 2, the reference CSV) -> our `Simfluence(variant=...)`."""
CLOSED_FORM, ADAM = "closed form", "Adam"
PAPER_METRICS = ("mse", "spearman")
"""The Simfluence paper's Table 2 reports all-steps MSE and final-step Spearman's rho."""


def _fit_and_score(simulator, dyn: Dynamics, **labels) -> tuple[pd.DataFrame, np.ndarray]:
    """Fit on the train runs (val runs choose the penalty), score on the test runs; rows carry fit seconds and l2."""
    start = time.perf_counter()
    simulator.fit(dyn.select_runs("train"), split_or_none(dyn, "val"))
    seconds = time.perf_counter() - start
    truth = dyn.select_runs("test")
    prediction = simulator.simulate(truth)
    rows = evaluate(prediction, truth, method=labels.pop("method"), **labels)
    return rows.assign(fit_seconds=seconds, l2=simulator.l2_, diverged=int(simulator.health_.diverged.sum())), \
        prediction


def variant_scores(dyn: Dynamics, **labels) -> pd.DataFrame:
    """The three variants, closed form, fitted on the train runs and scored on the test runs (Table 2)."""
    return pd.concat([_fit_and_score(Simfluence(variant=variant), dyn, method=name, fit=CLOSED_FORM, **labels)[0]
                      for name, variant in VARIANTS.items()], ignore_index=True)


def fit_comparison(dyn: Dynamics, *, adam: dict | None = None, **labels) -> pd.DataFrame:
    """SIMFLUENCE-LINEAR fitted in closed form and with Adam (`adam` overrides the paper's settings), scored alike.

    The closed form chooses the ridge penalty on the val runs; Adam minimizes the same objective at that penalty
    (training it for every value of the grid would cost the grid's length times more). Each row also carries
    `prediction_rms_gap`: the root mean square difference between the two fits' held-out predictions (0 when both
    reach the same minimum).
    """
    closed_form = Simfluence()
    closed, closed_pred = _fit_and_score(closed_form, dyn, method="Simfluence-Linear", fit=CLOSED_FORM, **labels)
    trained, adam_pred = _fit_and_score(SimfluenceSGD(l2=closed_form.l2_, **(adam or {})), dyn,
                                        method="Simfluence-Linear", fit=ADAM, **labels)
    gap = float(np.sqrt(np.mean((closed_pred[:, 1:] - adam_pred[:, 1:]) ** 2)))
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
    wide = wide.reindex(columns=[(m, v) for m in metrics for v in VARIANTS if (m, v) in wide.columns])
    return wide.rename(columns=lambda name: name.removeprefix("Simfluence-"), level=1)


@dataclass
class SimfluenceResult:
    """The chapter section's tables."""

    variants: pd.DataFrame   # variant_scores per task (column task)
    fits: pd.DataFrame       # fit_comparison per task
    paper: pd.DataFrame      # paper_variant_rows
    adam: dict               # the Adam settings used


def run(scale: str, *, tasks: Sequence[str] | None = None, adam: dict | None = None,
        data_dir: str | os.PathLike | None = None) -> SimfluenceResult:
    """Variants and closed form vs Adam on the loss of each fine-tuning collection of `scale`."""

    tasks = list(tasks or FINE_TUNING_TASKS)
    runs = {task: dynamics(scale, task, data_dir=data_dir) for task in tasks}
    variants = pd.concat([variant_scores(d, task=task) for task, d in runs.items()], ignore_index=True)
    fits = pd.concat([fit_comparison(d, adam=adam, task=task) for task, d in runs.items()], ignore_index=True)
    return SimfluenceResult(variants=variants, fits=fits, paper=paper_variant_rows(),
                            adam={**PAPER_SETTINGS, **(adam or {})})


def best_variant_counts(table: pd.DataFrame, by: Sequence[str], metric: str = "mse") -> dict[str, int]:
    """Variant -> in how many groups (`by` columns) it has the best `metric` (ties go to the first variant)."""
    rows = table[table["metric"] == metric]
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
    return out


def fits_table(fits: pd.DataFrame) -> pd.DataFrame:
    """A display table of `fit_comparison` rows: (task, fit) x the scores as "value (std)", plus the fit seconds,
    the ridge penalty and the held-out predictions' rms gap between the two fits."""

    scores = values_with_std(fits, index=["task", "fit"]).rename_axis(columns=None)
    extra = fits.drop_duplicates(["task", "fit"]).set_index(["task", "fit"])[
        ["fit_seconds", "l2", "prediction_rms_gap"]].rename(
        columns={"fit_seconds": "fit s", "prediction_rms_gap": "rms gap"})
    return scores.join(extra)
