"""Fit every simulator on a collection's training runs and score it on the held-out runs, side by side.

Method names are those of the papers' tables (`paper_tables.csv` column `method`), so our rows join
theirs directly.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.dynamics import Dynamics
from lib.metrics import compare
from lib.attribution.result import AttributionResult
from lib.simulators import GPTfluence, GPTfluenceConfig, GradDot, Simfluence, TracInCP
from lib.simulators.attribution_baselines import EKFACInfluence, TRAKSimulator
from lib.simulators.gradient_baselines import GradientSimulator
from lib.simulators.health import RolloutHealth

METHODS: dict[str, Callable[..., object]] = {
    "TracIn-CP (10 ckpts)": lambda **_: TracInCP(checkpoints="ckpt10"),
    "TracIn-CP (all steps)": lambda **_: TracInCP(checkpoints="all"),
    "Grad-Dot": lambda **_: GradDot(),
    "TracIn-CP (10 ckpts), raw": lambda **_: TracInCP(checkpoints="ckpt10", rescale=False),
    "TracIn-CP (all steps), raw": lambda **_: TracInCP(checkpoints="all", rescale=False),
    "Grad-Dot, raw": lambda **_: GradDot(rescale=False),
    "Simfluence": lambda **_: Simfluence(variant="linear"),
    "Simfluence-Additive": lambda **_: Simfluence(variant="additive"),
    "Simfluence-Multiplicative": lambda **_: Simfluence(variant="multiplicative"),
    "GPTfluence": lambda encoder, gptfluence, **_: GPTfluence(encoder, gptfluence),
}
ATTRIBUTION_METHODS: dict[str, Callable[..., object]] = {
    "EK-FAC": lambda scores, **_: EKFACInfluence(scores),
    "TRAK": lambda scores, **_: TRAKSimulator(scores),
}
"""Methods whose simulator needs stored score matrices by run index (lib.attribution): not in METHODS, which
`simulate_methods` callers iterate over, because they simulate only the runs that have scores."""


def make_simulator(method: str, *, encoder=None, gptfluence: GPTfluenceConfig | None = None,
                   scores: Mapping[int, AttributionResult] | None = None):
    """A fresh simulator for a paper method name (see METHODS) or an attribution method (ATTRIBUTION_METHODS,
    given its `scores` by run index)."""
    if method in ATTRIBUTION_METHODS:
        if scores is None:
            raise ValueError(f"{method} needs its stored scores by run index (scores=...)")
        return ATTRIBUTION_METHODS[method](scores=scores)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join([*METHODS, *ATTRIBUTION_METHODS])}")
    if method == "GPTfluence" and encoder is None:
        raise ValueError("GPTfluence needs an encoder (an Encoder object or a name such as 'minilm-mean')")
    return METHODS[method](encoder=encoder, gptfluence=gptfluence or GPTfluenceConfig())


@dataclass
class SimulationResult:
    """Predictions of every method on the held-out runs, their scores and their cost."""

    truth: Dynamics                       # the held-out ("test") runs
    predictions: dict[str, np.ndarray]    # method -> [runs, steps + 1, tests]
    table: pd.DataFrame                   # tidy: method, target, metric, value, std, n, + labels
    fit_seconds: dict[str, float] = field(default_factory=dict)
    simulate_seconds: dict[str, float] = field(default_factory=dict)
    simulators: dict[str, object] = field(default_factory=dict)
    health: dict[str, RolloutHealth] = field(default_factory=dict)  # method -> diverged rollouts of `predictions`
    refits: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)  # method -> its refits' predictions
    refit_seeds: tuple[int, ...] = ()     # the seeds of `refits`, in order


REFITTED = "GPTfluence"
"""The method `simulate_methods` refits with other seeds when asked (`refit_seeds`): the only one trained by a
stochastic optimizer from a random start (Simfluence is a closed form, the baselines are fitted in closed form)."""


def refitted_simulators(train: Dynamics, val: Dynamics | None, *, encoder, gptfluence: GPTfluenceConfig | None,
                        refit_seeds: Sequence[int]) -> list:
    """GPTfluence (REFITTED) fitted on `train` once per seed of `refit_seeds`, its other settings unchanged: the
    fits a verdict is checked against (comparisons.difference_row). Refuses a seed that is the fit's own."""
    base = gptfluence or GPTfluenceConfig()
    if base.seed in refit_seeds:
        raise ValueError(f"refit_seeds {list(refit_seeds)} include the fit's own seed {base.seed}")
    return [make_simulator(REFITTED, encoder=encoder, gptfluence=dataclasses.replace(base, seed=int(seed)))
            .fit(train, val) for seed in refit_seeds]


def simulate_methods(dyn: Dynamics, methods: Sequence[str], *, encoder=None,
                     gptfluence: GPTfluenceConfig | None = None, held_out: Dynamics | None = None,
                     refit_seeds: Sequence[int] = (), **labels) -> SimulationResult:
    """Fit each method on the train runs (val runs for model selection) and score it on the test runs.

    With `refit_seeds`, GPTfluence (REFITTED) is also fitted with each of these seeds: the refits' predictions are
    kept apart in `refits` (not in `predictions` or `table`), so that a verdict can be checked against the fit's own
    randomness (comparisons.difference_row).

    The gradient baselines have no parameters but their rescaling factor sigma, which the papers fit
    against the ground truth of the simulated runs themselves (an oracle advantage): so do we.
    `held_out` replaces the collection's own test runs (e.g. runs with unseen examples).
    """
    train, val = dyn.select_runs("train"), split_or_none(dyn, "val")
    truth = held_out if held_out is not None else dyn.select_runs("test")
    predictions, fit_s, sim_s, fitted, health = {}, {}, {}, {}, {}
    for method in methods:
        simulator = make_simulator(method, encoder=encoder, gptfluence=gptfluence)
        start = time.perf_counter()
        if isinstance(simulator, GradientSimulator):
            simulator.fit(truth)  # oracle rescaling, as both papers
        else:
            simulator.fit(train, val)
        fit_s[method] = time.perf_counter() - start
        start = time.perf_counter()
        predictions[method] = simulator.simulate(truth)
        sim_s[method] = time.perf_counter() - start
        fitted[method] = simulator
        health[method] = simulator.health_
    orders = {m: getattr(fitted[m], "order", 1) for m in methods}
    table = compare(predictions, truth, order=orders, **labels) if predictions else pd.DataFrame()
    refits: dict[str, tuple[np.ndarray, ...]] = {}
    if REFITTED in methods and refit_seeds:
        fits = refitted_simulators(train, val, encoder=encoder, gptfluence=gptfluence, refit_seeds=refit_seeds)
        refits[REFITTED] = tuple(fit.simulate(truth) for fit in fits)
    return SimulationResult(truth, predictions, table, fit_s, sim_s, fitted, health, refits,
                            tuple(int(s) for s in refit_seeds) if refits else ())


def split_or_none(dyn: Dynamics, split: str) -> Dynamics | None:
    """The runs of `split`, or None when the collection has none (e.g. no validation runs)."""
    return dyn.select_runs(split) if (dyn.split == split).any() else None


def per_trajectory_seconds(result: SimulationResult) -> Mapping[str, float]:
    """Simulation wall time per (run x test example) trajectory, per method."""
    n = result.truth.n_runs * result.truth.n_tests
    return {m: s / n for m, s in result.simulate_seconds.items()}
