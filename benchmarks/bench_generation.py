"""Cost of the per-step generation (BLEU / ROUGE-L) in the top-block regime: whole-model prefill against the
cached prompt prefix (lib/collect/prompt_prefix.py), side by side in one process on the same prompts.

    .venv/bin/python benchmarks/bench_generation.py [--config configs/paper_size/webnlg.toml] [--repeats 2]
        [--tests N] [--threads 1]

Each row times `Evaluator._generate` on the config's test examples (the first N with --tests) with its decoding settings (batch size,
max_new_tokens, stop at newline) on the warm-started model; "prefix, once" is the one-off prefill of the frozen
bottom, paid at a run's first evaluation. Also prints whether both paths generated the same texts and the
prefill share (max_new_tokens = 1) of a whole-model generation.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.collect.config import load_config  # noqa: E402
from lib.collect.evaluate import Evaluator  # noqa: E402
from lib.collect.examples import draw_examples  # noqa: E402
from lib.collect.initial_model import initial_model, wants_eos  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    """(best wall seconds of `repeats` calls, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/paper_size/webnlg.toml")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tests", type=int, default=None, help="time the first N test examples only")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    if config.model.regime != "top" or not config.generation_metrics:
        raise SystemExit(f"{args.config}: needs [model] regime = \"top\" and a generation metric")
    examples = draw_examples(config)
    start = initial_model(config, examples, torch.device("cpu"))
    model, top = start.model.eval(), start.parts.top
    tests = examples.test[: args.tests]

    def evaluator(**overrides) -> Evaluator:
        settings = config.with_overrides(evaluation=overrides).evaluation if overrides else config.evaluation
        return Evaluator(start.tokenizer, tests, settings=settings, metrics=config.metrics,
                         max_length=config.model.max_length, append_eos=wants_eos, device=torch.device("cpu"),
                         bf16=False, states=start.states)

    whole, cached = evaluator(), evaluator()
    with torch.inference_mode():
        t_first, _ = timed(lambda: cached._generate(model, top), 1)
        t_whole, texts_whole = timed(lambda: whole._generate(model, None), args.repeats)
        t_prefix, texts_prefix = timed(lambda: cached._generate(model, top), args.repeats)
        prefill = evaluator(max_new_tokens=1)
        t_prefill, _ = timed(lambda: prefill._generate(model, None), args.repeats)
    e = config.evaluation
    print(f"{config.name}: {len(tests)} prompts, batch {e.batch_size}, max_new_tokens {e.max_new_tokens}, "
          f"{e.decoding} decoding, {args.threads} thread(s)")
    print(f"  whole-model generation   {t_whole:8.2f} s per evaluation")
    print(f"  from the prompt prefix   {t_prefix:8.2f} s per evaluation  ({t_whole / t_prefix:.2f}x faster)")
    print(f"  prefix, once per run     {max(t_first - t_prefix, 0.0):8.2f} s")
    print(f"  prefill only (1 token)   {t_prefill:8.2f} s ({t_prefill / t_whole:.0%} of a whole-model generation)")
    same = sum(a == b for a, b in zip(texts_whole, texts_prefix))
    print(f"  identical generations    {same} of {len(texts_whole)}")


if __name__ == "__main__":
    main()
