"""Fit and score the simulators on one collection, per task group, and compare methods the way the papers' tables do."""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.dynamics import Dynamics
from lib.experiments.comparisons import cases_of, score_table
from lib.experiments.recorded import ids_by_task
from lib.experiments.settings import gptfluence_config, refit_seeds
from lib.experiments.simulation import SimulationResult, simulate_methods
from lib.experiments.store import stored
from lib.experiments.wording import change_phrase, compare_word
from lib.metrics import LOWER_IS_BETTER, SCORES, compare
from lib.simulators.health import rollout_health, value_band

REFERENCE = "Mean of training runs"
"""Not a paper method: every test example's mean trajectory over the training runs, shifted to start at y_0.
It ignores the curriculum, so a simulator is only useful where it beats this."""


def mean_trajectory(train: Dynamics, runs: Dynamics) -> np.ndarray:
    """The curriculum-blind prediction [runs, steps + 1, tests]: each run's y_0 plus the train runs' mean change."""
    if not np.array_equal(train.test_ids, runs.test_ids) or train.n_steps != runs.n_steps:
        raise ValueError("train and simulated runs must share test ids and step count")
    change = np.mean(train.values - train.values[:, :1], axis=0)  # [steps + 1, tests]
    return runs.values[:, :1] + change[None]


def simulate_collection(scale: str, name: str, methods: Sequence[str], *, metric: str = "loss", encoder=None,
                        data_dir: str | os.PathLike | None = None, reference: bool = True,
                        tests: Sequence[int] | None = None) -> SimulationResult:
    """All `methods` fitted on collection `name`'s train runs (val for selection) and rolled out on its test runs.

    GPTfluence uses the scale's settings and refits (lib.experiments.settings). `tests` restricts the collection to some test
    examples before anything is fitted. With `reference`, the result also holds the curriculum-blind REFERENCE
    prediction. Its table is labelled with collection=name.
    """
    dyn = stored(scale, name, data_dir=data_dir).dynamics(metric, require_complete=True)
    if tests is not None:
        dyn = dyn.select_tests(list(tests))
    result = simulate_methods(dyn, methods, encoder=encoder, gptfluence=gptfluence_config(scale),
                              refit_seeds=refit_seeds(scale), collection=name)
    if reference:
        train = dyn.select_runs("train")
        result.predictions[REFERENCE] = mean_trajectory(train, result.truth)
        result.health[REFERENCE] = rollout_health(result.predictions[REFERENCE], dyn.metric, value_band(train.values))
        result.table = compare(result.predictions, result.truth, order=_orders(result), collection=name)
    return result


def _orders(result: SimulationResult) -> dict[str, int]:
    return {m: int(getattr(result.simulators.get(m), "order", 1)) for m in result.predictions}


