"""Generation from a cached prompt prefix (top-block regime) continues exactly as a whole-model prefill would:
the next-token logits agree, greedy generations are identical after the top blocks change, and the evaluator
uses the prefix only where it is exact (no sliding window shorter than the prompt)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import (DynamicCache, Gemma3ForCausalLM, Gemma3TextConfig, GenerationConfig, LlamaConfig,
                          LlamaForCausalLM)

from lib.collect.config import EvalSettings
from lib.collect.evaluate import Evaluator
from lib.collect.head import lm_parts
from lib.collect.prompt_prefix import PromptPrefix, mask_positions
from lib.collect.top_blocks import TopBlocks
from lib.data import Example
from lib.models import byte_level_tokenizer, load_causal_lm

PROMPTS = ["Triples: Oslo | country | Norway\nText:", "Triples: A | b | C\nText:", "Review: dull\nSentiment:"]


def _model(arch: str, sliding_window: int = 64):
    tokenizer = byte_level_tokenizer()
    torch.manual_seed(0)
    if arch == "neox":
        model, tokenizer = load_causal_lm("tiny-neox")
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                             num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                                             pad_token_id=tokenizer.pad_token_id))
    else:
        model = Gemma3ForCausalLM(Gemma3TextConfig(
            vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=4,
            num_attention_heads=4, num_key_value_heads=1, head_dim=16, sliding_window=sliding_window,
            pad_token_id=tokenizer.pad_token_id,
            layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"]))
    return model.float().eval(), tokenizer


def _left_padded(tokenizer, texts=PROMPTS):
    prompts = [tokenizer(p).input_ids for p in texts]
    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, p in enumerate(prompts):
        ids[row, width - len(p):] = torch.tensor(p)
        mask[row, width - len(p):] = 1
    return ids, mask


def _train_top(top: TopBlocks) -> None:
    """Stand-in for training: move every top-block weight (the bottom stays as it was)."""
    with torch.no_grad():
        for p in top.trainable_parameters():
            p.add_(0.05 * torch.randn_like(p))


@pytest.mark.parametrize("arch", ["neox", "llama", "gemma3"])
def test_prefix_cache_continues_like_a_whole_model_prefill(arch):
    model, tokenizer = _model(arch)
    top = TopBlocks(model, 1 if arch == "neox" else 2)  # tiny-neox has 2 blocks
    ids, mask = _left_padded(tokenizer)
    prefix = PromptPrefix(model, top, ids, mask)  # computed before the top blocks change
    _train_top(top)
    with torch.inference_mode():
        whole = model(input_ids=ids, attention_mask=mask, position_ids=mask_positions(mask)).logits[:, -1]
        cont = model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=mask_positions(mask)[:, -1:],
                     past_key_values=prefix.cache()).logits[:, -1]
    torch.testing.assert_close(cont, whole, rtol=1e-4, atol=1e-4)
    greedy = GenerationConfig(max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=None)
    with torch.inference_mode():
        plain = model.generate(input_ids=ids, attention_mask=mask, generation_config=greedy)
        cached = model.generate(input_ids=ids, attention_mask=mask, past_key_values=prefix.cache(),
                                generation_config=greedy)
    assert torch.equal(cached, plain)


def test_stale_prefix_would_differ():
    """The check above can fail: a cache whose top blocks are not recomputed gives other logits."""
    model, tokenizer = _model("llama")
    top = TopBlocks(model, 2)
    ids, mask = _left_padded(tokenizer)
    with torch.inference_mode():
        stale = DynamicCache(config=model.config)
        model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=mask_positions(mask[:, :-1]),
              past_key_values=stale, use_cache=True)
        _train_top(top)
        whole = model(input_ids=ids, attention_mask=mask, position_ids=mask_positions(mask)).logits[:, -1]
        old = model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=mask_positions(mask)[:, -1:],
                    past_key_values=stale).logits[:, -1]
    assert (old - whole).abs().max() > 1e-3


def test_prefix_applies_only_where_exact():
    model, _ = _model("gemma3", sliding_window=8)
    top = TopBlocks(model, 2)
    assert PromptPrefix.applies(model, top, 7) and not PromptPrefix.applies(model, top, 8)
    assert not PromptPrefix.applies(model, None, 20)  # full fine-tuning: the bottom changes
    assert not PromptPrefix.applies(model, top, 1)


def test_evaluator_generations_equal_with_and_without_prefix():
    model, tokenizer = _model("llama")
    tests = [Example(i, "webnlg", p, " Oslo is in Norway.", None) for i, p in enumerate(PROMPTS)]
    settings = EvalSettings(batch_size=2, decoding="greedy", max_new_tokens=10)
    make = lambda: Evaluator(tokenizer, tests, settings=settings, metrics=("loss", "bleu"), max_length=64,  # noqa: E731
                             append_eos=lambda e: False, device=torch.device("cpu"), bf16=False)
    top = TopBlocks(model, 2)
    with_prefix, without = make(), make()
    for _ in range(2):  # the prefix is built at the first call and reused after the top blocks changed
        _train_top(top)
        a = with_prefix._generate(model, top)
        b = without._generate(model, None)
        assert a == b
    assert len(with_prefix._prefixes) == 2 and not without._prefixes
    assert np.isfinite(with_prefix(model, lm_parts(model)).losses).all()
