"""What the book's chapters call: one import for the notebooks (02 dynamics, 03 loss, 04 metric simulation).

The logic lives in small modules: store (collections per scale), settings (chapter settings and GPTfluence per
scale), recorded (collections, cost, spread), scoring (fit, score per task, compare methods), tables (ours beside
the paper), wording (numbers and comparison phrases for the text).
"""
from typing import Sequence

from lib.experiments.recorded import collection_summary, ids_by_task, spread_summary
from lib.experiments.scoring import (REFERENCE, best_method, cells_won, fine_tuning_scores, gradient_rescaling,
                                     head_to_head, instruction_scores, mean_trajectory, methods_beating, reduction,
                                     scores_by_group, simulate_collection, value_of, whole_collection_scores, wins,
                                     with_average)
from lib.experiments.settings import (FINE_TUNING_TASKS, GENERATION_TASKS, INSTRUCTION_TUNING, PAPER_MODEL,
                                      TASK_LABELS, gptfluence_config, gptfluence_config_table, paper_protocol_table,
                                      task_label)
from lib.experiments.store import collection_config, dynamics, stored
from lib.experiments.tables import paper_by_size, values_with_std, wide_table, with_paper
from lib.experiments.wording import change_phrase, compare_word, fmt, sci, verdict
from lib.metrics import LOWER_IS_BETTER
from lib.scales import cross_check_of

__all__ = [
    "FINE_TUNING_TASKS", "GENERATION_TASKS", "INSTRUCTION_TUNING", "LOWER_IS_BETTER", "PAPER_MODEL", "REFERENCE",
    "TASK_LABELS", "best_method", "cells_won", "change_phrase", "collection_config", "collection_summary",
    "compare_word", "cross_check_collections", "cross_check_facts", "dynamics", "fine_tuning_scores", "fmt", "gptfluence_config", "gptfluence_config_table",
    "gradient_rescaling", "head_to_head", "ids_by_task", "instruction_scores", "mean_trajectory", "methods_beating",
    "paper_by_size", "paper_protocol_table", "reduction", "sci", "scores_by_group", "simulate_collection",
    "spread_summary", "stored", "task_label", "value_of", "values_with_std", "verdict", "whole_collection_scores",
    "wide_table", "wins", "with_average", "with_paper",
]


def cross_check_collections(scale: str, names: Sequence[str]) -> dict[str, str]:
    """label -> folder under data/dynamics of the collections `names` of the scale's cross-check regime (lib.scales),
    which the book sets beside the scale's own, e.g. {"SST-2, full fine-tuning": "default/sst2"}; {} where it has
    none. Never the scale's own collections."""
    other = cross_check_of(scale)
    return {} if other is None else {f"{task_label(name)}, {other.label}": f"{other.folder}/{name}" for name in names}


def cross_check_facts(scale: str) -> dict[str, str]:
    """Gluable words on the cross-check regime: its name and what its runs train (empty strings where none)."""
    other = cross_check_of(scale)
    return {"compared_regime": other.label if other else "", "compared_trains": other.trains if other else ""}
