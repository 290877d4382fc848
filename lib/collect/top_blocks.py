"""The top-block regime: train only the top k transformer blocks (and the final norm) of a causal LM.

The bottom of the model is frozen, so the hidden states at the boundary (the input of block N - k) of every
example never change: they are computed once per collection, cached on disk, and every training step and
loss evaluation runs only the top k blocks from them (`TopBlocks.forward`). On SmolLM2-135M (30 blocks) the
top 2 cost 12-20x less than the whole body (benchmarks/bench_top_blocks.py).

One code path for every architecture whose body keeps its decoder blocks in a `layers` list (Llama /
SmolLM2, Gemma 3, GPT-NeoX / Pythia): the top forward calls the body's own forward with the cached states
as `inputs_embeds` and the bottom blocks replaced by pass-throughs, so rotary positions, causal and
sliding-window masks and padding are computed by the model's own code, with each block at its own index.
Generation (BLEU / ROUGE-L) runs the whole model, whose top blocks are the trained ones.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import torch
from torch import nn

from lib.paths import cache_dir as default_cache_dir

from .encoding import EncodedExample

FINAL_NORMS = ("norm", "final_layer_norm", "ln_f")


class _StopForward(Exception):
    """Raised by the boundary hook: nothing above the boundary needs to run."""


class _Passthrough(nn.Module):
    """Stands in for a frozen bottom block in the top forward: returns its input hidden states unchanged."""

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return hidden_states


def base_model(model) -> nn.Module:
    """The Hugging Face causal LM inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def transformer_body(model) -> nn.Module:
    """The transformer body (embeddings, blocks, final norm) of a causal LM."""
    base = base_model(model)
    body = base.base_model
    if body is base:
        raise ValueError(f"cannot find the transformer body of {type(base).__name__} (base_model_prefix)")
    return body


