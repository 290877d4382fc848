"""The loss-simulation chapter (paper Tables 1 and 2): `run` fits and scores every method, `facts` says it in words.

`run` returns a `LossResult` of tidy tables (ours and the paper's scores, the paired comparisons with their
intervals, the scores across runs, the gradient baselines' rescaling) and the simulation results the figures draw.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from lib.experiments.comparisons import across_runs_table, cases_of, claim_facts, difference_table
from lib.experiments.recorded import ids_by_task
from lib.experiments.scoring import (REFERENCE, best_method, cells_won, fine_tuning_scores, gradient_rescaling,
                                     instruction_scores, methods_beating, value_of, wins)
from lib.experiments.settings import FINE_TUNING_TASKS, INSTRUCTION_TUNING, PAPER_MODEL
from lib.experiments.simulation import SimulationResult
from lib.experiments.store import Progress, progress, skipped_sentence, stored
from lib.experiments.uncertainty import REASONS
from lib.experiments.wording import change_phrase, fmt, interval_text
from lib.metrics import SCORES
from lib.paper import paper_rows
from lib.scales import cross_check_of, get_scale

GPT, SIM = "GPTfluence", "Simfluence"
PAPER_METHODS = ["TracIn-CP (10 ckpts)", "TracIn-CP (all steps)", "Grad-Dot", SIM, GPT]
"""Table 1's methods, in its order."""
RAW = [f"{m}, raw" for m in PAPER_METHODS[:3]]
"""The gradient baselines without their oracle rescaling."""
T1_PAIRS = [(GPT, SIM), (GPT, "TracIn-CP (10 ckpts)"), (GPT, "Grad-Dot"), (GPT, REFERENCE), (SIM, REFERENCE)]
"""The comparisons of Table 1: the paper's claims (GPTfluence beats each) and both simulators against the reference."""
T2_PAIRS = [(GPT, SIM), (GPT, REFERENCE), (SIM, REFERENCE)]
CROSS_CHECK_PAIRS = T2_PAIRS
"""The comparisons whose verdicts in this chapter's Table 2 and in the cross-check regime's (`cross_check`) are set
side by side: whether the two regimes rank the methods alike is read from these (`ranking_agreement`)."""


@dataclass
class LossResult:
    """Everything the chapter shows: per table our tidy scores, the paper's, the paired comparisons and the scores
    across runs; the gradient baselines' rescaling; the simulation results (figures) and the task of each test."""

    tasks: list[str]
    groups: dict[str, list[int]]            # instruction tuning: task -> test ids of the mixture
    tasks_of: dict[int, str]                # mixture test id -> task
    instruction: SimulationResult | None    # None: the mixture is left out (incomplete at this scale)
    t1_scores: pd.DataFrame
    t1_paper: pd.DataFrame
    t1_differences: pd.DataFrame
    t1_across: pd.DataFrame
    rescaling: pd.DataFrame
    fine_tuning: dict[str, SimulationResult]  # the complete fine-tuning collections
    t2_scores: pd.DataFrame
    t2_paper: pd.DataFrame
    t2_differences: pd.DataFrame
    t2_across: pd.DataFrame
    skipped: list[Progress] = field(default_factory=list)  # collections left out: incomplete at this scale

    @property
    def has_t1(self) -> bool:
        """Whether the instruction-tuning collection was simulated (a Table 1 counterpart)."""
        return self.instruction is not None

    @property
    def t2_tasks(self) -> list[str]:
        """The fine-tuning tasks of Table 2 whose collections are complete, in the order asked."""
        return [t for t in self.tasks if t in self.fine_tuning]

    @property
    def skipped_text(self) -> str:
        """The sentence naming the collections left out with their runs collected ('' when none is)."""
        return skipped_sentence(self.skipped, "the loss simulations on these collections")


