"""Train a finished run of a collection again, to get the model it ended with (weights are never stored).

A run is a pure function of its config, its index and the examples (lib/collect/train_run.py), and the
collector is bitwise deterministic for a given torch version and thread count, so training the run's
curriculum again from the same starting model gives the same weights. `replay_run` checks that it did:
every step's training loss and the final test losses must equal the stored ones exactly, otherwise it
raises ReplayMismatch (another torch version or thread count changes the last bits). It skips what does
not change the weights: the per-step evaluations and gradient dot products (about 70 % of a run's time).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from lib.cores import available_cores
from lib.precision import bf16_autocast

from .config import CollectionConfig, load_config
from .curricula import run_seed, sample_curriculum
from .encoding import make_batch
from .evaluate import Evaluator
from .examples import CollectionExamples, draw_examples
from .folder import read_header
from .head import batch_loss
from .initial_model import InitialModel, initial_model, wants_eos
from .optimizer import adamw_linear_decay
from .run_schema import RunRecord
from .stored import StoredCollection


class ReplayMismatch(RuntimeError):
    """The replayed run differs from the stored one (another torch version or thread count?)."""


@dataclass
class ReplayedRun:
    """A run trained again: its model (now at theta_T), the stored record it matched, and the replay's timing."""

    run_index: int
    config: CollectionConfig
    examples: CollectionExamples
    model: InitialModel  # model, parts, tokenizer, encoded examples and boundary states, at the final weights
    record: RunRecord  # the stored run
    final_losses: np.ndarray  # test losses of the replayed model, in the collection's test order
    seconds: float


def replay_run(collection: str | os.PathLike, run_index: int, *, device: str | torch.device = "cpu",
               on_step: Callable[[int, InitialModel], None] | None = None) -> ReplayedRun:
    """Retrain run `run_index` of a collection folder, check it against the stored run, return its final model.

    `on_step(t, model)` is called after each update t = 1..T (e.g. to score a TracIn checkpoint).
    """
    start = time.perf_counter()
    folder = Path(collection)
    header = read_header(folder)
    config = load_config(header["config"])
    if config.config_hash != header["config_hash"]:
        raise ReplayMismatch(f"{folder}: its config hashes to {config.config_hash[:12]} here, "
                             f"{header['config_hash'][:12]} when collected (collector changed?)")
    examples = draw_examples(config)
    if examples.fingerprint() != header["examples"]["fingerprint"]:
        raise ReplayMismatch(f"{folder}: the examples drawn now differ from the collected ones")
    record = next((r for r in StoredCollection(folder).runs() if r.run_index == run_index), None)
    if record is None:
        raise ValueError(f"{folder} has no finished run {run_index}")
    device = torch.device(device)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.runtime.threads or available_cores())
    try:
        start_model = _train(config, examples, run_index, record, device, on_step)
        final = _final_losses(config, examples, start_model, device)
    finally:
        torch.set_num_threads(threads)
    stored = record.values["loss"][-1] if "loss" in record.values else None
    if stored is not None and not np.array_equal(final, stored):
        worst = float(np.max(np.abs(final - stored)))
        raise ReplayMismatch(f"run {run_index}: the replayed final test losses differ from the stored ones "
                             f"(max |diff| {worst:.3g})")
    return ReplayedRun(run_index=run_index, config=config, examples=examples, model=start_model, record=record,
                       final_losses=final, seconds=time.perf_counter() - start)


def _train(config: CollectionConfig, examples: CollectionExamples, run_index: int, record: RunRecord,
           device: torch.device, on_step) -> InitialModel:
    """The run's updates, as train_run makes them, checking each step's curriculum and training loss."""
    t_cfg = config.training
    source = examples.unseen if config.run_split(run_index) in config.runs.unseen_splits else examples.pool
    curriculum = sample_curriculum(np.array([int(e.id) for e in source]), subset_size=t_cfg.subset_size,
                                   batch_size=t_cfg.batch_size, epochs=t_cfg.epochs, seed=config.runs.seed,
                                   run_index=run_index)
    if not np.array_equal(curriculum.batches, record.curriculum):
        raise ReplayMismatch(f"run {run_index}: the curriculum drawn now differs from the stored one")
    start = initial_model(config, examples, device)
    optimizer, scheduler = adamw_linear_decay(start.model, t_cfg, lr=t_cfg.lr, steps=curriculum.steps,
                                              fused=config.model.regime == "top")
    torch.manual_seed(run_seed(config.runs.seed, run_index))  # dropout draws, as train_run
    for t, row in enumerate(curriculum.batches, start=1):
        batch = make_batch([start.encoded[int(i)] for i in row], start.pad_id, start.states).to(device)
        with bf16_autocast(device.type, t_cfg.bf16):
            loss, _, _ = batch_loss(start.parts, batch)
        loss.backward()
        if float(loss.detach()) != record.train_losses[t - 1]:
            raise ReplayMismatch(f"run {run_index}, step {t}: training loss {float(loss.detach())!r} replayed, "
                                 f"{record.train_losses[t - 1]!r} stored")
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if on_step is not None:
            on_step(t, start)
    start.model.eval()
    return start


def _final_losses(config: CollectionConfig, examples: CollectionExamples, start: InitialModel,
                  device: torch.device) -> np.ndarray:
    """Test losses of the model as the collector's evaluator computes them."""
    evaluator = Evaluator(start.tokenizer, examples.test, settings=config.evaluation, metrics=["loss"],
                          max_length=config.model.max_length, append_eos=wants_eos, device=device,
                          bf16=config.training.bf16, states=start.states)
    return evaluator(start.model, start.parts).losses
