"""Generation with the frozen bottom reused along the previous continuations (top-block regime) gives the texts of
the uncached path after the top blocks change, serves matching rows from its store, and stops using a row's store
from the first token where the row's continuation diverges."""
from __future__ import annotations

import pytest
import torch
from test_collect_prompt_prefix import PROMPTS, _model

from lib.collect.bottom_cache import ContinuationCache
from lib.collect.config import EvalSettings
from lib.collect.evaluate import Evaluator
from lib.collect.top_blocks import TopBlocks
from lib.data import Example

STEPS = 10


def _tests(n: int = 12) -> list[Example]:
    return [Example(i, "webnlg", f"{PROMPTS[i % len(PROMPTS)]} {i}", " Oslo is in Norway.", None) for i in range(n)]


def _evaluator(tokenizer, reuse: bool, decoding: str = "greedy", batch_size: int = 12) -> Evaluator:
    settings = EvalSettings(batch_size=batch_size, decoding=decoding, temperature=0.5, max_new_tokens=STEPS,
                            stop_at_newline=False)
    return Evaluator(tokenizer, _tests(), settings=settings, metrics=("loss", "bleu"), max_length=64,
                     append_eos=lambda e: False, device=torch.device("cpu"), bf16=False, reuse_bottom=reuse)


def _small_step(top: TopBlocks, scale: float = 0.01) -> None:
    """A small update of the top blocks (most continuations keep going the same way)."""
    with torch.no_grad():
        for p in top.trainable_parameters():
            p.add_(scale * torch.randn_like(p))


@pytest.mark.parametrize("decoding", ["greedy", "sample"])
@pytest.mark.parametrize("arch", ["neox", "llama", "gemma3"])
def test_reused_bottom_generates_like_the_uncached_path(arch, decoding):
    model, tokenizer = _model(arch)
    top = TopBlocks(model, 1 if arch == "neox" else 2)
    reused, plain = _evaluator(tokenizer, True, decoding), _evaluator(tokenizer, False, decoding)
    torch.manual_seed(1)
    with torch.inference_mode():
        for step in range(4):
            if step:
                _small_step(top)
            assert reused._generate(model, top) == plain._generate(model, top)
    store = reused._continuations[0]
    assert store.hits > 0 and store.misses > store.rows  # served some row-steps, and some diverged after the first
    assert not plain._continuations


def test_small_sub_batches_are_padded_and_unpadded_ones_agree():
    """min_rows = 1 runs the bottom on exactly the rows that miss; the texts are the same as padded to 8 rows."""
    model, tokenizer = _model("llama")
    top = TopBlocks(model, 2)
    padded, exact = _evaluator(tokenizer, True), _evaluator(tokenizer, True)
    torch.manual_seed(2)
    with torch.inference_mode():
        for step in range(3):
            if step:
                _small_step(top)
            if step == 1:  # built by the first call: swap in an unpadded store before it fills
                exact._continuations[0] = ContinuationCache(top, 12, STEPS, min_rows=1)
            assert padded._generate(model, top) == exact._generate(model, top)


def _fed_tokens(evaluator: Evaluator, model, top) -> torch.Tensor:
    """Run one cached generation and return the tokens each row was fed (its stored continuation)."""
    evaluator._generate(model, top)
    store = evaluator._continuations[0]
    return store.tokens.clone(), store.length.clone()


def test_store_is_used_while_tokens_match():
    """Corrupting the stored boundary states changes the texts: matching rows are served from the store."""
    model, tokenizer = _model("llama")
    top = TopBlocks(model, 2)
    reused, plain = _evaluator(tokenizer, True), _evaluator(tokenizer, False)
    with torch.inference_mode():
        reused._generate(model, top)
        reused._continuations[0].states.add_(50.0)
        assert reused._generate(model, top) != plain._generate(model, top)


def test_divergence_invalidates_the_rest_of_a_row():
    """A row whose fed token differs from its store at step 1 runs the bottom from there on, even where later stored
    tokens match again: corrupted stored states after step 0 are never used."""
    model, tokenizer = _model("llama")
    top = TopBlocks(model, 2)
    reused, plain = _evaluator(tokenizer, True), _evaluator(tokenizer, False)
    with torch.inference_mode():
        tokens, length = _fed_tokens(reused, model, top)
        assert (length == STEPS).all()  # no EOS stop: every row was fed STEPS tokens
        store = reused._continuations[0]
        store.states[:, 1:].add_(50.0)
        store.tokens[:, 1] = -5  # as if each row had generated another first token last time
        assert reused._generate(model, top) == plain._generate(model, top)
        assert torch.equal(store.tokens, tokens) and torch.equal(store.length, length)  # the store follows again
        assert store.hits >= store.rows  # step 0 (the last prompt token) still came from the store


def test_store_follows_the_new_continuation_and_stays_bounded():
    model, tokenizer = _model("llama")
    top = TopBlocks(model, 2)
    reused = _evaluator(tokenizer, True)
    torch.manual_seed(3)
    with torch.inference_mode():
        before, _ = _fed_tokens(reused, model, top)
        store = reused._continuations[0]
        shapes = [store.tokens.shape, store.states.shape] + [kv[0].shape for kv in store.kv]
        _small_step(top, scale=0.3)  # a large change: new continuations
        after, length = _fed_tokens(reused, model, top)
        fresh = _evaluator(tokenizer, True)
        expected, expected_length = _fed_tokens(fresh, model, top)
    assert not torch.equal(after, before)
    assert torch.equal(after, expected) and torch.equal(length, expected_length)
    assert [store.tokens.shape, store.states.shape] + [kv[0].shape for kv in store.kv] == shapes


def test_a_failed_step_forgets_every_continuation():
    model, tokenizer = _model("llama")
    top = TopBlocks(model, 2)
    reused = _evaluator(tokenizer, True)
    with torch.inference_mode():
        reused._generate(model, top)
        store = reused._continuations[0]
        assert (store.length > 0).all()
        with pytest.raises(ValueError, match="one token id per row"), store.generating():
            top.body(input_ids=torch.zeros((12, 2), dtype=torch.long))
    assert (store.length == 0).all()


def test_bad_sizes_are_refused():
    model, _ = _model("llama")
    with pytest.raises(ValueError, match="rows=0"):
        ContinuationCache(TopBlocks(model, 2), 0, 4)

