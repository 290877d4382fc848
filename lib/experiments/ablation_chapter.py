"""Chapter 05 in one call: the four ablations and Simfluence's variants, in worker processes side by side where the
scale's grid groups them so (at paper size the Markov orders alone cost as much as all the rest).

Each group of parts (`AblationGrid.process_groups`) runs `ablations.run(parts=...)` (and
`simfluence_variants.run` for the group holding VARIANTS) in a process of its own, which loads the encoder by
name; the partial results are merged. Every fit and bootstrap is seeded, so the numbers do not depend on the
grouping (only fits shared between groups are made twice).
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

from lib.cores import available_cores
from lib.encoders import load_encoder
from lib.experiments import ablations, simfluence_variants
from lib.experiments.ablations import ABLATIONS, VARIANTS, AblationResult, ablation_grid
from lib.experiments.simfluence_variants import SimfluenceResult
from lib.scales import get_scale

PART_FIELDS = {
    "interval": ("interval", "interval_steps", "interval_differences"),
    "order": ("orders", "order_steps", "order_differences"),
    "encoder": ("encoders", "encoder_differences"),
    "size": ("sizes", "size_models", "size_differences"),
}
"""The fields of AblationResult that each ablation fills."""


def run_group(scale: str, parts: Sequence[str], *, encoder=None, data_dir: str | os.PathLike | None = None,
              encoder_loader=None) -> tuple[AblationResult, SimfluenceResult | None]:
    """The chapter's `parts` at `scale`: the ablations among them (`ablations.run`) and, if VARIANTS is one,
    Simfluence's variants. `encoder` defaults to the scale's, loaded here (a worker process loads its own)."""
    import torch

    torch.set_num_threads(1)  # one core per group: the groups run side by side
    encoder = encoder if encoder is not None else load_encoder(get_scale(scale).encoder)
    result = ablations.run(scale, encoder=encoder, data_dir=data_dir, encoder_loader=encoder_loader,
                           parts=[p for p in parts if p in ABLATIONS])
    variants = simfluence_variants.run(scale, data_dir=data_dir) if VARIANTS in parts else None
    return result, variants


def merge(results: Sequence[tuple[Sequence[str], AblationResult]]) -> AblationResult:
    """One AblationResult from the partial results of `run_group` (each with the parts it ran): every part's fields
    from the result that ran it, the skipped parts, seconds and fit counts of all."""
    merged = results[0][1]
    for parts, result in results:
        for part in parts:
            merged = dataclasses.replace(merged, **{f: getattr(result, f) for f in PART_FIELDS.get(part, ())})
    return dataclasses.replace(
        merged,
        skipped=[s for _, r in results for s in r.skipped],
        seconds=dict(sorted(((k, v) for _, r in results for k, v in r.seconds.items()),
                            key=lambda kv: ABLATIONS.index(kv[0]))),
        fits_made=sum(r.fits_made for _, r in results), fits_reused=sum(r.fits_reused for _, r in results))


def run_chapter(scale: str, *, data_dir: str | os.PathLike | None = None, encoder=None, workers: int | None = None,
                context: str = "spawn") -> tuple[AblationResult, SimfluenceResult]:
    """The whole chapter at `scale`: (ablations, Simfluence's variants). With one process group (or `workers` = 1)
    everything runs in this process with the given `encoder`; otherwise each group runs in a worker process
    (`context`: multiprocessing start method), at most `workers` (default: the cores this process may use) at a
    time, loading the scale's encoder itself."""
    groups = ablation_grid(scale).process_groups
    workers = available_cores() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if len(groups) == 1 or workers == 1:
        encoder = encoder if encoder is not None else load_encoder(get_scale(scale).encoder)
        outcomes = [run_group(scale, group, encoder=encoder, data_dir=data_dir) for group in groups]
    else:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(groups)),
                                   mp_context=multiprocessing.get_context(context))
        with pool:
            futures = [pool.submit(run_group, scale, group, data_dir=data_dir) for group in groups]
            outcomes = [future.result() for future in futures]
    variants = next(v for _, v in outcomes if v is not None)
    merged = merge([(group, result) for group, (result, _) in zip(groups, outcomes)])
    parallel = len(groups) > 1 and workers > 1
    return dataclasses.replace(merged, side_by_side=tuple(groups) if parallel else ()), variants
