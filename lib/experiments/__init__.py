"""What the book's chapters compute: collections per scale, simulators fitted and scored side by side, one module
per chapter (ablations, unseen, mislabels, cost), and the wording of their numbers."""
from lib.experiments.simulation import METHODS, SimulationResult, make_simulator, simulate_methods
from lib.experiments.store import collection_config, collections_table, dynamics, dynamics_folder, stored

__all__ = ["METHODS", "SimulationResult", "collection_config", "collections_table", "dynamics", "dynamics_folder",
           "make_simulator", "simulate_methods", "stored"]
