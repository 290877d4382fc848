import pytest
import torch
from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

from lib.collect.nucleus import CandidateNucleus


def warpers(top_p: float, temperature: float) -> LogitsProcessorList:
    """transformers' own chain for decoding = "sample": temperature, then top-p."""
    return LogitsProcessorList([TemperatureLogitsWarper(temperature), TopPLogitsWarper(top_p)])


def logits(rows: int, vocab: int, spread: float, seed: int) -> torch.Tensor:
    """Language-model-like logits: a heavy head over a long flat tail."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, vocab, generator=g) * spread + torch.linspace(0, 4, vocab)[torch.randperm(vocab, generator=g)]


@pytest.mark.parametrize("spread,temperature", [(3.0, 0.2), (1.0, 1.0), (0.3, 0.2), (5.0, 0.7)])
def test_keeps_the_tokens_transformers_keeps(spread, temperature):
    scores = logits(48, 4096, spread, seed=int(spread * 10))
    ids = torch.zeros(48, 1, dtype=torch.long)
    ours = CandidateNucleus(0.95, temperature, candidates=64)(ids, scores.clone())
    theirs = warpers(0.95, temperature)(ids, scores.clone())
    probs = (scores / temperature).softmax(-1)
    kept = torch.isfinite(theirs)
    # a token whose more probable tokens hold top_p up to float32 rounding may go either way
    order = probs.sort(dim=-1, descending=True)
    mass_above = order.values.cumsum(-1) - order.values
    ambiguous = torch.zeros_like(kept).scatter_(1, order.indices, (mass_above - 0.95).abs() < 1e-5)
    assert torch.equal(torch.isfinite(ours) | ambiguous, kept | ambiguous)
    assert torch.equal(ours[kept & ~ambiguous], theirs[kept & ~ambiguous])
    assert kept.sum(-1).min() >= 1


def test_falls_back_to_the_full_sort_when_the_candidates_hold_too_little():
    scores = torch.zeros(2, 1000)  # flat: the nucleus is 950 tokens, far beyond 8 candidates
    scores[1, 0] = 50.0            # peaked: one token
    ids = torch.zeros(2, 1, dtype=torch.long)
    ours = CandidateNucleus(0.95, 1.0, candidates=8)(ids, scores.clone())
    theirs = warpers(0.95, 1.0)(ids, scores.clone())
    assert torch.equal(torch.isfinite(ours), torch.isfinite(theirs))
    assert int(torch.isfinite(ours[0]).sum()) > 900 and int(torch.isfinite(ours[1]).sum()) == 1


def test_refuses_bad_settings():
    with pytest.raises(ValueError, match="top_p"):
        CandidateNucleus(1.5, 0.2)
    with pytest.raises(ValueError, match="temperature"):
        CandidateNucleus(0.95, 0.0)


def test_sample_fast_generates_what_sample_generates(monkeypatch):
    """The evaluator's "sample_fast" decoding goes through CandidateNucleus and, with the same seed, generates the
    texts of "sample" (transformers' warpers) on a small llama-shaped model."""
    from test_collect_prompt_prefix import _model

    from lib.collect.config import EvalSettings
    from lib.collect.evaluate import Evaluator
    from lib.data import Example

    calls = []
    original = CandidateNucleus.__call__
    monkeypatch.setattr(CandidateNucleus, "__call__", lambda self, i, s: calls.append(1) or original(self, i, s))
    model, tokenizer = _model("llama")
    assert model.config.vocab_size > 256  # the candidates are a part of the vocabulary
    tests = [Example(i, "webnlg", f"Oslo | country | Norway {i}", " Oslo is in Norway.", None) for i in range(6)]
    texts = {}
    for decoding in ("sample", "sample_fast"):
        settings = EvalSettings(batch_size=6, decoding=decoding, temperature=0.7, top_p=0.9, max_new_tokens=8,
                                stop_at_newline=False)
        evaluator = Evaluator(tokenizer, tests, settings=settings, metrics=("loss", "bleu"), max_length=64,
                              append_eos=lambda e: False, device=torch.device("cpu"), bf16=False)
        with torch.inference_mode():
            texts[decoding] = evaluator._generate(model)
    assert len(calls) >= 8 and texts["sample"] == texts["sample_fast"]
    assert len(set(texts["sample"])) > 1
