"""Synthetic results for the chapter helpers: a Dynamics with two task groups and fake predictions."""
import numpy as np

from lib.dynamics import Dynamics
from lib.experiments.simulation import SimulationResult
from lib.metrics import compare


def make_runs(runs=6, steps=4, batch=2, tests=4, seed=0) -> Dynamics:
    rng = np.random.default_rng(seed)
    curricula = rng.integers(0, 8, size=(runs, steps, batch))
    values = 2.0 - np.cumsum(rng.uniform(0, 0.3, size=(runs, steps + 1, tests)), axis=1)
    values[:, 0] = 2.0
    split = ["train"] * (runs - 3) + ["val"] + ["test"] * 2
    return Dynamics.from_arrays(curricula, values, np.arange(10, 10 + tests), "loss", split=split)


def make_result(dyn: Dynamics, errors: dict[str, float]) -> SimulationResult:
    """Predictions = truth + a constant error per method (0 keeps the truth)."""
    truth = dyn.select_runs("test")
    predictions = {}
    for method, error in errors.items():
        pred = truth.values.copy()
        pred[:, 1:] += error
        predictions[method] = pred
    return SimulationResult(truth, predictions, compare(predictions, truth))
