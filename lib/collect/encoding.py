"""Tokenized examples and padded batches that know where their target tokens are.

An example is tokenized as `tokens(prompt) + tokens(target)` (+ EOS for generation tasks), so the
target tokens are exactly the tokens of the target text. Token j is predicted by the hidden state at
position j - 1, so a batch carries the (row, column) of those predicting positions: the LM head is
applied there only. Sequences longer than `max_length` keep their target (at most max_length - 1
tokens) and the end of their prompt.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch


@dataclass(frozen=True)
class EncodedExample:
    """One example's token ids: prompt ids followed by target ids."""

    example_id: int
    prompt_ids: tuple[int, ...]
    target_ids: tuple[int, ...]

    @property
    def input_ids(self) -> tuple[int, ...]:
        """Prompt and target ids together."""
        return self.prompt_ids + self.target_ids

    @property
    def length(self) -> int:
        """Number of tokens."""
        return len(self.prompt_ids) + len(self.target_ids)


@dataclass
class TargetBatch:
    """A right-padded batch and, per target token, its predicting position, its id and its example."""

    example_ids: np.ndarray  # [B]
    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    rows: torch.Tensor  # [n_tokens] batch row of each target token
    cols: torch.Tensor  # [n_tokens] position whose hidden state predicts the token
    targets: torch.Tensor  # [n_tokens] the target token ids
    token_example: torch.Tensor  # [n_tokens] = rows (kept separate for clarity)
    states: torch.Tensor | None = None  # [B, L, d] boundary hidden states (top-block regime), else None

    @property
    def size(self) -> int:
        """Examples in the batch."""
        return int(self.input_ids.shape[0])

    @property
    def tokens(self) -> int:
        """Non-padding tokens in the batch."""
        return int(self.attention_mask.sum())

    def to(self, device: torch.device | str) -> "TargetBatch":
        """The same batch on `device`."""
        return TargetBatch(self.example_ids, self.input_ids.to(device), self.attention_mask.to(device),
                           self.rows.to(device), self.cols.to(device), self.targets.to(device),
                           self.token_example.to(device), None if self.states is None else self.states.to(device))


def encode_example(tokenizer, example, *, max_length: int, append_eos: bool) -> EncodedExample:
    """Tokenize prompt and target separately (target without special tokens), then truncate to max_length."""
    prompt = list(tokenizer(example.prompt, add_special_tokens=True)["input_ids"])
    target = list(tokenizer(example.target, add_special_tokens=False)["input_ids"])
    if append_eos and tokenizer.eos_token_id is not None:
        target.append(int(tokenizer.eos_token_id))
    if not target:
        raise ValueError(f"example {example.id}: the target {example.target!r} has no token")
    target = target[: max(1, max_length - 1)]
    room = max_length - len(target)
    if len(prompt) > room:
        prompt = prompt[len(prompt) - room:]
    return EncodedExample(int(example.id), tuple(int(i) for i in prompt), tuple(int(i) for i in target))


def encode_examples(tokenizer, examples: Sequence, *, max_length: int,
                    append_eos: bool | Callable[[object], bool]) -> dict[int, EncodedExample]:
    """Encode many examples, keyed by example id; `append_eos` may be a per-example predicate."""
    wants = append_eos if callable(append_eos) else (lambda e: bool(append_eos))
    return {int(e.id): encode_example(tokenizer, e, max_length=max_length, append_eos=wants(e)) for e in examples}


def make_batch(encoded: Sequence[EncodedExample], pad_id: int,
               states: Mapping[int, torch.Tensor] | None = None) -> TargetBatch:
    """Right-pad `encoded` into one batch and locate the predicting positions of every target token.

    `states` (example id -> [length, d] boundary hidden states, top-block regime) are padded alongside.
    """
    width = max(e.length for e in encoded)
    input_ids = torch.full((len(encoded), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    rows, cols, targets = [], [], []
    for r, e in enumerate(encoded):
        ids = e.input_ids
        input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[r, : len(ids)] = 1
        start = len(e.prompt_ids)
        for j in range(start, len(ids)):
            if j == 0:
                raise ValueError(f"example {e.example_id}: a target token at position 0 has no predicting state")
            rows.append(r)
            cols.append(j - 1)
            targets.append(ids[j])
    rows_t = torch.tensor(rows, dtype=torch.long)
    ids = np.array([e.example_id for e in encoded], dtype=np.int64)
    padded = None if states is None else padded_states(states, ids, width)
    return TargetBatch(ids, input_ids, mask, rows_t, torch.tensor(cols, dtype=torch.long),
                       torch.tensor(targets, dtype=torch.long), rows_t.clone(), padded)


def length_sorted_batches(encoded: Sequence[EncodedExample], batch_size: int, pad_id: int,
                          states: Mapping[int, torch.Tensor] | None = None) -> list[TargetBatch]:
    """Batches of similar length (sorted by length, ties by id) to minimise padding."""
    order = sorted(encoded, key=lambda e: (e.length, e.example_id))
    return [make_batch(order[i: i + batch_size], pad_id, states) for i in range(0, len(order), batch_size)]


def padded_states(states: Mapping[int, torch.Tensor], example_ids: Sequence[int], width: int) -> torch.Tensor:
    """Right-padded [B, width, d] boundary states of some examples (zeros at padding, which the mask hides)."""
    first = states[int(example_ids[0])]
    out = torch.zeros((len(example_ids), width, first.shape[-1]), dtype=first.dtype)
    for r, i in enumerate(example_ids):
        s = states[int(i)]
        out[r, : s.shape[0]] = s
    return out
