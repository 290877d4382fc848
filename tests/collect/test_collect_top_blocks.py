"""The top-block regime: the top-k forward from cached boundary states equals the whole model's, a training
step touches and differentiates only the trained parameters exactly as autograd through the whole model
does, its LM-head gradient dot products equal autograd's, and unsplittable architectures are named."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from collect_helpers import smoke_config
from transformers import (GemmaTokenizerFast, Gemma3ForCausalLM, Gemma3TextConfig, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM)

from lib.collect import ConfigError, collect, load_dynamics, top_blocks
from lib.collect.cli import signal_summary
from lib.collect.examples import draw_examples
from lib.collect.encoding import encode_examples, make_batch
from lib.collect.gradients import HeadStats, grad_dots
from lib.collect.head import batch_loss, example_mean, head_logits, lm_parts, target_hidden, token_nll
from lib.collect.top_blocks import TopBlocks, boundary_key, boundary_states, untie_head
from lib.curriculum_signal import curriculum_signal
from lib.data import Example
from lib.models import byte_level_tokenizer, load_causal_lm

EXAMPLES = [  # mixed lengths: batches are right-padded
    Example(1, "sst2", "Review: a gorgeous, witty and moving film about two friends\nSentiment:", " positive", 1),
    Example(2, "sst2", "Review: dull\nSentiment:", " negative", 0),
    Example(3, "webnlg", "Triples: Oslo | country | Norway\nText:", " Oslo is the capital of Norway.", None),
    Example(4, "sst2", "Review: long, slow and never funny at all\nSentiment:", " negative", 0),
]


def _tiny(arch: str):
    """A small random model of architecture `arch` with the byte-level tokenizer (fp32, eval mode)."""
    tokenizer = byte_level_tokenizer()
    vocab = len(tokenizer)
    torch.manual_seed(0)
    if arch == "neox":
        model, tokenizer = load_causal_lm("tiny-neox")
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128,
                                             num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                                             tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id))
    elif arch == "gemma3":
        model = Gemma3ForCausalLM(Gemma3TextConfig(
            vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=1, head_dim=16, sliding_window=8, pad_token_id=tokenizer.pad_token_id,
            layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"]))
    else:
        raise ValueError(arch)
    tokenizer.padding_side = "right"
    return model.float().eval(), tokenizer


def _batches(model, tokenizer, k: int):
    """(whole-model batch, top-k batch with boundary states) of EXAMPLES, and the TopBlocks."""
    top = TopBlocks(model, k)
    enc = encode_examples(tokenizer, EXAMPLES, max_length=128, append_eos=False)
    ordered = [enc[e.id] for e in EXAMPLES]
    states = boundary_states(top, ordered, key=f"test-{id(model)}-{k}", pad_id=tokenizer.pad_token_id,
                             batch_size=3, cache_dir=None)
    return make_batch(ordered, tokenizer.pad_token_id), make_batch(ordered, tokenizer.pad_token_id, states), top


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("arch,k", [("neox", 1), ("llama", 1), ("llama", 3), ("gemma3", 2), ("gemma3", 3)])
def test_top_forward_from_cache_equals_whole_model(arch, k):
    model, tokenizer = _tiny(arch)
    whole, cached, top = _batches(model, tokenizer, k)
    with torch.no_grad():
        full = model(input_ids=whole.input_ids, attention_mask=whole.attention_mask).logits[whole.rows, whole.cols]
        parts = lm_parts(model, top)
        ours = head_logits(parts, target_hidden(parts, cached))
    assert _relative_error(ours, full) < 1e-5
    # the boundary really is the input of block N - k: starting the top from the embeddings is wrong
    wrong = cached.states.clone()
    wrong[:] = model.get_input_embeddings()(whole.input_ids)
    with torch.no_grad():
        bad = head_logits(parts, parts.top.forward(wrong, cached.attention_mask)[cached.rows, cached.cols])
    assert _relative_error(bad, full) > 1e-3


@pytest.mark.slow
def test_top_forward_equals_whole_model_on_smollm2():
    model, tokenizer = load_causal_lm("smollm2-135m")
    model.eval()
    whole, cached, top = _batches(model, tokenizer, 2)
    with torch.no_grad():
        full = model(input_ids=whole.input_ids, attention_mask=whole.attention_mask).logits[whole.rows, whole.cols]
        parts = lm_parts(model, top)
        ours = head_logits(parts, target_hidden(parts, cached))
    assert whole.attention_mask.sum(1).unique().numel() == len(EXAMPLES)  # mixed lengths, padded
    assert _relative_error(ours, full) < 1e-5


@pytest.mark.parametrize("arch", ["llama", "neox"])
def test_training_step_gradients_equal_whole_model_autograd(arch):
    model, tokenizer = _tiny(arch)
    k = 1
    untie_head(model)
    reference = copy.deepcopy(model)
    whole, cached, top = _batches(model, tokenizer, k)
    top.freeze_bottom(model, train_head=True)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    top_layer = len(top.layers) - k
    assert names and all(".norm" in n or "final_layer_norm" in n or f"layers.{top_layer}." in n
                         or n.endswith(("lm_head.weight", "embed_out.weight")) for n in names)
    # ours: the top path from the cached states
    loss, _, _ = batch_loss(lm_parts(model, top), cached)
    loss.backward()
    ours = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    # reference: the whole model's forward, bottom frozen, same per-example mean target NLL
    for n, p in reference.named_parameters():
        p.requires_grad_(n in names)
    logits = reference(input_ids=whole.input_ids, attention_mask=whole.attention_mask).logits[whole.rows, whole.cols]
    nll, _ = token_nll(logits.float(), whole.targets)
    example_mean(nll, whole.token_example, whole.size).mean().backward()
    for n, p in reference.named_parameters():
        if n in names:
            assert _relative_error(ours[n], p.grad) < 1e-4, n
        else:
            assert p.grad is None, n
    # a step changes only the trained parameters
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2).step()
    for n, p in model.named_parameters():
        assert (not torch.equal(before[n], p)) == (n in names), n


def test_untied_head_is_a_copy():
    model, _ = _tiny("llama")
    embeddings = model.get_input_embeddings().weight
    assert model.get_output_embeddings().weight is embeddings
    untie_head(model)
    head = model.get_output_embeddings().weight
    assert head is not embeddings and torch.equal(head, embeddings)
    with torch.no_grad():
        head.add_(1.0)
    assert not torch.equal(head, embeddings)


def test_head_dot_products_in_top_regime_equal_autograd():
    model, tokenizer = _tiny("llama")
    untie_head(model)
    _, cached, top = _batches(model, tokenizer, 2)
    top.freeze_bottom(model, train_head=True)
    parts = lm_parts(model, top)
    with torch.no_grad():
        hidden = target_hidden(parts, cached)
        _, logp = token_nll(head_logits(parts, hidden), cached.targets)
    stats = HeadStats.build(parts, hidden, logp, cached.targets, cached.token_example, cached.size)
    ours = grad_dots(stats, stats)
    grads = []
    for r in range(cached.size):
        one = make_batch([encode_examples(tokenizer, [EXAMPLES[r]], max_length=128, append_eos=False)[EXAMPLES[r].id]],
                         tokenizer.pad_token_id, {EXAMPLES[r].id: cached.states[r, : int(cached.attention_mask[r].sum())]})
        loss, _, _ = batch_loss(parts, one)
        grads.append(torch.autograd.grad(loss, parts.head.weight)[0].reshape(-1).double())
    g = torch.stack(grads)
    np.testing.assert_allclose(ours.numpy(), (g @ g.T).numpy(), rtol=1e-4, atol=1e-9)


def test_unsplittable_architecture_is_named():
    tokenizer = byte_level_tokenizer()
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2))
    with pytest.raises(ValueError, match="GPT2Model.*gpt2"):
        TopBlocks(model, 1)
    llama, _ = _tiny("llama")
    with pytest.raises(ValueError, match="top_blocks must be in 1..3"):
        TopBlocks(llama, 4)


def test_boundary_cache_on_disk_is_keyed_and_reused(tmp_path):
    model, tokenizer = _tiny("neox")
    top = TopBlocks(model, 1)
    enc = encode_examples(tokenizer, EXAMPLES, max_length=128, append_eos=False)
    ordered = [enc[e.id] for e in EXAMPLES]
    key = boundary_key("tiny-neox", 1, tokenizer, ordered)
    assert key != boundary_key("tiny-neox", 1, tokenizer, ordered[:3])
    assert key != boundary_key("tiny-neox", 2, tokenizer, ordered)
    first = boundary_states(top, ordered, key=key, pad_id=tokenizer.pad_token_id, cache_dir=tmp_path)
    assert (tmp_path / "boundary" / f"{key}.pt").is_file()
    top_blocks._MEMORY.clear()
    again = boundary_states(None, ordered, key=key, pad_id=tokenizer.pad_token_id, cache_dir=tmp_path)  # from disk
    assert all(torch.equal(first[i], again[i]) for i in first)


def test_top_regime_collection_with_warm_start(tmp_path):
    config = smoke_config(model={"regime": "top", "top_blocks": 1},
                          warmup={"examples": 8, "steps": 4, "batch_size": 2, "lr": 1e-3},
                          runtime={"threads": 1, "cache_dir": str(tmp_path / "cache")})
    assert config.config_hash != smoke_config(model={"regime": "top", "top_blocks": 1}).config_hash
    out = collect(config, tmp_path / "top", progress=False)
    dyn = load_dynamics(out)
    assert np.isfinite(dyn.grad_dots["all"][dyn.split == "test"]).all()
    assert len(list((tmp_path / "cache" / "warmup").glob("*.pt"))) == 1
    cold = collect(config.with_overrides(warmup={"examples": 0}), tmp_path / "cold", progress=False)
    cold_start = load_dynamics(cold).values[0, 0]
    assert not np.allclose(dyn.values[0, 0], cold_start)  # the runs start from the warmed-up model
    # the same collection again reuses the cached warm-up checkpoint and gives identical numbers
    again = collect(config.with_overrides(name="again"), tmp_path / "again", progress=False)
    np.testing.assert_array_equal(load_dynamics(again).values, dyn.values)


def test_warmup_examples_are_disjoint_from_the_collection():
    config = smoke_config(warmup={"examples": 12, "steps": 4, "batch_size": 2})
    ex = draw_examples(config)
    assert len(ex.warmup) == 12
    taken = (*ex.pool, *ex.test, *ex.unseen)
    assert not {int(e.id) for e in ex.warmup} & {int(e.id) for e in taken}
    assert not {e.text for e in ex.warmup} & {e.text for e in taken}
    assert [e.id for e in draw_examples(config).warmup] == [e.id for e in ex.warmup]  # deterministic
    assert not draw_examples(smoke_config()).warmup


def test_an_unseen_pool_that_avoids_the_warm_up_keeps_the_siblings_warm_up():
    warmup = {"examples": 12, "steps": 4, "batch_size": 2}
    sibling = draw_examples(smoke_config(warmup=warmup))  # no unseen pool
    default = draw_examples(smoke_config(data={"unseen_size": 20_000}, warmup=warmup))
    assert [e.id for e in default.warmup] != [e.id for e in sibling.warmup]  # the unseen pool took some of them
    config = smoke_config(data={"unseen_size": 20_000, "unseen_avoids_warmup": True}, warmup=warmup)
    ex = draw_examples(config)
    assert [e.id for e in ex.warmup] == [e.id for e in sibling.warmup]
    assert [e.id for e in ex.pool] == [e.id for e in sibling.pool] and [e.id for e in ex.test] == [e.id for e in sibling.test]
    assert len(ex.unseen) == 20_000 and not {e.id for e in ex.unseen} & {e.id for e in ex.warmup}
    assert config.config_hash != smoke_config(data={"unseen_size": 20_000}, warmup=warmup).config_hash
    assert "unseen_avoids_warmup" not in smoke_config(data={"unseen_size": 8}, warmup=warmup).hashed_dict()["data"]
    with pytest.raises(ConfigError, match="unseen_avoids_warmup = true needs an unseen pool and a warm-up, got "
                                          "unseen_size = 0"):
        smoke_config(data={"unseen_avoids_warmup": True}, warmup=warmup)


def test_top_regime_settings_are_validated_and_hashed_only_when_used():
    full = smoke_config()
    assert "top_blocks" not in full.hashed_dict()["model"] and "warmup" not in full.hashed_dict()
    assert full.config_hash == smoke_config(model={"top_blocks": 5}).config_hash  # unused outside "top"
    top = smoke_config(model={"regime": "top"})
    assert top.hashed_dict()["model"]["top_blocks"] == 2
    assert top.config_hash != smoke_config(model={"regime": "top", "top_blocks": 1}).config_hash
    with pytest.raises(ConfigError, match="head = \"frozen\""):
        smoke_config(model={"regime": "top", "head": "frozen"})
    smoke_config(model={"regime": "top", "head": "frozen"}, gradients={"splits": []})
    with pytest.raises(ConfigError, match="top_blocks must be >= 1"):
        smoke_config(model={"regime": "top", "top_blocks": 0})
    with pytest.raises(ConfigError, match="head must be one of"):
        smoke_config(model={"regime": "top", "head": "tied"})
    with pytest.raises(ConfigError, match="max_length must be >= 2"):
        smoke_config(model={"max_length": 1})
    with pytest.raises(ConfigError, match=r"\[warmup\] batch_size \(9\) is larger"):
        smoke_config(warmup={"examples": 8, "batch_size": 9})


def test_collector_summary_prints_the_curriculum_signal(reference_collection):
    text = signal_summary(reference_collection)
    s = curriculum_signal(load_dynamics(reference_collection))
    assert "4 of 4 runs finished" in text
    assert f"first 2 steps {s.early_share:.2f}" in text and f"per-example change {s.spread:.3f}" in text


def test_last_mlp_runs_at_target_positions_only_and_is_restored():
    model, tokenizer = _tiny("llama")
    _, cached, top = _batches(model, tokenizer, 2)
    mlp = top.layers[-1].mlp
    seen = []
    handle = mlp.down_proj.register_forward_hook(lambda m, args, out: seen.append(args[0].shape))
    with torch.no_grad():
        partial = top.forward(cached.states, cached.attention_mask, positions=(cached.rows, cached.cols))
        full = top.forward(cached.states, cached.attention_mask)
    handle.remove()
    assert seen[0] == (len(cached.rows), model.config.intermediate_size)  # only the target positions
    assert seen[1][:2] == cached.states.shape[:2]  # all positions
    assert _relative_error(partial[cached.rows, cached.cols], full[cached.rows, cached.cols]) < 1e-6
    assert "forward" not in vars(mlp)  # the override is gone
