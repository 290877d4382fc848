"""The book's chapter settings in one place: which collections each chapter reads and GPTfluence's training per data
regime (lib.scales.Scale.regime: a scale reads its regime's settings, so the default scale follows DEFAULT_READS).

GPTfluence's optimiser settings follow the paper's Table 8 but for the learning rate, the epochs, the warm-up and
the early stopping. A batch holds 128 teacher-forced (run, step, test example) transitions, as the official code;
the default collections have 5 training runs x 12-16 steps x 8-16 test examples, 480 to 1,280 transitions, so an
epoch is 4 to 10 AdamW steps where the paper's 25 runs x 96 steps make hundreds. Hence, on the full fine-tuning
collections (regime "full_fine_tuning"):
- lr 1e-3, ten times Table 8's 1e-4: with so few steps the simulator at 1e-4 barely leaves its initialisation
  before early stopping (the comparison of both rates is `benchmarks/bench_simulators.py --gpt-lr 1e-4 1e-3`);
- warm-up 50 steps (Table 8: 200), about 5 to 12 of our epochs;
- patience 20 epochs (official code: 10), counted only after the warm-up: the validation score is the rollout of
  a single validation run, which jumps from epoch to epoch, and 20 epochs are still only 80 to 200 steps.
These values were set when an epoch was a single step and kept since, so that the default book's numbers do not
move; they were not tuned on the held-out runs, nor towards the paper's numbers.
At regime "smoke" (a random tiny GPT, numbers that check the pipeline only) GPTfluence is capped at 30 epochs with
patience 5, so that the smoke book's loss and metric chapters fit CI's time budget.
On the paper-size collections (regime "paper_size": 25 runs x 96 steps x 64 test examples, 152,000 transitions) a
batch of 128 makes an epoch 1,188 AdamW steps, 15 s here on one core, and Table 8's settings need tens of epochs per
fit; the book has dozens of fits. There GPTfluence minimises the same objective (eq. 9) with full-batch AdamW: every epoch is one step on all
transitions, lr 3e-3, warm-up 20 steps, patience 200 steps, at most 3,000. Chosen by the validation runs' MSE, never
the held-out runs', on the paper-size SST-2 and RTE collections (`benchmarks/bench_gptfluence_fit.py --collection
paper_size/<task> --skip-side-by-side --full paper_size batch4096 [--lr 1e-2]`; measured on a CPU shared with 6-8
other jobs): full batch at lr 3e-3 kept validation MSE 0.0364 on SST-2 (839 steps, 169 s) and 0.0709 on RTE
(1,514 steps, 476 s); at lr 1e-2, 0.0355 and 0.0964; batches of 4,096 at lr 1e-3, 0.0384 on SST-2.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

from lib.scales import get_scale
from lib.simulators import GPTfluenceConfig

FINE_TUNING_TASKS: tuple[str, ...] = ("sst2", "rte", "boolq", "webnlg", "wmt16_de_en")
"""The fine-tuning collections (paper Table 2), one per task; configs/<scale>/<task>.toml."""
GENERATION_TASKS: tuple[str, ...] = ("webnlg", "wmt16_de_en")
"""The tasks whose BLEU and ROUGE-L are simulated (paper Tables 3, 4)."""
INSTRUCTION_TUNING = "mixture"
"""The instruction-tuning collection (paper Tables 1, 3): FLAN-style prompts over the six tasks."""
TASK_LABELS: dict[str, str] = {"sst2": "SST-2", "rte": "RTE", "boolq": "BoolQ", "webnlg": "WebNLG",
                               "wmt16_de_en": "WMT16 DE/EN", "cnn_dailymail": "CNN/DM", "average": "Average",
                               "mixture": "instruction mixture"}
PAPER_MODEL = "pythia-410m"
"""The paper's model our rows stand beside: Tables 2 and 4 use only it; in Tables 1 and 3 it is the smallest
of the three sizes and the closest to ours."""

_GPTFLUENCE: dict[str, GPTfluenceConfig] = {
    "smoke": GPTfluenceConfig(lr=1e-3, max_epochs=30, patience=5, warmup_steps=10),
    "full_fine_tuning": GPTfluenceConfig(lr=1e-3, max_epochs=300, patience=20, warmup_steps=50),
    "paper_size": GPTfluenceConfig(batch_size=None, lr=3e-3, max_epochs=3000, patience=200, warmup_steps=20),
}
GPTFLUENCE_WHY: dict[str, str] = {
    "smoke": "At the smoke scale (a random tiny GPT, numbers that check the pipeline only) GPTfluence is capped at 30 "
             "epochs with patience 5, so that the smoke book's chapters fit CI's time budget.",
    "full_fine_tuning": "A batch holds 128 teacher-forced (run, step, test example) transitions, as the official code, "
                        "but these collections have so few runs, steps and test examples that an epoch is a handful of "
                        "optimizer steps where the paper's are hundreds; with lr 1e-4 the simulator barely leaves its "
                        "initialization before early stopping, with 1e-3 it converges.",
    "paper_size": "These collections have the paper's size (25 training runs x 96 steps x 64 test examples: about "
                  "150,000 transitions), so a batch of 128 makes an epoch over a thousand optimizer steps and a fit "
                  "takes too long for a book with dozens of fits on this CPU; GPTfluence minimises the same objective "
                  "(eq. 9) with full-batch AdamW, each epoch one step on all transitions, settings chosen by the "
                  "validation runs' MSE on SST-2 and RTE, never by the held-out runs'.",
}
"""Why GPTfluence's settings of each regime differ from the paper's Table 8 (the module docstring has the details)."""


def gptfluence_why(scale: str) -> str:
    """GPTFLUENCE_WHY of the regime `scale` reads."""
    return GPTFLUENCE_WHY[get_scale(scale).regime]


PAPER_GPTFLUENCE = GPTfluenceConfig(normalize_features=False)
"""The paper's fine-tuning hyperparameters (Table 8), the defaults of GPTfluenceConfig, except unit-norm features:
the paper and its official code feed the encoder's embedding as it is; the norm is this book's addition."""


FULL_BATCH = "all transitions (full batch)"
"""How the settings table shows batch_size=None."""


def gptfluence_config(scale: str) -> GPTfluenceConfig:
    """GPTfluence's training settings at `scale`: those of the data regime it reads (the same for every collection)."""
    regime = get_scale(scale).regime
    if regime not in _GPTFLUENCE:
        raise ValueError(f"no GPTfluence settings for regime {regime!r} (scale {scale!r}); have {', '.join(_GPTFLUENCE)}")
    return _GPTFLUENCE[regime]


