"""Helpers of the collector tests (a uniquely named module: the test folders are not packages)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lib.collect import load_config

CONFIGS = Path(__file__).resolve().parent / "fixtures" / "configs"
"""The collector tests' configs (tiny-neox smoke collections), not collections of the book."""
BENCHMARK_CONFIG = Path(__file__).resolve().parents[2] / "benchmarks" / "sst2_smollm2.toml"


def smoke_config(**overrides):
    """fixtures/configs/smoke_sst2.toml (tiny-neox, 4 runs x 8 steps, 1 thread) with some sections overridden."""
    config = load_config(CONFIGS / "smoke_sst2.toml")
    return config.with_overrides(**overrides) if overrides else config


def assert_same_dynamics(a, b) -> None:
    """Two Dynamics hold identical runs, trajectories and gradient data."""
    np.testing.assert_array_equal(a.run_ids, b.run_ids)
    np.testing.assert_array_equal(a.split, b.split)
    np.testing.assert_array_equal(a.curricula, b.curricula)
    np.testing.assert_array_equal(a.test_ids, b.test_ids)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.learning_rates, b.learning_rates)
    assert sorted(a.grad_dots) == sorted(b.grad_dots)
    for key in a.grad_dots:
        np.testing.assert_array_equal(a.grad_dots[key], b.grad_dots[key])
    assert a.self_influence == b.self_influence
