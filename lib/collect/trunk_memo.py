"""The frozen bottom's output at generated tokens, remembered across a run's evaluations (top-block regime).

The bottom N - k blocks never change during a top-block run, so what they produce at a generated token (the keys and
values they cache there and the hidden state entering block N - k) depends only on the prompt and the tokens
generated before it. From one evaluation to the next a prompt's sampled continuation rarely changes (on the
paper-size WebNLG and WMT16 runs 90-96% of the generated characters continue a prefix generated at an earlier
evaluation), so `TrunkMemo` keeps these outputs per prompt, keyed by the generated prefix, and `TrunkMemo.step`
runs the bottom only on the rows whose prefix is new, then the top k blocks and the LM head on every row. A row
whose prefix is new stays new until it stops, so those rows keep a key/value cache of their own (`_Missing`), copied
once when a row joins it. The bottom runs on at least `MIN_ROWS` rows (filled with rows that are not new: smaller
batches take other matrix kernels, whose last bits differ) and with a left-padded row when the prompts have one (as
the lean loop does), so every row's arithmetic is that of a whole-model decode step and the token ids are those of
`sample_tokens` without the memo, bit for bit (tests/collect/test_trunk_memo.py; benchmarks/bench_generation.py
--memo times both).
"""
from __future__ import annotations

from typing import Sequence

import torch
from transformers import DynamicCache

from .decode import MIN_ROWS, GrowingLayer
from .top_blocks import TopBlocks, _StopForward, base_model

Entry = tuple[torch.Tensor, torch.Tensor]  # boundary state [d]; bottom keys / values [bottom blocks, 2, heads, dim]


class _Missing:
    """Rows of the batch (original indices, ascending) that run the bottom, with their own bottom cache layers."""

    def __init__(self, rows: list[int], layers: list[GrowingLayer]):
        self.rows, self.layers = rows, layers


