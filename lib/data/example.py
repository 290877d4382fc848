"""One task example as the rest of the project sees it, and the rule that makes its id unique across tasks."""
from __future__ import annotations

from dataclasses import dataclass

ID_STRIDE = 10_000_000
"""Ids are `task_index * ID_STRIDE + row`: the task index (position in TASK_NAMES) is embedded in every id."""

SECOND_FILE_OFFSET = 5_000_000
"""Rows of a task's second source file (the official dev/test file) start here, so they never collide with train."""


@dataclass(frozen=True)
class Example:
    """A prompt/target pair; the loss is computed on `target` only, `references` feed BLEU/ROUGE."""

    id: int
    task: str
    prompt: str
    target: str
    label: int | None
    references: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Prompt followed by target: what an encoder embeds for a training example."""
        return self.prompt + self.target


def make_id(task_index: int, row: int) -> int:
    """The global id of source row `row` (file offset already added) of the task at `task_index`."""
    if not 0 <= row < ID_STRIDE:
        raise ValueError(f"row {row} out of range for an example id (must be < {ID_STRIDE})")
    return task_index * ID_STRIDE + row


def split_id(example_id: int) -> tuple[int, int]:
    """(task_index, row) of an example id: the inverse of make_id."""
    return divmod(example_id, ID_STRIDE)
