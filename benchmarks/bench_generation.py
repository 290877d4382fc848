"""Cost of the per-step evaluation with generation (BLEU / ROUGE-L) in the top-block regime, side by side in one
process on the same model.

    .venv/bin/python benchmarks/bench_generation.py [--config FILE ...] [--steps 1] [--tests N] [--threads 1] [--wall]
    .venv/bin/python benchmarks/bench_generation.py --prefix [--repeats 2]
    .venv/bin/python benchmarks/bench_generation.py --sampler [--repeats 2]
    .venv/bin/python benchmarks/bench_generation.py --memo [--steps 3]
    .venv/bin/python benchmarks/bench_generation.py --config configs/paper_size/mixture.toml --batch-size 16

Default (--decode is the same): for the paper-size WebNLG and WMT16 collections (or the --config files given), at
the warm-started model and after each of the first --steps training steps of run 0 (its curriculum, optimizer and
learning-rate schedule, as in lib/collect/train_run.py), the whole evaluation with generation through transformers'
`generate` ("old", the reference path) and through the lean decode loop ("new", lib/collect/decode.py, the
default): CPU seconds of generation and of the whole evaluation, their ratio, and whether the generated texts, BLEU,
ROUGE-L and losses are identical. The two evaluators alternate which runs first. Seconds are the process's CPU
seconds (one torch thread: the time on a core of its own), since on shared cores wall time mostly measures the other
processes; --wall times wall seconds instead. (An earlier path that reused the frozen bottom along each prompt's
previous continuation saved about a tenth of an evaluation through `generate`, less than the lean loop's 1.5x; it
was removed. The trunk memo, --memo, does it inside the lean loop, for every prefix generated before.)

--sampler: decoding "sample" (transformers' temperature and top-p warpers, which sort the whole vocabulary at every
token) against "sample_fast" (the same filter among the most probable tokens, lib/collect/nucleus.py) on the
warm-started model: CPU seconds per evaluation's generation and how many generations are identical.

--batch-size N: the lean loop with the config's generation batch size against N on the warm-started model (for
the mixture, `--config configs/paper_size/mixture.toml --batch-size 16` against its 48): CPU seconds per
evaluation's generation, without the trunk memo (repeated evaluations of one model would all be served from it);
the texts differ (each row's random draws depend on the batch), not their distribution.

--memo: the lean loop without and with the trunk memo (lib/collect/trunk_memo.py), per training step as the
default comparison: the memo serves the frozen bottom at prefixes generated at earlier evaluations.

--prefix: the earlier comparison of a whole-model prefill against the cached prompt prefix (lib/collect/
prompt_prefix.py) on the warm-started model, "prefix, once" being the one-off prefill of the frozen bottom.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.collect.config import load_config  # noqa: E402
from lib.collect.curricula import run_seed, sample_curriculum  # noqa: E402
from lib.collect.encoding import make_batch  # noqa: E402
from lib.collect.evaluate import Evaluator  # noqa: E402
from lib.collect.examples import draw_examples  # noqa: E402
from lib.collect.head import batch_loss  # noqa: E402
from lib.collect.initial_model import initial_model, wants_eos  # noqa: E402
from lib.collect.optimizer import adamw_linear_decay  # noqa: E402


DECODE_CONFIGS = ("configs/paper_size/webnlg.toml", "configs/paper_size/wmt16_de_en.toml")


def timed(fn, repeats: int) -> tuple[float, object]:
    """(best wall seconds of `repeats` calls, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


class _GenerationClock:
    """Wraps an evaluator's generation to add up its seconds (of `clock`)."""

    def __init__(self, evaluator: Evaluator, clock):
        self.seconds, self._inner, self.clock = 0.0, evaluator._generate, clock
        evaluator._generate = self

    def __call__(self, *args, **kwargs):
        t = self.clock()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += self.clock() - t


PAIRS = {"decode": ({"lean": False}, {"lean": True, "memo": False}),  # generate against the lean loop
         "memo": ({"lean": True, "memo": False}, {"lean": True, "memo": True})}  # the lean loop without / with memo


def compare_steps(config, examples, start, tests, steps: int, clock=time.process_time,
                  pair: str = "decode") -> tuple[float, float, float, float]:
    """The evaluators of `PAIRS[pair]` ("old", "new") at each of the first `steps` training steps of run 0.
    Returns the mean seconds of both generations and both evaluations over the steps after step 0 (whose evaluation
    also builds the prompt prefixes)."""
    t_cfg = config.training
    source = examples.unseen if config.run_split(0) in config.runs.unseen_splits else examples.pool
    curriculum = sample_curriculum(np.array([int(e.id) for e in source]), subset_size=t_cfg.subset_size,
                                   batch_size=t_cfg.batch_size, epochs=t_cfg.epochs, seed=config.runs.seed,
                                   run_index=0)
    model, parts, device = start.model, start.parts, torch.device("cpu")
    optimizer, scheduler = adamw_linear_decay(model, t_cfg, lr=t_cfg.lr, steps=curriculum.steps, fused=True)
    batches = [make_batch([start.encoded[int(i)] for i in row], start.pad_id, start.states)
               for row in curriculum.batches[:steps]]

    def evaluator(options: dict) -> Evaluator:
        return Evaluator(start.tokenizer, tests, settings=config.evaluation, metrics=config.metrics,
                         max_length=config.model.max_length, append_eos=wants_eos, device=device, bf16=False,
                         states=start.states, **options)

    old, new = (evaluator(options) for options in PAIRS[pair])
    clocks = {"old": _GenerationClock(old, clock), "new": _GenerationClock(new, clock)}
    print(f"{'step':>4} {'train':>6} {'gen old':>8} {'gen new':>8} {'ratio':>6} {'eval old':>9} {'eval new':>9} "
          f"{'ratio':>6} identical")
    rows = []
    torch.manual_seed(run_seed(config.runs.seed, 0))
    for t in range(steps + 1):
        train = 0.0
        if t:
            t0 = clock()
            loss, _, _ = batch_loss(parts, batches[t - 1])
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            train = clock() - t0
        results, seconds, generation = {}, {}, {}
        for name in (("old", "new") if t % 2 == 0 else ("new", "old")):
            before_gen = clocks[name].seconds
            t0 = clock()
            results[name] = (old if name == "old" else new)(model, parts)
            seconds[name] = clock() - t0
            generation[name] = clocks[name].seconds - before_gen
        a, b = results["old"], results["new"]
        same = sum(x == y for x, y in zip(a.generations, b.generations))
        scores_equal = all(np.array_equal(a.scores[m], b.scores[m]) for m in a.scores)
        rows.append((train, generation["old"], generation["new"], seconds["old"], seconds["new"]))
        memos = list(new._memos.values()) if new.memo else []
        served = f", memo served {sum(m.hits for m in memos) / max(1, sum(m.hits + m.misses for m in memos)):.0%} " \
            "of row-steps so far" if memos else ""
        losses_equal = np.array_equal(a.losses, b.losses)
        print(f"{t:>4} {train:6.2f} {generation['old']:8.2f} {generation['new']:8.2f} "
              f"{generation['old'] / generation['new']:6.2f} {seconds['old']:9.2f} {seconds['new']:9.2f} "
              f"{seconds['old'] / seconds['new']:6.2f} {same}/{len(a.generations)} generations, "
              f"scores {'equal' if scores_equal else 'DIFFER'}, losses {'equal' if losses_equal else 'DIFFER'}{served}",
              flush=True)
    return tuple(float(x) for x in np.array(rows[1:] or rows)[:, 1:].mean(axis=0))


def evaluator_with(config, start, tests, memo: bool = True, **overrides) -> Evaluator:
    """An evaluator of `tests` on the warm-started model, with the config's evaluation settings but `overrides`."""
    settings = config.with_overrides(evaluation=overrides).evaluation if overrides else config.evaluation
    return Evaluator(start.tokenizer, tests, settings=settings, metrics=config.metrics,
                     max_length=config.model.max_length, append_eos=wants_eos, device=torch.device("cpu"),
                     bf16=False, states=start.states, memo=memo)


def compare_prefix(config, start, tests, repeats: int) -> None:
    """Whole-model prefill against the cached prompt prefix on the warm-started model."""
    model, top = start.model.eval(), start.parts.top

    whole, cached = evaluator_with(config, start, tests), evaluator_with(config, start, tests)
    with torch.inference_mode():
        t_first, _ = timed(lambda: cached._generate(model, top), 1)
        t_whole, texts_whole = timed(lambda: whole._generate(model, None), repeats)
        t_prefix, texts_prefix = timed(lambda: cached._generate(model, top), repeats)
        prefill = evaluator_with(config, start, tests, max_new_tokens=1)
        t_prefill, _ = timed(lambda: prefill._generate(model, None), repeats)
    print(f"  whole-model generation   {t_whole:8.2f} s per evaluation")
    print(f"  from the prompt prefix   {t_prefix:8.2f} s per evaluation  ({t_whole / t_prefix:.2f}x faster)")
    print(f"  prefix, once per run     {max(t_first - t_prefix, 0.0):8.2f} s")
    print(f"  prefill only (1 token)   {t_prefill:8.2f} s ({t_prefill / t_whole:.0%} of a whole-model generation)")
    same = sum(a == b for a, b in zip(texts_whole, texts_prefix))
    print(f"  identical generations    {same} of {len(texts_whole)}")


def compare_sampler(config, start, tests, repeats: int) -> None:
    """decoding "sample" (transformers' temperature and top-p warpers) against "sample_fast" (the same filter found
    among the most probable tokens, lib/collect/nucleus.py) on the warm-started model, alternating, CPU seconds."""
    model, top = start.model.eval(), start.parts.top

    warped, fast = (evaluator_with(config, start, tests, decoding=d) for d in ("sample", "sample_fast"))
    seconds = {"sample": [], "sample_fast": []}
    with torch.inference_mode():
        warped._generate(model, top), fast._generate(model, top)  # fills both prompt-prefix caches
        for k in range(repeats):
            for name, ev in ((("sample", warped), ("sample_fast", fast)) if k % 2 == 0 else
                             (("sample_fast", fast), ("sample", warped))):
                t = time.process_time()
                texts = ev._generate(model, top)
                seconds[name].append(time.process_time() - t)
                if name == "sample":
                    texts_warped = texts
                else:
                    texts_fast = texts
    a, b = min(seconds["sample"]), min(seconds["sample_fast"])
    print(f"  sample (transformers' warpers)  {a:8.2f} CPU s per evaluation's generation")
    print(f"  sample_fast (candidate nucleus) {b:8.2f} CPU s per evaluation's generation  ({a / b:.2f}x faster)")
    same = sum(x == y for x, y in zip(texts_warped, texts_fast))
    print(f"  identical generations           {same} of {len(texts_warped)} (same seed)")


def compare_batch(config, start, tests, batch_size: int, repeats: int) -> None:
    """The lean loop with the config's generation batch size against `batch_size` on the warm-started model,
    alternating, CPU seconds (the first call of each builds its prompt prefixes and is left out), without the trunk
    memo: it would serve every repeated evaluation of one model in full."""
    model, top = start.model.eval(), start.parts.top

    sizes = (config.evaluation.batch_size, batch_size)
    evaluators = {size: evaluator_with(config, start, tests, memo=False, batch_size=size) for size in sizes}
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    texts = {}
    with torch.inference_mode():
        for ev in evaluators.values():
            ev._generate(model, top)
        for k in range(repeats):
            for size in (sizes if k % 2 == 0 else sizes[::-1]):
                t = time.process_time()
                texts[size] = evaluators[size]._generate(model, top)
                seconds[size].append(time.process_time() - t)
    a, b = (min(seconds[size]) for size in sizes)
    print(f"  batch {sizes[0]:>3} (config)  {a:8.2f} CPU s per evaluation's generation")
    print(f"  batch {sizes[1]:>3}           {b:8.2f} CPU s per evaluation's generation  ({b / a:.2f}x the config's)")
    same = sum(x == y for x, y in zip(*texts.values()))
    print(f"  identical generations {same} of {len(tests)} (the batch decides each row's random draws)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", nargs="+", default=None,
                        help="collection config(s); default webnlg (--decode: webnlg and wmt16_de_en), paper size")
    parser.add_argument("--decode", action="store_true", help="compare generate and the lean decode loop (the default)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps of run 0 to compare after step 0 (default 1)")
    parser.add_argument("--memo", action="store_true",
                        help="compare the lean loop without and with the trunk memo (lib/collect/trunk_memo.py)")
    parser.add_argument("--prefix", action="store_true", help="compare whole-model prefill and the prompt prefix")
    parser.add_argument("--sampler", action="store_true", help="compare decoding sample and sample_fast")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="compare the config's generation batch size with this one (lean loop, warm-started model)")
    parser.add_argument("--repeats", type=int, default=2, help="timing repeats of --prefix / --sampler / --batch-size")
    parser.add_argument("--tests", type=int, default=None, help="use the first N test examples only")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wall", action="store_true", help="time wall seconds, not CPU seconds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    configs = args.config or ([DECODE_CONFIGS[0]] if args.prefix or args.sampler or args.batch_size
                              else list(DECODE_CONFIGS))
    steps = args.steps if args.steps is not None else 1
    summary = []
    for path in configs:
        config = load_config(path)
        if config.model.regime != "top" or not config.generation_metrics:
            raise SystemExit(f"{path}: needs [model] regime = \"top\" and a generation metric")
        examples = draw_examples(config)
        start = initial_model(config, examples, torch.device("cpu"))
        tests = examples.test[: args.tests]
        e = config.evaluation
        print(f"{config.name}: {len(tests)} of {len(examples.test)} prompts, batch {e.batch_size}, max_new_tokens "
              f"{e.max_new_tokens}, {e.decoding} decoding, {args.threads} thread(s), "
              f"{'wall' if args.wall else 'CPU'} seconds", flush=True)
        if args.prefix:
            compare_prefix(config, start, tests, args.repeats)
        elif args.sampler:
            compare_sampler(config, start, tests, args.repeats)
        elif args.batch_size:
            compare_batch(config, start, tests, args.batch_size, args.repeats)
        else:
            print("old: the lean decode loop; new: with the trunk memo (lib/collect/trunk_memo.py)" if args.memo else
                  "old: transformers' generate; new: the lean decode loop (lib/collect/decode.py)")
            means = compare_steps(config, examples, start, tests, steps,
                                  clock=time.perf_counter if args.wall else time.process_time,
                                  pair="memo" if args.memo else "decode")
            summary.append((config.name, len(tests), *means))
    if summary:
        print(f"\nmean over steps {1 if steps else 0}-{steps} ({'wall' if args.wall else 'CPU'} seconds per evaluation; "
              f"step 0 also builds the prompt prefixes; --tests/--steps make the run shorter):")
        print(f"{'collection':<24} {'prompts':>7} {'gen old':>8} {'gen new':>8} {'ratio':>6} {'eval old':>9} "
              f"{'eval new':>9} {'ratio':>6}")
        for name, n, gen_old, gen_new, ev_old, ev_new in summary:
            print(f"{name:<24} {n:>7} {gen_old:8.2f} {gen_new:8.2f} {gen_old / gen_new:6.2f} {ev_old:9.2f} "
                  f"{ev_new:9.2f} {ev_old / ev_new:6.2f}")

if __name__ == "__main__":
    main()