def run(scale: str, *, encoder, instruction: str | None = INSTRUCTION_TUNING,
        tasks: Sequence[str] = FINE_TUNING_TASKS, data_dir=None) -> LossResult:
    """Fit and score every method of Table 1 on the instruction-tuning collection and Simfluence and GPTfluence on
    each fine-tuning collection of Table 2, with the curriculum-blind reference everywhere. A collection that is
    incomplete at this scale is left out and listed in `skipped` (no mixture: no Table 1; Table 2 on the others).
    `instruction` None: Table 2 only."""
    tasks = list(tasks)
    mixture = progress(scale, instruction, data_dir) if instruction else None
    progresses = [progress(scale, task, data_dir) for task in tasks]
    complete = [p.name for p in progresses if p.complete]
    out = LossResult(tasks=tasks, groups={}, tasks_of={}, instruction=None, t1_scores=pd.DataFrame(),
                     t1_paper=paper_rows(table="1", model=PAPER_MODEL, target="loss"), t1_differences=pd.DataFrame(),
                     t1_across=pd.DataFrame(), rescaling=pd.DataFrame(), fine_tuning={}, t2_scores=pd.DataFrame(),
                     t2_paper=paper_rows(table="2", model=PAPER_MODEL, target="loss"), t2_differences=pd.DataFrame(),
                     t2_across=pd.DataFrame(),
                     skipped=[p for p in [mixture, *progresses] if p is not None and not p.complete])
    if mixture is not None and mixture.complete:
        result, scores = instruction_scores(scale, instruction, PAPER_METHODS + RAW, tasks=tasks, encoder=encoder,
                                            data_dir=data_dir)
        tasks_of = stored(scale, instruction, data_dir=data_dir).test_tasks()
        groups = {t: list(ids) for t, ids in ids_by_task(tasks_of, tasks, result.truth.test_ids).items()}
        t1_cases = cases_of(result, groups)
        out.groups, out.tasks_of, out.instruction = groups, dict(tasks_of), result
        out.t1_scores = scores[~scores["method"].isin(RAW)].reset_index(drop=True)
        out.t1_differences = difference_table([c for c in t1_cases if c.group in tasks], T1_PAIRS, shared_runs=True)
        out.t1_across = across_runs_table(t1_cases, PAPER_METHODS + [REFERENCE])
        out.rescaling = gradient_rescaling(result)
    results2, scores2 = fine_tuning_scores(scale, complete, [SIM, GPT], encoder=encoder, data_dir=data_dir)
    t2_cases = [cases_of(results2[t], label=t)[0] for t in complete]
    out.fine_tuning, out.t2_scores = results2, scores2
    out.t2_differences = difference_table(t2_cases, T2_PAIRS, shared_runs=False, average_of=complete)
    out.t2_across = across_runs_table(t2_cases, [SIM, GPT, REFERENCE])
    return out


def cross_check(scale: str, *, encoder, tasks: Sequence[str] = FINE_TUNING_TASKS, data_dir=None) -> LossResult | None:
    """Table 2 on the collections of the scale's cross-check regime (lib.scales), with that regime's GPTfluence
    settings: the loss comparison the chapter sets beside its own. None where the scale has no cross-check, and at
    the smoke scale (its cross-check would fit the paper-size collections in a CI check)."""
    other = cross_check_of(scale)
    if other is None or get_scale(scale).regime == "smoke":
        return None
    return run(other.name, encoder=encoder, instruction=None, tasks=tasks, data_dir=data_dir)


def facts(result: LossResult) -> dict[str, object]:
    """Every value the chapter glues: Tables 1 and 2 in words (win counts beside the paper's), the claims read from
    the paired intervals, the rescaling, and whether the score across runs could be computed. Without the mixture
    (left out: incomplete), Table 1's keys say so (`table1_left_out_facts`)."""
    out = table2_facts(result.t2_scores, result.t2_paper)
    tables = [("t2", result.t2_differences)]
    if result.has_t1:
        out.update(table1_facts(result.t1_scores, result.t1_paper, result.groups, result.instruction.truth.n_runs,
                                result.tasks, PAPER_METHODS))
        out.update(rescaling_facts(result.rescaling))
        tables.append(("t1", result.t1_differences))
        out.update(claim_facts(result.t1_differences, GPT, "TracIn-CP (10 ckpts)", "t1_gt"))
        out.update(claim_facts(result.t1_differences, GPT, "Grad-Dot", "t1_gd"))
    else:
        out.update(table1_left_out_facts(result.t1_paper, result.tasks, result.skipped))
    for key, table in tables:
        out.update(claim_facts(table, GPT, SIM, f"{key}_gs"))
        out.update(claim_facts(table, GPT, REFERENCE, f"{key}_gr"))
        out.update(claim_facts(table, SIM, REFERENCE, f"{key}_sr"))
    across = [t for t in (result.t1_across, result.t2_across) if not t.empty]
    out.update(across_facts(pd.concat(across, ignore_index=True), "loss"))
    return out


