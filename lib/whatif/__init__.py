"""What-if questions to a fitted simulator: designed curricula, their simulated trajectories, saved simulators.

    from lib.whatif import fitted, save, load, simulate_curriculum
    save(fitted(Simfluence().fit(train, val), train, val), "fitted.pt")       # fit once ...
    table = simulate_curriculum(load("fitted.pt"), None, [[3, 17], [5, 8]])  # ... ask many times

Command line: `python -m lib.whatif --simulator fitted.pt --curriculum FILE --out trajectories.csv`.
"""
from lib.whatif.designs import DesignSettings, drop_group, longer, ordered, repeated, shuffled, with_unseen
from lib.whatif.figure import plot_whatif
from lib.whatif.saved import FittedSimulator, dynamics_hash, fitted, load, save
from lib.whatif.simulate import as_batches, simulate_curriculum, simulate_designs

__all__ = [
    "DesignSettings",
    "FittedSimulator",
    "as_batches",
    "drop_group",
    "dynamics_hash",
    "fitted",
    "load",
    "longer",
    "ordered",
    "plot_whatif",
    "repeated",
    "save",
    "shuffled",
    "simulate_curriculum",
    "simulate_designs",
    "with_unseen",
]
