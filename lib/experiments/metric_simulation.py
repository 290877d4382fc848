"""The BLEU / ROUGE-L simulation chapter's facts (paper Tables 3 and 4): what our scores and the paper's say, in words.

The chapter computes its tables with `lib.experiments.scoring` (`instruction_scores`, `fine_tuning_scores`,
`head_to_head` per target); these functions read them into the values it glues.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from lib.experiments.loss_simulation import GPT, SIM, count_text
from lib.experiments.scoring import REFERENCE, wins
from lib.experiments.settings import task_label
from lib.experiments.simulation import SimulationResult
from lib.experiments.wording import verdict
from lib.metrics import GENERATION_NAMES

SIDES = ("ours", "paper")


def comparison_facts(table: str, comparison: pd.DataFrame, ours: pd.DataFrame, targets: Sequence[str], *,
                     reference: bool = False) -> dict[str, object]:
    """Per target, from `head_to_head(..., per="target")`: on how many tasks GPTfluence's MSE beats Simfluence's and
    its average MSE relative to Simfluence's (ours and the paper's), the verdict, and with `reference` on how many
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
        out[f"t{table}_verdict_{target}"] = verdict(*wins(part, GPT, SIM, "mse"))
    return out


def unchecked_facts(table: str, targets: Sequence[str]) -> dict[str, object]:
    """The keys of `comparison_facts` when the collection recorded no BLEU / ROUGE-L to compare."""
    out: dict[str, object] = {}
    for target in targets:
        out[f"t{table}_verdict_{target}"] = "cannot be checked"
        for key in ("wins", "red"):
            for side in SIDES:
                out[f"t{table}_{key}_mse_{target}_{side}"] = "n/a"
    return out


def table3_status(metrics: Sequence[str], groups: Mapping[str, Sequence[int]] | None) -> str:
    """What the instruction-tuning collection offers Table 3: its metrics and test examples per generation task, or
    that it recorded no generation metric (`groups` None)."""
    if groups is None:
        return f"it records only {', '.join(metrics)}, so this build has no Table 3 counterpart"
    return (f"it records {', '.join(metrics)}, with "
            + ", ".join(f"{len(ids)} {task_label(t)}" for t, ids in groups.items()) + " test examples")


def table4_facts(results: Mapping[str, SimulationResult]) -> dict[str, object]:
    """Test examples per task and held-out runs of the fine-tuning collections (task -> result of one target)."""
    first = next(iter(results.values()))
    return {"t4_tests": ", ".join(f"{r.truth.n_tests} {task_label(t)}" for t, r in results.items()),
            "t4_runs": first.truth.n_runs}