def decoder_layers(body: nn.Module) -> nn.ModuleList:
    """The body's list of decoder blocks; a body without one can't be split (the error names it)."""
    layers = getattr(body, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        kind = getattr(getattr(body, "config", None), "model_type", "?")
        raise ValueError(f"the top-block regime cannot split {type(body).__name__} (model_type {kind!r}): its body "
                         "has no `layers` list of decoder blocks (supported: Llama/SmolLM2, Gemma 3, GPT-NeoX/Pythia)")
    return layers


def final_norm(body: nn.Module) -> nn.Module:
    """The norm the body applies after its last block."""
    for name in FINAL_NORMS:
        module = getattr(body, name, None)
        if isinstance(module, nn.Module):
            return module
    raise ValueError(f"the top-block regime cannot find the final norm of {type(body).__name__} "
                     f"(looked for {', '.join(FINAL_NORMS)})")


def untie_head(model) -> None:
    """Give the LM head its own copy of the weights when they are tied to the input embeddings."""
    base = base_model(model)
    head, embeddings = base.get_output_embeddings(), base.get_input_embeddings()
    if head.weight is embeddings.weight:
        head.weight = nn.Parameter(head.weight.detach().clone())
    for config in (base.config, getattr(base.config, "text_config", None)):
        if config is not None and hasattr(config, "tie_word_embeddings"):
            config.tie_word_embeddings = False


class TopBlocks:
    """The top k blocks of a model's body, run from boundary hidden states; also computes those states."""

    def __init__(self, model, k: int):
        self.body = transformer_body(model)
        self.layers = decoder_layers(self.body)
        self.k = int(k)
        if not 1 <= self.k < len(self.layers):
            raise ValueError(f"[model] top_blocks = {k}: {type(self.body).__name__} has {len(self.layers)} blocks, "
                             f"so top_blocks must be in 1..{len(self.layers) - 1}")
        self.boundary_index = len(self.layers) - self.k
        self._top_list = nn.ModuleList([_Passthrough() for _ in range(self.boundary_index)]
                                       + list(self.layers[self.boundary_index:]))

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters of the top k blocks and of the final norm."""
        modules = list(self.layers[self.boundary_index:]) + [final_norm(self.body)]
        return [p for m in modules for p in m.parameters()]

    def freeze_bottom(self, model, *, train_head: bool) -> None:
        """requires_grad only on the top blocks, the final norm and (train_head) the LM head."""
        for p in model.parameters():
            p.requires_grad_(False)
        for p in self.trainable_parameters():
            p.requires_grad_(True)
        if train_head:
            base_model(model).get_output_embeddings().weight.requires_grad_(True)

    @contextlib.contextmanager
    def _layers(self, layers: nn.ModuleList) -> Iterator[None]:
        """The body with another block list for the duration of one forward."""
        original = self.body.layers
        self.body.layers = layers
        try:
            yield
        finally:
            self.body.layers = original

    @contextlib.contextmanager
    def _last_mlp_at(self, rows: torch.Tensor, cols: torch.Tensor) -> Iterator[None]:
        """The last block's MLP computed at positions (rows, cols) only, zeros elsewhere, for one forward.

        The MLP is position-wise and the last block's output is read only where the LM head is applied,
        so the values there are unchanged while the MLP (about 3/4 of a SmolLM2 block's FLOPs) runs on a
        few positions instead of all of them.
        """
        mlp = self.layers[-1].mlp
        original = mlp.forward

        def at_positions(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
            return x.new_zeros(x.shape).index_put((rows, cols), original(x[rows, cols], *args, **kwargs))

        mlp.forward = at_positions
        try:
            yield
        finally:
            del mlp.forward

    def forward(self, states: torch.Tensor, attention_mask: torch.Tensor,
                positions: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Final (normed) hidden states [B, L, d] from boundary states [B, L, d] of right-padded sequences.

        With `positions` (rows, cols), only the hidden states there are valid (see `_last_mlp_at`).
        """
        partial = positions is not None and isinstance(getattr(self.layers[-1], "mlp", None), nn.Module)
        mlp = self._last_mlp_at(*positions) if partial else contextlib.nullcontext()
        with self._layers(self._top_list), mlp:
            out = self.body(inputs_embeds=states, attention_mask=attention_mask, use_cache=False)
        return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]

    @torch.inference_mode()
    def boundary(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Hidden states [B, L, d] at the input of block N - k (only the bottom blocks run)."""
        captured: list[torch.Tensor] = []

        def hook(module, args, kwargs):
            captured.append(args[0] if args else kwargs["hidden_states"])
            raise _StopForward

        handle = self.layers[self.boundary_index].register_forward_pre_hook(hook, with_kwargs=True)
        try:
            self.body(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        except _StopForward:
            pass
        finally:
            handle.remove()
        return captured[0].float().clone()


def boundary_key(model_name: str, k: int, tokenizer, encoded: Sequence[EncodedExample]) -> str:
    """Cache key of the boundary states of some examples: model, k, tokenizer and every example's token ids."""
    payload = {"model": model_name, "top_blocks": int(k),
               "tokenizer": [str(getattr(tokenizer, "name_or_path", "")), len(tokenizer)],
               "examples": [[e.example_id, list(e.input_ids)] for e in encoded], "version": 1}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


_MEMORY: dict[str, dict[int, torch.Tensor]] = {}


def boundary_states(top: TopBlocks, encoded: Sequence[EncodedExample], *, key: str, pad_id: int,
                    batch_size: int = 16, cache_dir: str | os.PathLike | None = None,
                    device: torch.device | str = "cpu") -> dict[int, torch.Tensor]:
    """Boundary states [length, d] of every example, keyed by example id: from memory, disk, or computed once.

    The disk file (cache_dir/boundary/<key>.pt) is written atomically, so concurrent collections of one
    machine share it; the key covers the model, k, tokenizer and token ids, so a stale file is never read.
    """
    if key in _MEMORY:
        return _MEMORY[key]
    path = default_cache_dir(cache_dir) / "boundary" / f"{key}.pt"
    states: dict[int, torch.Tensor] | None = None
    if path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            states = dict(zip(saved["ids"].tolist(), torch.split(saved["states"], saved["lengths"].tolist())))
        except Exception:  # a damaged cache file is recomputed
            states = None
    if states is None:
        states = _compute_states(top, encoded, pad_id=pad_id, batch_size=batch_size, device=device)
        _save_states(path, states)
    _MEMORY.clear()  # one collection's states at a time
    _MEMORY[key] = states
    return states


def _compute_states(top: TopBlocks, encoded: Sequence[EncodedExample], *, pad_id: int, batch_size: int,
                    device: torch.device | str) -> dict[int, torch.Tensor]:
    """Run the frozen bottom over length-sorted, right-padded batches and keep each example's valid positions."""
    order = sorted(encoded, key=lambda e: (e.length, e.example_id))
    out: dict[int, torch.Tensor] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start: start + batch_size]
        width = max(e.length for e in chunk)
        ids = torch.full((len(chunk), width), int(pad_id), dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, e in enumerate(chunk):
            ids[r, : e.length] = torch.tensor(e.input_ids, dtype=torch.long)
            mask[r, : e.length] = 1
        states = top.boundary(ids.to(device), mask.to(device)).cpu()
        for r, e in enumerate(chunk):
            out[e.example_id] = states[r, : e.length].contiguous()
    return out


def _save_states(path: Path, states: Mapping[int, torch.Tensor]) -> None:
    """One file: ids, lengths and the concatenated states (atomic rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = sorted(states)
    payload = {"ids": torch.tensor(ids, dtype=torch.long),
               "lengths": torch.tensor([states[i].shape[0] for i in ids], dtype=torch.long),
               "states": torch.cat([states[i] for i in ids])}
    tmp = path.with_name(f".tmp-{path.name}.{uuid.uuid4().hex}")
    torch.save(payload, tmp)
    os.replace(tmp, path)
