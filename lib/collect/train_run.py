"""One training run: sample its curriculum, fine-tune the GPT step by step and record the test metrics.

The run is a pure function of (config, run index, examples): the curriculum comes from
`curricula.sample_curriculum` seeded by (runs.seed, run index), the initial model is the same for
every run (lib/collect/initial_model.py: regime set up, LoRA adapters initialised under the collection
seed, the warm-up checkpoint loaded when configured), dropout is seeded per run and the
generation seed is fixed. Training: AdamW (betas, eps, weight decay from the config; no weight decay
on 1-D parameters -- biases and norms -- as in the Hugging Face Trainer the official code used),
linear decay from `lr` to 0 over the T steps, no warmup. A batch's loss is the mean over its examples
of each example's mean NLL over its target tokens (the same per-example loss the test metric and the
gradient dot products use), computed with the LM head at the target positions only.
"""
from __future__ import annotations

import gc
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from lib.dynamics import GRAD_SETTINGS
from lib.cores import available_cores
from lib.precision import bf16_autocast

from .config import CollectionConfig
from .curricula import Curriculum, checkpoint_for_step, checkpoint_steps, run_seed, sample_curriculum
from .encoding import length_sorted_batches, make_batch
from .evaluate import Evaluator
from .examples import CollectionExamples
from .gradients import HeadStats, grad_dots, self_dots
from .head import LMParts, batch_loss, head_logits, target_hidden, token_nll
from .initial_model import initial_model, wants_eos
from .optimizer import adamw_linear_decay
from .run_schema import RunRecord


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _subset_stats(model, parts: LMParts, batches, device: torch.device, bf16: bool) -> tuple[HeadStats, np.ndarray]:
    """LM-head gradient factors of the training subset at the current model (eval mode) and their example ids."""
    stats = []
    model.eval()
    try:
        with torch.inference_mode(), bf16_autocast(device.type, bf16):
            for batch in batches:
                hidden = target_hidden(parts, batch)
                _, logp = token_nll(head_logits(parts, hidden), batch.targets)
                stats.append(HeadStats.build(parts, hidden, logp, batch.targets, batch.token_example, batch.size))
    finally:
        model.train()
    ids = np.concatenate([b.example_ids for b in batches])
    return HeadStats.concat(stats), ids


