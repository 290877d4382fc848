"""Honest score tables and method comparisons of simulated held-out runs, per group of test examples.

A `Case` is one group's held-out runs (a task of the instruction-tuning mixture, or one fine-tuning collection) with
every method's prediction and its diverged rollouts. From cases:

- `score_table`: the papers' scores plus what keeps them honest: the median MSE beside the mean, the diverged
  rollouts beside the average they would dominate, the n (held-out runs, test examples) of every row, a Spearman over
  fewer than MIN_ITEMS test examples withheld (note "few tests") and a std over one run not shown;
- `difference_table`: method A against B on the all-steps MSE, paired bootstrap interval of A - B and the verdict,
  per group and over groups (the papers' Average), beside the share of flat true trajectories ("not testable" where
  fewer than MIN_ITEMS move);
- `across_runs_table`: the linear datamodeling score (LDS) of every method beside the papers' final-step Spearman.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.dynamics import Dynamics
from lib.experiments.simulation import SimulationResult
from lib.experiments.uncertainty import (MIN_ITEMS, REASONS, SHORT_REASONS, Difference, flat_share, is_testable,
                                         paired_difference, pooled_difference, spearman_interval)
from lib.experiments.wording import fmt, interval_text
from lib.metrics import LOWER_IS_BETTER, compare, trajectory_errors

EXTRA_SCORES = ("median_mse", "diverged")
"""Scores beside the papers' three: the median of the per-trajectory MSEs, and the diverged rollouts counted."""
AVERAGE = "average"


@dataclass(frozen=True)
class Case:
    """One group of test examples in some held-out runs, with every method's prediction and diverged rollouts."""

    group: str
    truth: Dynamics
    predictions: Mapping[str, np.ndarray]  # method -> [runs, steps + 1, tests]
    diverged: Mapping[str, np.ndarray]     # method -> bool [runs, tests]
    orders: Mapping[str, int]
    refits: Mapping[str, tuple[np.ndarray, ...]] = field(default_factory=dict)  # method -> refits' predictions

    def with_refit(self, method: str, k: int) -> "Case":
        """This case with `method`'s prediction replaced by its k-th refit's."""
        return dataclasses.replace(self, predictions={**self.predictions, method: self.refits[method][k]})

    def errors(self, method: str) -> np.ndarray:
        """Per-trajectory all-steps squared error [runs, tests] of `method`."""
        return trajectory_errors(self.predictions[method], self.truth.values, self.orders.get(method, 1))[0]


def cases_of(result: SimulationResult, groups: Mapping[str, Sequence[int]] | None = None, *,
             label: str = "all") -> list[Case]:
    """The result's held-out runs as one Case per group of test ids (or one Case `label` for all of them)."""
    groups = {label: list(result.truth.test_ids)} if groups is None else groups
    position = {int(t): k for k, t in enumerate(result.truth.test_ids)}
    orders = {m: int(getattr(result.simulators.get(m), "order", 1)) for m in result.predictions}
    cases = []
    for group, ids in groups.items():
        index = [position[int(t)] for t in ids]
        cases.append(Case(str(group), result.truth.select_tests(list(ids)),
                          {m: p[:, :, index] for m, p in result.predictions.items()},
                          {m: h.diverged[:, index] for m, h in result.health.items()}, orders,
                          {m: tuple(p[:, :, index] for p in fits) for m, fits in result.refits.items()}))
    return cases