def table1_left_out_facts(paper: pd.DataFrame, tasks: Sequence[str], skipped: Sequence[Progress]) -> dict[str, object]:
    """Table 1's keys when the instruction-tuning collection is left out: the paper's values as always, ours 'n/a',
    each claim 'not testable' with the sentence naming the incomplete collection as its why."""
    why = skipped_sentence([p for p in skipped if p.name == INSTRUCTION_TUNING], "Table 1's simulations")
    out: dict[str, object] = {"t1_tests": "n/a", "t1_runs": "n/a", "t1_n_beat_ref": "n/a", "t1_beat_ref": "n/a"}
    out["t1_cells_paper"] = count_text(*cells_won(paper, GPT, PAPER_METHODS, only=tasks))
    out["t1_best_mse_paper"] = best_method(paper, "mse", PAPER_METHODS, task="average")
    out["t1_best_rho_paper"] = best_method(paper, "spearman", PAPER_METHODS, task="average")
    for metric in SCORES:
        out[f"t1_wins_{metric}_paper"] = count_text(*wins(paper, GPT, SIM, metric, only=tasks))
        out[f"t1_wins_{metric}_ours"] = "n/a"
        out.update({f"t1_{key}_{metric}": "n/a" for key in ("gpt", "sim", "ref")})
    out.update({f"t1_{key}_ours": "n/a" for key in ("cells", "best_mse", "best_rho")})
    out.update(dict.fromkeys(("sigma_tracin", "sigma_graddot", "raw_mse_tracin", "resc_mse_tracin"), "n/a"))
    for key in ("gs", "gr", "sr", "gt", "gd"):
        for part in ("said", "diff", "interval", "n", "flat", "groups"):
            out[f"t1_{key}_{part}"] = "n/a"
        out[f"t1_{key}_claim"], out[f"t1_{key}_why"] = "not testable", why
    return out


def across_facts(across: pd.DataFrame, key: str) -> dict[str, object]:
    """How many (group, method) cells have an LDS, and the most held-out runs any group has: '{key}_lds_shown',
    '{key}_lds_cells', '{key}_max_runs'."""
    return {f"{key}_lds_shown": int((across["LDS reason"] == "").sum()), f"{key}_lds_cells": len(across),
            f"{key}_max_runs": int(across["runs"].max())}


def count_text(k: int, n: int) -> str:
    """'3 of 5'."""
    return f"{k} of {n}"


def table1_facts(ours: pd.DataFrame, paper: pd.DataFrame, groups: Mapping[str, Sequence[int]], runs: int,
                 tasks: Sequence[str], methods: Sequence[str]) -> dict[str, object]:
    """Instruction tuning (Table 1): test examples per task and held-out runs, cells GPTfluence wins among `methods`,
    its wins over Simfluence per score, the best method at the average, and which methods beat the reference."""
    sizes = [len(ids) for t, ids in groups.items() if t in tasks]
    out: dict[str, object] = {
        "t1_tests": str(min(sizes)) if min(sizes) == max(sizes) else f"{min(sizes)} to {max(sizes)}", "t1_runs": runs}
    for label, frame in (("ours", ours), ("paper", paper)):
        out[f"t1_cells_{label}"] = count_text(*cells_won(frame, GPT, methods, only=tasks))
        out[f"t1_best_mse_{label}"] = best_method(frame, "mse", methods, task="average")
        out[f"t1_best_rho_{label}"] = best_method(frame, "spearman", methods, task="average")
        for metric in SCORES:
            out[f"t1_wins_{metric}_{label}"] = count_text(*wins(frame, GPT, SIM, metric, only=tasks))
    for metric in SCORES:
        for key, method in (("gpt", GPT), ("sim", SIM), ("ref", REFERENCE)):
            out[f"t1_{key}_{metric}"] = fmt(value_of(ours, method, metric, task="average"))
    beating = methods_beating(ours, methods, REFERENCE, "mse", task="average")
    out["t1_n_beat_ref"] = len(beating)
    out["t1_beat_ref"] = ", ".join(beating) if beating else "none of them"
    return out