def scores_by_group(result: SimulationResult, groups: Mapping[str, Sequence[int]], *, column: str = "task",
                    methods: Sequence[str] | None = None, average: bool = True,
                    average_of: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy scores on each group of test examples of one collection's held-out runs (`comparisons.score_table`:
    method, target, metric, value, std, n, runs, tests, note, `column`).

    With `average`, rows `column` = "average" hold the mean over groups of each score, as the papers' "Average"
    rows; `average_of` restricts that mean to some groups (e.g. the five tasks of the paper's tables).
    """
    methods = list(result.predictions) if methods is None else list(methods)
    scores = score_table(cases_of(result, groups), methods, column=column, average_of=average_of, shared_runs=True)
    return scores if average else scores[scores[column] != "average"].reset_index(drop=True)


def with_average(scores: pd.DataFrame, *, column: str = "task", of: Sequence[str] | None = None) -> pd.DataFrame:
    """`scores` plus rows `column` = "average": per method, target and score, the mean over the groups `of`
    (default all) of their values, std NaN and n = the number of groups averaged (the papers' "Average" rows)."""
    part = scores[scores[column] != "average"]
    if of is not None:
        part = part[part[column].isin(list(of))]
    if part.empty:
        raise ValueError(f"no groups to average among {sorted(set(scores[column]))}")
    keys = [c for c in scores.columns if c not in ("value", "std", "n", column)]
    mean = part.groupby(keys, sort=False, dropna=False)["value"].mean().reset_index()
    mean["std"], mean["n"], mean[column] = np.nan, part[column].nunique(), "average"
    return pd.concat([scores, mean[scores.columns]], ignore_index=True)


def whole_collection_scores(result: SimulationResult, task: str, **labels) -> pd.DataFrame:
    """The result's own table (all test examples) labelled task=`task` and `labels`."""
    table = result.table.drop(columns=[c for c in ("collection",) if c in result.table.columns]).copy()
    table["task"] = task
    for key, value in labels.items():
        table[key] = value
    return table


def wins(scores: pd.DataFrame, a: str, b: str, metric: str, *, by: str = "task",
         exclude: Sequence[str] = ("average",), only: Sequence[str] | None = None) -> tuple[int, int]:
    """(groups where method a scores better than b on `metric`, groups where both are defined); ties count for b.

    Groups are the values of column `by` but `exclude`, restricted to `only` if given (e.g. the paper's tasks).
    """
    part = scores[(scores["metric"] == metric) & ~scores[by].isin(exclude)]
    if only is not None:
        part = part[part[by].isin(list(only))]
    wide = part.pivot_table(index=by, columns="method", values="value", aggfunc="first")
    if a not in wide or b not in wide:
        return 0, 0
    pair = wide[[a, b]].dropna()
    better = pair[a] < pair[b] if LOWER_IS_BETTER[metric] else pair[a] > pair[b]
    return int(better.sum()), int(len(pair))


def reduction(scores: pd.DataFrame, a: str, b: str, metric: str, *, by: str = "task", at: str = "average") -> float:
    """Percent by which a's `metric` is below b's at group `at` (the papers' "reduces MSE by 42%"); negative: above."""
    part = scores[(scores["metric"] == metric) & (scores[by] == at)].set_index("method")["value"]
    return float(100.0 * (1.0 - part[a] / part[b]))


def value_of(scores: pd.DataFrame, method: str, metric: str, **where) -> float:
    """The one value of `method` and `metric` in a tidy table, further selected by column=value pairs."""
    mask = (scores["method"] == method) & (scores["metric"] == metric)
    for key, wanted in where.items():
        mask &= scores[key] == wanted
    values = scores.loc[mask, "value"]
    if len(values) != 1:
        raise ValueError(f"expected one value for {method}/{metric}/{where}, found {len(values)}")
    return float(values.iloc[0])


def mean_value(table: pd.DataFrame, **where) -> float:
    """The mean `value` of the rows matching every column=value pair (e.g. over tasks); nan when none match."""
    rows = table
    for column, wanted in where.items():
        rows = rows[rows[column] == wanted]
    return float(rows["value"].mean()) if len(rows) else float("nan")


def best_method(scores: pd.DataFrame, metric: str, methods: Sequence[str], **where) -> str:
    """Among `methods`, the one with the best `metric` (lowest error, highest Spearman) where the columns match."""
    values = {m: value_of(scores, m, metric, **where) for m in methods}
    values = {m: v for m, v in values.items() if np.isfinite(v)}
    if not values:
        return "none"
    pick = min if LOWER_IS_BETTER[metric] else max
    return pick(values, key=values.get)


def instruction_scores(scale: str, name: str, methods: Sequence[str], *, tasks: Sequence[str], metric: str = "loss",
                       encoder=None, data_dir: str | os.PathLike | None = None,
                       only_tasks: bool = False) -> tuple[SimulationResult, pd.DataFrame]:
    """One simulator per method fitted on the instruction-tuning collection (all tasks together, as the paper's
    multi-task simulator), scored per task of the test examples (papers' Tables 1, 3).

    With `only_tasks`, the test examples of other tasks are dropped before fitting (e.g. BLEU is simulated on
    the WebNLG and WMT16 examples only, not on the one-word answers of the classification tasks). The "average"
    rows average over `tasks` only, the tasks of the paper's table.
    """
    tasks_of = stored(scale, name, data_dir=data_dir).test_tasks()
    keep = None
    if only_tasks:
        groups = ids_by_task(tasks_of, tasks)
        keep = [t for task in tasks for t in groups.get(task, [])]
        if not keep:
            raise ValueError(f"collection {name!r} has no test example of tasks {list(tasks)}")
    result = simulate_collection(scale, name, methods, metric=metric, encoder=encoder, data_dir=data_dir, tests=keep)
    groups = ids_by_task(tasks_of, tasks, result.truth.test_ids)
    scores = scores_by_group(result, groups, average_of=[t for t in tasks if t in groups])
    return result, scores


def fine_tuning_scores(scale: str, tasks: Sequence[str], methods: Sequence[str], *, metric: str = "loss",
                       encoder=None, data_dir: str | os.PathLike | None = None
                       ) -> tuple[dict[str, SimulationResult], pd.DataFrame]:
    """One collection and one simulator per task (papers' Tables 2, 4): results per task and tidy scores with
    an "average" over the tasks."""
    results = {task: simulate_collection(scale, task, methods, metric=metric, encoder=encoder, data_dir=data_dir)
               for task in tasks}
    cases = [cases_of(results[task], label=task)[0] for task in tasks]
    return results, score_table(cases, list(results[tasks[0]].predictions), average_of=list(tasks))


def gradient_rescaling(result: SimulationResult, baselines: Sequence[str] = ("TracIn-CP (10 ckpts)",
                                                                           "TracIn-CP (all steps)", "Grad-Dot")
                       ) -> pd.DataFrame:
    """Per gradient baseline present in raw and rescaled form: sigma and the three scores of each form."""
    rows = []
    for name in baselines:
        raw = f"{name}, raw"
        if name not in result.predictions or raw not in result.predictions:
            continue
        row = {"baseline": name, "sigma": float(result.simulators[name].sigma_)}
        for metric in SCORES:
            row[f"{metric} raw"] = value_of(result.table, raw, metric)
            row[f"{metric} rescaled"] = value_of(result.table, name, metric)
        rows.append(row)
    return pd.DataFrame(rows).set_index("baseline") if rows else pd.DataFrame()


def head_to_head(ours: pd.DataFrame, paper: pd.DataFrame, a: str, b: str, *,
                 metrics: Sequence[str] = SCORES, by: str = "task", per: str | None = None,
                 per_labels: Mapping[str, str] | None = None, only: Sequence[str] | None = None) -> pd.DataFrame:
    """Method a against b, in our scores and in the paper's, the way the papers argue from their tables.

    Per score (and per value of column `per`, e.g. "target", if given), for ours and the paper's: on how many
    `by` groups a is better ("better on", restricted to `only` if given), whether a is better at the "average"
    group, and a's average error relative to b's ("42% lower"; mse and mae only). Missing comparisons read "n/a".
    """
    cases = [(None, ours, paper)] if per is None else [
        (value, ours[ours[per] == value], paper[paper[per] == value]) for value in dict.fromkeys(ours[per])]
    rows, index = [], []
    for value, mine, theirs in cases:
        for metric in metrics:
            row = {}
            for label, scores in (("ours", mine), ("paper", theirs)):
                k, n = wins(scores, a, b, metric, by=by, only=only)
                row[(label, "better on")] = f"{k} of {n} {by}s" if n else "n/a"
                try:
                    value_a = value_of(scores, a, metric, **{by: "average"})
                    value_b = value_of(scores, b, metric, **{by: "average"})
                except ValueError:
                    value_a = value_b = float("nan")
                row[(label, "at the average")] = compare_word(value_a, value_b, metric)
                row[(label, "average error")] = change_phrase(value_a, value_b) if metric != "spearman" else ""
            rows.append(row)
            index.append(metric if value is None else ((per_labels or {}).get(value, value), metric))
    frame = pd.DataFrame(rows)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index = (pd.Index(index, name="metric") if per is None
                   else pd.MultiIndex.from_tuples(index, names=[per, "metric"]))
    return frame


def methods_beating(scores: pd.DataFrame, methods: Sequence[str], other: str, metric: str, **where) -> list[str]:
    """The `methods` whose `metric` is better than `other`'s where the columns match (e.g. task="average")."""
    reference = value_of(scores, other, metric, **where)
    return [m for m in methods if compare_word(value_of(scores, m, metric, **where), reference, metric) == "better"]


def cells_won(scores: pd.DataFrame, a: str, methods: Sequence[str], *,
              metrics: Sequence[str] = SCORES, by: str = "task",
              only: Sequence[str] | None = None) -> tuple[int, int]:
    """(cells (group, score) where a is strictly the best of `methods`, cells where every method has a value).

    Groups are the values of `by` but "average", restricted to `only` if given.
    """
    won = total = 0
    groups = [g for g in dict.fromkeys(scores[by]) if g != "average" and (only is None or g in only)]
    for group in groups:
        for metric in metrics:
            part = scores[(scores[by] == group) & (scores["metric"] == metric) & scores["method"].isin(methods)]
            values = part.groupby("method")["value"].first()
            if len(values) != len(set(methods)) or not np.isfinite(values.to_numpy(dtype=float)).all():
                continue
            total += 1
            others = values.drop(a)
            won += bool((values[a] < others).all() if LOWER_IS_BETTER[metric] else (values[a] > others).all())
    return won, total