def score_table(cases: Sequence[Case], methods: Sequence[str], *, column: str = "task",
                average_of: Sequence[str] | None = None, shared_runs: bool = False,
                average: bool = True) -> pd.DataFrame:
    """Tidy scores (method, target, metric, value, std, n, runs, tests, note, `column`) of every case and method.

    Metrics: mse, mae, spearman (lib.metrics) and EXTRA_SCORES. A Spearman over fewer than MIN_ITEMS test examples
    is nan with note "few tests"; a std over fewer than two items is nan. With `average`, rows `column` = "average"
    hold the mean over the groups `average_of` (default all) of each score, the diverged rollouts summed.
    """
    frames = []
    for case in cases:
        frame = compare({m: case.predictions[m] for m in methods}, case.truth, order=dict(case.orders))
        frame["note"] = ""
        few = (frame["metric"] == "spearman") & (case.truth.n_tests < MIN_ITEMS)
        frame.loc[few, ["value", "std"]] = np.nan
        frame.loc[few, "note"] = "few tests"
        frame.loc[frame["n"] < 2, "std"] = np.nan
        extra = []
        for method in methods:
            extra.append({"method": method, "target": case.truth.metric, "metric": "median_mse",
                          "value": float(np.median(case.errors(method))), "std": np.nan,
                          "n": case.truth.n_runs * case.truth.n_tests, "note": ""})
            diverged = case.diverged.get(method)
            extra.append({"method": method, "target": case.truth.metric, "metric": "diverged",
                          "value": float(diverged.sum()) if diverged is not None else np.nan, "std": np.nan,
                          "n": case.truth.n_runs * case.truth.n_tests, "note": ""})
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
        frame["runs"], frame["tests"], frame[column] = case.truth.n_runs, case.truth.n_tests, case.group
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    return with_honest_average(table, column=column, of=average_of, shared_runs=shared_runs) if average else table


def with_honest_average(table: pd.DataFrame, *, column: str = "task", of: Sequence[str] | None = None,
                        shared_runs: bool = False) -> pd.DataFrame:
    """`table` plus rows `column` = "average": the mean over groups `of` of each score (the papers' Average rows;
    a Spearman over the groups where it is shown), the diverged rollouts summed; runs and tests of the groups."""
    part = table[table[column] != AVERAGE]
    if of is not None:
        part = part[part[column].isin(list(of))]
    if part.empty:
        raise ValueError(f"no groups to average among {sorted(set(table[column]))}")
    rows = []
    for (method, target, metric), rows_of in part.groupby(["method", "target", "metric"], sort=False):
        values = rows_of["value"].to_numpy(dtype=float)
        shown = values[np.isfinite(values)]
        value = float(shown.sum()) if metric == "diverged" else (float(shown.mean()) if shown.size else np.nan)
        runs = int(rows_of["runs"].max() if shared_runs else rows_of["runs"].sum())
        note = "few tests" if metric == "spearman" and not shown.size else ""
        rows.append({"method": method, "target": target, "metric": metric, "value": value, "std": np.nan,
                     "n": int(rows_of[column].nunique()), "note": note, "runs": runs,
                     "tests": int(rows_of["tests"].sum()), column: AVERAGE})
    return pd.concat([table, pd.DataFrame(rows)[table.columns]], ignore_index=True)


def flat_of(cases: Sequence[Case]) -> tuple[float, int]:
    """(share of the cases' true trajectories that do not move, number that move)."""
    counts = [(c.truth.n_runs * c.truth.n_tests, *flat_share(c.truth.values)) for c in cases]
    total = sum(n for n, _, _ in counts)
    return float(sum(n * share for n, share, _ in counts) / total), int(sum(moving for _, _, moving in counts))


def _difference(cases: Sequence[Case], a: str, b: str, *, shared_runs: bool) -> Difference:
    """a - b on the all-steps MSE over `cases`: paired (one case) or pooled, "not testable" on flat truths."""
    share, moving = flat_of(cases)
    if moving < MIN_ITEMS and share > 0:  # too few true trajectories move, and some do not: flatness, not n
        return Difference(np.nan, np.nan, np.nan, 0, 0, "flat", verdict="not testable")
    if len(cases) == 1:
        return paired_difference(cases[0].errors(a), cases[0].errors(b), lower_is_better=LOWER_IS_BETTER["mse"])
    return pooled_difference([(c.errors(a), c.errors(b)) for c in cases], shared_runs=shared_runs)


