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
        why="The book a reader gets: SmolLM2-135M-Instruct fine-tuned on real task data. This is an interim "
            "size (8 runs of 24 steps per collection, in fp32 because this CPU has no bf16 units); the planned "
            "reference collection (24+ runs of 48+ steps, about 8 hours) will replace it."),
}


def get_scale(name: str) -> Scale:
    """The scale called `name`; an unknown name raises a ValueError listing the valid ones."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; valid scales: {', '.join(SCALES)}")
    return SCALES[name]


def scales_table() -> pd.DataFrame:
    """All scales as a table for the book's intro."""
    return pd.DataFrame([asdict(s) for s in SCALES.values()]).set_index("name")
