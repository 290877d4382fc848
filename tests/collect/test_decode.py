"""The lean sampling loop (lib/collect/decode.py) gives `generate`'s token ids bit for bit: whole prefill and cached
prompt prefix, every decoding, rows stopping at different tokens so that the batch shrinks; its draws consume the
random generator like `torch.multinomial` over the whole batch; and the evaluator's texts equal the reference path's."""
from __future__ import annotations

import pytest
import torch
from test_collect_prompt_prefix import _left_padded, _model
from transformers import GenerationConfig, LlamaConfig, LogitsProcessorList, StoppingCriteriaList

from lib.collect.config import EvalSettings
from lib.collect.decode import GrowingLayer, draw_rows, growing_cache, sample_tokens, token_filters
from lib.collect.evaluate import Evaluator, _StopOnTokens
from lib.collect.prompt_prefix import PromptPrefix
from lib.collect.top_blocks import TopBlocks
from lib.data import Example

PROMPTS = ["Triples: Oslo | country | Norway\nText:", "Triples: A | b | C\nText:", "Review: dull\nSentiment:",
           "Translate: Guten Morgen\nEnglish:", "Q: 2+2?\nA:", "Triples: Bergen | mayor | X\nText: The",
           "x", "Review: a long, slow and rather tedious film about nothing in particular\nSentiment:",
           "Triples: Paris | capital of | France\nText:", "Hello", "Translate: Danke\nEnglish:", "abc def"]


def _generate(model, ids, mask, cache, decoding, stop_ids, eos_id, pad_id, max_new_tokens=24):
    """transformers' generate as lib/collect/evaluate.py calls it (the reference path)."""
    sampled = decoding != "greedy"
    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=sampled, top_k=0 if sampled else None,
                              top_p=1.0 if sampled else None, temperature=1.0 if sampled else None,
                              pad_token_id=pad_id, eos_token_id=eos_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        out = model.generate(input_ids=ids, attention_mask=mask, past_key_values=cache, generation_config=config,
                             stopping_criteria=StoppingCriteriaList([_StopOnTokens(stop_ids)]),
                             logits_processor=LogitsProcessorList(token_filters(decoding, 0.9, 0.2)))
    return out[:, ids.shape[1]:]


def _lean(model, ids, mask, cache, decoding, stop_ids, eos_id, pad_id, max_new_tokens=24, min_rows=4):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        return sample_tokens(model, ids, mask, cache=cache, decoding=decoding, top_p=0.9, temperature=0.2,
                             max_new_tokens=max_new_tokens, pad_id=pad_id, eos_id=eos_id, stop_ids=stop_ids,
                             min_rows=min_rows)


def _stop_ids(model, tokenizer, ids, mask):
    """Tokens the model generates greedily at different steps of different rows, so that rows stop after
    different numbers of tokens."""
    config = GenerationConfig(max_new_tokens=16, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=None)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)[:, ids.shape[1]:]
    return sorted({int(out[r, 2 + 3 * (r % 5)]) for r in range(len(out))} - {int(tokenizer.pad_token_id)})


@pytest.mark.parametrize("arch", ["neox", "llama"])
@pytest.mark.parametrize("decoding", ["sample_fast", "sample", "greedy"])
@pytest.mark.parametrize("prefix", [False, True])
def test_same_token_ids_as_generate(arch, decoding, prefix):
    model, tokenizer = _model(arch)
    ids, mask = _left_padded(tokenizer, PROMPTS)
    pad, eos = int(tokenizer.pad_token_id), tokenizer.eos_token_id
    stops = _stop_ids(model, tokenizer, ids, mask)
    top = TopBlocks(model, 1) if prefix else None
    prefix_cache = PromptPrefix(model, top, ids, mask) if prefix else None
    with torch.inference_mode():
        reference = _generate(model, ids, mask, prefix_cache.cache() if prefix else None, decoding, stops, eos, pad)
        lean = _lean(model, ids, mask, prefix_cache.cache() if prefix else None, decoding, stops, eos, pad)
    assert torch.equal(lean, reference)
    stopped = [int(torch.isin(row, torch.tensor(stops)).nonzero()[0, 0]) for row in reference
               if bool(torch.isin(row, torch.tensor(stops)).any())]
    assert len(stopped) >= 6 and len(set(stopped)) >= 3  # rows stopped at different steps: the batch shrank


