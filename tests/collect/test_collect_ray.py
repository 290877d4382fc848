"""The Ray executor (a local 2-CPU Ray cluster) records exactly what the local executor records."""
from __future__ import annotations

from pathlib import Path

import pytest
from collect_helpers import assert_same_dynamics, smoke_config

import lib
from lib.collect import collect, load_dynamics

ray = pytest.importorskip("ray")


def test_ray_equals_local(reference_collection, tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(lib.__file__).resolve().parents[1])}})
    try:
        out = collect(smoke_config(), tmp_path / "ray", executor="ray", progress=False)
    finally:
        ray.shutdown()
    assert_same_dynamics(load_dynamics(out), load_dynamics(reference_collection))
