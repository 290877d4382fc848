"""Which test examples a figure shows: the telling ones of a collection, and one panel per simulated case."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from lib.dynamics import Dynamics
from lib.plots.trajectories import TrajectoryPanel


def pick_test_examples(dyn: Dynamics, k: int, *, groups: Mapping[str, Sequence[int]] | None = None,
                       by: str = "change") -> list[int]:
    """k test ids worth plotting.

    by="change": ids whose mean change y_T - y_0 spans the range (evenly spaced ranks, the largest fall first),
    so flat and moving examples both appear. by="movement": the ids whose trajectories move most (mean over runs
    of the summed |y_t - y_{t-1}|), most first. With `groups` (task -> ids) the pick takes the best-ranked id of
    each group in turn.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if by not in ("change", "movement"):
        raise ValueError(f"by must be 'change' or 'movement', got {by!r}")
    position = {int(t): i for i, t in enumerate(dyn.test_ids)}
    if by == "movement":
        score = -np.mean(np.sum(np.abs(np.diff(dyn.values, axis=1)), axis=1), axis=0)
    else:
        score = np.mean(dyn.values[:, -1] - dyn.values[:, 0], axis=0)
    if groups:
        queues = [sorted((int(t) for t in ids), key=lambda t: score[position[t]]) for ids in groups.values()]
        chosen: list[int] = []
        while len(chosen) < k and any(queues):
            for queue in queues:
                if queue and len(chosen) < k:
                    chosen.append(queue.pop(0))
        return chosen
    order = np.argsort(score, kind="stable")
    k = min(k, dyn.n_tests)
    if by == "movement":
        return [int(dyn.test_ids[i]) for i in order[:k]]
    ranks = np.unique(np.round(np.linspace(0, dyn.n_tests - 1, k)).astype(int))
    return [int(dyn.test_ids[order[r]]) for r in ranks]


def example_panels(cases: Sequence[tuple[str, Dynamics, Mapping[str, np.ndarray], Sequence[int] | None]], *,
                   run: int = 0, by: str = "movement") -> list[TrajectoryPanel]:
    """One panel per case (title, held-out runs, method -> prediction, candidate test ids or None for all): the
    candidate whose true trajectory moves most (by="movement") or falls most (by="change") in held-out run `run`."""
    panels = []
    for title, truth, predictions, candidates in cases:
        among = truth if candidates is None else truth.select_tests(list(candidates))
        test_id = pick_test_examples(among, 1, by=by)[0]
        panels.append(TrajectoryPanel(truth, predictions, test_id, run, f"{title}, test {test_id}"))
    return panels
