"""Benchmark of the simulators on synthetic runs of the paper's fine-tuning size and on committed dynamics; prints tables.

Synthetic data: a known linear Markov process (random A, B per (training, test) pair) over a pool
of 200 training examples and 200 test examples; each run trains on 128 of the 200, batch 4, 3
shuffled epochs = 96 steps; 25 training, 2 validation and 5 held-out runs (the papers' split).
Measured: Simfluence closed-form fit (one l2, and the 7-value grid chosen on validation runs),
the official-code Adam variant on the same data, GPTfluence training with a random-feature
encoder of dim 384 (no model needed), and simulation latency per (run x test example)
trajectory. Both Adam-trained simulators batch (run, step, test example) transitions, 128 at a
time, as the official code: 480k of them here, so their epochs are capped by the options.
Committed dynamics (--committed): Simfluence's three variants (Simfluence Table 2), closed form
beside Adam at GPTfluence Table 9's settings with the l2 the closed form chose: held-out MSE,
diverged rollouts and fit time.
Usage: python benchmarks/bench_simulators.py [--threads N] [--max-epochs N] [--sgd-epochs N] [--committed DIR:METRIC ..]
"""
from __future__ import annotations

import argparse
import time
import zlib

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from lib.dynamics import Dynamics
from lib.metrics import all_steps_mse
from lib.simulators import GPTfluence, Simfluence, SimfluenceSGD, rollout
from lib.simulators.simfluence import VARIANTS


def synthetic_runs(pool=200, tests=200, subset=128, batch=4, epochs=3, splits=(25, 2, 5), noise=0.005, seed=0):
    """Runs of y_t = alpha(c_t) y_{t-1} + beta(c_t) + noise with random per-pair factors, and those factors A, B."""
    rng = np.random.default_rng(seed)
    A = 1.0 / batch + 0.01 * rng.normal(size=(pool, tests))
    B = -0.005 + 0.005 * rng.normal(size=(pool, tests))
    runs = sum(splits)
    curricula = np.stack([
        np.concatenate([rng.permutation(chosen) for _ in range(epochs)]).reshape(-1, batch)
        for chosen in (rng.choice(pool, size=subset, replace=False) for _ in range(runs))
    ])
    steps = curricula.shape[1]
    values = np.empty((runs, steps + 1, tests))
    values[:, 0] = rng.uniform(1.0, 3.0, size=(runs, tests))
    alpha, beta = A[curricula].sum(axis=2), B[curricula].sum(axis=2)
    for t in range(1, steps + 1):
        values[:, t] = alpha[:, t - 1] * values[:, t - 1] + beta[:, t - 1] + noise * rng.normal(size=(runs, tests))
    split = ["train"] * splits[0] + ["val"] * splits[1] + ["test"] * splits[2]
    dynamics = Dynamics.from_arrays(
        curricula, values, np.arange(tests), "loss", split=split,
        train_texts={i: f"train {i}" for i in range(pool)}, test_texts={m: f"test {m}" for m in range(tests)},
    )
    return dynamics, A, B


class RandomFeatureEncoder:
    """Fake frozen encoder: a fixed random 384-d Gaussian vector per text (stands in for MiniLM)."""

    name, dim = "random-384", 384

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([
            np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) / np.sqrt(self.dim) for t in texts
        ]).astype(np.float32)


