"""Simfluence's Adam fit (the official code's optimiser): the previous autograd training step beside the current one.

The previous step (frozen below as `PreviousSimfluenceSGD`) built each batch's loss, penalty included, in the autograd
graph and stepped a per-tensor Adam; the current `lib.simulators.SimfluenceSGD` writes the same gradient by hand
(`batch_gradient`) and steps the fused Adam: the same objective, batches, schedule and updates. Both fit the same
collection's training runs for `--epochs` epochs at one l2, alternately `--repeats` times (robust to a changing machine
load); printed: CPU ms per Adam step of each, their ratio, and the largest difference of the fitted A and B.
Usage: OMP_NUM_THREADS=1 python benchmarks/bench_simfluence_adam.py [--collection paper_size/sst2] [--epochs 1]
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from lib.experiments.store import committed
from lib.simulators import SimfluenceSGD


class PreviousSimfluenceSGD(SimfluenceSGD):
    """The training loop as it was before the hand-written gradient (frozen, for the side-by-side ratio)."""

    def _train(self, rows, previous, target, l2):
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
            lambda step: (step + 1) / (warmup + 1) if step < warmup else max(0.0, (total - step) / max(1, total - warmup)))
        penalty = l2 / n_samples
        flat_previous, flat_target = previous.reshape(-1), target.reshape(-1)
        generator = torch.Generator().manual_seed(self.seed)
        for _ in range(self.epochs):
            for batch in torch.randperm(n_samples, generator=generator).split(self.batch_size):
                step_rows, test = rows[batch // n_tests], (batch % n_tests)[:, None]
                alpha = A[step_rows, test].sum(dim=1) if A.requires_grad else 1.0
                beta = B[step_rows, test].sum(dim=1) if B.requires_grad else 0.0
                residual = alpha * flat_previous[batch] + beta - flat_target[batch]
                loss = torch.mean(residual**2) + penalty * sum(p.pow(2).sum() for p in params)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
        return (A.detach().numpy() if A.requires_grad else None, B.detach().numpy() if B.requires_grad else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collection", default="paper_size/sst2", help="folder under data/dynamics")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    train = committed(args.collection).dynamics("loss").select_runs("train")
    seconds: dict[str, list[float]] = {"previous": [], "current": []}
    fitted = {}
    for _ in range(args.repeats):
        for name, kind in (("previous", PreviousSimfluenceSGD), ("current", SimfluenceSGD)):
            model = kind(l2=1.0, epochs=args.epochs)
            start = time.process_time()
            fitted[name] = model.fit(train)
            seconds[name].append((time.process_time() - start) / model.updates_)
    steps = fitted["current"].updates_
    previous, current = (1e3 * min(seconds[k]) for k in ("previous", "current"))
    diff = max(float(np.abs(fitted["previous"].A_ - fitted["current"].A_).max()),
               float(np.abs(fitted["previous"].B_ - fitted["current"].B_).max()))
    print(f"{args.collection}: {train.n_runs} runs x {train.n_steps} steps x {train.n_tests} tests, {steps} Adam steps "
          f"({args.epochs} epoch(s) of batches of 128), best of {args.repeats}")
    print(f"previous (autograd) {previous:.3f} ms/step, current (hand-written gradient, fused Adam) {current:.3f} "
          f"ms/step: {previous / current:.2f}x; largest |A, B difference| {diff:.2e}")
    print(f"300 epochs (the paper's setting) at one l2: previous {previous * steps * 300 / args.epochs / 1e3:.0f} s, "
          f"current {current * steps * 300 / args.epochs / 1e3:.0f} s")


if __name__ == "__main__":
    main()
