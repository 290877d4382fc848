"""Training-dynamics collector (the paper's Step 1, GPTDynamics): fine-tune a GPT on sampled curricula and
record, for every held-out test example, its metric before and after every step, plus TracIn/Grad-Dot data.

    from lib.collect import collect, load_dynamics
    out = collect("configs/smoke_sst2.toml", "runs/smoke_sst2")     # or executor="ray"
    dyn = load_dynamics(out, metric="loss")                          # a lib.dynamics.Dynamics

Command line: `python -m lib.collect configs/<name>.toml [--out DIR] [--executor local|ray]`.
On-disk format: lib/collect/FORMAT.md. Official GPTDynamics JSONL layout: gptdynamics_jsonl.py.
"""
from .collection import collect, default_out_dir
from .config import CollectionConfig, ConfigError, load_config
from .gptdynamics_jsonl import export_gptdynamics, import_gptdynamics
from .storage import StorageError, completed_runs, load_dynamics, load_runs, read_header
from .train_run import RunResult, train_run

__all__ = [
    "CollectionConfig",
    "ConfigError",
    "RunResult",
    "StorageError",
    "collect",
    "completed_runs",
    "default_out_dir",
    "export_gptdynamics",
    "import_gptdynamics",
    "load_config",
    "load_dynamics",
    "load_runs",
    "read_header",
    "train_run",
]
