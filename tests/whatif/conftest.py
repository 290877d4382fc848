"""Shared fixtures of the what-if tests: one tiny-neox smoke collection and simulators fitted on it."""
from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lib.attribution.result import AttributionResult
from lib.collect import collect, load_config, load_dynamics
from lib.encoders import load_encoder
from lib.paths import REPO_ROOT
from lib.simulators import GPTfluence, Simfluence, TracInCP
from lib.simulators.attribution_baselines import EKFACInfluence
from lib.whatif import fitted

SMOKE = REPO_ROOT / "tests" / "collect" / "fixtures" / "configs" / "smoke_sst2.toml"
"""tiny-neox on SST-2: 4 runs (2 train, 1 val, 1 test with gradient data) x 8 steps of batch 2, 8 test examples."""


@contextmanager
def one_thread():
    """Torch on one thread (tiny ops are slower on more of the shared cores), restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> SimpleNamespace:
    """The smoke collection's runs by split (train, val, test) and all of them (all)."""
    tmp = tmp_path_factory.mktemp("whatif")
    config = load_config(SMOKE).with_overrides(runtime={"threads": 1, "cache_dir": str(tmp / "cache")})
    with one_thread():
        out = collect(config, tmp / "smoke_sst2", progress=False)
    dynamics = load_dynamics(out)
    return SimpleNamespace(all=dynamics, **{split: dynamics.select_runs(split) for split in ("train", "val", "test")})


@pytest.fixture(scope="session")
def encoder():
    """tiny-neox as GPTfluence's frozen encoder (no on-disk cache)."""
    return load_encoder("tiny-neox", cache=False)


@pytest.fixture(scope="session")
def simfluence(runs):
    """Simfluence (l2 0.1) fitted on the training runs (the other runs hold examples these never saw)."""
    return fitted(Simfluence(l2=0.1).fit(runs.train), runs.train)


@pytest.fixture(scope="session")
def gptfluence(runs, encoder):
    """A small GPTfluence (hidden 16, 3 epochs) on the tiny-neox encoder, fitted on the training runs."""
    sim = GPTfluence(encoder, hidden=16, max_epochs=3, warmup_steps=0)
    with one_thread():
        sim.fit(runs.train, runs.val)
    return fitted(sim, runs.train)


@pytest.fixture(scope="session")
def tracin(runs):
    """TracIn-CP (every step) with sigma fitted on the run that recorded gradients (the papers' oracle)."""
    return fitted(TracInCP("all").fit(runs.test), runs.test)


@pytest.fixture(scope="session")
def ekfac(runs):
    """EK-FAC as the loss chapter fits it (sigma on the held-out run) on made-up scores of the held-out run: one score
    per (training example of its subset, test example), the test columns stored in reverse order."""
    rng = np.random.default_rng(0)
    scores = {}
    for r, run in enumerate(runs.test.run_ids):
        train_ids = np.unique(runs.test.curricula[r])
        scores[int(run)] = AttributionResult(scores=rng.normal(size=(len(train_ids), runs.test.n_tests)),
                                             train_ids=train_ids, test_ids=runs.test.test_ids[::-1],
                                             seconds={"fit": 0.0, "score": 0.0}, info={"method": "ekfac"})
    return fitted(EKFACInfluence(scores).fit(runs.test), runs.test)
