"""What a collection will cost here: a few timed steps of one run per config, extrapolated to the whole collection.

    .venv/bin/python benchmarks/bench_collection_costs.py [configs/paper_size/*.toml] [--steps 3] [--threads 1]

Per config: one run of `--steps` steps (same model, examples, regime and evaluation as the config; no
warm-up, no gradient data) gives the seconds per training step and per evaluation (test losses, plus a
generation for BLEU / ROUGE-L where the config records them). The estimate of the whole collection is
runs x (T x train + (T + 1) x evaluation), plus the one-off load (model, boundary states). Runs that record
gradient data cost somewhat more (measured on real runs: see each run.json's gradient_seconds).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.collect.config import load_config  # noqa: E402
from lib.collect.examples import draw_examples  # noqa: E402
from lib.collect.train_run import train_run  # noqa: E402


def measure(path: str, steps: int, threads: int | None) -> dict:
    """Per-step figures of a short run of the config at `path`, and the extrapolated collection wall time."""
    config = load_config(path)
    timed = config.with_overrides(
        training={"subset_size": config.training.batch_size * steps, "epochs": 1},
        runs={"train": 1, "val": 0, "test": 0}, gradients={"splits": [], "checkpoints": 1}, warmup={"examples": 0},
        runtime={"threads": threads or config.runtime.threads or 1})
    result = train_run(timed, 0, draw_examples(timed), progress=False)
    t = result.timing
    train, evaluation = t["train_seconds"] / steps, t["eval_seconds"] / (steps + 1)
    total_steps = config.training.steps
    hours = config.runs.total * (total_steps * train + (total_steps + 1) * evaluation) / 3600
    return {"config": Path(path).stem, "runs": config.runs.total, "steps": total_steps,
            "tests": config.data.test_size, "metrics": "+".join(config.metrics), "train s": train,
            "eval s": evaluation, "load s": t["load_seconds"], "collection h": hours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="*", default=sorted(glob.glob("configs/paper_size/*.toml")))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), load average {os.getloadavg()[0]:.2f}")
    print(f"{'config':<14}{'runs':>5}{'steps':>6}{'tests':>6}  {'metrics':<18}{'train s':>8}{'eval s':>8}"
          f"{'load s':>8}{'collection h':>14}", flush=True)
    for path in args.configs:
        r = measure(path, args.steps, args.threads)
        print(f"{r['config']:<14}{r['runs']:>5}{r['steps']:>6}{r['tests']:>6}  {r['metrics']:<18}{r['train s']:>8.2f}"
              f"{r['eval s']:>8.2f}{r['load s']:>8.1f}{r['collection h']:>14.1f}", flush=True)
    print(f"load average now {os.getloadavg()[0]:.2f} (figures scale with the CPU share this process got)")


if __name__ == "__main__":
    main()
