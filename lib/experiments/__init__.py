"""What the book's chapters compute: dynamics per scale, simulators fitted and scored side by side."""
from lib.experiments.store import collection_config, collections_table, dynamics, dynamics_folder
from lib.experiments.simulation import METHODS, SimulationResult, make_simulator, simulate_methods

__all__ = ["METHODS", "SimulationResult", "collection_config", "collections_table", "dynamics", "dynamics_folder", "make_simulator",
           "simulate_methods"]