def refit_variants(cases: Sequence[Case], a: str, b: str) -> list[list[Case]]:
    """`cases` once per refit of a and of b (`Case.refits`), that refit in place of the method's own fit."""
    counts = {m: min(len(c.refits.get(m, ())) for c in cases) for m in dict.fromkeys((a, b))}
    return [[c.with_refit(m, k) for c in cases] for m, n in counts.items() for k in range(n)]


def seed_checked(differences: Sequence[Difference]) -> Difference:
    """The first difference (the method's own fit), made "undecided" with reason "fit seed" when the difference of a
    refit (the others) gets another verdict: a verdict the book shows is one that every fit gets."""
    main = differences[0]
    if not main.reason and any(d.verdict != main.verdict for d in differences[1:]):
        return dataclasses.replace(main, verdict="undecided", reason="fit seed")
    return main


def difference_row(cases: Sequence[Case], a: str, b: str, *, shared_runs: bool, group: str) -> dict[str, object]:
    """One row of `difference_table`: a against b on the all-steps MSE over `cases` (pooled when several).

    Where a method has refits (other seeds of its fit, `Case.refits`), the verdict stands only if every refit gets
    the same one; otherwise it is "undecided", reason "fit seed". Columns "fits" (how many fits were compared) and
    "fits low" / "fits high" (the range of the difference over them) say how far the fit's seed moves it."""
    share, _ = flat_of(cases)
    diff = _difference(cases, a, b, shared_runs=shared_runs)
    spread = {}
    variants = refit_variants(cases, a, b)
    if variants and np.isfinite(diff.estimate):
        others = [_difference(v, a, b, shared_runs=shared_runs) for v in variants]
        estimates = [diff.estimate] + [d.estimate for d in others]
        spread = {"fits": len(estimates), "fits low": float(np.min(estimates)), "fits high": float(np.max(estimates))}
        diff = seed_checked([diff, *others])
    verdict, reason = diff.verdict, diff.reason
    return {"group": group, "A": a, "B": b,
            "runs": cases[0].truth.n_runs if shared_runs else sum(c.truth.n_runs for c in cases),
            "tests": sum(c.truth.n_tests for c in cases), "flat share": share,
            "diverged A": int(sum(c.diverged[a].sum() for c in cases if a in c.diverged)),
            "diverged B": int(sum(c.diverged[b].sum() for c in cases if b in c.diverged)),
            "difference": diff.estimate, "low": diff.low, "high": diff.high, "verdict": verdict,
            "reason": reason, **spread}


def difference_table(cases: Sequence[Case], pairs: Sequence[tuple[str, str]], *, shared_runs: bool,
                     average_of: Sequence[str] | None = None, column: str = "task") -> pd.DataFrame:
    """Per pair (A, B) and group, then over the groups `average_of` (default all; `column` = "average"): the all-steps
    MSE difference A - B with its 95% paired bootstrap interval and the verdict on A (better / worse / undecided /
    not testable), the runs and test examples it rests on, the share of flat true trajectories and the diverged
    rollouts of each method."""
    pooled = [c for c in cases if average_of is None or c.group in set(average_of)]
    rows = []
    for a, b in pairs:
        for case in cases:
            rows.append(difference_row([case], a, b, shared_runs=shared_runs, group=case.group))
        if len(pooled) > 1:
            rows.append(difference_row(pooled, a, b, shared_runs=shared_runs, group=AVERAGE))
    return pd.DataFrame(rows).rename(columns={"group": column})


