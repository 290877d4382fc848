"""TracIn-CP / Grad-Dot gradient dot products over the LM head, from forward passes only.

Which gradients. As the official GPTfluence code (captum `TracInCPFast` on the output layer
`embed_out`), gradients are taken with respect to the output projection W [V, d] only, also for
LoRA runs (the official alternative for LoRA, gradients of the adapter weights, is not implemented:
the LM-head formula is the default for both regimes).

The formula. For one target token a with final hidden state h_a (after the final norm), vocabulary
probabilities p_a = softmax(W h_a) and target id y_a, the token NLL has

    d NLL_a / d W = delta_a h_a^T,   delta_a = p_a - onehot(y_a).

An example's loss is the mean over its n target tokens, L(z) = (1/n) sum_a NLL_a, so its gradient is
G(z) = (1/n) sum_a delta_a h_a^T and, for two examples z (tokens a, n of them) and z' (tokens b, n'),

    <G(z), G(z')>_F = 1/(n n') sum_{a,b} (delta_a . delta'_b) (h_a . h'_b),
    delta_a . delta'_b = p_a . p'_b - p_a[y'_b] - p'_b[y_a] + [y_a == y'_b].

The code forms Delta = P - onehot(Y) explicitly and computes Delta Delta'^T, which equals the
right-hand side above but avoids its cancellation when both tokens are confidently right (fp32).
If the head has a bias, its gradient delta_a adds (delta_a . delta'_b) * 1, i.e. h is augmented with a
constant 1. Models with final-logit softcapping (Gemma 2) are refused: their delta has another factor.

Only forward passes are needed, no backward: everything is computed from (h, P, y) at the target
positions, which the collector has anyway. "all" (theta_{t-1}) reuses the hidden states and
probabilities of the training forward of step t (run at theta_{t-1}, in train mode: with dropout if
the model has any) and of the evaluation after step t-1; "ckpt10" and "final" forward the run's
training subset once at each saved checkpoint (eval mode).

Tied embeddings caveat (SmolLM2-135M, Gemma 3): there W is also the input embedding matrix, and the
full gradient of W also gets contributions through the embedding lookup of the input tokens; these
numbers are the output-projection part only (what the official code computes for Pythia, whose
`embed_out` is untied).

Precision: under bf16 autocast h and the logits come from bf16 matmuls; the products here run in fp32.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .head import LMParts


@dataclass
class HeadStats:
    """Gradient factors of some examples at one model state: per target token h, delta, and its example."""

    h: torch.Tensor  # [n_tokens, d (+1 with a bias)] float32
    delta: torch.Tensor  # [n_tokens, V] float32, softmax - onehot
    example: torch.Tensor  # [n_tokens] index of the token's example in 0..n_examples-1
    weight: torch.Tensor  # [n_tokens] 1 / (target tokens of the token's example)
    n_examples: int

    @classmethod
    def build(cls, parts: LMParts, hidden: torch.Tensor, logp: torch.Tensor, targets: torch.Tensor,
              token_example: torch.Tensor, n_examples: int) -> "HeadStats":
        """From hidden states, log-probabilities, target ids and the token -> example map of a batch."""
        if parts.softcap is not None:
            raise ValueError("gradient dot products are not implemented for models with final-logit softcapping")
        h = hidden.detach().float()
        if parts.has_bias:
            h = torch.cat([h, torch.ones(h.shape[0], 1, dtype=h.dtype, device=h.device)], dim=1)
        delta = logp.detach().float().exp()
        delta[torch.arange(delta.shape[0], device=delta.device), targets] -= 1.0
        counts = torch.zeros(n_examples, device=h.device).index_add(0, token_example, torch.ones(h.shape[0], device=h.device))
        return cls(h=h, delta=delta, example=token_example.clone(), weight=1.0 / counts[token_example],
                   n_examples=n_examples)

    @classmethod
    def concat(cls, parts: list["HeadStats"]) -> "HeadStats":
        """Stack the examples of several HeadStats (e.g. of several batches), in order."""
        offsets, total = [], 0
        for p in parts:
            offsets.append(total)
            total += p.n_examples
        return cls(h=torch.cat([p.h for p in parts]), delta=torch.cat([p.delta for p in parts]),
                   example=torch.cat([p.example + o for p, o in zip(parts, offsets)]),
                   weight=torch.cat([p.weight for p in parts]), n_examples=total)


def _pool_matrix(stats: HeadStats) -> torch.Tensor:
    """[n_examples, n_tokens] matrix with entry 1/n at (example, token): sums weighted tokens per example."""
    out = torch.zeros(stats.n_examples, stats.h.shape[0], dtype=torch.float32, device=stats.h.device)
    out[stats.example, torch.arange(stats.h.shape[0], device=stats.h.device)] = stats.weight
    return out


def grad_dots(a: HeadStats, b: HeadStats, *, chunk_tokens: int = 2048) -> torch.Tensor:
    """<G(z_i), G(z'_k)> over the LM head for every example i of `a` and k of `b`: [a.n_examples, b.n_examples]."""
    pool_a, pool_b = _pool_matrix(a), _pool_matrix(b)
    out = torch.zeros(a.n_examples, b.n_examples, dtype=torch.float64, device=a.h.device)
    for start in range(0, a.h.shape[0], chunk_tokens):
        sl = slice(start, start + chunk_tokens)
        token_dots = (a.delta[sl] @ b.delta.T) * (a.h[sl] @ b.h.T)  # [chunk, n_b_tokens]
        out += (pool_a[:, sl] @ token_dots @ pool_b.T).double()
    return out


def self_dots(a: HeadStats) -> torch.Tensor:
    """|G(z_i)|^2 over the LM head for every example of `a` (block-diagonal, cheap): [a.n_examples]."""
    out = torch.zeros(a.n_examples, dtype=torch.float64, device=a.h.device)
    for i in range(a.n_examples):
        idx = torch.nonzero(a.example == i)[:, 0]
        if idx.numel() == 0:
            continue
        d, h, w = a.delta[idx], a.h[idx], a.weight[idx]
        block = (d @ d.T) * (h @ h.T) * (w[:, None] * w[None, :])
        out[i] = block.sum().double()
    return out
