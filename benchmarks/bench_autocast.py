"""Is bf16 autocast faster than fp32 for our models on this CPU? Times a matmul, a training step and a
test forward side by side in one run and prints the ratios (the collection configs' `bf16` follows them).

    .venv/bin/python benchmarks/bench_autocast.py [--model smollm2-135m] [--repeats 5]
"""
from __future__ import annotations

import argparse
import time

import torch

from lib.models import load_causal_lm
from lib.precision import bf16_autocast, fast_bf16_available


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--eval-batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--skip-model", action="store_true", help="only the matmul comparison")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"CPU has native bf16 (AMX / AVX-512 BF16): {fast_bf16_available("cpu")}")
    a, w = torch.randn(256, 576), torch.randn(576, 1536)  # one SmolLM2 MLP projection of 256 tokens
    fp32 = _time(lambda: a @ w, 10)
    bf16 = _time(lambda: a.bfloat16() @ w.bfloat16(), 3)
    print(f"matmul 256x576x1536: fp32 {fp32 * 1e3:.1f} ms, bf16 {bf16 * 1e3:.1f} ms, bf16 speed-up {fp32 / bf16:.2f}x")
    if args.skip_model:
        return
    model, tokenizer = load_causal_lm(args.model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    vocab = len(tokenizer)
    train_ids = torch.randint(0, vocab, (args.batch, args.tokens))
    eval_ids = torch.randint(0, vocab, (args.eval_batch, args.tokens))

    def train_step(bf16: bool):
        def step():
            with bf16_autocast("cpu", bf16):
                loss = model(input_ids=train_ids, labels=train_ids).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        return step

    def forward(bf16: bool):
        def run():
            with torch.inference_mode(), bf16_autocast("cpu", bf16):
                model(input_ids=eval_ids)
        return run

    print(f"model {args.model}, {torch.get_num_threads()} threads, train batch {args.batch}x{args.tokens}, "
          f"eval batch {args.eval_batch}x{args.tokens}")
    print(f"{'what':<22}{'fp32 s':>10}{'bf16 s':>10}{'speed-up':>10}")
    for what, make in (("training step", train_step), ("eval forward", forward)):
        fp32, bf16 = _time(make(False), args.repeats), _time(make(True), args.repeats)
        print(f"{what:<22}{fp32:>10.3f}{bf16:>10.3f}{fp32 / bf16:>9.2f}x")


if __name__ == "__main__":
    main()