def across_runs_table(cases: Sequence[Case], methods: Sequence[str], *, column: str = "task") -> pd.DataFrame:
    """Per case and method: the papers' final-step Spearman (across test examples, within a run) and the linear
    datamodeling score (across held-out runs, per test example), each with its bootstrap interval, or the reason
    it is withheld."""
    rows = []
    for case in cases:
        truth = case.truth.values[:, -1]
        for method in methods:
            pred = case.predictions[method][:, -1]
            row = {column: case.group, "method": method, "runs": case.truth.n_runs, "tests": case.truth.n_tests}
            for label, across in (("Spearman", "tests"), ("LDS", "runs")):
                score = spearman_interval(pred, truth, across=across)
                row.update({label: score.estimate, f"{label} low": score.low, f"{label} high": score.high,
                            f"{label} reason": score.reason})
            rows.append(row)
    return pd.DataFrame(rows)


def reasons_of(*tables: pd.DataFrame) -> list[str]:
    """The footnotes (REASONS texts) of every reason or note a table carries, in order of first appearance."""
    keys: list[str] = []
    for table in tables:
        for column in [c for c in table.columns if c == "note" or str(c).endswith("reason")]:
            keys += [k for k in table[column] if isinstance(k, str) and k]
    return [REASONS[k] for k in dict.fromkeys(keys) if k in REASONS]


CLAIM = {"better": "holds", "worse": "does not hold", "undecided": "undecided", "not testable": "not testable"}
"""A paper's claim "A beats B", read from the verdict on A."""


def claim_facts(differences: pd.DataFrame, a: str, b: str, key: str, *, column: str = "task",
                at: str = AVERAGE) -> dict[str, object]:
    """Gluable facts of the claim "a beats b" at group `at` of a `difference_table`: {key}_claim (holds / does not
    hold / undecided / not testable), {key}_diff, {key}_interval, {key}_n ('R held-out runs x T test examples'),
    {key}_said (all of them in a phrase, or why nothing was computed), {key}_flat (share of flat true
    trajectories), {key}_why (the reason there is no verdict as a sentence, or ''), {key}_claim_why (the claim with
    that reason in a few words: 'undecided: changes with the fit's seed'), and over the other groups
    {key}_groups ('better on 1, worse on 0, undecided on 4 of 5 tasks')."""
    rows = differences[(differences["A"] == a) & (differences["B"] == b)]
    if rows.empty:
        raise ValueError(f"no comparison of {a!r} with {b!r}")
    here = rows[rows[column] == at]
    here = rows.iloc[[0]] if here.empty else here  # one group only: it is the whole comparison
    row = here.iloc[0]
    others = rows[rows[column] != at]
    counts = others["verdict"].value_counts()
    n_text = f"{row['runs']} held-out run{'s' if int(row['runs']) != 1 else ''} x {row['tests']} test examples"
    reason = REASONS.get(row["reason"], "")
    if pd.notna(row["difference"]):
        said = f"{fmt(row['difference'])} (95% interval {interval_text(row['low'], row['high'])}; {n_text})"
    else:
        said = f"not computed, {reason} ({n_text}; {100 * row['flat share']:.0f}% of the true trajectories flat)"
    return {f"{key}_said": said, f"{key}_claim": CLAIM[row["verdict"]], f"{key}_diff": fmt(row["difference"]),
            f"{key}_interval": interval_text(row["low"], row["high"]),
            f"{key}_n": n_text, f"{key}_flat": f"{100 * row['flat share']:.0f}%", f"{key}_why": sentence(reason),
            f"{key}_claim_why": CLAIM[row["verdict"]] + (f": {SHORT_REASONS[row['reason']]}" if row["reason"] else ""),
            f"{key}_groups": (f"better on {counts.get('better', 0)}, worse on {counts.get('worse', 0)}, undecided on "
                              f"{counts.get('undecided', 0)} of {len(others)} {column}s"
                              + (f" ({counts.get('not testable', 0)} not testable)" if counts.get("not testable") else ""))}


def sentence(text: str) -> str:
    """`text` as a sentence of its own: capitalised, with a full stop ('' stays '')."""
    return f"{text[0].upper()}{text[1:]}." if text else ""
