"""The loss-simulation chapter's facts (paper Tables 1 and 2): what our scores and the paper's say, in words.

The chapter computes its tables with `lib.experiments.scoring` (`instruction_scores`, `fine_tuning_scores`,
`gradient_rescaling`); these functions read them into the values it glues.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from lib.experiments.scoring import REFERENCE, best_method, cells_won, methods_beating, value_of, wins
from lib.experiments.wording import change_phrase, fmt, verdict
from lib.metrics import SCORES

GPT, SIM = "GPTfluence", "Simfluence"


def count_text(k: int, n: int) -> str:
    """'3 of 5'."""
    return f"{k} of {n}"


def table1_facts(ours: pd.DataFrame, paper: pd.DataFrame, groups: Mapping[str, Sequence[int]], runs: int,
                 tasks: Sequence[str], methods: Sequence[str]) -> dict[str, object]:
    """Instruction tuning (Table 1): test examples per task and held-out runs, cells GPTfluence wins among `methods`,
    its wins over Simfluence per score, the best method at the average, and which methods beat the reference."""
    sizes = [len(ids) for t, ids in groups.items() if t in tasks]
    out: dict[str, object] = {
        "t1_tests": str(min(sizes)) if min(sizes) == max(sizes) else f"{min(sizes)} to {max(sizes)}", "t1_runs": runs,
        "t1_verdict": verdict(*wins(ours, GPT, SIM, "mse", only=tasks))}
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
    out["t2_verdict"] = verdict(*wins(ours, GPT, SIM, "mse"))
    out["t2_gpt_beats_ref"] = count_text(*wins(ours, GPT, REFERENCE, "mse"))
    out["t2_sim_beats_ref"] = count_text(*wins(ours, SIM, REFERENCE, "mse"))
    return out
