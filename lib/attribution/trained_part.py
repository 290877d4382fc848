"""The parameters the top-block regime trains, as one module the attribution libraries can differentiate.

kronfluence wraps the nn.Linear modules it finds inside the module it is given, and traker differentiates
with respect to that module's parameters (torch.func.functional_call). `TrainedPart` registers exactly the
trained modules of a causal LM in the top-block regime -- its top k blocks, its final norm and, when it is
trained (head = "untied") and neither of its sides exceeds `max_head_dim`, its LM head -- and keeps the rest
(embeddings, bottom blocks, a frozen or too large head) out of its parameters. SmolLM2's trained head maps
576 -> 49,152 (28 M of the 35 M trained parameters): EK-FAC's output-side factor of it would be 49,152^2
floats (9.7 GB) and TRAK's projection matrix of 35 M gradients to 64 dimensions 9 GB, beyond this
machine, so with the default the scores of that model cover the top blocks and the final norm; its forward runs the model's own top forward (`TopBlocks.forward`) from boundary states, so
the blocks it holds are the model's own modules.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lib.collect.head import LMParts
from lib.collect.top_blocks import final_norm


class TrainedPart(nn.Module):
    """Top k blocks + final norm (+ the trained LM head) of an LMParts; batch -> per-example mean target NLL."""

    def __init__(self, parts: LMParts, max_head_dim: int = 4096):
        super().__init__()
        if parts.top is None:
            raise ValueError("attribution scores are implemented for the top-block regime only (parts.top is None)")
        top = parts.top
        self.blocks = nn.ModuleList(top.layers[top.boundary_index:])
        self.norm = final_norm(top.body)
        head = parts.head
        if head.weight.requires_grad and max(head.weight.shape) <= max_head_dim:
            self.head = head
        else:  # a frozen or too large head is not attributed over: kept out of the registered parameters
            object.__setattr__(self, "frozen_head", parts.head)
        object.__setattr__(self, "top", top)  # the frozen body, not a registered submodule
        self.softcap = parts.softcap

    @property
    def lm_head(self) -> nn.Module:
        """The output projection (registered or frozen)."""
        return self.head if "head" in self._modules else self.frozen_head

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None, positions: torch.Tensor) -> torch.Tensor:
        """float32 logits [B, n, V] at the positions [B, n] from boundary states [B, L, d] (every position runs).

        `mask` may be None for right-padded sequences: causal attention keeps the padding out of every earlier
        position.
        """
        hidden = self.top.forward(states, mask)
        picked = torch.gather(hidden, 1, positions[..., None].expand(-1, -1, hidden.shape[-1]))
        logits = self.lm_head(picked).float()
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def target_logp(self, states: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor,
                    targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probability of each target token [B, n], all log-probabilities [B, n, V])."""
        logp = F.log_softmax(self(states, mask, positions), dim=-1)
        return logp.gather(-1, targets[..., None])[..., 0], logp

    def example_losses(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean NLL over each example's target tokens [B] (the loss the runs train on and record)."""
        picked, _ = self.target_logp(batch["states"], batch["mask"], batch["positions"], batch["targets"])
        return -(picked * batch["weights"]).sum(dim=1)

    def linear_modules(self, max_dim: int) -> tuple[list[str], list[str]]:
        """(names of the nn.Linear modules with both sides <= max_dim, names of the larger ones), in this module."""
        kept, dropped = [], []
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                (kept if max(module.in_features, module.out_features) <= max_dim else dropped).append(name)
        return kept, dropped
