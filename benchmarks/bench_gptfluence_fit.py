"""GPTfluence's fit on a paper-size collection: the previous training step beside the current one, in one run.

The previous code (its training step and simulation frozen below as `PreviousGPTfluence`, for this comparison)
ran both towers in full over every training and test example at every step, formed each transition's summed
training-side outputs, and built the L2 penalty into the autograd graph with a per-tensor AdamW. The current
`lib.simulators.GPTfluence` runs the towers on the distinct examples of the batch, shares the first layer between
both sides, takes the inner products without forming the training-side outputs, adds the penalty's gradient
directly and uses the fused AdamW: the same model, loss, batches and optimiser steps. Both start from the same
initialisation and seed. Printed: their training steps timed alternately on the same batches (robust to a
changing machine load) and the seconds per epoch they imply; then whole fits one after the other: seconds per
epoch (validation rollouts included), the largest difference of their held-out rollouts and training MSEs after
the same epochs; with --full, the current code's whole fit until early stopping.
Usage: OMP_NUM_THREADS=1 python benchmarks/bench_gptfluence_fit.py [--collection paper_size/sst2] [--steps 100]
    [--epochs 2] [--settings paper|default] [--full [paper] [default] [paper_size] [batch4096]] [--lr LR]
    [--skip-side-by-side]
--full prints each fit's seconds, epochs, the validation MSE of the kept epoch (what chose the paper-size settings)
and the held-out MSE, beside the curriculum-blind mean trajectory's held-out MSE.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import time

import numpy as np
import torch

from lib.dynamics import Dynamics
from lib.encoders import load_encoder
from lib.experiments.scoring import mean_trajectory
from lib.experiments.settings import PAPER_GPTFLUENCE, gptfluence_config
from lib.experiments.store import committed
from lib.metrics import all_steps_mse
from lib.simulators import GPTfluence, GPTfluenceConfig


class PreviousGPTfluence(GPTfluence):
    """GPTfluence's training step and simulation as they were before the speed-up (frozen, for the side-by-side ratio);
    the epoch loop, batches, schedule and early stopping are the current `fit`'s, which did not change."""

    def _optimizer(self) -> torch.optim.Optimizer:
        """The previous per-tensor AdamW."""
        return torch.optim.AdamW(self._parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)

    def _training_step(self, optimizer, train_h, test_h, rows, tests, previous, target) -> float:
        """The previous step: the L2 penalty inside the autograd graph."""
        mse = torch.mean((self._previous_predictions(train_h, test_h, rows, tests, previous) - target) ** 2)
        loss = mse + self.config.l2 * sum(p.pow(2).sum() for p in self._parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return mse.item()

    def _previous_predictions(self, train_h, test_h, rows, tests, previous):
        """Both towers in full, then each transition's summed training-side outputs dotted with its test's."""
        f = _previous_towers(self.train_towers, train_h)
        g = _previous_towers(self.test_towers, test_h)
        factors = (f[:, rows].sum(dim=2) * g[:, tests]).sum(dim=-1)
        return (factors[: self.order].T * previous).sum(dim=1) + factors[self.order]

    def _coefficients(self, runs: Dynamics) -> tuple[np.ndarray, np.ndarray]:
        """The previous simulation factors: summed training-side outputs per step, dotted with every test's."""
        self.features.remember(runs)
        rows = torch.as_tensor(np.searchsorted(runs.train_ids, runs.curricula))
        with torch.no_grad():
            f = _previous_towers(self.train_towers, self._tensor(self.features.embed(runs.train_ids, "train")))
            g = _previous_towers(self.test_towers, self._tensor(self.features.embed(runs.test_ids, "test")))
            factors = torch.einsum("krth,kmh->rtkm", f[:, rows].sum(dim=3), g).double().cpu().numpy()
        return factors[:, :, : self.order], factors[:, :, self.order]


def _previous_towers(towers, features: torch.Tensor) -> torch.Tensor:
    """The previous FactorTowers.forward (einsum first layer)."""
    hidden = torch.relu(torch.einsum("nd,kdh->knh", features, towers.w1) + towers.b1)
    return torch.baddbmm(towers.b2, hidden, towers.w2)


BATCH_4096 = dataclasses.replace(PAPER_GPTFLUENCE, normalize_features=True, batch_size=4096, lr=1e-3, warmup_steps=20,
                                 max_epochs=400, patience=20)
"""The candidate between Table 8's batches of 128 and the full batch: 37 steps an epoch at paper size."""


def settings(name: str) -> GPTfluenceConfig:
    """The paper's Table 8 settings, the batch-4,096 candidate, or the book's settings at a scale."""
    return {"paper": PAPER_GPTFLUENCE, "batch4096": BATCH_4096}.get(name) or gptfluence_config(name)


def interleaved(train: Dynamics, val: Dynamics, encoder, config: GPTfluenceConfig, n_batches: int) -> None:
    """Both codes' training steps alternately on the same batches, and their validation rollouts, timed in turn.

    Alternating makes the ratio robust to a machine whose load changes during the run; an epoch's estimate is
    the mean step times the batches per epoch plus one validation rollout.
    """
    simulators = [PreviousGPTfluence(encoder, config), GPTfluence(encoder, config)]
    for simulator in simulators:
        simulator._remember_metric(train, val)
        simulator.features.remember(train)
        simulator.features.remember(val)
    current = simulators[1]
    train_h = current._tensor(current.features.embed(train.train_ids, "train"))
    test_h = current._tensor(current.features.embed(train.test_ids, "test"))
    rows, previous, target = current._transitions(train, train.train_ids)
    n_tests = target.shape[1]
    batches = torch.randperm(target.numel(), generator=torch.Generator().manual_seed(config.seed)).split(
        config.batch_size)
    optimizers = [simulator._optimizer() for simulator in simulators]
    step_seconds, rollout_seconds, warm = [0.0, 0.0], [0.0, 0.0], min(3, len(batches) // 2)
    n_batches = min(n_batches, len(batches) - warm)
    for k, batch in enumerate(batches[: n_batches + warm]):
        step, test = batch // n_tests, batch % n_tests
        for i, (simulator, optimizer) in enumerate(zip(simulators, optimizers)):
            start = time.perf_counter()
            simulator._training_step(optimizer, train_h, test_h, rows[step], test, previous[step, :, test],
                                     target[step, test])
            step_seconds[i] += (time.perf_counter() - start) * (k >= warm)
    for _ in range(3):
        for i, simulator in enumerate(simulators):
            start = time.perf_counter()
            simulator.simulate(val)
            rollout_seconds[i] += (time.perf_counter() - start) / 3
    epoch = [step_seconds[i] / n_batches * len(batches) + rollout_seconds[i] for i in range(2)]
    step_ms = [1e3 * seconds / n_batches for seconds in step_seconds]
    print(f"interleaved, {n_batches} training steps each: ms per step previous {step_ms[0]:.1f}, current "
          f"{step_ms[1]:.1f}, ratio {step_ms[0] / step_ms[1]:.2f}; validation rollout ms previous "
          f"{1e3 * rollout_seconds[0]:.1f}, current {1e3 * rollout_seconds[1]:.1f}; seconds per epoch "
          f"({len(batches)} steps) previous {epoch[0]:.1f}, current {epoch[1]:.1f}, ratio {epoch[0] / epoch[1]:.2f}")


def side_by_side(train: Dynamics, val: Dynamics, test: Dynamics, encoder, config: GPTfluenceConfig,
                 epochs: int) -> None:
    """Fit the previous and the current code for `epochs` epochs from the same start; print times and differences."""
    config = dataclasses.replace(config, max_epochs=epochs)
    fits = {}
    for label, cls in (("previous", PreviousGPTfluence), ("current", GPTfluence)):
        simulator = cls(encoder, config)
        simulator.features.remember(train)
        simulator.features.embed(train.train_ids, "train")  # embeddings cached before the clock starts
        simulator.features.embed(train.test_ids, "test")
        start = time.perf_counter()
        simulator.fit(train, val)
        fits[label] = (simulator, (time.perf_counter() - start) / epochs)
    (old, old_s), (new, new_s) = fits["previous"], fits["current"]
    print(f"one fit after the other, seconds per epoch ({epochs} epochs, validation rollouts included): "
          f"previous {old_s:.1f}, current {new_s:.1f}, ratio {old_s / new_s:.2f}")
    held_old, held_new = old.simulate(test), new.simulate(test)
    print(f"after {epochs} epochs (kept epoch: previous {old.best_epoch_}, current {new.best_epoch_}): "
          f"max |previous - current| held-out rollout {np.max(np.abs(held_old - held_new)):.2e} "
          f"(values {test.values.min():.3f}..{test.values.max():.3f}); held-out all-steps MSE previous "
          f"{all_steps_mse(held_old, test.values, config.order)[0]:.6g}, current "
          f"{all_steps_mse(held_new, test.values, config.order)[0]:.6g}; max train MSE difference "
          f"{np.max(np.abs(old.history_.train_mse - new.history_.train_mse)):.2e}")


def full_fit(train: Dynamics, val: Dynamics, test: Dynamics, encoder, config: GPTfluenceConfig, label: str) -> None:
    """The current code's whole fit until early stopping; time, epochs and the held-out MSE."""
    simulator = GPTfluence(encoder, config)
    start = time.perf_counter()
    simulate, epochs = simulator.simulate, itertools.count(1)

    def reporting(runs: Dynamics) -> np.ndarray:
        """fit simulates the validation runs once per epoch: report the progress of a long fit."""
        pred = simulate(runs)
        print(f"  {label} settings: epoch {next(epochs)} done at {time.perf_counter() - start:.0f} s", flush=True)
        return pred

    simulator.simulate = reporting
    simulator.fit(train, val)
    del simulator.simulate
    seconds = time.perf_counter() - start
    mse = all_steps_mse(simulator.simulate(test), test.values, config.order)[0]
    kept = simulator.history_.val_mse.iloc[simulator.best_epoch_ - 1]
    print(f"full fit, {label} settings: {seconds:.0f} s, {len(simulator.history_)} epochs "
          f"(best {simulator.best_epoch_}), {seconds / len(simulator.history_):.2f} s per epoch, "
          f"validation MSE {kept:.4g}, held-out all-steps MSE {mse:.4g} (curriculum-blind mean trajectory "
          f"{all_steps_mse(mean_trajectory(train, test), test.values)[0]:.4g})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default="paper_size/sst2", help="folder under data/dynamics")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the side-by-side fits")
    parser.add_argument("--steps", type=int, default=100, help="training steps of the interleaved timing")
    parser.add_argument("--settings", choices=["paper", "default"], default="paper",
                        help="the side-by-side fits' settings: Table 8 or the book's default scale")
    parser.add_argument("--full", nargs="*", choices=["paper", "default", "paper_size", "batch4096"], default=None,
                        help="then fit the current code to early stopping with these settings (no value: paper)")
    parser.add_argument("--skip-side-by-side", action="store_true", help="only the full fits")
    parser.add_argument("--lr", type=float, default=None, help="override the learning rate of every --full fit")
    parser.add_argument("--encoder", default="minilm-mean")
    args = parser.parse_args()
    dyn = committed(args.collection).dynamics("loss")
    train, val, test = (dyn.select_runs(split) for split in ("train", "val", "test"))
    print(f"{args.collection}: {dyn}; torch threads {torch.get_num_threads()}")
    encoder = load_encoder(args.encoder)
    if not args.skip_side_by_side:
        interleaved(train, val, encoder, settings(args.settings), args.steps)
        side_by_side(train, val, test, encoder, settings(args.settings), args.epochs)
    for name in [] if args.full is None else args.full or ["paper"]:
        config = settings(name) if args.lr is None else dataclasses.replace(settings(name), lr=args.lr)
        full_fit(train, val, test, encoder, config, name if args.lr is None else f"{name} at lr {args.lr:g}")


if __name__ == "__main__":
    main()
