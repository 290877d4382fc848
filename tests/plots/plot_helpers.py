"""Small synthetic Dynamics for figure tests (no collection, no model)."""
import numpy as np

from lib.dynamics import Dynamics


def make_dynamics(runs=3, steps=5, batch=2, tests=4, metric="loss", seed=0, split=None) -> Dynamics:
    rng = np.random.default_rng(seed)
    curricula = rng.integers(0, 10, size=(runs, steps, batch))
    values = 3.0 - np.cumsum(rng.uniform(0, 0.2, size=(runs, steps + 1, tests)), axis=1)
    return Dynamics.from_arrays(curricula, values, np.arange(100, 100 + tests), metric,
                                split=split or ["train"] * (runs - 1) + ["test"])
