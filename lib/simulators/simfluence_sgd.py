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
        A = torch.zeros(shape, dtype=torch.float64, requires_grad=self.variant != "additive")
        B = torch.zeros(shape, dtype=torch.float64, requires_grad=self.variant != "multiplicative")
        params = [p for p in (A, B) if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=self.lr)
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
                step_rows, test = rows[batch // n_tests], (batch % n_tests)[:, None]  # [b, B], [b, 1]
                alpha = A[step_rows, test].sum(dim=1) if A.requires_grad else 1.0
                beta = B[step_rows, test].sum(dim=1) if B.requires_grad else 0.0
                residual = alpha * flat_previous[batch] + beta - flat_target[batch]
                loss = torch.mean(residual**2) + penalty * sum(p.pow(2).sum() for p in params)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
        return (
            A.detach().numpy() if A.requires_grad else None,
            B.detach().numpy() if B.requires_grad else None,
        )
