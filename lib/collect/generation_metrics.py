"""Per-example BLEU (sacrebleu sentence BLEU, 0-100) and ROUGE-L F (rouge-score, 0-1) of a generation.

ROUGE-L is the `rougeL` variant of rouge-score (longest common subsequence over the whole text, no
summary-level `rougeLsum` splitting), default tokenizer, no stemming; with several references the best
F-measure is taken (`score_multi`). BLEU is sacrebleu's `sentence_bleu` with its default 13a tokenizer
and exponential smoothing, against all references at once.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence


@lru_cache(maxsize=1)
def _rouge_scorer():
    """The shared rouge-score scorer (rougeL, no stemmer)."""
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def sentence_bleu(hypothesis: str, references: Sequence[str]) -> float:
    """sacrebleu sentence BLEU of one hypothesis against its references, 0-100."""
    import sacrebleu

    return float(sacrebleu.sentence_bleu(hypothesis, list(references)).score)


def rouge_l(hypothesis: str, references: Sequence[str]) -> float:
    """ROUGE-L F-measure (0-1) of one hypothesis, the best over its references."""
    scores = _rouge_scorer().score_multi(list(references), hypothesis)
    return float(scores["rougeL"].fmeasure)


def generation_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]],
                      metrics: Sequence[str]) -> dict[str, list[float]]:
    """Each requested metric ("bleu", "rougeL") for each hypothesis/references pair."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    functions = {"bleu": sentence_bleu, "rougeL": rouge_l}
    unknown = [m for m in metrics if m not in functions]
    if unknown:
        raise ValueError(f"unknown generation metric(s) {unknown}; valid: {sorted(functions)}")
    return {m: [functions[m](h, r) for h, r in zip(hypotheses, references)] for m in metrics}


def references_of(example) -> tuple[str, ...]:
    """An example's references for BLEU/ROUGE, stripped; its target when it has none."""
    refs = tuple(r.strip() for r in getattr(example, "references", ()) if r and r.strip())
    return refs or (example.target.strip(),)