REFIT_SEEDS = (1, 2, 3, 4)
"""GPTfluence is also fitted with these seeds, besides its own: five fits. On a paper-size collection the seed (and
the CPU's instruction set, through rounding) can move its all-steps MSE by some 10% and a verdict with it; a verdict
the book shows is one that every fit gets (lib.experiments.comparisons.difference_row)."""
ATTRIBUTION_REGIME = "paper_size"
"""The data regime whose held-out runs can have stored EK-FAC / TRAK scores (lib.attribution): only its runs train
the top-block regime the scores cover."""
REFIT_REGIMES = ("paper_size",)
"""The data regimes whose chapters refit GPTfluence (a fit there takes seconds; the full fine-tuning collections are
small and their verdicts rest on few runs anyway)."""


def refit_seeds(scale: str) -> tuple[int, ...]:
    """The seeds GPTfluence is refitted with at `scale`: REFIT_SEEDS in REFIT_REGIMES, none elsewhere."""
    return REFIT_SEEDS if get_scale(scale).regime in REFIT_REGIMES else ()


def gptfluence_config_table(scale: str) -> pd.DataFrame:
    """GPTfluence's settings at `scale` beside the paper's (Table 8), one row per setting."""
    ours = dataclasses.asdict(gptfluence_config(scale))
    paper = dataclasses.asdict(PAPER_GPTFLUENCE)
    rows = [{"setting": k, "this book": FULL_BATCH if k == "batch_size" and ours[k] is None else ours[k],
             "paper (Table 8; patience: official code)": paper[k]}
            for k in ours if k not in ("device", "seed")]
    return pd.DataFrame(rows).set_index("setting").astype(str)


def task_label(task: str) -> str:
    """The paper's spelling of a task name (SST-2, WMT16 DE/EN, ...)."""
    return TASK_LABELS.get(task, task)


PAPER_PROTOCOL: dict[str, dict[str, str]] = {
    # GPTfluence paper, appendix A.3-A.4, Tables 5 and 7 (Pythia-410M). Protocol settings, not results.
    "fine-tuning": {"model": "pythia-410m", "pool": "200", "examples per run": "128", "batch": "4",
                    "steps": "96 (3 epochs)", "runs (train/val/test)": "25/2/5", "lr": "5e-7 (WebNLG 1e-6)",
                    "precision": "fp32"},
    "instruction": {"model": "pythia-410m", "pool": "1200", "examples per run": "768", "batch": "8",
                    "steps": "288 (3 epochs)", "runs (train/val/test)": "27/not stated/5", "lr": "2e-7",
                    "precision": "fp32"},
}


def paper_protocol_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The papers' collection protocol beside ours (from `collection_summary`), for fine-tuning and instruction tuning.

    Where our fine-tuning collections differ in a setting, their distinct values are joined with ' / '.
    """
    rows = {}
    for regime, label in (("fine-tuning", "fine-tuning"), ("instruction", "instruction tuning")):
        ours = summary[summary["tuning"] == regime]
        rows[f"paper, {label}"] = PAPER_PROTOCOL[regime]
        values = {}
        for key in PAPER_PROTOCOL[regime]:
            if ours.empty:
                values[key] = "-"
                continue
            distinct = list(dict.fromkeys(str(v) for v in ours[key]))
            values[key] = " / ".join(distinct)
        rows[f"ours, {label}"] = values
    return pd.DataFrame(rows)
