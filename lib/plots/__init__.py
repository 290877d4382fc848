"""Figures of the book: simulated vs true trajectories, recorded runs, and our numbers beside the papers'.

Every function returns a matplotlib Figure with titles, axis labels and legends; nothing is shown
or saved here (the notebooks display them).
"""
from lib.plots.comparison import plot_comparison
from lib.plots.cost import plot_run_cost
from lib.plots.runs import plot_run_spread, plot_runs_of_tests
from lib.plots.shown import example_panels, pick_test_examples
from lib.plots.style import METHOD_COLORS, method_color
from lib.plots.trajectories import TrajectoryPanel, plot_trajectories, plot_trajectory_panels

__all__ = ["METHOD_COLORS", "TrajectoryPanel", "example_panels", "method_color", "pick_test_examples",
           "plot_comparison", "plot_run_cost", "plot_run_spread", "plot_runs_of_tests", "plot_trajectories",
           "plot_trajectory_panels"]
