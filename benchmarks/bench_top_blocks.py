"""Per-step cost of the top-block regime against full fine-tuning, side by side in one process.

    .venv/bin/python benchmarks/bench_top_blocks.py [--config configs/default/sst2.toml] [--tests 64]
        [--steps 6] [--full-steps 2] [--ks 1,2,4,8] [--threads N]

Every row runs `lib.collect.train_run` on the same SST-2 examples, curriculum and thread count, at the
config's precision, with per-step evaluation of `--tests` test examples (no gradient data, no warm-up):
  full        full fine-tuning (the committed full fine-tuning collections' regime)
  top k=K     the top K blocks, the final norm and an untied LM head trained; the frozen bottom's
              boundary states are computed once (timed separately as "bottom, once")
Per-step time = training time / steps + evaluation time / evaluations (model loading excluded).

Compute floor of a row = FLOPs per step / fp32 matmul throughput measured here, FLOPs per step =
6 * P * (training tokens) + 2 * P * (evaluation tokens) + 6 * V * d * (training target tokens)
+ 2 * V * d * (evaluation target tokens), with P the parameters of the blocks that run (all blocks for
full fine-tuning, the top K otherwise) and V x d the LM head applied at the target positions only, as
the collector does. Attention-score FLOPs are ignored (~2% at 50 tokens).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_collector import matmul_gflops  # noqa: E402
from lib.collect.config import load_config  # noqa: E402
from lib.collect.examples import draw_examples  # noqa: E402
from lib.collect.initial_model import load_base_model  # noqa: E402
from lib.collect.top_blocks import decoder_layers, transformer_body  # noqa: E402
from lib.collect.train_run import train_run  # noqa: E402
from lib.cores import available_cores  # noqa: E402


def timed_row(config, examples, steps: int, regime: dict) -> dict:
    """Per-step figures of `steps` steps of one run in `regime` (model section overrides)."""
    cfg = config.with_overrides(
        model=regime, training={"subset_size": config.training.batch_size * steps, "epochs": 1},
        runs={"train": 1, "val": 0, "test": 0}, gradients={"splits": [], "checkpoints": 1},
        warmup={"examples": 0})
    result = train_run(cfg, 0, examples, progress=False)
    t = result.timing
    return {"per_step": t["train_seconds"] / steps + t["eval_seconds"] / (steps + 1),
            "train": t["train_seconds"] / steps, "eval": t["eval_seconds"] / (steps + 1),
            "load": t["load_seconds"], "train_tokens": t["train_tokens"] / steps,
            "eval_tokens": t["eval_tokens_per_step"], "trainable": result.environment["trainable_parameters"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/default/sst2.toml")
    parser.add_argument("--tests", type=int, default=64, help="test examples evaluated at every step")
    parser.add_argument("--steps", type=int, default=6, help="steps per top-block row")
    parser.add_argument("--full-steps", type=int, default=2, help="steps of the full fine-tuning row")
    parser.add_argument("--ks", default="1,2,4,8", help="top-block counts to time")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    config = load_config(args.config).with_overrides(data={"test_size": args.tests},
                                                      evaluation={"metrics": ["loss"]})
    if args.threads:
        config = config.with_overrides(runtime={"threads": args.threads})
    torch.set_num_threads(config.runtime.threads or available_cores())
    examples = draw_examples(config)
    model, _ = load_base_model(config)
    body = transformer_body(model)
    layers = decoder_layers(body)
    head = model.get_output_embeddings().weight
    gflops = matmul_gflops(False)
    print(f"{config.model.name} ({len(layers)} blocks), SST-2, batch {config.training.batch_size}, {len(examples.test)} "
          f"test examples evaluated per step, {torch.get_num_threads()} threads, fp32 matmul {gflops:.0f} GFLOP/s, "
          f"load average {os.getloadavg()[0]:.2f}")
    ks = [int(k) for k in args.ks.split(",")]
    rows = {"full": (timed_row(config, examples, args.full_steps, {"regime": "full"}),
                     sum(p.numel() for p in layers.parameters()))}
    for k in ks:
        t0 = time.perf_counter()
        row = timed_row(config, examples, args.steps, {"regime": "top", "top_blocks": k, "head": "untied"})
        rows[f"top k={k}"] = (row, sum(p.numel() for p in layers[len(layers) - k:].parameters()))
        row["wall"] = time.perf_counter() - t0
    targets_train = config.training.batch_size  # SST-2: one answer token per example
    targets_eval = len(examples.test)
    v_d = head.numel()
    print(f"{'row':<10}{'s/step':>9}{'train s':>9}{'eval s':>9}{'floor s':>9}{'x floor':>9}{'vs full':>9}"
          f"{'trainable':>12}{'load s':>9}")
    full = rows["full"][0]["per_step"]
    for name, (r, blocks) in rows.items():
        flops = (6 * blocks * r["train_tokens"] + 2 * blocks * r["eval_tokens"]
                 + 6 * v_d * targets_train + 2 * v_d * targets_eval)
        floor = flops / (gflops * 1e9)
        print(f"{name:<10}{r['per_step']:>9.3f}{r['train']:>9.3f}{r['eval']:>9.3f}{floor:>9.3f}"
              f"{r['per_step'] / floor:>8.1f}x{full / r['per_step']:>8.1f}x{r['trainable'] / 1e6:>11.1f}M"
              f"{r['load']:>9.1f}")
    print("load s of a top row includes computing the frozen bottom's boundary states once (then cached on disk); "
          f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
