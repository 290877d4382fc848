"""A lean sampling loop that gives `generate`'s token ids bit for bit while running only the rows still generating.

`generate` keeps every row of a batch in every forward until the last row stops: in a paper-size WebNLG evaluation
(32 prompts, up to 64 new tokens) the median row stops after about 20 tokens, so most row-steps decode padding.
`sample_tokens` calls the model's forward itself, with the same inputs `generate` builds (next token, attention mask,
position ids, key/value cache, `logits_to_keep=1`), and after each token drops finished rows from the batch and its
cache. This changes no row's arithmetic: every op of a decode step works row by row (RMSNorm, rotary, attention over
each row's own cache, the activations) and the matrix products give each row the same bits whatever the other rows
from 4 rows on (measured for the CPU kernels here); the batch keeps at least `MIN_ROWS` rows (finished rows fill it)
and one left-padded row if the prompts had padding (without any, transformers would drop the attention mask and SDPA
would take its unmasked path). Sampling draws, like `torch.multinomial` over the whole batch, one Exp(1) variate per
vocabulary entry of every row in row order (the argmax of probability / variate), but only the live rows' variates
are computed; the finished rows' draws are skipped by drawing as many 64-bit integers, which consume the generator
identically, so the random stream and every later draw stay the same. The key/value cache is preallocated for the
new tokens and grows in place instead of being concatenated at every token (`GrowingLayer`).
tests/collect/test_decode.py compares the token ids with `generate`'s; benchmarks/bench_generation.py times both.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from transformers import DynamicCache, TemperatureLogitsWarper, TopPLogitsWarper
from transformers.cache_utils import DynamicLayer

from .nucleus import CandidateNucleus
from .prompt_prefix import mask_positions

MIN_ROWS = 4  # smallest batch a decode step runs (1-3 rows take other matrix kernels: other last bits)
DECODINGS = ("sample", "sample_fast", "greedy")


class GrowingLayer(DynamicLayer):
    """A dynamic cache layer with room for `capacity` positions: new keys / values are written in place and the layer
    exposes the filled part (a view), so a decode step copies one position instead of the whole cache."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, capacity: int):
        super().__init__()
        if capacity < keys.shape[-2]:
            raise ValueError(f"capacity {capacity} below the {keys.shape[-2]} cached positions")
        self._k = keys.new_empty((*keys.shape[:2], capacity, keys.shape[3]))
        self._v = values.new_empty((*values.shape[:2], capacity, values.shape[3]))
        self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
        self._length = 0
        self._write(keys, values)

    def _write(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        end = self._length + keys.shape[-2]
        if end > self._k.shape[-2]:
            raise ValueError(f"a growing cache layer of {self._k.shape[-2]} positions cannot hold {end}")
        self._k[:, :, self._length: end] = keys
        self._v[:, :, self._length: end] = values
        self._length = end
        self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        """Append the new positions in place; return all cached keys and values (views of the buffers)."""
        self._write(key_states, value_states)
        return self.keys, self.values

    def rows_copy(self, rows: torch.Tensor) -> "GrowingLayer":
        """A new layer holding `rows` of the batch only (their filled positions, the same room)."""
        copy = GrowingLayer.__new__(GrowingLayer)
        DynamicLayer.__init__(copy)
        copy.dtype, copy.device, copy.is_initialized = self.dtype, self.device, True
        copy._k, copy._v, copy._length = self._k.index_select(0, rows), self._v.index_select(0, rows), self._length
        copy.keys, copy.values = copy._k[:, :, :copy._length], copy._v[:, :, :copy._length]
        return copy

    def put_next(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Write the next position's keys / values [batch, heads, dim] without exposing it yet (`advance` does)."""
        if self._length >= self._k.shape[-2]:
            raise ValueError(f"a growing cache layer of {self._k.shape[-2]} positions is full")
        self._k[:, :, self._length] = keys
        self._v[:, :, self._length] = values

    def advance(self) -> None:
        """Expose the position `put_next` wrote."""
        self._length += 1
        self.keys, self.values = self._k[:, :, :self._length], self._v[:, :, :self._length]

    def select_rows(self, rows: torch.Tensor) -> None:
        """Keep only `rows` of the batch (their filled positions, with the same room left)."""
        k, v = self._k.index_select(0, rows), self._v.index_select(0, rows)
        self._k, self._v = k, v
        self.keys, self.values = k[:, :, :self._length], v[:, :, :self._length]


def growing_cache(cache: DynamicCache, extra: int) -> DynamicCache:
    """`cache` with its plain dynamic layers replaced by growing ones holding `extra` more positions (in place)."""
    for index, layer in enumerate(cache.layers):
        if type(layer) is DynamicLayer and layer.is_initialized and layer.keys.numel():
            cache.layers[index] = GrowingLayer(layer.keys, layer.values, layer.keys.shape[-2] + extra)
    return cache


def select_rows(cache: DynamicCache, rows: torch.Tensor) -> None:
    """Keep only `rows` (batch indices) in every layer of `cache`."""
    for layer in cache.layers:
        if isinstance(layer, GrowingLayer):
            layer.select_rows(rows)
        elif layer.is_initialized and layer.keys.numel():
            layer.keys, layer.values = layer.keys.index_select(0, rows), layer.values.index_select(0, rows)


def token_filters(decoding: str, top_p: float, temperature: float) -> list[Callable]:
    """The logits processors `generate` applies for `decoding` (those of lib/collect/evaluate.py's settings)."""
    if decoding == "greedy":
        return []
    if decoding == "sample_fast":
        return [CandidateNucleus(top_p, temperature)]
    if decoding == "sample":
        filters = [] if temperature == 1.0 else [TemperatureLogitsWarper(temperature)]
        return filters + ([] if top_p >= 1.0 else [TopPLogitsWarper(top_p)])
    raise ValueError(f"unknown decoding {decoding!r}; valid: {DECODINGS}")


def draw_rows(probs: torch.Tensor, rows: Sequence[int], batch: int) -> torch.Tensor:
    """`torch.multinomial(full, 1)` of a [batch, V] probability matrix `full` whose rows `rows` (ascending) are
    `probs`, for those rows, consuming the default generator exactly as the whole-batch call does."""
    vocab = probs.shape[-1]
    variates = torch.empty_like(probs)
    done = 0  # rows of the batch whose draws are consumed
    for k, row in enumerate(rows):
        if row > done:
            torch.empty((row - done) * vocab, dtype=torch.int64).random_()  # one 64-bit draw per skipped variate
        variates[k].exponential_(1)
        done = row + 1
    if batch > done:
        torch.empty((batch - done) * vocab, dtype=torch.int64).random_()
    return (probs / variates).argmax(dim=-1)


def sample_tokens(model, ids: torch.Tensor, mask: torch.Tensor, *, cache: DynamicCache | None, decoding: str,
                  top_p: float, temperature: float, max_new_tokens: int, pad_id: int, eos_id: int,
                  stop_ids: Sequence[int] = (), min_rows: int = MIN_ROWS, memo=None) -> torch.Tensor:
    """The new tokens [rows, steps] `model.generate` returns after the left-padded prompts `ids` (mask `mask`) for
    `decoding`, padding after a row's stop (EOS or one of `stop_ids`; generate pads only when there is an EOS id,
    hence `eos_id` is required). `cache`: keys / values of all but the last
    prompt token (a `PromptPrefix`), or None for a whole prefill. `memo`: a `TrunkMemo` of this batch (top-block
    regime, with a prompt-prefix cache), which serves the frozen bottom at prefixes generated before."""
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    filters = token_filters(decoding, top_p, temperature)
    sampling = decoding != "greedy"
    batch, width = ids.shape
    device = ids.device
    stops = torch.tensor(sorted({int(t) for t in stop_ids} | {int(eos_id)}), dtype=torch.long, device=device)
    positions = mask.long().cumsum(-1) - 1
    positions.masked_fill_(mask == 0, 1)
    keep = torch.nonzero(mask[:, 0] == 0)[:1, 0].tolist()  # a left-padded row stays in the batch (docstring)
    rows = torch.arange(batch, device=device)  # the batch's rows in the cache, ascending
    prefixes: list[tuple[int, ...]] = [()] * batch  # each row's generated tokens (the memo's keys)
    if memo is not None:
        if cache is None:
            raise ValueError("a trunk memo continues from a prompt-prefix cache, got none")
        cache = growing_cache(cache, max_new_tokens + 1)
        if not memo.applies(model, cache):
            memo = None
    if memo is not None:
        memo.start()
        logits = memo.step(model, cache, rows, prefixes, ids[:, -1:], mask, mask_positions(mask)[:, -1:], keep)
    else:
        if cache is None:  # whole prefill, as generate's first forward
            cache = DynamicCache(config=model.config)
            inputs, pos = ids, positions
        else:
            inputs, pos = ids[:, -1:], mask_positions(mask)[:, -1:]
        out = model(input_ids=inputs, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True,
                    logits_to_keep=1, return_dict=True)
        cache, logits = growing_cache(out.past_key_values, max_new_tokens), out.logits
    tokens = torch.full((batch, max_new_tokens), int(pad_id), dtype=torch.long, device=device)
    live = torch.ones(batch, dtype=torch.bool, device=device)
    last = positions[:, -1]
    full_mask = torch.cat([mask, mask.new_ones((batch, max_new_tokens))], dim=1)
    steps = 0
    for t in range(max_new_tokens):
        last_logits = logits[:, -1].to(copy=True, dtype=torch.float32)
        at = torch.nonzero(live[rows])[:, 0]  # batch positions of the live rows
        now = rows[at]
        scores = last_logits.index_select(0, at)
        if filters:
            seen = torch.cat([ids.index_select(0, now), tokens.index_select(0, now)[:, :t]], dim=1)
            for f in filters:
                scores = f(seen, scores)
        if sampling:
            chosen = draw_rows(torch.nn.functional.softmax(scores, dim=-1), now.tolist(), batch)
        else:
            chosen = torch.argmax(scores, dim=-1)
        tokens[now, t] = chosen
        steps = t + 1
        live[now] = ~torch.isin(chosen, stops)
        if steps == max_new_tokens or not bool(live.any()):
            break
        current = rows.tolist()
        wanted = [r for r in current if bool(live[r])]
        target = max(len(wanted), min(min_rows, len(current)))
        if len(current) - target >= max(1, len(current) // 8):  # drop finished rows, keeping `target`
            kept = set(wanted) | set(keep)
            for r in current:  # finished rows fill the batch up to `target`
                if len(kept) >= target:
                    break
                kept.add(r)
            chosen_rows = torch.tensor(sorted(kept), dtype=torch.long, device=device)
            select_rows(cache, torch.searchsorted(rows, chosen_rows))
            rows = chosen_rows
        fed = tokens[rows, t]
        step_mask, step_pos = full_mask[rows, : width + t + 1], (last[rows] + t + 1)[:, None]
        if memo is not None:
            for r in rows.tolist():
                prefixes[r] = prefixes[r] + (int(tokens[r, t]),)
            logits = memo.step(model, cache, rows, [prefixes[r] for r in rows.tolist()], fed[:, None], step_mask,
                               step_pos, keep)
        else:
            logits = model(input_ids=fed[:, None], attention_mask=step_mask, position_ids=step_pos,
                           past_key_values=cache, use_cache=True, logits_to_keep=1, return_dict=True).logits
    return tokens[:, :steps]
