"""The LM-head gradient dot products equal torch.autograd's, and the head-only losses equal the full forward's."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lib.collect import load_dynamics, read_examples
from lib.collect.encoding import encode_examples, make_batch
from lib.collect.gradients import HeadStats, grad_dots, self_dots
from lib.collect.head import example_mean, head_logits, lm_parts, target_hidden, token_nll
from lib.data import Example
from lib.models import load_causal_lm

TRAIN = [
    Example(1, "webnlg", "Triples: Athens | country | Greece\nText:", " Athens is in Greece.", None),
    Example(2, "webnlg", "Triples: Oslo | country | Norway\nText:", " Oslo is the capital of Norway.", None),
    Example(3, "sst2", "Review: a gorgeous film\nSentiment:", " positive", 1),
]
TESTS = [
    Example(11, "webnlg", "Triples: Bern | country | Switzerland\nText:", " Bern lies in Switzerland.", None),
    Example(12, "sst2", "Review: dull and long\nSentiment:", " negative", 0),
]


def _stats(model, tokenizer, examples):
    parts = lm_parts(model)
    enc = encode_examples(tokenizer, examples, max_length=128, append_eos=lambda e: e.task == "webnlg")
    batch = make_batch([enc[e.id] for e in examples], tokenizer.pad_token_id)
    with torch.no_grad():
        hidden = target_hidden(parts, batch)
        _, logp = token_nll(head_logits(parts, hidden), batch.targets)
    return HeadStats.build(parts, hidden, logp, batch.targets, batch.token_example, batch.size), enc


def _autograd(model, tokenizer, examples, enc):
    """Flattened gradient of each example's mean target NLL w.r.t. the output layer (weight, and bias if any)."""
    parts = lm_parts(model)
    params = [p for p in (parts.head.weight, getattr(parts.head, "bias", None)) if p is not None]
    out = []
    for e in examples:
        batch = make_batch([enc[e.id]], tokenizer.pad_token_id)
        nll, _ = token_nll(head_logits(parts, target_hidden(parts, batch)), batch.targets)
        loss = example_mean(nll, batch.token_example, 1)[0]
        out.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]).double())
    return torch.stack(out)


@pytest.fixture(scope="module")
def tiny():
    model, tokenizer = load_causal_lm("tiny-neox")
    model.eval()
    return model, tokenizer


@pytest.mark.parametrize("with_bias", [False, True])
def test_head_formula_equals_autograd(tiny, with_bias):
    model, tokenizer = tiny
    if with_bias:
        import copy

        model = copy.deepcopy(model)
        old = model.get_output_embeddings()
        head = torch.nn.Linear(old.in_features, old.out_features, bias=True)
        with torch.no_grad():
            head.weight.copy_(old.weight)
            head.bias.normal_(0, 0.5)
        model.set_output_embeddings(head)
        assert lm_parts(model).has_bias
    train, enc_train = _stats(model, tokenizer, TRAIN)
    test, enc_test = _stats(model, tokenizer, TESTS)
    assert train.h.shape[0] > len(TRAIN)  # multi-token targets are exercised
    expected = _autograd(model, tokenizer, TRAIN, enc_train) @ _autograd(model, tokenizer, TESTS, enc_test).T
    np.testing.assert_allclose(grad_dots(train, test).numpy(), expected.numpy(), rtol=1e-5, atol=1e-8)
    g = _autograd(model, tokenizer, TRAIN, enc_train)
    np.testing.assert_allclose(self_dots(train).numpy(), (g * g).sum(1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad_dots(train, train, chunk_tokens=3).numpy(), (g @ g.T).numpy(), rtol=1e-5)


def test_head_only_losses_equal_full_forward(tiny):
    model, tokenizer = tiny
    examples = TRAIN + TESTS
    enc = encode_examples(tokenizer, examples, max_length=128, append_eos=lambda e: e.task == "webnlg")
    batch = make_batch([enc[e.id] for e in examples], tokenizer.pad_token_id)
    parts = lm_parts(model)
    with torch.no_grad():
        nll, _ = token_nll(head_logits(parts, target_hidden(parts, batch)), batch.targets)
        ours = example_mean(nll, batch.token_example, batch.size)
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.float()
    full = []
    for r, e in enumerate(examples):
        n_prompt, n = len(enc[e.id].prompt_ids), enc[e.id].length
        logp = torch.log_softmax(logits[r, n_prompt - 1: n - 1], -1)
        full.append(-logp.gather(1, batch.input_ids[r, n_prompt:n, None]).mean())
    np.testing.assert_allclose(ours.numpy(), torch.stack(full).numpy(), rtol=1e-5)


def test_recorded_step1_dots_equal_autograd_at_the_initial_model(reference_collection, tiny):
    """End to end: grad_dots["all"] of step 1 of a gradient run are autograd dot products at theta_0."""
    model, tokenizer = tiny
    dyn = load_dynamics(reference_collection)
    run = int(np.flatnonzero(dyn.split == "test")[0])

    by_id = {r["id"]: Example(r["id"], r["task"], r["prompt"], r["target"], r["label"]) for r in
             read_examples(reference_collection)}
    batch = [by_id[int(i)] for i in dyn.curricula[run, 0]]
    tests = [by_id[int(i)] for i in dyn.test_ids]
    enc = encode_examples(tokenizer, batch + tests, max_length=256, append_eos=False)
    expected = _autograd(model, tokenizer, batch, enc) @ _autograd(model, tokenizer, tests, enc).T
    np.testing.assert_allclose(dyn.grad_dots["all"][run, 0], expected.numpy(), rtol=1e-4)
    assert np.isfinite(dyn.grad_dots["ckpt10"][run]).all() and np.isfinite(dyn.grad_dots["final"][run]).all()
    assert np.isnan(dyn.grad_dots["all"][dyn.split == "train"]).all()
    T = dyn.n_steps
    np.testing.assert_allclose(dyn.learning_rates[run], 1e-3 * (T - np.arange(T)) / T)
    assert set(dyn.self_influence["tracin"]) == set(np.unique(dyn.curricula[run]).tolist())
