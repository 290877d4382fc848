"""What the book's chapters call: one import for the notebooks (02 dynamics, 03 loss, 04 metric simulation).

The logic lives in small modules: settings (collections and GPTfluence per scale), recorded (collections,
timings, spread), scoring (fit, score per task, compare methods), tables (ours beside the paper), figures
(which trajectories to draw).
"""
from lib.experiments.figures import example_panels
from lib.experiments.recorded import (collection_folder, collection_summary, ids_by_task, load_collections,
                                      pick_test_examples, recorded_metrics, run_timings, spread_summary, task_of_test)
from lib.experiments.scoring import (LOWER_IS_BETTER, REFERENCE, best_method, cells_won, change_phrase, compare_word,
                                     fine_tuning_scores, gradient_rescaling, head_to_head, instruction_scores,
                                     mean_trajectory, methods_beating, reduction, scores_by_group,
                                     simulate_collection, value_of, verdict, whole_collection_scores, wins,
                                     with_average)
from lib.experiments.settings import (FINE_TUNING_TASKS, GENERATION_TASKS, INSTRUCTION_TUNING, PAPER_MODEL,
                                      TASK_LABELS, gptfluence_config, gptfluence_config_table, paper_protocol_table,
                                      task_label)
from lib.experiments.tables import fmt, format_cell, paper_by_size, wide_table, with_paper

__all__ = [
    "FINE_TUNING_TASKS", "GENERATION_TASKS", "INSTRUCTION_TUNING", "LOWER_IS_BETTER", "PAPER_MODEL", "REFERENCE",
    "TASK_LABELS", "best_method", "cells_won", "change_phrase", "collection_folder", "collection_summary", "compare_word",
    "example_panels", "fine_tuning_scores", "fmt", "format_cell", "gptfluence_config", "gptfluence_config_table",
    "gradient_rescaling", "head_to_head", "ids_by_task", "instruction_scores", "load_collections",
    "mean_trajectory", "methods_beating", "paper_by_size", "paper_protocol_table", "pick_test_examples",
    "recorded_metrics", "reduction", "run_timings", "scores_by_group", "simulate_collection", "spread_summary",
    "task_label", "task_of_test", "value_of", "verdict", "whole_collection_scores", "wide_table", "wins", "with_average",
    "with_paper",
]
