"""The trunk memo (lib/collect/trunk_memo.py) gives the lean loop's token ids bit for bit across evaluations whose top
blocks change, while serving the frozen bottom at prefixes generated before; a wrong memo entry would be caught; it
stands aside where it is not exact (sliding-window layers) and refuses a whole prefill."""
from __future__ import annotations

import pytest
import torch
from test_collect_prompt_prefix import _left_padded, _model
from test_decode import PROMPTS, _stop_ids, webnlg_evaluator

from lib.collect.config import EvalSettings
from lib.collect.decode import GrowingLayer, sample_tokens
from lib.collect.prompt_prefix import PromptPrefix
from lib.collect.top_blocks import TopBlocks
from lib.collect.trunk_memo import TrunkMemo
from lib.data import Example


def _nudge(top: TopBlocks, scale: float) -> None:
    """Stand-in for a training step: move every top-block weight a little (the bottom stays)."""
    with torch.no_grad():
        for p in top.trainable_parameters():
            p.add_(scale * torch.randn_like(p))


def _sample(model, ids, mask, prefix, decoding, stops, tokenizer, memo):
    with torch.inference_mode(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        return sample_tokens(model, ids, mask, cache=prefix.cache(), decoding=decoding, top_p=0.9, temperature=0.2,
                             max_new_tokens=24, pad_id=int(tokenizer.pad_token_id), eos_id=tokenizer.eos_token_id,
                             stop_ids=stops, memo=memo)


def _setup(arch: str):
    model, tokenizer = _model(arch)
    ids, mask = _left_padded(tokenizer, PROMPTS)
    stops = _stop_ids(model, tokenizer, ids, mask)
    top = TopBlocks(model, 1)
    return model, tokenizer, ids, mask, stops, top, PromptPrefix(model, top, ids, mask)


@pytest.mark.parametrize("arch", ["neox", "llama"])
@pytest.mark.parametrize("decoding", ["sample_fast", "greedy"])
def test_same_token_ids_as_the_lean_loop_across_evaluations(arch, decoding):
    torch.manual_seed(1)
    model, tokenizer, ids, mask, stops, top, prefix = _setup(arch)
    memo = TrunkMemo(top, len(PROMPTS))
    served = []
    for _ in range(4):
        _nudge(top, 0.002)
        plain = _sample(model, ids, mask, prefix, decoding, stops, tokenizer, None)
        hits, misses = memo.hits, memo.misses
        assert torch.equal(_sample(model, ids, mask, prefix, decoding, stops, tokenizer, memo), plain)
        served.append((memo.hits - hits, memo.misses - misses))
    assert served[0][0] == 0 and served[0][1] > 0  # the first evaluation runs the bottom on every row-step
    assert all(hit > 0 and miss > 0 for hit, miss in served[1:])  # later ones are served in part, run in part


def test_a_wrong_memo_entry_would_be_caught():
    torch.manual_seed(1)
    model, tokenizer, ids, mask, stops, top, prefix = _setup("llama")
    memo = TrunkMemo(top, len(PROMPTS))
    _sample(model, ids, mask, prefix, "greedy", stops, tokenizer, memo)
    plain = _sample(model, ids, mask, prefix, "greedy", stops, tokenizer, None)
    with torch.inference_mode():
        for entries in memo.entries:  # a stale bottom: every remembered boundary state moved
            for state, _ in entries.values():
                state.add_(0.5 * torch.randn_like(state))
    assert not torch.equal(_sample(model, ids, mask, prefix, "greedy", stops, tokenizer, memo), plain)


def test_a_full_memo_keeps_nothing_and_changes_nothing():
    torch.manual_seed(1)
    model, tokenizer, ids, mask, stops, top, prefix = _setup("neox")
    memo = TrunkMemo(top, len(PROMPTS), max_bytes=0)
    for _ in range(2):
        _nudge(top, 0.002)
        plain = _sample(model, ids, mask, prefix, "sample_fast", stops, tokenizer, None)
        assert torch.equal(_sample(model, ids, mask, prefix, "sample_fast", stops, tokenizer, memo), plain)
    assert memo.bytes == 0 and memo.hits == 0 and not any(memo.entries)


def test_stands_aside_on_sliding_window_layers_and_refuses_a_whole_prefill():
    model, tokenizer = _model("gemma3", sliding_window=8)
    ids, mask = _left_padded(tokenizer, PROMPTS[:4])
    top = TopBlocks(model, 2)
    prefix = PromptPrefix(model, top, ids, mask)
    memo = TrunkMemo(top, 4)
    plain = _sample(model, ids, mask, prefix, "greedy", [], tokenizer, None)
    assert torch.equal(_sample(model, ids, mask, prefix, "greedy", [], tokenizer, memo), plain)
    assert memo.hits == memo.misses == 0  # not used: its sliding layers are not growing ones
    with pytest.raises(ValueError, match="prompt-prefix cache"):
        sample_tokens(model, ids, mask, cache=None, decoding="greedy", top_p=1.0, temperature=1.0,
                      max_new_tokens=4, pad_id=0, eos_id=1, memo=memo)
    with pytest.raises(ValueError, match="at least one row"):
        TrunkMemo(top, 0)


def test_growing_layer_rows_copy_put_next_and_advance():
    keys, values = torch.randn(3, 2, 5, 4), torch.randn(3, 2, 5, 4)
    layer = GrowingLayer(keys, values, capacity=7)
    copy = layer.rows_copy(torch.tensor([0, 2]))
    assert torch.equal(copy.keys, keys[[0, 2]]) and torch.equal(copy.values, values[[0, 2]])
    new_k, new_v = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    layer.put_next(new_k, new_v)
    assert layer.get_seq_length() == 5  # written, not exposed yet
    layer.advance()
    assert torch.equal(layer.keys[:, :, -1], new_k) and torch.equal(layer.values[:, :, -1], new_v)
    assert torch.equal(copy.keys, keys[[0, 2]])  # the copy is its own
    layer.put_next(new_k, new_v)
    layer.advance()
    with pytest.raises(ValueError, match="full"):
        layer.put_next(new_k, new_v)


def test_evaluator_texts_equal_without_the_memo():
    """The evaluator (memo on by default) gives the texts of the lean loop without it, across top-block updates."""
    torch.manual_seed(1)
    model, tokenizer = _model("llama")
    tests = [Example(i, "webnlg", p, " Oslo is in Norway.", None) for i, p in enumerate(PROMPTS)]
    settings = EvalSettings(batch_size=6, decoding="sample_fast", max_new_tokens=16, temperature=0.7)
    top = TopBlocks(model, 2)
    with_memo, without = (webnlg_evaluator(tokenizer, tests, settings, memo=memo) for memo in (True, False))
    for _ in range(3):
        _nudge(top, 0.002)
        with torch.inference_mode():
            assert with_memo._generate(model, top) == without._generate(model, top)
    assert sum(m.hits for m in with_memo._memos.values()) > 0 and not without.memo