class TrunkMemo:
    """For each row of one generation batch (the same prompts in the same order at every evaluation of a run), the
    frozen bottom's output after every generated prefix seen so far; `hits` / `misses` count the row-steps served
    from the memo / run through the bottom."""

    def __init__(self, top: TopBlocks, rows: int, *, max_bytes: int = 1 << 30, min_rows: int = MIN_ROWS):
        if rows < 1:
            raise ValueError(f"a trunk memo needs at least one row, got {rows}")
        self.top, self.min_rows, self.max_bytes = top, int(min_rows), int(max_bytes)
        self.entries: list[dict[tuple[int, ...], Entry]] = [{} for _ in range(rows)]
        self.bytes = 0
        self.hits = self.misses = 0
        self._missing: _Missing | None = None

    @staticmethod
    def applies(model, cache: DynamicCache) -> bool:
        """Whether the memo path is exact here: every cache layer a growing one (no sliding-window layer) and logits
        that are the LM head's output (no final soft-capping)."""
        config = base_model(model).config.get_text_config(decoder=True)
        return (all(isinstance(layer, GrowingLayer) for layer in cache.layers)
                and not getattr(config, "final_logit_softcapping", None))

    def start(self) -> None:
        """Begin one generation (a decode loop from the prompt's last token)."""
        self._missing = None

    def step(self, model, cache: DynamicCache, rows: torch.Tensor, prefixes: Sequence[tuple[int, ...]],
             input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor,
             keep: Sequence[int]) -> torch.Tensor:
        """Logits [len(rows), 1, vocab] of one decode step over `cache`, whose batch holds the rows `rows` (original
        indices, ascending), each fed `input_ids` after its generated tokens `prefixes`; `keep`: a left-padded row
        that stays in the batch (the lean loop's). The bottom's cache layers are written here, the top's by the
        top blocks' forward."""
        bottom = self.top.boundary_index
        rows_list = rows.tolist()
        found: list[Entry | None] = [self.entries[r].get(p) for r, p in zip(rows_list, prefixes)]
        new = [r for r, f in zip(rows_list, found) if f is None]
        self.hits += len(rows_list) - len(new)
        self.misses += len(new)
        missing = self._sync_missing(cache, rows_list, new, keep, found)
        if new:
            states, kv = self._run_bottom(missing, cache, rows_list, input_ids, attention_mask, position_ids)
            for j, r in enumerate(missing.rows):
                i = rows_list.index(r)
                if found[i] is None:
                    found[i] = (states[j].clone(), kv[j].clone())
                    self._remember(r, prefixes[i], found[i])
        elif missing is not None:
            at = [rows_list.index(r) for r in missing.rows]
            for b, layer in enumerate(missing.layers):
                layer.update(torch.stack([found[i][1][b, 0] for i in at])[:, :, None],
                             torch.stack([found[i][1][b, 1] for i in at])[:, :, None])
        kv_all = torch.stack([f[1] for f in found])  # [rows, bottom, 2, heads, dim]
        for b in range(bottom):
            cache.layers[b].put_next(kv_all[:, b, 0], kv_all[:, b, 1])
        states_all = torch.stack([f[0] for f in found])[:, None]
        with self.top._layers(self.top._top_list):
            out = self.top.body(inputs_embeds=states_all, attention_mask=attention_mask, position_ids=position_ids,
                                past_key_values=cache, use_cache=True)
        for b in range(bottom):
            cache.layers[b].advance()
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        return base_model(model).get_output_embeddings()(hidden[:, -1:])

    def _sync_missing(self, cache: DynamicCache, rows: list[int], new: list[int], keep: Sequence[int],
                      found: list[Entry | None]) -> _Missing | None:
        """The rows that run the bottom at this step (new prefixes, the kept padded row, fillers up to `min_rows`),
        their bottom cache copied from the batch's when the set changes; None when no row needs the bottom and no
        earlier step's rows are still running."""
        current = self._missing
        if current is not None and not set(current.rows) <= set(rows):  # some of its rows stopped
            current = self._missing = None
        if not new or (current is not None and set(new) <= set(current.rows)):
            return current
        wanted = set(new) | ({int(k) for k in keep} & set(rows)) | set(current.rows if current else ())
        target = min(self.min_rows, len(rows))
        for r in rows:  # rows that are not new fill the batch up to `target`
            if len(wanted) >= target:
                break
            wanted.add(r)
        chosen = sorted(wanted)
        index = torch.tensor([rows.index(r) for r in chosen], dtype=torch.long)
        self._missing = _Missing(chosen, [cache.layers[b].rows_copy(index) for b in range(self.top.boundary_index)])
        return self._missing

    def _run_bottom(self, missing: _Missing, cache: DynamicCache, rows: list[int], input_ids: torch.Tensor,
                    attention_mask: torch.Tensor, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The bottom on the rows of `missing` (its cache layers grow by this position): boundary states [m, d] and
        the new keys / values [m, bottom, 2, heads, dim]."""
        bottom = self.top.boundary_index
        at = torch.tensor([rows.index(r) for r in missing.rows], dtype=torch.long)
        sub = DynamicCache(config=self.top.body.config)
        for b, layer in enumerate(missing.layers):
            sub.layers[b] = layer
        captured: list[torch.Tensor] = []

        def keep_boundary(module, args, kwargs):
            captured.append(args[0] if args else kwargs["hidden_states"])
            raise _StopForward

        handle = self.top.layers[bottom].register_forward_pre_hook(keep_boundary, with_kwargs=True)
        try:
            self.top.body(input_ids=input_ids.index_select(0, at), attention_mask=attention_mask.index_select(0, at),
                          position_ids=position_ids.index_select(0, at), past_key_values=sub, use_cache=True)
        except _StopForward:
            pass
        finally:
            handle.remove()
        kv = torch.stack([torch.stack([layer.keys[:, :, -1], layer.values[:, :, -1]], dim=1)
                          for layer in missing.layers], dim=1)
        return captured[0][:, -1], kv

    def _remember(self, row: int, prefix: tuple[int, ...], entry: Entry) -> None:
        """Keep `entry` unless the memo is full (`max_bytes`)."""
        size = sum(t.numel() * t.element_size() for t in entry)
        if self.bytes + size <= self.max_bytes:
            self.entries[row][prefix] = entry
            self.bytes += size
