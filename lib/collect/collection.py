"""A whole collection: validate, draw the examples, skip finished runs, run the rest, write each atomically.

Resumable: a run is written only when finished (atomic folder rename), so an interrupted collection
(Ctrl-C, kill -9) loses at most the runs in progress, and calling `collect` again with the same config
and folder runs only the missing ones. Temporary folders of killed writers are removed at start, under
an exclusive lock on the folder. A config naming a sibling collection (`[runtime] reuse_runs_from`) first takes
over the runs that collection already recorded that are runs of this one (lib/collect/reuse.py).
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Sequence

from lib.paths import REPO_ROOT

from lib.cores import available_cores

from .config import CollectionConfig, ConfigError, load_config
from .examples import draw_examples
from .executors import make_executor
from .folder import check_output_folder, clean_temp, collection_lock, completed_runs, prepare_folder, run_folder
from .preflight import preflight
from .reuse import reuse_runs, reuse_source
from .run_schema import RunRecord, read_run_meta, set_aside_corrupt_runs, write_run

log = logging.getLogger("lib.collect")


def default_out_dir(config: CollectionConfig) -> Path:
    """Scratch output when no --out is given: runs/<config name> under the repository root (gitignored); the book's
    collections live under data/dynamics/ (committed) and build/dynamics/ (smoke)."""
    return REPO_ROOT / "runs" / config.name


def collecting_environment(config: CollectionConfig) -> dict:
    """The torch threads and version this process collects with (they change the last bits of the numbers)."""
    import torch
    return {"threads": int(config.runtime.threads or available_cores()), "torch": str(torch.__version__)}


def warn_on_other_environment(out: Path, header: dict, done: Sequence[int], environment: dict) -> None:
    """Warn when a resume collects with other threads or torch than the header or the finished runs record."""
    recorded = [("collection.json", header.get("environment") or {})]
    recorded += [(f"run {i}", read_run_meta(run_folder(out, i), header["config_hash"]).get("environment") or {})
                 for i in done]
    differing = sorted({f"{key} {env[key]} ({where})" for where, env in recorded for key in environment
                        if key in env and str(env[key]) != str(environment[key])})
    if differing:
        log.warning("resuming %s with threads %s and torch %s, but it records %s: the new runs may differ from "
                    "the finished ones in the last bits (about 1e-6); resume with the recorded threads and torch "
                    "to match", out, environment["threads"], environment["torch"],
                    ", ".join(differing[:4]) + (" ..." if len(differing) > 4 else ""))


def collect(config: CollectionConfig | str | os.PathLike | dict, out_dir: str | os.PathLike | None = None,
            executor: str = "local", *, ray_address: str | None = None, progress: bool = True,
            only: Sequence[int] | None = None, max_runs: int | None = None, wait: bool = False) -> Path:
    """Run (or finish) a collection into `out_dir` and return the folder; bad configs fail before any training.

    `only` restricts this call to some run indices and `max_runs` to the first few pending ones (a partial
    collection, finished by a later call); the runs themselves do not depend on either. With `wait`, a folder
    another process is writing is waited for (its finished runs are then not run again) instead of refused.
    With `[runtime] reuse_runs_from`, every run the sibling collection holds that is a run of this config is taken over
    first (whatever `only` and `max_runs` say: it trains nothing).
    """
    from tqdm.auto import tqdm

    config = load_config(config)
    examples = draw_examples(config)  # data errors surface here, before any training
    if executor not in ("local", "ray"):
        raise ValueError(f"unknown executor {executor!r}; valid: local, ray")
    out = Path(out_dir) if out_dir is not None else default_out_dir(config)
    source = reuse_source(config, out)
    if only is not None:
        bad = [i for i in only if not 0 <= int(i) < config.runs.total]
        if bad:
            raise ConfigError(f"run indices {bad} out of range: the config has {config.runs.total} runs")
    if max_runs is not None and max_runs < 1:
        raise ConfigError(f"max_runs must be >= 1, got {max_runs}")
    if any(e.target.count("\n") for e in examples.test) and config.evaluation.stop_at_newline \
            and config.generation_metrics:
        log.warning("some test targets contain newlines but generations stop at the first newline")
    check_output_folder(out)  # a file or a foreign folder is refused before the model is loaded
    preflight(config, examples)  # a model that cannot load fails here, before the folder is set up
    environment = collecting_environment(config)
    with collection_lock(out, wait=wait):
        removed = clean_temp(out)
        if removed:
            log.info("removed %d temporary item(s) of an interrupted collection: %s", len(removed), removed)
        header = prepare_folder(out, config, examples, environment)
        set_aside_corrupt_runs(out, config.config_hash)
        if source is not None:
            plan = reuse_runs(config, examples, out, source, done=completed_runs(out, config.config_hash))
            log.info("%s", plan.summary())
        done = set(completed_runs(out, config.config_hash))
        if done:
            warn_on_other_environment(out, header, sorted(done), environment)
        pending = [i for i in range(config.runs.total) if i not in done]
        if only is not None:
            pending = [i for i in pending if i in {int(j) for j in only}]
        if max_runs is not None:
            pending = pending[:max_runs]
        log.info("collection %s (%s, hash %s) in %s: %d of %d runs finished, %d to run now",
                 config.name, config.model.name, config.config_hash[:12], out, len(done), config.runs.total,
                 len(pending))
        if not pending:
            return out
        start = time.perf_counter()
        bar = tqdm(total=config.runs.total, initial=len(done), desc=f"collection {config.name}", unit="run",
                   position=0, disable=not progress, dynamic_ncols=True)

        def on_result(result: RunRecord) -> None:
            write_run(out, result, config)
            bar.update(1)
            t = result.timing
            log.info("run %04d (%s) finished in %.1f s: %d steps, %.2f steps/s (train %.1f s, eval %.1f s, "
                     "gradients %.1f s); mean test %s %.4f -> %.4f", result.run_index, result.split,
                     t["wall_seconds"], result.steps, t["steps_per_second"], t["train_seconds"], t["eval_seconds"],
                     t["gradient_seconds"], config.metrics[0], result.values[config.metrics[0]][0].mean(),
                     result.values[config.metrics[0]][-1].mean())

        try:
            make_executor(executor, ray_address=ray_address, progress=progress).run(config, examples, pending,
                                                                                    on_result)
        finally:
            bar.close()
        log.info("collection %s: %d runs in %.1f s", config.name, len(pending), time.perf_counter() - start)
    return out