def timed(function):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def latency_ms(simulator, runs: Dynamics, repeats: int = 5) -> float:
    """Best-of-`repeats` simulation time per (run x test) trajectory, in milliseconds."""
    simulator.simulate(runs)  # warm caches (embeddings)
    best = min(timed(lambda: simulator.simulate(runs))[1] for _ in range(repeats))
    return 1e3 * best / (runs.n_runs * runs.n_tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of torch and of numpy's BLAS")
    parser.add_argument("--max-epochs", type=int, default=3, help="GPTfluence epoch cap on the synthetic data")
    parser.add_argument("--gpt-lr", type=float, nargs="+", default=[1e-4, 1e-3], help="GPTfluence learning rates")
    parser.add_argument("--sgd-epochs", type=int, default=10, help="epochs of the Adam-trained Simfluence on the "
                        "synthetic data (Table 9: 300)")
    parser.add_argument("--committed", nargs="*", default=["data/dynamics/default/webnlg:bleu",
                                                           "data/dynamics/default/sst2:loss"],
                        help="collection folder:metric pairs for the closed form vs Adam table (none: skip)")
    parser.add_argument("--synthetic", action=argparse.BooleanOptionalAction, default=True,
                        help="run the synthetic paper-size part")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # numpy's batched solves: extra BLAS threads only spin on a shared 2-core machine
    for spec in args.committed:
        folder, metric = spec.rsplit(":", 1)
        closed_form_vs_adam(folder, metric)
    if args.synthetic:
        synthetic_benchmark(args)


def closed_form_vs_adam(folder: str, metric: str) -> None:
    """Simfluence's variants on a committed collection: closed form (l2 chosen on the val runs) beside Adam (Table 9)."""
    from lib.collect import load_dynamics

    data = load_dynamics(folder, metric)
    train, val, test = data.select_runs("train"), data.select_runs("val"), data.select_runs("test")
    rows = []
    for variant in VARIANTS:
        closed, closed_s = timed(lambda: Simfluence(variant).fit(train, val))
        adam, adam_s = timed(lambda: SimfluenceSGD(variant, l2=closed.l2_).fit(train))
        for name, simulator, seconds in (("closed form", closed, closed_s), ("Adam (Table 9)", adam, adam_s)):
            pred = simulator.simulate(test)
            rows.append(dict(variant=variant, fit=name, l2=closed.l2_, fit_s=round(seconds, 2),
                             held_out_mse=f"{all_steps_mse(pred, test.values)[0]:.4g}",
                             diverged=f"{simulator.health_.n_diverged}/{simulator.health_.n_trajectories}",
                             out_of_range=simulator.health_.n_out_of_range))
    print(f"{folder} ({metric}): {train.n_runs} train / {val.n_runs} val / {test.n_runs} held-out runs, "
          f"{data.n_steps} steps, {data.n_tests} tests")
    print(pd.DataFrame(rows).to_string(index=False))
    print()


def synthetic_benchmark(args: argparse.Namespace) -> None:
    """Fit and latency of every simulator on the synthetic paper-size runs."""

    data, A, B = synthetic_runs()
    train, val, test = data.select_runs("train"), data.select_runs("val"), data.select_runs("test")
    print(f"data: {train.n_runs} train / {val.n_runs} val / {test.n_runs} held-out runs, {data.n_steps} steps, "
          f"batch {data.batch_size}, {len(data.train_ids)} training x {data.n_tests} test examples; "
          f"{args.threads} CPU thread(s)")
    rows = []

    def record(name, fit_seconds, simulator, epochs=""):
        mse = all_steps_mse(simulator.simulate(test), test.values)[0]
        rows.append(dict(simulator=name, fit_s=round(fit_seconds, 2), epochs=epochs, held_out_mse=f"{mse:.3g}",
                         latency_ms_per_trajectory=round(latency_ms(simulator, test), 4)))
        print(rows[-1], flush=True)

    chosen, seconds = timed(lambda: Simfluence(l2=1e-2).fit(train))
    record("Simfluence closed form, l2=1e-2", seconds, chosen)
    grid, seconds = timed(lambda: Simfluence().fit(train, val))
    record(f"Simfluence closed form, 7-value l2 grid (chose {grid.l2_:g})", seconds, grid)
    sgd, seconds = timed(lambda: SimfluenceSGD(l2=grid.l2_, epochs=args.sgd_epochs).fit(train))
    record(f"Simfluence Adam (official code), l2={grid.l2_:g}", seconds, sgd, args.sgd_epochs)
    print(f"max |A_adam - A_closed| = {np.abs(sgd.A_ - grid.A_).max():.3g}, "
          f"max |B_adam - B_closed| = {np.abs(sgd.B_ - grid.B_).max():.3g}", flush=True)
    for lr in args.gpt_lr:
        gpt, seconds = timed(lambda: GPTfluence(RandomFeatureEncoder(), lr=lr, max_epochs=args.max_epochs).fit(train, val))
        record(f"GPTfluence lr={lr:g} (Table 8 otherwise, {gpt.n_parameters / 1e6:.2f}M params)", seconds, gpt,
               f"{len(gpt.history_)} (best {gpt.best_epoch_}), {seconds / len(gpt.history_):.1f} s each")
    truth = rollout(A[test.curricula].sum(axis=2)[:, :, None], B[test.curricula].sum(axis=2), test.values[:, :1])
    print(f"noise floor (held-out MSE of the true process's own rollout): {all_steps_mse(truth, test.values)[0]:.3g}")
    print()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