def test_a_wrong_draw_would_be_caught():
    """The comparison above can fail: drawing the live rows' variates without skipping the finished rows' draws
    (what a sampler over the live rows alone would do) changes the generations."""
    model, tokenizer = _model("llama")
    ids, mask = _left_padded(tokenizer, PROMPTS)
    pad, eos = int(tokenizer.pad_token_id), tokenizer.eos_token_id
    stops = _stop_ids(model, tokenizer, ids, mask)
    import lib.collect.decode as decode

    def no_skip(probs, rows, batch):
        return torch.multinomial(probs, 1)[:, 0]

    with torch.inference_mode():
        reference = _generate(model, ids, mask, None, "sample", stops, eos, pad)
        original, decode.draw_rows = decode.draw_rows, no_skip
        try:
            wrong = _lean(model, ids, mask, None, "sample", stops, eos, pad)
        finally:
            decode.draw_rows = original
    assert not torch.equal(wrong, reference)


def test_draw_rows_is_multinomial_over_the_whole_batch():
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(9, 300, generator=g) ** 8
    probs[probs < 0.05] = 0
    probs /= probs.sum(-1, keepdim=True)
    rows = [1, 2, 5, 8]
    torch.manual_seed(7)
    whole = torch.multinomial(probs, 1)[:, 0]
    after_whole = torch.get_rng_state()
    torch.manual_seed(7)
    some = draw_rows(probs[rows], rows, batch=9)
    assert torch.equal(some, whole[rows])
    assert torch.equal(torch.get_rng_state(), after_whole)  # the same draws consumed: later steps agree too


def test_growing_layer_holds_what_concatenation_holds():
    keys, values = torch.randn(3, 2, 5, 4), torch.randn(3, 2, 5, 4)
    layer = GrowingLayer(keys, values, capacity=7)
    new_k, new_v = torch.randn(3, 2, 1, 4), torch.randn(3, 2, 1, 4)
    k, v = layer.update(new_k, new_v)
    assert torch.equal(k, torch.cat([keys, new_k], -2)) and torch.equal(v, torch.cat([values, new_v], -2))
    assert layer.get_seq_length() == 6
    layer.select_rows(torch.tensor([0, 2]))
    k, _ = layer.update(new_k[:2], new_v[:2])
    assert torch.equal(k[1, :, :6], torch.cat([keys, new_k], -2)[2]) and layer.get_seq_length() == 7
    with pytest.raises(ValueError, match="cannot hold 8"):
        layer.update(new_k[:2], new_v[:2])


def test_growing_cache_leaves_sliding_layers():
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicSlidingWindowLayer

    cache = DynamicCache(config=LlamaConfig(num_hidden_layers=2, hidden_size=16, num_attention_heads=2))
    cache.layers[1] = DynamicSlidingWindowLayer(sliding_window=4)
    for index in range(2):
        cache.layers[index].update(torch.randn(1, 2, 3, 8), torch.randn(1, 2, 3, 8))
    growing_cache(cache, 5)
    assert isinstance(cache.layers[0], GrowingLayer) and not isinstance(cache.layers[1], GrowingLayer)


def test_rejects_bad_input():
    model, tokenizer = _model("llama")
    ids, mask = _left_padded(tokenizer, PROMPTS[:2])
    with pytest.raises(ValueError, match="max_new_tokens"):
        sample_tokens(model, ids, mask, cache=None, decoding="greedy", top_p=1.0, temperature=1.0,
                      max_new_tokens=0, pad_id=0, eos_id=0)
    with pytest.raises(ValueError, match="unknown decoding 'beam'"):
        token_filters("beam", 0.9, 0.7)


def webnlg_evaluator(tokenizer, tests, settings: EvalSettings, **options) -> Evaluator:
    """A CPU fp32 evaluator with loss and BLEU of `tests` (`options`: lean, memo)."""
    return Evaluator(tokenizer, tests, settings=settings, metrics=("loss", "bleu"), max_length=64,
                     append_eos=lambda e: False, device=torch.device("cpu"), bf16=False, **options)


@pytest.mark.parametrize("decoding", ["sample_fast", "greedy"])
def test_evaluator_texts_equal_the_reference_path(decoding):
    """The evaluator's lean path (default) and its `generate` path give the same texts, across top-block updates."""
    model, tokenizer = _model("llama")
    tests = [Example(i, "webnlg", p, " Oslo is in Norway.", None) for i, p in enumerate(PROMPTS)]
    settings = EvalSettings(batch_size=12, decoding=decoding, max_new_tokens=16, temperature=0.7)
    top = TopBlocks(model, 2)
    lean, reference = (webnlg_evaluator(tokenizer, tests, settings, lean=lean) for lean in (True, False))
    for _ in range(2):
        with torch.no_grad():
            for p in top.trainable_parameters():
                p.add_(0.05 * torch.randn_like(p))
        with torch.inference_mode():
            assert lean._generate(model, top) == reference._generate(model, top)
