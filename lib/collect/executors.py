"""Where runs execute: in this process one after another, or as Ray tasks on a local or existing cluster.

Runs are independent, so an executor only maps `train_run` over the pending run indices and hands each
finished RunRecord back to the driver, which writes it (run_schema.write_run). Both executors give the
same numbers: a Ray task uses as many CPUs (and torch threads) as the local executor would, and one
GPU when the cluster has GPUs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

from lib.cores import available_cores

from .config import CollectionConfig
from .examples import CollectionExamples
from .run_schema import RunRecord
from .train_run import train_run

log = logging.getLogger("lib.collect")

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Runs the pending run indices and calls `on_result` with each finished RunRecord."""

    def run(self, config: CollectionConfig, examples: CollectionExamples, pending: Sequence[int],
            on_result: Callable[[RunRecord], None]) -> None: ...


@dataclass
class LocalExecutor:
    """Runs one after another in this process (a tqdm bar per run)."""

    progress: bool = True

    def run(self, config: CollectionConfig, examples: CollectionExamples, pending: Sequence[int],
            on_result: Callable[[RunRecord], None]) -> None:
        """Train each pending run here and hand it over as soon as it finishes."""
        for index in pending:
            on_result(train_run(config, index, examples, progress=self.progress, position=1))


def _ray_train_run(config: CollectionConfig, run_index: int, examples: CollectionExamples) -> RunRecord:
    """The body of a Ray task: one run, without a progress bar (workers' output is interleaved)."""
    return train_run(config, run_index, examples, progress=False)


@dataclass
class RayExecutor:
    """Runs as Ray tasks: on `address` (an existing cluster) or on a local cluster started (and stopped) here."""

    address: str | None = None
    num_cpus: int | None = None  # CPUs of a local cluster started here (default: all)

    def run(self, config: CollectionConfig, examples: CollectionExamples, pending: Sequence[int],
            on_result: Callable[[RunRecord], None]) -> None:
        """Submit every pending run, then write results back in completion order."""
        import ray

        started = False
        if not ray.is_initialized():
            root = Path(__file__).resolve().parents[2]
            if self.address:
                runtime_env = {"py_modules": [str(root / "lib")]}
            else:
                runtime_env = {"env_vars": {"PYTHONPATH": str(root)}}
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, runtime_env=runtime_env, log_to_driver=True,
                     logging_level=logging.WARNING)
            started = True
        try:
            threads = config.runtime.threads or available_cores()
            config = config.with_overrides(runtime={"threads": threads})
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
            task = ray.remote(num_cpus=threads, num_gpus=gpus, max_retries=1)(_ray_train_run)
            shared = ray.put(examples)
            futures = {task.remote(config, index, shared): index for index in pending}
            log.info("submitted %d runs to Ray (%d CPUs%s each)", len(futures), threads, ", 1 GPU" if gpus else "")
            while futures:
                done, _ = ray.wait(list(futures), num_returns=1)
                futures.pop(done[0])
                on_result(ray.get(done[0]))
        finally:
            if started:
                ray.shutdown()


def make_executor(name: str, *, ray_address: str | None = None, progress: bool = True) -> Executor:
    """The executor called `name` ("local" | "ray")."""
    if name == "local":
        return LocalExecutor(progress=progress)
    if name == "ray":
        return RayExecutor(address=ray_address)
    raise ValueError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
