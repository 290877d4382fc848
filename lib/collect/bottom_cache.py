"""Generation in the top-block regime without rerunning the frozen bottom along an unchanged continuation.

The bottom N - k blocks never change during a top-block run, so their output (and their keys and values) at a
generated position depends only on the tokens up to it. Consecutive evaluations mostly generate the same
continuation of a prompt, so `ContinuationCache` keeps, for every row of a generation batch, the last
continuation's fed tokens with the bottom's keys / values and boundary states along it. During `generate` each
bottom block is replaced by a stand-in (`_CachedBottomBlock`) that runs the real block only on the rows whose
tokens left the stored continuation (the rows that "miss"), and takes everything else from the store; the top k
blocks and the LM head run on every row as before. Rows that miss are run in a sub-batch of at least
`MIN_ROWS` rows (padded with hit rows), because a smaller batch takes other matrix kernels whose last bits
differ; from `MIN_ROWS` rows on, every row's result equals its result in the whole batch bit for bit (measured
for SmolLM2-135M on CPU, benchmarks/bench_generation.py checks the generations), so the generations are those of
the uncached path. Memory: per batch, max_new_tokens x rows x (2 x bottom blocks x key/value width + hidden
size) values (93 MB for WebNLG's paper-size config), one continuation per row.
Off by default (`Evaluator(reuse_bottom=True)` turns it on): over the first steps of a WebNLG paper-size run it
saved about a tenth of an evaluation (benchmarks/bench_generation.py), since a decode step where any row leaves
its continuation still runs the bottom on at least `MIN_ROWS` rows, and the head, top blocks, sampling and cache
copies stay.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn
from transformers import Cache

from .top_blocks import TopBlocks

MIN_ROWS = 8  # smallest sub-batch the bottom runs on (1-3 rows take other kernels: other last bits)


class _RowsView:
    """The cache seen by a bottom block running on some rows: their past keys / values, plus the new ones kept."""

    def __init__(self, full: Cache, rows: torch.Tensor):
        self.full, self.rows = full, rows
        self.new: tuple[torch.Tensor, torch.Tensor] | None = None

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int, *args, **kwargs):
        """Like a dynamic cache layer's update for these rows: past and new states, without storing them."""
        self.new = (key_states, value_states)
        layer = self.full.layers[layer_idx]
        if not layer.is_initialized or layer.keys.numel() == 0:
            return key_states, value_states
        return (torch.cat([layer.keys.index_select(0, self.rows), key_states], dim=-2),
                torch.cat([layer.values.index_select(0, self.rows), value_states], dim=-2))


def _rows_of(value, rows: torch.Tensor, batch: int):
    """`value` restricted to some rows of the batch: tensors (2-D or more) with `batch` rows, also inside tuples."""
    if isinstance(value, torch.Tensor) and value.dim() >= 2 and value.shape[0] == batch:
        return value.index_select(0, rows)
    if isinstance(value, tuple):
        return tuple(_rows_of(v, rows, batch) for v in value)
    return value


class _CachedBottomBlock(nn.Module):
    """Stands in for bottom block `index` during a cached generation: runs it on the rows that miss only."""

    def __init__(self, owner: "ContinuationCache", block: nn.Module, index: int):
        super().__init__()
        self.owner, self.index = owner, index
        self.block = [block]  # a list, so the block is not registered as a submodule twice

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return self.owner._block(self.index, self.block[0], hidden_states, args, kwargs)


