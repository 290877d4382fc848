"""GPTfluence's full-batch fit (the paper-size settings): the previous epoch beside the current one, in one run.

The previous full-batch epoch (frozen below as `PreviousFullBatch`, for this comparison) ran the towers twice per
epoch, once for the update and once more in `simulate(val)` for the validation rollout at the updated parameters,
summed each step's batch with a dense [transitions x training examples] incidence matmul, and left denormal floats
on (Adam's moments of dead units decay into them and slow every operation on them). The current
`lib.simulators.gptfluence._FullBatch` runs the towers once per epoch (the pass after an update serves the
validation rollout and the next update), sums each batch with an embedding bag, and the fit flushes denormals to
zero (`lib.simulators.denormals`). Same model, objective, optimiser steps and early stopping; the sums' rounding
differs, so long fits drift apart in their last digits.

Printed per (collection, Markov order): both fits' seconds (timed one after the other, previous first, with the
embeddings cached before the clock starts), their ratio, epochs run and kept, and both fits' held-out all-steps MSE.
Usage: OMP_NUM_THREADS=1 python benchmarks/bench_gptfluence_full_batch.py [--collections sst2 rte webnlg]
    [--orders 1 5] [--max-epochs N]
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import time
from unittest import mock

import numpy as np
import torch

from lib.dynamics import Dynamics
from lib.encoders import load_encoder
from lib.experiments.settings import gptfluence_config
from lib.experiments.store import committed
from lib.metrics import all_steps_mse
from lib.simulators import GPTfluence
from lib.simulators import gptfluence as gptfluence_module


class PreviousFullBatch:
    """The previous full-batch epoch: towers once for the update (incidence matmul), again in simulate(val)."""

    def __init__(self, model: GPTfluence, train: Dynamics, val: Dynamics | None):
        self.model = model
        ids = train.train_ids
        self.train_h = model._tensor(model.features.embed(ids, "train"))
        self.test_h = model._tensor(model.features.embed(train.test_ids, "test"))
        rows, self.previous, self.target = model._transitions(train, ids)
        index = (torch.arange(len(rows)).repeat_interleave(rows.shape[1]), rows.reshape(-1))
        self.incidence = torch.zeros(len(rows), len(ids)).index_put_(index, torch.ones(rows.numel()), accumulate=True)

    steps_per_epoch = 1

    def train(self, optimizer: torch.optim.Optimizer, scheduler) -> float:
        """The previous step: incidence [S, n] @ pair factors [K, n, tests]."""
        order = self.model.order
        factors = torch.matmul(self.incidence, self.model._pair_factors(self.train_h, self.test_h))
        pred = (factors[:order].transpose(0, 1) * self.previous).sum(dim=1) + factors[order]
        value = self.model._descend(optimizer, torch.mean((pred - self.target) ** 2))
        scheduler.step()
        return value

    def validation_prediction(self, val: Dynamics) -> np.ndarray:
        """The previous validation: a fresh simulation."""
        return self.model.simulate(val)


def timed_fit(train: Dynamics, val: Dynamics, encoder, config, previous: bool) -> tuple[GPTfluence, float]:
    """A fit with the previous or the current full-batch epoch; embeddings cached before the clock starts."""
    simulator = GPTfluence(encoder, config)
    for runs in (train, val):
        simulator.features.remember(runs)
        simulator.features.embed(runs.train_ids, "train")
    simulator.features.embed(train.test_ids, "test")
    patches = (mock.patch.object(gptfluence_module, "_FullBatch", PreviousFullBatch),
               mock.patch.object(torch, "set_flush_denormal", lambda on: False))  # denormals stay on
    with contextlib.ExitStack() as stack:
        for patch in patches if previous else ():
            stack.enter_context(patch)
        start = time.perf_counter()
        simulator.fit(train, val)
    return simulator, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", nargs="+", default=["sst2", "rte", "webnlg"],
                        help="folders under data/dynamics/paper_size")
    parser.add_argument("--orders", nargs="+", type=int, default=[1, 5])
    parser.add_argument("--max-epochs", type=int, default=None, help="cap the fits (default: the book's settings)")
    parser.add_argument("--encoder", default="minilm-mean")
    args = parser.parse_args()
    encoder = load_encoder(args.encoder)
    base = gptfluence_config("paper_size")
    if args.max_epochs:
        base = dataclasses.replace(base, max_epochs=args.max_epochs)
    print(f"torch threads {torch.get_num_threads()}; settings {base}")
    totals = [0.0, 0.0]
    for name in args.collections:
        dyn = committed(f"paper_size/{name}").dynamics("loss")
        train, val, test = (dyn.select_runs(split) for split in ("train", "val", "test"))
        for order in args.orders:
            config = dataclasses.replace(base, order=order)
            fits = [timed_fit(train, val, encoder, config, previous) for previous in (True, False)]
            totals = [t + s for t, (_, s) in zip(totals, fits)]
            mse = [all_steps_mse(f.simulate(test), test.values, order)[0] for f, _ in fits]
            (old, old_s), (new, new_s) = fits
            print(f"{name} n={order}: previous {old_s:.1f} s ({len(old.history_)} epochs, kept {old.best_epoch_}), "
                  f"current {new_s:.1f} s ({len(new.history_)} epochs, kept {new.best_epoch_}); ratio "
                  f"{old_s / new_s:.2f}, per epoch {old_s / len(old.history_) / (new_s / len(new.history_)):.2f}; "
                  f"held-out all-steps MSE previous {mse[0]:.6g}, current {mse[1]:.6g}", flush=True)
    print(f"all fits: previous {totals[0]:.0f} s, current {totals[1]:.0f} s, ratio {totals[0] / totals[1]:.2f}")


if __name__ == "__main__":
    main()
