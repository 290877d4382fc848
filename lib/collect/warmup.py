"""The format warm-start: one fine-tuning on examples disjoint from the collection, before any run.

A model fine-tuned from scratch on a task first learns the answer format (the committed full fine-tuning
collections spend 68-82% of their loss change in the first 2 steps, the same in every run), which no
curriculum changes. Warming up once on a disjoint set, in the same regime as the runs, and starting every
run from that checkpoint leaves the runs with the part of learning that depends on the curriculum.
The checkpoint (the trained parameters only) is cached on disk under a key of everything that decides it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from typing import Sequence

import numpy as np
import torch

from lib.paths import cache_dir as default_cache_dir

from .config import CollectionConfig
from .encoding import EncodedExample, make_batch
from .head import LMParts, batch_loss
from .optimizer import adamw_linear_decay

log = logging.getLogger("lib.collect")

def warmup_batches(config: CollectionConfig, example_ids: Sequence[int]) -> np.ndarray:
    """[steps, batch] example ids: seeded reshuffles of the warm-up set, one after another, cut into batches."""
    w = config.warmup
    rng = np.random.default_rng(np.random.SeedSequence([w.seed, 2]))
    ids = np.sort(np.asarray(example_ids, dtype=np.int64))
    needed = w.steps * w.batch_size
    order = np.concatenate([rng.permutation(ids) for _ in range(-(-needed // len(ids)))])
    return order[:needed].reshape(w.steps, w.batch_size)


def warmup_key(config: CollectionConfig, encoded: Sequence[EncodedExample]) -> str:
    """Cache key of a warm-up checkpoint: model and regime, warm-up and optimizer settings, the examples' tokens."""
    hashed = config.hashed_dict()
    payload = {"model": hashed["model"], "warmup": hashed.get("warmup"), "bf16": hashed["training"]["bf16"],
               "optimizer": {k: hashed["training"][k] for k in ("weight_decay", "adam_beta1", "adam_beta2", "adam_eps")},
               "seed": config.runs.seed, "collector_version": hashed["collector_version"],
               "examples": [[e.example_id, list(e.input_ids)] for e in encoded]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def warm_start(config: CollectionConfig, model: torch.nn.Module, parts: LMParts, encoded: Sequence[EncodedExample],
               *, pad_id: int, states=None, device: torch.device) -> dict:
    """Load the cached warm-up checkpoint into `model`, or train it once (and cache it); returns its summary."""
    key = warmup_key(config, encoded)
    path = default_cache_dir(config.runtime.cache_dir) / "warmup" / f"{key}.pt"
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state"], strict=False)
        return {"key": key, "losses": saved["losses"].tolist(), "cached": True}
    by_id = {e.example_id: e for e in encoded}
    batches = warmup_batches(config, list(by_id))
    optimizer, scheduler = adamw_linear_decay(model, config.training, lr=config.warmup.lr, steps=len(batches),
                                               fused=config.model.regime == "top")
    losses = []
    model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.warmup.seed)
        for row in batches:
            batch = make_batch([by_id[int(i)] for i in row], pad_id, states).to(device)
            loss, _, _ = batch_loss(parts, batch)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
    log.info("warm-up: %d steps on %d examples, batch loss %.3f -> %.3f", len(batches), len(by_id), losses[0],
             losses[-1])
    state = {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}.{uuid.uuid4().hex}")
    torch.save({"state": state, "losses": torch.tensor(losses)}, tmp)
    os.replace(tmp, path)
    return {"key": key, "losses": losses, "cached": False}
