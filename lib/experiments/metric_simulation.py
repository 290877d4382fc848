"""The BLEU / ROUGE-L simulation chapter (paper Tables 3 and 4): `run` fits and scores, `facts` says it in words.

`run` returns a `MetricResult` of tidy tables per table (ours and the paper's scores, the paired comparisons with
their intervals and the share of flat true trajectories, the scores across runs) and the simulation results.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from lib.experiments.comparisons import across_runs_table, cases_of, claim_facts, difference_table
from lib.experiments.loss_simulation import GPT, SIM, across_facts, count_text
from lib.experiments.recorded import ids_by_task
from lib.experiments.scoring import REFERENCE, fine_tuning_scores, head_to_head, instruction_scores, wins
from lib.experiments.settings import GENERATION_TASKS, INSTRUCTION_TUNING, PAPER_MODEL, task_label
from lib.experiments.simulation import SimulationResult
from lib.experiments.store import Progress, progress, skipped_sentence, stored
from lib.metrics import GENERATION_NAMES
from lib.paper import paper_rows

SIDES = ("ours", "paper")
METHODS = [SIM, GPT]
TARGETS = ["bleu", "rougeL"]
PAIRS = [(GPT, SIM), (GPT, REFERENCE), (SIM, REFERENCE)]


@dataclass
class MetricResult:
    """Per table (3: instruction tuning, when the mixture records BLEU / ROUGE-L; 4: fine-tuning) our tidy scores,
    the paper's, the paired comparisons and the scores across runs, each with a `target` column; the simulation
    results per target (and task) for the figures."""

    tasks: list[str]
    mixture_metrics: list[str]
    t3_groups: dict[str, list[int]] | None
    t3_results: dict[str, SimulationResult] = field(default_factory=dict)   # target -> mixture result
    t3_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    t3_paper: pd.DataFrame = field(default_factory=pd.DataFrame)
    t3_differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    t3_across: pd.DataFrame = field(default_factory=pd.DataFrame)
    t4_results: dict[str, dict[str, SimulationResult]] = field(default_factory=dict)  # target -> task -> result
    t4_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    t4_paper: pd.DataFrame = field(default_factory=pd.DataFrame)
    t4_differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    t4_across: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: list[Progress] = field(default_factory=list)  # collections left out: incomplete at this scale
    mixture: Progress | None = None  # the instruction-tuning collection's stored runs

    @property
    def has_t4(self) -> bool:
        """Whether any fine-tuning generation collection was simulated (a Table 4 counterpart)."""
        return bool(self.t4_results)

    @property
    def skipped_text(self) -> str:
        """The sentence naming the collections left out with their runs collected ('' when none is)."""
        return skipped_sentence(self.skipped, "the BLEU and ROUGE-L simulations on these collections")

    @property
    def has_t3(self) -> bool:
        """Whether the instruction-tuning collection recorded BLEU and ROUGE-L (a Table 3 counterpart)."""
        return self.t3_groups is not None


def run(scale: str, *, encoder, instruction: str = INSTRUCTION_TUNING, tasks: Sequence[str] = GENERATION_TASKS,
        data_dir=None) -> MetricResult:
    """Simfluence, GPTfluence and the reference on BLEU and ROUGE-L: on the mixture's generation test examples
    (Table 3, if recorded) and on each generation task's fine-tuning collection (Table 4). A collection that is
    incomplete at this scale is left out and listed in `skipped` (no mixture: no Table 3; no task: no Table 4)."""
    mixture = progress(scale, instruction, data_dir)
    progresses = [progress(scale, task, data_dir) for task in tasks]
    tasks = [p.name for p in progresses if p.complete]
    mixture_metrics = list(stored(scale, instruction, data_dir=data_dir).metrics) if mixture.complete else []
    out = MetricResult(tasks, mixture_metrics, None, skipped=[p for p in [mixture, *progresses] if not p.complete],
                       mixture=mixture)
    if mixture.complete and all(t in mixture_metrics for t in TARGETS):
        tasks_of = stored(scale, instruction, data_dir=data_dir).test_tasks()
        scores, differences, across = [], [], []
        for target in TARGETS:
            result, table = instruction_scores(scale, instruction, METHODS, tasks=tasks, metric=target,
                                               encoder=encoder, data_dir=data_dir, only_tasks=True)
            out.t3_results[target] = result
            groups = {t: list(ids) for t, ids in ids_by_task(tasks_of, tasks, result.truth.test_ids).items()}
            cases = cases_of(result, groups)
            scores.append(table)
            differences.append(difference_table(cases, PAIRS, shared_runs=True).assign(target=target))
            across.append(across_runs_table(cases, METHODS + [REFERENCE]).assign(target=target))
            out.t3_groups = groups
        out.t3_scores, out.t3_differences, out.t3_across = (pd.concat(x, ignore_index=True)
                                                            for x in (scores, differences, across))
        out.t3_paper = paper_rows(table="3", model=PAPER_MODEL)
    scores, differences, across = [], [], []
    for target in TARGETS if tasks else ():
        results, table = fine_tuning_scores(scale, tasks, METHODS, metric=target, encoder=encoder,
                                            data_dir=data_dir)
        out.t4_results[target] = results
        cases = [cases_of(results[t], label=t)[0] for t in tasks]
        scores.append(table)
        differences.append(difference_table(cases, PAIRS, shared_runs=False).assign(target=target))
        across.append(across_runs_table(cases, METHODS + [REFERENCE]).assign(target=target))
    if tasks:
        out.t4_scores, out.t4_differences, out.t4_across = (pd.concat(x, ignore_index=True)
                                                            for x in (scores, differences, across))
    out.t4_paper = paper_rows(table="4", model=PAPER_MODEL)
    return out


def facts(result: MetricResult) -> dict[str, object]:
    """Every value the chapter glues: Table 3's status, per table and target the win counts beside the paper's, the
    claims read from the paired intervals (GPTfluence against Simfluence and the reference), the share of flat true
    trajectories, and whether the score across runs could be computed."""
    out: dict[str, object] = {"t3_status": table3_status(result.mixture_metrics, result.t3_groups, result.mixture)}
    tables = []
    if result.has_t4:
        out.update(table4_facts(result.t4_results[TARGETS[0]]))
        tables.append(("4", result.t4_scores, result.t4_paper, result.t4_differences))
    else:  # no complete fine-tuning generation collection: every key says so instead of a number
        left_out = [p for p in result.skipped if p != result.mixture]
        out.update(unchecked_facts("4", TARGETS, why=skipped_sentence(left_out, "Table 4's simulations"))
                   | {"t4_tests": "n/a", "t4_runs": "n/a"} | {f"t4_gpt_ref_{target}": "n/a" for target in TARGETS})
    if result.has_t3:
        tables.append(("3", result.t3_scores, result.t3_paper, result.t3_differences))
    else:
        incomplete = [result.mixture] if result.mixture is not None and not result.mixture.complete else []
        out.update(unchecked_facts("3", TARGETS, why=skipped_sentence(incomplete, "Table 3's simulations")))
    for table, ours, paper, differences in tables:
        comparison = head_to_head(ours, paper, GPT, SIM, per="target", per_labels=GENERATION_NAMES)
        out.update(comparison_facts(table, comparison, ours, TARGETS, reference=table == "4"))
        for target in TARGETS:
            part = differences[differences["target"] == target]
            for key, (a, b) in (("gs", (GPT, SIM)), ("gr", (GPT, REFERENCE)), ("sr", (SIM, REFERENCE))):
                out.update(claim_facts(part, a, b, f"t{table}_{key}_{target}"))
    across = ([result.t4_across] if result.has_t4 else []) + ([result.t3_across] if result.has_t3 else [])
    if across:
        out.update(across_facts(pd.concat(across, ignore_index=True), "metric"))
    else:
        out.update({"metric_lds_shown": 0, "metric_lds_cells": 0, "metric_max_runs": 0})
    return out


def comparison_facts(table: str, comparison: pd.DataFrame, ours: pd.DataFrame, targets: Sequence[str], *,
                     reference: bool = False) -> dict[str, object]:
    """Per target, from `head_to_head(..., per="target")`: on how many tasks GPTfluence's MSE beats Simfluence's and
    its average MSE relative to Simfluence's (ours and the paper's), and with `reference` on how many
    tasks GPTfluence beats the reference. Keys such as t4_wins_mse_bleu_ours."""
    out: dict[str, object] = {}
    for target in targets:
        row = comparison.loc[(GENERATION_NAMES[target], "mse")]
        for side in SIDES:
            out[f"t{table}_wins_mse_{target}_{side}"] = row[(side, "better on")]
            out[f"t{table}_red_mse_{target}_{side}"] = row[(side, "average error")]
        part = ours[ours["target"] == target]
        if reference:
            out[f"t{table}_gpt_ref_{target}"] = count_text(*wins(part, GPT, REFERENCE, "mse"))
    return out


def unchecked_facts(table: str, targets: Sequence[str], *, why: str = "") -> dict[str, object]:
    """The keys of `comparison_facts` and of the claims when no collection has BLEU / ROUGE-L to compare; `why`, the
    sentence naming the collections left out as incomplete (if that is the reason), is each claim's `_why`."""
    out: dict[str, object] = {}
    for target in targets:
        for pair in ("gs", "gr", "sr"):
            for part in ("said", "diff", "interval", "n", "flat", "why", "groups"):
                out[f"t{table}_{pair}_{target}_{part}"] = why if part == "why" and why else "n/a"
            out[f"t{table}_{pair}_{target}_claim"] = "not testable"
        for key in ("wins", "red"):
            for side in SIDES:
                out[f"t{table}_{key}_mse_{target}_{side}"] = "n/a"
    return out


def table3_status(metrics: Sequence[str], groups: Mapping[str, Sequence[int]] | None,
                  mixture: Progress | None = None) -> str:
    """What the instruction-tuning collection offers Table 3: its metrics and test examples per generation task, that
    it recorded no generation metric (`groups` None), or that it is not complete at this scale (`mixture`)."""
    if mixture is not None and not mixture.complete:
        return (f"it is not complete at this scale ({mixture.name}: {mixture.runs_text}), so this build has no "
                "Table 3 counterpart")
    if groups is None:
        return f"it records only {', '.join(metrics)}, so this build has no Table 3 counterpart"
    return (f"it records {', '.join(metrics)}, with "
            + ", ".join(f"{len(ids)} {task_label(t)}" for t, ids in groups.items()) + " test examples")


def table4_facts(results: Mapping[str, SimulationResult]) -> dict[str, object]:
    """Test examples per task and held-out runs of the fine-tuning collections (task -> result of one target)."""
    first = next(iter(results.values()))
    return {"t4_tests": ", ".join(f"{r.truth.n_tests} {task_label(t)}" for t, r in results.items()),
            "t4_runs": first.truth.n_runs}
