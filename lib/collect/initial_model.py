"""Every run's starting point: the loaded GPT set up for its regime, warm-started, with its encoded examples.

Full fine-tuning and LoRA train the whole forward; the top-block regime ("top") freezes all but the top k
blocks, the final norm and (head = "untied") an untied copy of the LM head, and computes the frozen
bottom's boundary states of every example of the collection once (cached on disk, shared by every run).
The optional format warm-start then trains the same parameters once on a disjoint set; its checkpoint is
cached, so every run starts from the same weights.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from lib.data import get_task
from lib.models import LoraSettings, apply_lora, load_causal_lm

from .config import CollectionConfig
from .encoding import EncodedExample, encode_examples
from .examples import CollectionExamples
from .head import LMParts, lm_parts
from .top_blocks import TopBlocks, boundary_key, boundary_states, untie_head
from .warmup import warm_start


@dataclass
class InitialModel:
    """A model ready for a run: its parts, tokenizer, encoded examples and (top regime) boundary states."""

    model: torch.nn.Module
    tokenizer: object
    parts: LMParts
    encoded: dict[int, EncodedExample]  # every example of the collection, by id
    states: dict[int, torch.Tensor] | None = None  # boundary states by id (top regime), else None
    warmup: dict = field(default_factory=dict)  # warm-up summary (key, batch losses), empty without warm-up

    @property
    def pad_id(self) -> int:
        """The tokenizer's padding id."""
        return int(self.tokenizer.pad_token_id)


_BASE_CACHE: dict[tuple, tuple] = {}


def load_base_model(config: CollectionConfig):
    """(model, tokenizer) as loaded (cached per process; callers get a private copy of the model)."""
    key = (config.model.name, config.runtime.cache_dir)
    if key not in _BASE_CACHE:
        _BASE_CACHE.clear()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.runs.seed)
            _BASE_CACHE[key] = load_causal_lm(config.model.name, cache_dir=config.runtime.cache_dir)
    base, tokenizer = _BASE_CACHE[key]
    return copy.deepcopy(base), tokenizer


def wants_eos(example) -> bool:
    """Generation targets end with EOS (so generations learn to stop); classification answers do not."""
    return get_task(example.task).kind == "generation"


def initial_model(config: CollectionConfig, examples: CollectionExamples,
                  device: torch.device | str = "cpu") -> InitialModel:
    """The model every run of the collection starts from, on `device`, in train mode."""
    m = config.model
    model, tokenizer = load_base_model(config)
    if m.regime == "lora":
        settings = LoraSettings(r=m.lora_r, alpha=m.lora_alpha, dropout=m.lora_dropout, target_modules=m.lora_targets)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.runs.seed)
            model = apply_lora(model, settings)
    top = None
    if m.regime == "top":
        top = TopBlocks(model, m.top_blocks)
        if m.head == "untied":
            untie_head(model)
        top.freeze_bottom(model, train_head=m.head == "untied")
    model.to(device)
    model.train()
    encoded = encode_examples(tokenizer, list(examples.by_id().values()), max_length=m.max_length,
                              append_eos=wants_eos)
    ordered = [encoded[i] for i in sorted(encoded)]
    states = None
    if top is not None:
        key = boundary_key(m.name, m.top_blocks, tokenizer, ordered)
        states = boundary_states(top, ordered, key=key, pad_id=int(tokenizer.pad_token_id),
                                 batch_size=config.evaluation.batch_size, cache_dir=config.runtime.cache_dir,
                                 device=device)
    parts = lm_parts(model, top)
    summary = {}
    if config.warmup.enabled:
        warm = [encoded[int(e.id)] for e in examples.warmup]
        summary = warm_start(config, model, parts, warm, pad_id=int(tokenizer.pad_token_id), states=states,
                             device=torch.device(device))
    return InitialModel(model=model, tokenizer=tokenizer, parts=parts, encoded=encoded, states=states,
                        warmup=summary)