def train_run(config: CollectionConfig, run_index: int, examples: CollectionExamples, *,
              device: str | torch.device | None = None, progress: bool = True, position: int = 1,
              curriculum: Curriculum | None = None) -> RunRecord:
    """Train run `run_index` of the collection and record its curriculum, trajectories and gradient data.

    `curriculum` (ids of the collection's examples) replaces the sampled one, e.g. a designed curriculum
    (lib.collect.designed_runs): everything else -- initial model, optimizer over its steps, seed, evaluation -- is
    the run's as collected.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    device = torch.device(device) if device is not None else default_device()
    threads = config.runtime.threads or available_cores()
    torch.set_num_threads(threads)
    t_cfg, bf16 = config.training, config.training.bf16
    split = config.run_split(run_index)
    seed = run_seed(config.runs.seed, run_index)
    source = examples.unseen if split in config.runs.unseen_splits else examples.pool
    if curriculum is None:
        curriculum = sample_curriculum(np.array([int(e.id) for e in source]), subset_size=t_cfg.subset_size,
                                       batch_size=t_cfg.batch_size, epochs=t_cfg.epochs, seed=config.runs.seed,
                                       run_index=run_index)
    steps = curriculum.steps

    start_model = initial_model(config, examples, device)
    model, tokenizer, parts, encoded, states = (start_model.model, start_model.tokenizer, start_model.parts,
                                                start_model.encoded, start_model.states)
    loaded = time.perf_counter()
    optimizer, scheduler = adamw_linear_decay(model, t_cfg, lr=t_cfg.lr, steps=steps,
                                               fused=config.model.regime == "top")
    pad = start_model.pad_id
    train_batches = [make_batch([encoded[int(i)] for i in row], pad, states).to(device) for row in curriculum.batches]
    evaluator = Evaluator(tokenizer, examples.test, settings=config.evaluation, metrics=config.metrics,
                          max_length=config.model.max_length, append_eos=wants_eos, device=device, bf16=bf16,
                          states=states)
    test_ids = evaluator.test_ids
    n_tests = len(test_ids)
    record = config.records_gradients(run_index)

    values = {m: np.full((steps + 1, n_tests), np.nan) for m in config.metrics}
    generations: list[list[str]] | None = [] if config.generation_metrics else None
    learning_rates = np.zeros(steps)
    train_losses = np.zeros(steps)
    timing = {"train_seconds": 0.0, "eval_seconds": 0.0, "gradient_seconds": 0.0}
    dots: dict[str, np.ndarray] = {}
    self_influence = np.zeros(len(curriculum.subset))
    checkpoints = None
    if record:
        checkpoints = checkpoint_steps(steps, config.gradients.checkpoints)
        dots = {k: np.full((steps, t_cfg.batch_size, n_tests), np.nan) for k in GRAD_SETTINGS}
        subset_batches = [b.to(device) for b in length_sorted_batches(
            [encoded[int(i)] for i in curriculum.subset], config.evaluation.batch_size, pad, states)]
        uses = np.array([checkpoint_for_step(s, checkpoints) for s in range(1, steps + 1)])
        subset_row = {int(i): r for r, i in enumerate(curriculum.subset)}
        checkpoint_set = set(checkpoints.tolist())

    def evaluate(step: int):
        t0 = time.perf_counter()
        result = evaluator(model, parts, want_stats=record)
        for metric in config.metrics:
            values[metric][step] = result.losses if metric == "loss" else result.scores[metric]
        if generations is not None:
            generations.append(result.generations)
        timing["eval_seconds"] += time.perf_counter() - t0
        return result

    def to_test_order(matrix: torch.Tensor) -> np.ndarray:
        out = np.empty((matrix.shape[0], n_tests))
        out[:, evaluator.sorted_index] = matrix.cpu().numpy()
        return out

    torch.manual_seed(seed)  # dropout (LoRA) draws of this run
    previous = evaluate(0)
    bar = tqdm(total=steps, desc=f"run {run_index:04d} ({split})", unit="step", position=position, leave=False,
               disable=not progress, dynamic_ncols=True)
    for t in range(1, steps + 1):
        t0 = time.perf_counter()
        batch = train_batches[t - 1]
        learning_rates[t - 1] = scheduler.get_last_lr()[0]
        with bf16_autocast(device.type, bf16):
            loss, hidden, logp = batch_loss(parts, batch)
        loss.backward()
        train_losses[t - 1] = float(loss.detach())
        timing["train_seconds"] += time.perf_counter() - t0
        if record:
            g0 = time.perf_counter()
            with torch.no_grad():
                stats = HeadStats.build(parts, hidden, logp, batch.targets, batch.token_example, batch.size)
                dots["all"][t - 1] = to_test_order(grad_dots(stats, previous.stats))
            del stats
            timing["gradient_seconds"] += time.perf_counter() - g0
        t0 = time.perf_counter()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        del hidden, logp, loss
        timing["train_seconds"] += time.perf_counter() - t0
        current = evaluate(t)
        if record and t in checkpoint_set:
            g0 = time.perf_counter()
            sub, sub_ids = _subset_stats(model, parts, subset_batches, device, bf16)
            with torch.no_grad():
                matrix = to_test_order(grad_dots(sub, current.stats))  # [subset (sorted), tests]
                norms = self_dots(sub).cpu().numpy()
            row_of = {int(i): r for r, i in enumerate(sub_ids)}
            for i, norm in zip(sub_ids, norms):
                self_influence[subset_row[int(i)]] += learning_rates[t - 1] * norm
            for s in np.flatnonzero(uses == t) + 1:
                dots["ckpt10"][s - 1] = matrix[[row_of[int(i)] for i in curriculum.batches[s - 1]]]
            if t == steps:
                for s in range(1, steps + 1):
                    dots["final"][s - 1] = matrix[[row_of[int(i)] for i in curriculum.batches[s - 1]]]
            del sub
            timing["gradient_seconds"] += time.perf_counter() - g0
        previous = current
        bar.update(1)
        bar.set_postfix(loss=f"{train_losses[t - 1]:.3f}", test=f"{np.mean(values[config.metrics[0]][t]):.3f}")
    bar.close()
    wall = time.perf_counter() - start
    # cpu_seconds: the process's CPU time, the run's own cost on a shared machine (wall time grows with the load)
    timing.update(wall_seconds=wall, cpu_seconds=time.process_time() - cpu_start, load_seconds=loaded - start,
                  steps_per_second=steps / max(wall - (loaded - start), 1e-9),
                  train_tokens=float(sum(b.tokens for b in train_batches)),
                  eval_tokens_per_step=float(evaluator.eval_tokens))
    environment = {"device": str(device), "threads": threads, "torch": torch.__version__, "bf16": bf16,
                   "model_parameters": int(sum(p.numel() for p in model.parameters())),
                   "trainable_parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
                   "regime": config.model.regime, "warmup_cached": bool(start_model.warmup.get("cached", False))}
    result = RunRecord(
        run_index=run_index, split=split, seed=seed, config_hash=config.config_hash, subset=curriculum.subset,
        curriculum=curriculum.batches, learning_rates=learning_rates, train_losses=train_losses, test_ids=test_ids,
        values=values, generations=generations, grad_dots=dots,
        self_influence={int(i): float(v) for i, v in zip(curriculum.subset, self_influence)} if record else {},
        checkpoints=checkpoints, timing=timing, environment=environment)
    del model, optimizer, scheduler, previous, current, start_model
    gc.collect()
    return result