class ContinuationCache:
    """The frozen bottom's keys / values and boundary states along each row's last continuation of one left-padded
    generation batch (rows in the same order at every evaluation), reused while the fed tokens match."""

    def __init__(self, top: TopBlocks, rows: int, steps: int, min_rows: int = MIN_ROWS):
        if rows < 1 or steps < 1:
            raise ValueError(f"a continuation cache needs rows >= 1 and steps >= 1, got rows={rows}, steps={steps}")
        self.top, self.rows, self.steps, self.min_rows = top, int(rows), int(steps), int(min_rows)
        self.tokens = torch.full((self.rows, self.steps), -1, dtype=torch.long)  # token fed at each decode step
        self.length = torch.zeros(self.rows, dtype=torch.long)  # stored steps per row
        self.kv: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * top.boundary_index
        self.states: torch.Tensor | None = None  # [rows, steps, d] boundary states
        self.hits = self.misses = 0  # row-steps served from the store / run through the bottom (all calls)
        self._step = 0
        self._run: torch.Tensor | None = None  # rows the bottom runs on at this step

    @contextlib.contextmanager
    def generating(self) -> Iterator[None]:
        """Within: every forward of the body is one decode step (one new token per row) served from the store."""
        blocks = [_CachedBottomBlock(self, self.top.layers[i], i) for i in range(self.top.boundary_index)]
        layers = nn.ModuleList(blocks + list(self.top.layers[self.top.boundary_index:]))
        self._step = 0
        handle = self.top.body.register_forward_pre_hook(self._next_step, with_kwargs=True)
        try:
            with self.top._layers(layers):
                yield
        except BaseException:
            self.length.zero_()  # a step may be half written: forget every continuation
            raise
        finally:
            handle.remove()
            self._run = None

    def _next_step(self, module, args, kwargs) -> None:
        """Before a decode step: which rows still follow their stored continuation, which run the bottom."""
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None or ids.dim() != 2 or ids.shape != (self.rows, 1):
            shape = None if ids is None else tuple(ids.shape)
            raise ValueError(f"a cached continuation feeds one token id per row ({self.rows} rows), got {shape}")
        j = self._step
        if j >= self.steps:
            raise ValueError(f"decode step {j} beyond the {self.steps} steps this continuation cache holds")
        fed = ids[:, 0].cpu()
        hit = (self.length > j) & (self.tokens[:, j] == fed)
        miss = ~hit
        self.tokens[miss, j] = fed[miss]
        self.length[miss] = j + 1  # a row that leaves its continuation keeps only the part it followed
        run = miss.clone()
        short = min(self.min_rows, self.rows) - int(run.sum())
        if 0 < int(run.sum()) and short > 0:  # pad a small sub-batch with rows that hit
            run[torch.nonzero(hit)[:short, 0]] = True
        self._run = torch.nonzero(run)[:, 0].to(ids.device) if bool(run.any()) else None
        self.hits += int(hit.sum())
        self.misses += int(miss.sum())
        self._step = j + 1

    def _block(self, index: int, block: nn.Module, hidden: torch.Tensor, args: tuple, kwargs: dict) -> torch.Tensor:
        """Bottom block `index` at the current step: run on the missing rows, keys / values stored, then appended
        to the whole batch's cache; the last bottom block returns the stored boundary states of every row."""
        j, run = self._step - 1, self._run
        cache = next((v for v in kwargs.values() if isinstance(v, Cache)), None)
        if cache is None:
            raise ValueError("a cached continuation needs the body to pass its key/value cache to every block")
        if run is not None and run.numel() == self.rows:  # every row runs: the block updates the cache itself
            out = block(hidden, *args, **kwargs)
            hidden = out[0] if isinstance(out, tuple) else out
            layer = cache.layers[index]
            self._keep(index, run, j, layer.keys[:, :, -1:], layer.values[:, :, -1:])
        else:
            if run is not None:
                hidden = self._run_rows(index, block, hidden, args, kwargs, cache, run, j)
            stored_k, stored_v = self.kv[index]
            cache.layers[index].update(stored_k[:, :, j: j + 1].clone(), stored_v[:, :, j: j + 1].clone())
        if index < self.top.boundary_index - 1:
            return hidden
        if self.states is None:
            self.states = hidden.new_zeros((self.rows, self.steps, hidden.shape[-1]))
        if run is not None:
            self.states[run, j] = hidden[run, 0]
        return self.states[:, j: j + 1].clone()

    def _keep(self, index: int, run: torch.Tensor, j: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store the new keys / values [len(run), heads, 1, head dim] of bottom block `index` at step j."""
        if self.kv[index] is None:
            self.kv[index] = (keys.new_zeros((self.rows, keys.shape[1], self.steps, keys.shape[3])),
                              values.new_zeros((self.rows, values.shape[1], self.steps, values.shape[3])))
        stored_k, stored_v = self.kv[index]
        stored_k[run, :, j] = keys[:, :, 0]
        stored_v[run, :, j] = values[:, :, 0]

    def _run_rows(self, index: int, block: nn.Module, hidden: torch.Tensor, args: tuple, kwargs: dict,
                  cache: Cache, run: torch.Tensor, j: int) -> torch.Tensor:
        """Bottom block `index` on some rows only (their past from the whole batch's cache); the others unchanged."""
        view = _RowsView(cache, run)
        sub = {k: (view if v is cache else _rows_of(v, run, self.rows)) for k, v in kwargs.items()}
        out = block(hidden.index_select(0, run), *[_rows_of(a, run, self.rows) for a in args], **sub)
        out = out[0] if isinstance(out, tuple) else out
        self._keep(index, run, j, *view.new)
        return hidden.index_copy(0, run, out)
