"""Factor towers of GPTfluence: K parallel 2-layer MLPs (dim -> hidden -> ReLU -> hidden) evaluated as one batched op."""
from __future__ import annotations

import math

import torch
from torch import nn


class FactorTowers(nn.Module):
    """K independent MLPs, one per influence factor, with stacked weights so that all K run in one einsum.

    Equivalent to K separate `Sequential(Linear(dim, hidden), ReLU(), Linear(hidden, hidden))`, with
    nn.Linear's default initialization (uniform in +-1/sqrt(fan_in)).
    """

    def __init__(self, n_factors: int, dim: int, hidden: int, generator: torch.Generator):
        super().__init__()
        self.w1 = nn.Parameter(_uniform((n_factors, dim, hidden), dim, generator))
        self.b1 = nn.Parameter(_uniform((n_factors, 1, hidden), dim, generator))
        self.w2 = nn.Parameter(_uniform((n_factors, hidden, hidden), hidden, generator))
        self.b2 = nn.Parameter(_uniform((n_factors, 1, hidden), hidden, generator))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Projections [K, n, hidden] of features [n, dim]."""
        hidden = torch.relu(torch.einsum("nd,kdh->knh", features, self.w1) + self.b1)
        return torch.baddbmm(self.b2, hidden, self.w2)


def _uniform(shape: tuple[int, ...], fan_in: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) values, as nn.Linear initializes weights and biases."""
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound, generator=generator)
