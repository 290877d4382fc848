"""Simfluence fit as the official GPTfluence code does: the same ridge objective minimized with Adam."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from lib.dynamics import Dynamics
from lib.simulators.simfluence import DEFAULT_L2_GRID, Simfluence

PAPER_SETTINGS = {"lr": 1e-3, "epochs": 300, "batch_size": 128}
"""GPTfluence Table 9, Simfluence's training: Adam, lr 1e-3, 300 epochs, batches of 128 transitions."""


class SimfluenceSGD(Simfluence):
    """Simfluence whose parameters are trained with Adam (Table 9: lr 1e-3, 300 epochs, batch 128; warmup 200, linear decay).

    As the official code, one training sample is one (run, step, test example) transition and a
    batch holds `batch_size` of them, shuffled each epoch. The loss is the closed form's objective
    divided by the number of such transitions: batch-mean squared residual + l2 / (transitions x
    tests) * (||A||^2 + ||B||^2), so both share one minimizer (with the same `standardize` and
    `l2`). Same surface and variants as Simfluence; parameters start at 0; float64. After fit:
    updates_, the number of Adam steps taken per l2.
    """

    def __init__(self, variant: str = "linear", l2: float | Sequence[float] = DEFAULT_L2_GRID, *,
                 standardize: bool = True, lr: float = PAPER_SETTINGS["lr"], epochs: int = PAPER_SETTINGS["epochs"],
                 batch_size: int = PAPER_SETTINGS["batch_size"], warmup_steps: int = 200, seed: int = 42):
        super().__init__(variant, l2, standardize=standardize)
        if lr <= 0 or epochs < 1 or batch_size < 1 or warmup_steps < 0:
            raise ValueError(
                f"need lr > 0, epochs >= 1, batch_size >= 1, warmup_steps >= 0; got lr={lr}, epochs={epochs}, "
                f"batch_size={batch_size}, warmup_steps={warmup_steps}"
            )
        self.lr, self.epochs, self.batch_size, self.warmup_steps, self.seed = lr, epochs, batch_size, warmup_steps, seed

    def _fit_grid(self, train: Dynamics, grid: Sequence[float]) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
        """Adam-trained (A, B) for every l2 of the grid."""
        rows = torch.as_tensor(self._train_rows(train.curricula).reshape(-1, train.batch_size))
        previous = torch.as_tensor(train.values[:, :-1].reshape(-1, train.n_tests))
        target = torch.as_tensor(train.values[:, 1:].reshape(-1, train.n_tests))
        return [self._train(rows, previous, target, l2) for l2 in grid]

    def _train(self, rows: torch.Tensor, previous: torch.Tensor, target: torch.Tensor,
               l2: float) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Minimize the scaled ridge objective for one l2 with Adam over shuffled (transition, test) samples."""
        n_transitions, n_tests = target.shape
        n_samples = n_transitions * n_tests
        shape = (len(self.train_ids_), n_tests)
        A = torch.zeros(shape, dtype=torch.float64) if self.variant != "additive" else None
        B = torch.zeros(shape, dtype=torch.float64) if self.variant != "multiplicative" else None
        params = [p for p in (A, B) if p is not None]
        for p in params:
            p.grad = torch.zeros_like(p)
        optimizer = torch.optim.Adam(params, lr=self.lr, fused=True)  # one pass per tensor, the same update
        total = self.epochs * math.ceil(n_samples / self.batch_size)
        self.updates_ = total
        warmup = min(self.warmup_steps, total)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: (step + 1) / (warmup + 1) if step < warmup else max(0.0, (total - step) / max(1, total - warmup)),
        )
        penalty = l2 / n_samples
        flat_previous, flat_target = previous.reshape(-1), target.reshape(-1)
        generator = torch.Generator().manual_seed(self.seed)
        for _ in range(self.epochs):
            for batch in torch.randperm(n_samples, generator=generator).split(self.batch_size):
                cells = (rows[batch // n_tests] * n_tests + (batch % n_tests)[:, None]).reshape(-1)  # [b * B] in A / B
                batch_gradient(A, B, cells, flat_previous[batch], flat_target[batch], penalty)
                optimizer.step()
                scheduler.step()
        return (A.numpy() if A is not None else None, B.numpy() if B is not None else None)


def batch_gradient(A: torch.Tensor | None, B: torch.Tensor | None, cells: torch.Tensor, previous: torch.Tensor,
                   target: torch.Tensor, penalty: float) -> None:
    """Write into A.grad / B.grad the gradient of mean(residual^2) + penalty * (||A||^2 + ||B||^2) for a batch of b
    samples, residual = alpha * previous + beta - target with alpha (beta) the sum of A's (B's) entries at the
    sample's `cells` ([b * batch size] flat indices; alpha = 1 without A, beta = 0 without B). Written by hand: the
    same numbers as autograd (tests/simulators/test_simfluence_sgd.py), without its per-step overhead, which is
    most of the cost of 300 epochs of batches of 128 (benchmarks/bench_simfluence_adam.py)."""
    width = len(cells) // len(previous)
    alpha = A.view(-1)[cells].view(-1, width).sum(dim=1) if A is not None else 1.0
    beta = B.view(-1)[cells].view(-1, width).sum(dim=1) if B is not None else 0.0
    d_residual = (2.0 / len(previous)) * (alpha * previous + beta - target)
    for p, d_sum in ((A, d_residual * previous), (B, d_residual)):
        if p is not None:
            torch.mul(p, 2 * penalty, out=p.grad)
            p.grad.view(-1).index_add_(0, cells, d_sum.repeat_interleave(width))
