"""Per-step test metrics: target-token losses (LM head at the target positions only) and BLEU/ROUGE-L.

The test examples are tokenized once and grouped into length-sorted batches. One evaluation runs the
transformer body (in the top-block regime: its top k blocks from the cached boundary states) on each
batch under `torch.inference_mode` (and bf16 autocast when enabled), gathers
the hidden states that predict target tokens, applies the output projection there and reports each
example's mean NLL over its target tokens. Generation metrics sample a continuation of each prompt
(top-p / temperature with a fixed seed, or greedy), cut at the first newline when asked, and score it
against the references; in the top-block regime from a cached prompt prefix (`PromptPrefix`). Decoding runs the lean loop of lib/collect/decode.py (transformers' `generate`'s token ids,
bit for bit, with finished rows dropped) where it is exact, else `generate`; in the top-block regime the lean loop
takes the frozen bottom's output at prefixes generated at earlier evaluations from a `TrunkMemo` (the same token ids).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from lib.precision import bf16_autocast

from .config import EvalSettings
from .decode import sample_tokens
from .encoding import EncodedExample, TargetBatch, encode_examples, length_sorted_batches
from .generation_metrics import generation_scores, references_of
from .gradients import HeadStats
from .head import LMParts, example_mean, head_logits, target_hidden, token_nll
from .prompt_prefix import PromptPrefix
from .top_blocks import TopBlocks
from .trunk_memo import TrunkMemo


@dataclass
class EvalResult:
    """One evaluation: per-test losses, generation scores and texts, and optionally LM-head gradient factors."""

    losses: np.ndarray  # [tests], test order
    scores: dict[str, np.ndarray]  # metric -> [tests]
    generations: list[str] | None
    stats: HeadStats | None  # examples in `Evaluator.sorted_index` order


class _StopOnTokens:
    """A per-sequence stopping criterion: done once the last generated token is one of `token_ids`."""

    def __init__(self, token_ids: Sequence[int]):
        self.token_ids = torch.tensor(sorted(set(int(t) for t in token_ids)), dtype=torch.long)

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        return torch.isin(input_ids[:, -1], self.token_ids.to(input_ids.device))


_NEWLINE_IDS: dict[tuple[str, int], list[int]] = {}


def newline_token_ids(tokenizer) -> list[int]:
    """Ids of the tokens whose text contains a newline (cached per tokenizer name and size)."""
    key = (str(getattr(tokenizer, "name_or_path", "")), len(tokenizer))
    if key not in _NEWLINE_IDS:
        _NEWLINE_IDS[key] = [i for i in range(len(tokenizer)) if "\n" in tokenizer.decode([i])]
    return _NEWLINE_IDS[key]


class Evaluator:
    """Evaluates a model on fixed test examples: losses every call, generation metrics when configured."""

    def __init__(self, tokenizer, tests: Sequence, *, settings: EvalSettings, metrics: Sequence[str],
                 max_length: int, append_eos, device: torch.device, bf16: bool,
                 states: Mapping[int, torch.Tensor] | None = None, lean: bool = True, memo: bool = True):
        self.tokenizer = tokenizer
        self.tests = list(tests)
        self.test_ids = np.array([int(e.id) for e in self.tests], dtype=np.int64)
        self.settings = settings
        self.generation_metrics = [m for m in metrics if m != "loss"]
        self.device = device
        self.bf16 = bf16
        encoded = encode_examples(tokenizer, self.tests, max_length=max_length, append_eos=append_eos)
        self.encoded: list[EncodedExample] = [encoded[int(i)] for i in self.test_ids]
        self.batches: list[TargetBatch] = [b.to(device) for b in length_sorted_batches(
            self.encoded, settings.batch_size, tokenizer.pad_token_id, states)]
        position = {int(t): i for i, t in enumerate(self.test_ids)}
        self.sorted_index = np.array([position[int(i)] for b in self.batches for i in b.example_ids], dtype=np.int64)
        self.references = [references_of(e) for e in self.tests]
        self.max_prompt = max(1, max_length - settings.max_new_tokens)
        self._prefixes: dict[int, PromptPrefix] = {}  # per generation batch (its start in length order)
        self.lean = lean  # decode with `sample_tokens` (same token ids as `generate`, finished rows dropped)
        self.memo = memo  # lean decoding from a prompt prefix remembers the frozen bottom at generated prefixes
        self._memos: dict[int, TrunkMemo] = {}  # per generation batch, as the prefixes
        self._stop_ids: list[int] = []  # tokens that end a generation (newlines, when asked to stop there)
        if self.generation_metrics and settings.stop_at_newline:
            self._stop_ids = newline_token_ids(tokenizer)

    @property
    def eval_tokens(self) -> int:
        """Non-padding tokens of one loss evaluation (for FLOP counts)."""
        return sum(e.length for e in self.encoded)

    def __call__(self, model, parts: LMParts, *, want_stats: bool = False) -> EvalResult:
        """Evaluate `model` (its mode is restored afterwards)."""
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode(), bf16_autocast(self.device.type, self.bf16):
                losses, stats = self._losses(parts, want_stats)
                generations = self._generate(model, parts.top) if self.generation_metrics else None
        finally:
            model.train(was_training)
        scores = {}
        if generations is not None:
            raw = generation_scores(generations, self.references, self.generation_metrics)
            scores = {m: np.asarray(v, dtype=np.float64) for m, v in raw.items()}
        return EvalResult(losses=losses, scores=scores, generations=generations, stats=stats)

    def _losses(self, parts: LMParts, want_stats: bool) -> tuple[np.ndarray, HeadStats | None]:
        """Per-test mean target NLL, in test order, and the gradient factors in sorted order."""
        sorted_losses, stats = [], []
        for batch in self.batches:
            hidden = target_hidden(parts, batch)
            nll, logp = token_nll(head_logits(parts, hidden), batch.targets)
            sorted_losses.append(example_mean(nll, batch.token_example, batch.size))
            if want_stats:
                stats.append(HeadStats.build(parts, hidden, logp, batch.targets, batch.token_example, batch.size))
        losses = np.empty(len(self.tests), dtype=np.float64)
        losses[self.sorted_index] = torch.cat(sorted_losses).double().cpu().numpy()
        return losses, (HeadStats.concat(stats) if want_stats else None)

    def _lean_applies(self) -> bool:
        """Whether `sample_tokens` reproduces `generate` here: asked for, an EOS id (else `generate` does not pad
        finished rows), the CPU generator's draws, fp32 (the row-by-row equality of the matrix products is measured for
        the fp32 CPU kernels)."""
        return self.lean and self.tokenizer.eos_token_id is not None and self.device.type == "cpu" and not self.bf16

    def _generate(self, model, top: TopBlocks | None = None) -> list[str]:
        """One generation per test example (batched by prompt length, fixed sampling seed), in test order.

        In the top-block regime each batch continues from a `PromptPrefix` cache (the frozen bottom's keys and
        values over the prompt are computed at the first call only)."""
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        from .nucleus import CandidateNucleus  # imports transformers, as this function does

        s = self.settings
        warped, fast = s.decoding == "sample", s.decoding == "sample_fast"  # fast: CandidateNucleus does both steps
        config = GenerationConfig(
            max_new_tokens=s.max_new_tokens, do_sample=warped or fast,
            top_p=s.top_p if warped else (1.0 if fast else None),
            temperature=s.temperature if warped else (1.0 if fast else None),
            top_k=0 if warped or fast else None,
            pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id,
        )
        processors = LogitsProcessorList([CandidateNucleus(s.top_p, s.temperature)]) if fast else None
        stopping = StoppingCriteriaList([_StopOnTokens(self._stop_ids)]) if self._stop_ids else None
        prompts = [e.prompt_ids[-self.max_prompt:] for e in self.encoded]
        order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), int(self.test_ids[i])))
        texts: list[str] = [""] * len(prompts)
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(s.generation_seed)
            for start in range(0, len(order), s.batch_size):
                chunk = order[start: start + s.batch_size]
                width = max(len(prompts[i]) for i in chunk)
                ids = torch.full((len(chunk), width), int(self.tokenizer.pad_token_id), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for r, i in enumerate(chunk):  # left padding for generation
                    p = prompts[i]
                    ids[r, width - len(p):] = torch.tensor(p, dtype=torch.long)
                    mask[r, width - len(p):] = 1
                ids, mask = ids.to(self.device), mask.to(self.device)
                cache, memo = None, None
                if PromptPrefix.applies(model, top, width):
                    if start not in self._prefixes:
                        self._prefixes[start] = PromptPrefix(model, top, ids, mask)
                        self._memos[start] = TrunkMemo(top, len(chunk))
                    cache = self._prefixes[start].cache()
                    memo = self._memos[start] if self.memo else None
                if self._lean_applies():
                    new = sample_tokens(model, ids, mask, cache=cache, decoding=s.decoding, top_p=s.top_p,
                                        temperature=s.temperature, max_new_tokens=s.max_new_tokens,
                                        pad_id=int(self.tokenizer.pad_token_id), eos_id=self.tokenizer.eos_token_id,
                                        stop_ids=self._stop_ids, memo=memo)
                else:
                    new = model.generate(input_ids=ids, attention_mask=mask, past_key_values=cache,
                                         generation_config=config, stopping_criteria=stopping,
                                         logits_processor=processors)[:, width:]
                for r, i in enumerate(chunk):
                    text = self.tokenizer.decode(new[r].tolist(), skip_special_tokens=True)
                    if s.stop_at_newline:
                        text = text.split("\n", 1)[0]
                    texts[i] = text.strip()
        return texts
