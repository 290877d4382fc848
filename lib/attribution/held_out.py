"""EK-FAC and TRAK scores of a collection's held-out runs: replay each run, score its final model, store.

For each run: `replay_run` trains it again (checked bitwise against the stored run), then every method
scores the run's training subset against the collection's test examples at the final weights (as
Grad-Dot does) and the matrix is written next to the collection (lib/attribution/store.py).
`self_score_run` scores instead every pool example against itself at that model (self_influence.py).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import torch

from lib.attribution.batches import example_set
from lib.attribution.ekfac import EKFACSettings, ekfac_scores, ekfac_self_scores
from lib.attribution.result import AttributionResult
from lib.attribution.self_influence import SelfInfluence
from lib.attribution.store import METHODS, save_scores, save_self_scores, score_path, self_score_path
from lib.attribution.trained_part import TrainedPart
from lib.attribution.trak import TRAKSettings, trak_scores, trak_self_scores
from lib.collect.folder import read_header
from lib.collect.replay import replay_run
from lib.cores import available_cores

log = logging.getLogger("lib.attribution")


def held_out_runs(collection: str | os.PathLike) -> list[int]:
    """Indices of the collection's test-split runs."""
    return [int(r["run"]) for r in read_header(Path(collection))["runs"] if r["split"] == "test"]


def unscored_methods(collection: str | os.PathLike, run_index: int, methods: Sequence[str] = METHODS, *,
                     self_influence: bool = False) -> list[str]:
    """Those of `methods` with no stored file for this run (pairwise scores, or self-influence with
    `self_influence`): what is left to compute, in the given order."""
    _check_methods(methods)
    path = self_score_path if self_influence else score_path
    return [m for m in methods if not path(collection, m, run_index).is_file()]


def _check_methods(methods: Sequence[str]) -> None:
    """Refuse unknown method names."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; valid: {METHODS}")


def score_run(collection: str | os.PathLike, run_index: int, methods: Sequence[str] = METHODS, *,
              ekfac: EKFACSettings = EKFACSettings(), trak: TRAKSettings = TRAKSettings(),
              save: bool = True) -> dict[str, AttributionResult]:
    """Replay one run, score its final model with each method, store the matrices (save) and return them."""
    _check_methods(methods)
    replayed = replay_run(collection, run_index)
    start = replayed.model
    part = TrainedPart(start.parts)
    train = example_set(start.encoded, start.states, replayed.record.subset)
    tests = example_set(start.encoded, start.states, replayed.record.test_ids)
    threads = torch.get_num_threads()
    torch.set_num_threads(replayed.config.runtime.threads or available_cores())
    out = {}
    try:
        for method in methods:
            result = ekfac_scores(part, train, tests, ekfac) if method == "ekfac" else trak_scores(part, train, tests,
                                                                                                    trak)
            result.seconds["replay"] = replayed.seconds
            result.info.update(run=run_index, replay="bitwise: every training loss and final test loss",
                               torch=torch.__version__, threads=torch.get_num_threads())
            out[method] = result
            if save:
                save_scores(collection, run_index, result)
            log.info("run %d %s: fit %.1f s, score %.1f s (replay %.1f s)", run_index, method, result.seconds["fit"],
                     result.seconds["score"], replayed.seconds)
    finally:
        torch.set_num_threads(threads)
    return out


def self_score_run(collection: str | os.PathLike, run_index: int, methods: Sequence[str] = METHODS, *,
                   ekfac: EKFACSettings = EKFACSettings(), trak: TRAKSettings = TRAKSettings(),
                   save: bool = True) -> dict[str, SelfInfluence]:
    """Replay one run and score every pool example against itself at its final model with each method
    (curvature estimated on the pool; lib/attribution/self_influence.py); store the vectors (save), return them."""
    _check_methods(methods)
    replayed = replay_run(collection, run_index)
    start = replayed.model
    part = TrainedPart(start.parts)
    pool = example_set(start.encoded, start.states, sorted(int(e.id) for e in replayed.examples.pool))
    threads = torch.get_num_threads()
    torch.set_num_threads(replayed.config.runtime.threads or available_cores())
    out = {}
    try:
        for method in methods:
            result = ekfac_self_scores(part, pool, ekfac) if method == "ekfac" else trak_self_scores(part, pool, trak)
            result.seconds["replay"] = replayed.seconds
            result.info.update(run=run_index, replay="bitwise: every training loss and final test loss",
                               torch=torch.__version__, threads=torch.get_num_threads(),
                               trained_ids=[int(i) for i in sorted(set(replayed.record.subset))])
            out[method] = result
            if save:
                save_self_scores(collection, run_index, result)
            log.info("run %d %s self-influence of %d pool examples: fit %.1f s, score %.1f s (replay %.1f s)",
                     run_index, method, len(pool), result.seconds["fit"], result.seconds["score"], replayed.seconds)
    finally:
        torch.set_num_threads(threads)
    return out
