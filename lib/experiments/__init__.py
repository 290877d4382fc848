"""What the book's chapters compute: collections per scale, simulators fitted and scored side by side, one module
per chapter (loss_simulation, metric_simulation, ablations, unseen, mislabels, cost), and the wording of their
numbers.

Importing the package reads collections only and imports no torch: the simulation names (`METHODS`,
`SimulationResult`, `make_simulator`, `simulate_methods`) build simulators and are loaded on first use.
"""
import importlib

from lib.experiments.store import collection_config, collections_table, dynamics, dynamics_folder, stored

_SIMULATION = ("METHODS", "SimulationResult", "make_simulator", "simulate_methods")
"""Names of lib.experiments.simulation, which imports the simulators (torch), loaded on first access (PEP 562)."""


def __getattr__(name: str):
    """The simulation names, imported from lib.experiments.simulation when first asked for."""
    if name in _SIMULATION:
        return getattr(importlib.import_module("lib.experiments.simulation"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["METHODS", "SimulationResult", "collection_config", "collections_table", "dynamics", "dynamics_folder",
           "make_simulator", "simulate_methods", "stored"]
