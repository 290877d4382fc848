"""Temperature + top-p sampling's token filter without sorting the vocabulary at every generated token.

transformers' TopPLogitsWarper sorts all 49,152 SmolLM2 logits of every row at every generated token: a quarter
of a paper-size WebNLG evaluation's time here (profiled; `benchmarks/bench_generation.py --sampler` times both).
`CandidateNucleus` keeps the same tokens, those whose more probable tokens hold less than top_p of the probability,
but looks for them among the `candidates` most probable tokens (a partial selection, no sort); a row whose
candidates hold less than top_p falls back to the full sort. The kept set can differ from the warper's only for a
token whose more probable tokens hold top_p up to float32 rounding (the two sum the probabilities in different
orders), which is why it is a decoding of its own (`[evaluation] decoding = "sample_fast"`), not a silent
replacement of "sample".
"""
from __future__ import annotations

import torch
from transformers import LogitsProcessor, TopPLogitsWarper


class CandidateNucleus(LogitsProcessor):
    """Divide the logits by `temperature`, then keep the nucleus of mass `top_p` (the others become -inf)."""

    def __init__(self, top_p: float, temperature: float, candidates: int = 256):
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        if candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {candidates!r}")
        self.top_p, self.temperature, self.candidates = top_p, temperature, candidates

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        """Filtered scores [batch, vocab] of the logits `scores` (input_ids only for the full-sort fallback)."""
        scores = scores / self.temperature
        if self.top_p >= 1:
            return scores
        probs = scores.softmax(dim=-1)
        top, index = probs.topk(min(self.candidates, scores.shape[-1]), dim=-1)  # most probable first
        above = top.cumsum(dim=-1) - top  # the mass of the more probable candidates
        remove = torch.ones_like(scores, dtype=torch.bool).scatter_(1, index, above >= self.top_p)
        filtered = scores.masked_fill(remove, -float("inf"))
        short = top.sum(dim=-1) < self.top_p  # the nucleus reaches beyond the candidates: sort the whole row
        if short.any():
            filtered[short] = TopPLogitsWarper(self.top_p)(input_ids[short], scores[short])
        return filtered
