"""How much curriculum signal a collection carries: is there anything for a simulator to be right or wrong about?

Three figures per collection and metric, from the stored runs only:
- early share: of the change of a run's mean trajectory (mean over test examples) from step 0 to T, the
  share that happens in the first 2 steps (mean over runs). Near 1: the runs mostly learn the answer format,
  the same in every run.
- spread: across runs, the std of a test example's final value, relative to its change over the run
  (mean over test examples of the std, divided by the mean over test examples of |mean change|). Near 0:
  every curriculum ends at the same place.
- curriculum-blind MSE: the all-steps MSE on the held-out (val / test) runs of the mean trajectory of the
  training runs, a predictor that ignores the curriculum; `blind_share` divides it by the held-out
  trajectories' mean squared movement from their step-0 value. A simulator has to beat this floor.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from lib.dynamics import Dynamics

EARLY_STEPS = 2
HELD_OUT = ("val", "test")


@dataclass(frozen=True)
class CurriculumSignal:
    """The curriculum-signal figures of one collection and metric (see the module docstring)."""

    metric: str
    runs: int
    steps: int
    tests: int
    early_share: float
    spread: float
    blind_mse: float
    blind_share: float
    flat_share: float  # share of (run, test example) trajectories that never move


def curriculum_signal(dynamics: Dynamics, *, flat_tolerance: float = 1e-9) -> CurriculumSignal:
    """The curriculum-signal figures of `dynamics` (needs >= 1 training and >= 1 held-out run for the blind MSE)."""
    values = dynamics.values  # [runs, steps + 1, tests]
    steps = values.shape[1] - 1
    if steps < EARLY_STEPS:
        raise ValueError(f"curriculum signal needs at least {EARLY_STEPS} steps, the dynamics have {steps}")
    mean = values.mean(axis=2)  # [runs, steps + 1]
    total = mean[:, -1] - mean[:, 0]
    early = mean[:, EARLY_STEPS] - mean[:, 0]
    early_share = float(np.mean(early[total != 0] / total[total != 0])) if np.any(total != 0) else float("nan")
    change = np.abs((values[:, -1] - values[:, 0]).mean(axis=0))  # [tests]
    spread_num = values[:, -1].std(axis=0, ddof=1).mean() if values.shape[0] > 1 else float("nan")
    spread = float(spread_num / change.mean()) if change.mean() > 0 else float("nan")
    train, held = dynamics.split == "train", np.isin(dynamics.split, HELD_OUT)
    blind_mse = blind_share = float("nan")
    if train.any() and held.any():
        reference = values[train].mean(axis=0)  # [steps + 1, tests]
        truth = values[held]
        blind_mse = float(((truth[:, 1:] - reference[None, 1:]) ** 2).mean())
        movement = float(((truth[:, 1:] - truth[:, :1]) ** 2).mean())
        blind_share = blind_mse / movement if movement > 0 else float("nan")
    flat = (values.max(axis=1) - values.min(axis=1)) <= flat_tolerance  # [runs, tests]
    return CurriculumSignal(metric=dynamics.metric, runs=values.shape[0], steps=steps, tests=values.shape[2],
                            early_share=early_share, spread=spread, blind_mse=blind_mse, blind_share=blind_share,
                            flat_share=float(flat.mean()))


def signal_table(signals: dict[str, CurriculumSignal]) -> pd.DataFrame:
    """One row per named collection (or collection / metric) with its signal figures."""
    return pd.DataFrame([{"collection": name, **asdict(s)} for name, s in signals.items()]).set_index("collection")
