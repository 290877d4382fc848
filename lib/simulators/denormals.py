"""Denormal floats flushed to zero while a simulator trains: Adam's moment estimates of parameters whose gradient
has become zero (a ReLU unit no example activates) decay into the denormal range, where every CPU operation on
them is many times slower; a paper-size GPTfluence fit ran at half speed after its first 1,500 epochs
(benchmarks/bench_gptfluence_full_batch.py). Values below 1e-38 change no fit's result that matters."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def flushed_denormals() -> Iterator[bool]:
    """Flush denormals to zero inside the block (yields whether this CPU supports it), then restore torch's default
    (off): torch has no getter for the setting, so a caller that had turned it on gets it off afterwards."""
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        torch.set_flush_denormal(False)
