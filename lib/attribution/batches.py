"""The examples the attribution libraries see: one item per example, padded batches as plain tensors.

kronfluence and traker both take batches of tensors whose first dimension is the example (kronfluence
finds the batch size from the first tensor of a dict, traker vmaps over each tensor of a tuple). An
example of the top-block regime is its cached boundary hidden states (the input of the top k blocks),
their attention mask, and its target tokens: the positions predicting them and their ids. The weights
make the per-example loss the mean NLL over the example's target tokens, the loss the runs train on.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch.utils.data import Dataset

from lib.collect.encoding import EncodedExample

AttributionBatch = dict[str, torch.Tensor]
"""states [B, L, d], mask [B, L], positions [B, n], targets [B, n], weights [B, n] (1 / target count, 0 = padding)."""
BATCH_KEYS = ("states", "mask", "positions", "targets", "weights")


class ExampleSet(Dataset):
    """Examples of the top-block regime as a torch Dataset (in the given order), with the collate that pads them."""

    def __init__(self, encoded: Sequence[EncodedExample], states: Mapping[int, torch.Tensor]):
        missing = [e.example_id for e in encoded if e.example_id not in states]
        if missing:
            raise ValueError(f"no boundary states for examples {missing[:5]}: attribution needs the top-block regime")
        self.ids = [int(e.example_id) for e in encoded]
        self.items = [_item(e, states[e.example_id]) for e in encoded]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]

    @staticmethod
    def collate(items: Sequence[dict[str, torch.Tensor]]) -> AttributionBatch:
        """Right-pad the items' sequences and target lists into one batch."""
        width = max(int(i["states"].shape[0]) for i in items)
        count = max(int(i["targets"].shape[0]) for i in items)
        d = int(items[0]["states"].shape[1])
        batch = {"states": torch.zeros(len(items), width, d, dtype=items[0]["states"].dtype),
                 "mask": torch.zeros(len(items), width, dtype=torch.long),
                 "positions": torch.zeros(len(items), count, dtype=torch.long),
                 "targets": torch.zeros(len(items), count, dtype=torch.long),
                 "weights": torch.zeros(len(items), count, dtype=torch.float32)}
        for r, item in enumerate(items):
            length, n = int(item["states"].shape[0]), int(item["targets"].shape[0])
            batch["states"][r, :length] = item["states"]
            batch["mask"][r, :length] = 1
            batch["positions"][r, :n] = item["positions"]
            batch["targets"][r, :n] = item["targets"]
            batch["weights"][r, :n] = 1.0 / n
        return batch

    def batches(self, size: int) -> list[AttributionBatch]:
        """Consecutive batches of `size` examples, in order."""
        return [self.collate(self.items[i: i + size]) for i in range(0, len(self.items), size)]


def _item(encoded: EncodedExample, states: torch.Tensor) -> dict[str, torch.Tensor]:
    """One example: its boundary states and its target tokens (token j is predicted at position j - 1)."""
    start = len(encoded.prompt_ids)
    if start == 0:
        raise ValueError(f"example {encoded.example_id}: a target token at position 0 has no predicting state")
    ids = encoded.input_ids
    return {"states": states, "positions": torch.arange(start - 1, len(ids) - 1, dtype=torch.long),
            "targets": torch.tensor(ids[start:], dtype=torch.long)}


def example_set(encoded: Mapping[int, EncodedExample], states: Mapping[int, torch.Tensor],
                ids: Sequence[int]) -> ExampleSet:
    """The ExampleSet of some example ids (in that order) of a collection's encoded examples."""
    return ExampleSet([encoded[int(i)] for i in ids], states)
