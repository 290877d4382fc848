"""Which simulated trajectories the chapters draw: one telling test example per case."""
from __future__ import annotations

from typing import Sequence

from lib.experiments.recorded import pick_test_examples
from lib.experiments.simulation import SimulationResult
from lib.plots import TrajectoryPanel


def example_panels(cases: Sequence[tuple[str, SimulationResult, Sequence[int] | None]], *, run: int = 0,
                   by: str = "movement") -> list[TrajectoryPanel]:
    """One panel per case (title, result, candidate test ids or None for all): the candidate whose true trajectory
    moves most (by="movement") or falls most (by="change"), in held-out run `run` of the case's result."""
    panels = []
    for title, result, candidates in cases:
        truth = result.truth if candidates is None else result.truth.select_tests(list(candidates))
        test_id = pick_test_examples(truth, 1, by=by)[0]
        panels.append(TrajectoryPanel(result.truth, result.predictions, test_id, run, f"{title}, test {test_id}"))
    return panels
