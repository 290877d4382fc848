"""Figure of the what-if chapter: true and simulated loss trajectories of a few test examples per designed run."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from lib.dynamics import Dynamics
from lib.plots.unseen import scenario_trajectories


def design_trajectories(truth: Mapping[str, Dynamics], predictions: Mapping[tuple[str, str], np.ndarray], *,
                        designs: Sequence[str], examples: int = 3, title: str | None = None) -> plt.Figure:
    """Rows: designs (the first trained seed of each); columns: the first `examples` test examples; ground truth in
    black, every method that simulated the design in its colour (the curriculum-blind reference dashed grey)."""
    shown = [d for d in designs if d in truth]
    if not shown:
        raise ValueError(f"none of the designs {list(designs)} has a trained run")
    return scenario_trajectories(truth, predictions, titles={d: d for d in shown}, scenarios=shown,
                                 examples=examples, title=title)
