"""Checks that need the model, run before a collection folder is touched: the model loads, and how many
examples `max_length` cuts (logged once per collection, per role)."""
from __future__ import annotations

import logging

from .config import CollectionConfig, ConfigError
from .encoding import encode_example
from .examples import CollectionExamples
from .initial_model import load_base_model, wants_eos

log = logging.getLogger("lib.collect")

UNCUT = 1 << 30  # a max_length no example reaches: encode_example then returns the full token counts


def resolve_model(config: CollectionConfig):
    """(model, tokenizer) of `config.model.name`, or ConfigError naming the model when it cannot load (loaded
    through the per-process cache the local executor's runs then reuse)."""
    try:
        return load_base_model(config)
    except ValueError as err:
        raise ConfigError(f"[model] name = {config.model.name!r} cannot be loaded: {err}") from None


def cut_counts(tokenizer, examples: CollectionExamples, max_length: int) -> dict[str, tuple[int, int]]:
    """role -> (examples longer than max_length tokens, examples) for the pool, test, unseen and warm-up sets."""
    counts = {}
    for role in ("pool", "test", "unseen", "warmup"):
        items = getattr(examples, role, ())
        if items:
            long = sum(encode_example(tokenizer, e, max_length=UNCUT, append_eos=wants_eos(e)).length > max_length
                       for e in items)
            counts[role] = (long, len(items))
    return counts


def preflight(config: CollectionConfig, examples: CollectionExamples) -> dict[str, tuple[int, int]]:
    """Load the model (a name that cannot load fails here, before any folder exists) and log the examples that
    `[model] max_length` cuts; returns the cut counts by role."""
    model, tokenizer = resolve_model(config)
    del model
    counts = cut_counts(tokenizer, examples, config.model.max_length)
    cut = {role: c for role, c in counts.items() if c[0]}
    if cut:
        log.warning("%s: [model] max_length = %d cuts %s (their prompts lose their beginning)", config.name,
                    config.model.max_length, ", ".join(f"{n} of {total} {role}" for role, (n, total) in cut.items()))
    return counts
