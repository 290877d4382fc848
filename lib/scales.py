"""The named scales the book runs at, stated in one place that the intro quotes."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class Scale:
    """What a book build at this scale uses, and why."""

    name: str
    model: str          # the GPT that is fine-tuned
    encoder: str        # GPTfluence's frozen feature encoder
    examples_shown: int  # prompts printed per task in the foundation chapter
    why: str


SCALES: dict[str, Scale] = {
    "smoke": Scale(
        name="smoke", model="tiny-neox", encoder="minilm-mean", examples_shown=1,
        why="CI check that every chapter runs end to end in minutes; a random ~270k-parameter GPT-NeoX, "
            "so its numbers mean nothing."),
    "default": Scale(
        name="default", model="smollm2-135m", encoder="minilm-mean", examples_shown=2,
        why="The book a reader gets: SmolLM2-135M-Instruct fully fine-tuned (fp32: this CPU has no bf16 units) on "
            "real task data, every collection run on this 2-core CPU (about 2 hours, two collections side by side). SST-2 and its "
            "mislabel, unseen-data and model-size variants: pool 32, 16 examples per run, batch 4, 4 epochs = 16 "
            "steps, 8 runs (5 train / 1 val / 2 test), 16 test examples. RTE, BoolQ, WebNLG, WMT16 and the "
            "instruction-tuning mixture (FLAN-style prompts over six tasks): 3 epochs = 12 steps, 7 runs (5/1/1), "
            "8 test examples (12 for the mixture), because their prompts are 3-5x longer and the generation tasks "
            "also generate for BLEU and ROUGE-L at every step (a step with evaluation costs 5-25 s here). The "
            "paper's size (32 runs of 96 steps, 200-example pools) would take days here; lr 2e-5 instead of the "
            "paper's 5e-7 makes the loss move in 12-16 steps. The second size is Gemma-3-270M on SST-2 (5 runs). Numbers at this "
            "scale are noisy (few runs and test examples); they are shown beside the paper's, never tuned toward "
            "them."),
}


def get_scale(name: str) -> Scale:
    """The scale called `name`; an unknown name raises a ValueError listing the valid ones."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; valid scales: {', '.join(SCALES)}")
    return SCALES[name]


def scales_table() -> pd.DataFrame:
    """All scales as a table for the book's intro."""
    return pd.DataFrame([asdict(s) for s in SCALES.values()]).set_index("name")