def rescaling_facts(rescaling: pd.DataFrame) -> dict[str, object]:
    """The gradient baselines' fitted sigma and TracIn-CP's MSE before and after rescaling (`gradient_rescaling`)."""
    tracin = "TracIn-CP (10 ckpts)"
    return {"sigma_tracin": fmt(rescaling.loc[tracin, "sigma"]),
            "sigma_graddot": fmt(rescaling.loc["Grad-Dot", "sigma"]),
            "raw_mse_tracin": fmt(rescaling.loc[tracin, "mse raw"]),
            "resc_mse_tracin": fmt(rescaling.loc[tracin, "mse rescaled"])}


def table2_facts(ours: pd.DataFrame, paper: pd.DataFrame) -> dict[str, object]:
    """Fine-tuning (Table 2): GPTfluence's average errors relative to Simfluence's and its wins over tasks, ours and
    the paper's, and how often each simulator beats the reference."""
    out: dict[str, object] = {}
    for label, frame in (("ours", ours), ("paper", paper)):
        for metric in ("mse", "mae"):
            out[f"t2_red_{metric}_{label}"] = change_phrase(value_of(frame, GPT, metric, task="average"),
                                                            value_of(frame, SIM, metric, task="average"))
        for metric in SCORES:
            out[f"t2_wins_{metric}_{label}"] = count_text(*wins(frame, GPT, SIM, metric))
    out["t2_gpt_beats_ref"] = count_text(*wins(ours, GPT, REFERENCE, "mse"))
    out["t2_sim_beats_ref"] = count_text(*wins(ours, SIM, REFERENCE, "mse"))
    return out


def demo_facts(table: pd.DataFrame | None, method: str = SIM) -> dict[str, object]:
    """Gluable values of one collection's `across_runs_table` (e.g. the paper-size SST-2 rows of
    `paper_size_loss.paper_size_section`): the n, and `method`'s and the reference's Spearman and LDS with their
    intervals ('n/a' when there is no table, or the reason a score is withheld)."""
    keys = ("demo_n", "demo_sim_rho", "demo_sim_rho_interval", "demo_ref_rho", "demo_ref_rho_interval",
            "demo_sim_lds", "demo_sim_lds_interval", "demo_ref_lds", "demo_text")
    if table is None or table.empty:
        return dict.fromkeys(keys, "n/a")
    rows = table.set_index("method")
    out: dict[str, object] = {"demo_n": f"{rows['runs'].iloc[0]} held-out runs x {rows['tests'].iloc[0]} test examples"}
    for key, name in (("sim", method), ("ref", REFERENCE)):
        for score, label in (("rho", "Spearman"), ("lds", "LDS")):
            row = rows.loc[name]
            reason = row[f"{label} reason"]
            out[f"demo_{key}_{score}"] = REASONS[reason] if reason else fmt(row[label])
            out[f"demo_{key}_{score}_interval"] = "" if reason else interval_text(row[f"{label} low"], row[f"{label} high"])
    out["demo_text"] = demo_sentence(out, method, rows.loc[method, "LDS reason"])
    return {k: out[k] for k in keys}


def demo_sentence(demo: Mapping[str, object], method: str, lds_reason: str) -> str:
    """The two scores of `method` and of the reference in one sentence, whatever the collections allow: the
    within-run Spearman, then the LDS or why there is none (e.g. fewer held-out runs than an LDS needs)."""
    def shown(key: str) -> str:
        return " ".join(str(v) for v in (demo[key], demo[f"{key}_interval"]) if v)
    text = (f"On SST-2, {method} reaches a final-step Spearman (within a run) of {shown('demo_sim_rho')}, and the "
            f"curriculum-blind reference, which reads no curriculum, {shown('demo_ref_rho')}.")
    if lds_reason:
        return f"{text} Across runs, {method} has no LDS here: {demo['demo_sim_lds']}."
    return f"{text} Across runs, {method}'s LDS is {shown('demo_sim_lds')}; the reference's: {demo['demo_ref_lds']}."
