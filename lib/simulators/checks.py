"""Refusals of data a simulator cannot learn from or simulate: NaN values, values off the metric's scale."""
from __future__ import annotations

import numpy as np

from lib.dynamics import Dynamics
from lib.simulators.health import METRIC_RANGES

SCALE_FACTOR = 10.0
"""Given values more than this many times larger than every fitted value are taken to be on another scale."""


def check_values(runs: Dynamics, what: str, columns: int | None = None) -> None:
    """Refuse non-finite values and values outside the metric's range in `runs.values[:, :columns]` (all if None)."""
    values = runs.values if columns is None else runs.values[:, :columns]
    bad = ~np.isfinite(values)
    if bad.any():
        r, t, m = np.argwhere(bad)[0]
        raise ValueError(f"{what} hold {values[r, t, m]} at run {runs.run_ids[r]}, step {t}, test id "
                         f"{runs.test_ids[m]} ({int(bad.sum())} non-finite values): simulators need finite values")
    low, high = METRIC_RANGES[runs.metric]
    outside = (values < low) | (values > high)
    if outside.any():
        r, t, m = np.argwhere(outside)[0]
        scale = f"[{low:g}, {high:g}]" if np.isfinite(high) else f">= {low:g}"
        raise ValueError(f"{what}: {runs.metric} must be {scale}, found {values[r, t, m]:g} at run {runs.run_ids[r]}, "
                         f"step {t}, test id {runs.test_ids[m]} (a metric on another scale?)")


def check_scale(runs: Dynamics, columns: int, band: tuple[float, float]) -> None:
    """Refuse given values far beyond every value the simulator was fitted on (the metric on another scale)."""
    fitted = max(abs(band[0]), abs(band[1]))
    given = float(np.max(np.abs(runs.values[:, :columns])))
    if fitted > 0 and given > SCALE_FACTOR * fitted:
        raise ValueError(f"the runs' given {runs.metric} values reach {given:g}, over {SCALE_FACTOR:g}x the largest "
                         f"fitted value {fitted:g}: the metric seems to be on another scale")
