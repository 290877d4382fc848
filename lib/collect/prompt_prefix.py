"""Generation in the top-block regime without rerunning the frozen bottom over the prompts at every step.

The bottom N - k blocks never change during a top-block run, so their keys and values over a generation batch's
prompt, and the hidden states entering block N - k there, are the same at every evaluation. `PromptPrefix` computes
them once (over all of the prompt but its last token); at each evaluation only the top k blocks rerun over the
prompt, from those boundary states with the current weights, and `generate` continues from the assembled cache, so
the whole model runs on the new tokens only. Positions follow the left padding as `generate` numbers them
(cumulative sum of the attention mask), so the continuation sees exactly the cache a whole-model prefill would give
(tests/collect/test_collect_prompt_prefix.py compares the two; benchmarks/bench_generation.py times them).
"""
from __future__ import annotations

import torch
from transformers import DynamicCache

from .top_blocks import TopBlocks, base_model


def mask_positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids of a left-padded batch as `generate` assigns them: 0 at each row's first real token."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


class PromptPrefix:
    """The frozen bottom's keys / values and boundary states over one left-padded prompt batch (all but the last
    token), and a fresh whole-model cache over that prefix for the current top blocks (`cache`)."""

    def __init__(self, model, top: TopBlocks, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        if input_ids.shape[1] < 2:
            raise ValueError("a prompt prefix needs prompts of at least 2 tokens")
        self.top = top
        self.config = base_model(model).config
        self.mask = attention_mask[:, :-1]
        self.positions = mask_positions(self.mask)
        captured: list[torch.Tensor] = []

        def keep_boundary(module, args, kwargs):
            captured.append(args[0] if args else kwargs["hidden_states"])

        cache = DynamicCache(config=self.config)
        handle = top.layers[top.boundary_index].register_forward_pre_hook(keep_boundary, with_kwargs=True)
        try:
            with torch.inference_mode():
                top.body(input_ids=input_ids[:, :-1], attention_mask=self.mask, position_ids=self.positions,
                         past_key_values=cache, use_cache=True)
        finally:
            handle.remove()
        self.states = captured[0]
        self.bottom = [(layer.keys, layer.values) for layer in cache.layers[: top.boundary_index]]

    def cache(self) -> DynamicCache:
        """A whole-model cache over the prompt prefix: the stored bottom, the top k blocks recomputed now."""
        top_cache = DynamicCache(config=self.config)
        with self.top._layers(self.top._top_list):
            self.top.body(inputs_embeds=self.states, attention_mask=self.mask, position_ids=self.positions,
                          past_key_values=top_cache, use_cache=True)
        merged = DynamicCache(config=self.config)
        for index, layer in enumerate(merged.layers):
            if index < self.top.boundary_index:
                keys, values = self.bottom[index]
            else:
                keys, values = top_cache.layers[index].keys, top_cache.layers[index].values
            layer.update(keys, values)
        return merged

    @staticmethod
    def applies(model, top: TopBlocks | None, width: int) -> bool:
        """Whether the prefix path is exact for prompts of `width` tokens: top-block regime, every layer kept in
        full (no sliding window shorter than the prompt), prompts of at least 2 tokens."""
        if top is None or width < 2:
            return False
        window = getattr(base_model(model).config.get_text_config(decoder=True), "sliding_window", None)
        return window is None or width < int(window)
