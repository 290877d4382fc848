"""How fast is the training-dynamics collector? Steps per second of a collection step (one training
step + one evaluation of every test example) on SmolLM2-135M at the sst2_smollm2 settings, side by
side in one process with a naive loop, and how far both are from this machine's compute floor.

    .venv/bin/python benchmarks/bench_collector.py [--config benchmarks/sst2_smollm2.toml] [--steps 3]
        [--naive-steps 1] [--threads N]

Rows (same model, examples, curriculum and thread count):
  collector            lib.collect.train_run at the config's precision (bf16 = "auto": bf16 autocast on
                       AMX / AVX512-BF16 CPUs, fp32 elsewhere), LM head at the target positions only,
                       length-sorted test batches, inference_mode
  collector <other>    the same at the other precision (bf16 only where it is fast, or with --bf16-row)
  collector + grads    on a run that also records the TracIn/Grad-Dot LM-head dot products
  naive                fp32, full forward (vocabulary logits at every position), labels-based training
                       loss, one test example at a time under no_grad
Per-step time = (training time) / steps + (evaluation time) / (evaluations), i.e. what one more step of
a collection costs; model loading is excluded.

Compute floor: FLOPs per step = 6 * N * (non-pad training tokens of the step) + 2 * N * (non-pad
tokens of one evaluation), with N = all parameters (the tied embedding matrix counted once: it is the
LM-head matmul at every position; lookups are free; attention-score FLOPs ignored, ~2% at 50 tokens).
It counts the LM head at every position, so the collector, which skips most of it, can in principle
come in under it. Floor time = FLOPs / throughput of a matmul of a representative shape
(tokens x hidden @ hidden x MLP width) measured here: fp32 torch.matmul, and bf16 as the models run it
(F.linear under bf16 autocast).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.collect.config import load_config  # noqa: E402
from lib.collect.curricula import sample_curriculum  # noqa: E402
from lib.collect.encoding import encode_examples  # noqa: E402
from lib.collect.examples import draw_examples  # noqa: E402
from lib.collect.initial_model import load_base_model, wants_eos  # noqa: E402
from lib.collect.train_run import train_run  # noqa: E402
from lib.cores import available_cores  # noqa: E402
from lib.precision import fast_bf16_available  # noqa: E402


def matmul_gflops(bf16: bool, m: int = 1024, k: int = 576, n: int = 1536, seconds: float = 1.5) -> float:
    """Best-of-repeats throughput (GFLOP/s) of [m, k] x [k, n]: fp32 matmul, or F.linear under bf16 autocast."""
    a, w = torch.randn(m, k), torch.randn(n, k)
    wt = w.T.contiguous()

    def run():
        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                torch.nn.functional.linear(a, w)
        else:
            a @ wt

    run()
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds or best == float("inf"):
        t0 = time.perf_counter()
        for _ in range(3):
            run()
        best = min(best, (time.perf_counter() - t0) / 3)
    return 2 * m * k * n / best / 1e9


def collector_row(config, examples, steps: int, *, bf16: bool, gradients: bool) -> dict:
    """Time `steps` steps of one collector run (train_run) and return its per-step figures."""
    cfg = config.with_overrides(
        training={"subset_size": config.training.batch_size * steps, "epochs": 1, "bf16": bf16},
        runs={"train": 0 if gradients else 1, "val": 0, "test": 1 if gradients else 0},
        gradients={"splits": ["test"] if gradients else [], "checkpoints": min(steps, 2)})
    result = train_run(cfg, 0, examples, progress=False)
    t = result.timing
    per_step = t["train_seconds"] / steps + t["eval_seconds"] / (steps + 1) + t["gradient_seconds"] / steps
    return {"per_step": per_step, "train": t["train_seconds"] / steps, "eval": t["eval_seconds"] / (steps + 1),
            "grads": t["gradient_seconds"] / steps, "train_tokens": t["train_tokens"] / steps,
            "eval_tokens": t["eval_tokens_per_step"], "loss0": result.values["loss"][0],
            "params": result.environment["model_parameters"]}


def naive_row(config, examples, steps: int) -> dict:
    """The naive loop: fp32, full logits everywhere, one test example at a time."""
    model, tokenizer = load_base_model(config)
    model = model.float().train()
    t = config.training
    optimizer = torch.optim.AdamW(model.parameters(), lr=t.lr, betas=(t.adam_beta1, t.adam_beta2), eps=t.adam_eps,
                                  weight_decay=t.weight_decay)
    by_id = examples.by_id()
    cur = sample_curriculum(examples.pool_ids, subset_size=t.batch_size * steps, batch_size=t.batch_size, epochs=1,
                            seed=config.runs.seed, run_index=0)
    enc = encode_examples(tokenizer, [*examples.test, *(by_id[int(i)] for i in cur.subset)],
                          max_length=config.model.max_length, append_eos=wants_eos)
    pad = tokenizer.pad_token_id

    def evaluate() -> np.ndarray:
        model.eval()
        losses = []
        with torch.no_grad():
            for e in examples.test:
                x = enc[int(e.id)]
                ids = torch.tensor([x.input_ids])
                logits = model(input_ids=ids).logits.float()  # full vocabulary at every position
                n_prompt = len(x.prompt_ids)
                logp = torch.log_softmax(logits[0, n_prompt - 1:-1], dim=-1)
                losses.append(float(-logp.gather(1, ids[0, n_prompt:, None]).mean()))
        model.train()
        return np.array(losses)

    t0 = time.perf_counter()
    loss0 = evaluate()
    eval_time, train_time = time.perf_counter() - t0, 0.0
    for row in cur.batches:
        t0 = time.perf_counter()
        items = [enc[int(i)] for i in row]
        width = max(x.length for x in items)
        ids = torch.full((len(items), width), pad)
        labels = torch.full((len(items), width), -100)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for r, x in enumerate(items):
            ids[r, :x.length] = torch.tensor(x.input_ids)
            labels[r, len(x.prompt_ids):x.length] = torch.tensor(x.target_ids)
            mask[r, :x.length] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        train_time += time.perf_counter() - t0
        t0 = time.perf_counter()
        evaluate()
        eval_time += time.perf_counter() - t0
    return {"per_step": train_time / steps + eval_time / (steps + 1), "train": train_time / steps,
            "eval": eval_time / (steps + 1), "grads": 0.0, "loss0": loss0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="benchmarks/sst2_smollm2.toml")
    parser.add_argument("--steps", type=int, default=3, help="collector steps per row")
    parser.add_argument("--naive-steps", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bf16-row", action="store_true",
                        help="also time bf16 where it is slow (AVX2-only CPUs: ~16x slower than fp32)")
    args = parser.parse_args()
    config = load_config(args.config)
    if args.threads:
        config = config.with_overrides(runtime={"threads": args.threads})
    torch.set_num_threads(config.runtime.threads or available_cores())
    examples = draw_examples(config)
    print(f"config {config.name}: {config.model.name}, batch {config.training.batch_size}, "
          f"{len(examples.test)} test examples, metrics {', '.join(config.metrics)}; "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}")
    gflops = {"bf16": matmul_gflops(True), "fp32": matmul_gflops(False)}
    fast = fast_bf16_available()
    used = "bf16" if config.training.bf16 else "fp32"
    print(f"matmul [1024x576]x[576x1536]: bf16 (autocast linear) {gflops['bf16']:.0f} GFLOP/s, "
          f"fp32 {gflops['fp32']:.0f} GFLOP/s; fast bf16 on this machine: {fast} "
          f"(torch CPU capability {torch.backends.cpu.get_cpu_capability()}); the config runs in {used}")

    load_base_model(config)  # load once, outside the timings
    bf16 = bool(config.training.bf16)
    rows = {f"collector ({used})": collector_row(config, examples, args.steps, bf16=bf16, gradients=False)}
    other = "fp32" if bf16 else "bf16"
    if bf16 or fast or args.bf16_row:
        rows[f"collector ({other})"] = collector_row(config, examples, max(2, args.steps // 2), bf16=not bf16,
                                                     gradients=False)
    else:
        print("bf16 row skipped: no fast bf16 here (--bf16-row to time it anyway)")
    rows["collector + grads"] = collector_row(config, examples, args.steps, bf16=bf16, gradients=True)
    rows["naive"] = naive_row(config, examples, args.naive_steps)

    base = rows[f"collector ({used})"]
    n = base["params"]
    flops = 6 * n * base["train_tokens"] + 2 * n * base["eval_tokens"]
    floor = {k: flops / (v * 1e9) for k, v in gflops.items()}
    print(f"\nper step: {base['train_tokens']:.0f} training tokens, {base['eval_tokens']:.0f} evaluation tokens, "
          f"N = {n / 1e6:.1f}M parameters -> {flops / 1e9:.0f} GFLOP per step")
    print(f"{'row':<20}{'s/step':>9}{'steps/s':>9}{'train s':>9}{'eval s':>9}{'grads s':>9}"
          f"{'vs naive':>10}{'x floor':>10}")
    for name, r in rows.items():
        print(f"{name:<20}{r['per_step']:>9.2f}{1 / r['per_step']:>9.3f}{r['train']:>9.2f}{r['eval']:>9.2f}"
              f"{r['grads']:>9.2f}{rows['naive']['per_step'] / r['per_step']:>9.1f}x{r['per_step'] / floor[used]:>9.1f}x")
    print(f"compute floor per step: {floor['fp32']:.2f} s at the fp32 matmul rate, {floor['bf16']:.2f} s at the bf16 "
          f"rate; 'x floor' uses the {used} rate")
    diff = np.abs(rows["naive"]["loss0"] - base["loss0"])
    print(f"step-0 test losses, collector ({used}, head at targets) vs naive (fp32, full logits): "
          f"max |diff| {diff.max():.4f}, mean {diff.mean():.4f} (mean loss {base['loss0'].mean():.4f})")
    if f"collector ({other})" in rows:
        diff2 = np.abs(rows["naive"]["loss0"] - rows[f"collector ({other})"]["loss0"])
        print(f"step-0 test losses, collector ({other}) vs naive: max |diff| {diff2.max():.2e}")
    print(f"speed-up of the collector over the naive loop: {rows['naive']['per_step'] / base['per_step']:.1f}x "
          f"(target >= 3x); load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
