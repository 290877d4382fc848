"""Training-dynamics collector (the paper's Step 1, GPTDynamics): fine-tune a GPT on sampled curricula and
record, for every held-out test example, its metric before and after every step, plus TracIn/Grad-Dot data.

    from lib.collect import StoredCollection, collect
    out = collect("configs/smoke/sst2.toml", "build/dynamics/smoke/sst2")    # or executor="ray"
    dyn = StoredCollection(out).dynamics("loss")                             # a lib.dynamics.Dynamics

Command line: `python -m lib.collect configs/<scale>/<name>.toml [--out DIR] [--executor local|ray]`.
On-disk format: lib/collect/FORMAT.md (folder.py: the folder's mechanics; run_schema.py: one run's files;
stored.py: reading a collection). Official GPTDynamics JSONL layout: gptdynamics_jsonl.py.
Reading a collection imports no torch: `collect`, `default_out_dir` and `train_run` are loaded on first use.
"""
import importlib

from .config import CollectionConfig, ConfigError, load_config
from .folder import StorageError, completed_runs, read_examples, read_header
from .gptdynamics_jsonl import export_gptdynamics, import_gptdynamics
from .run_schema import RunRecord
from .stored import StoredCollection, load_dynamics, load_runs

_TRAINER = {"collect": ".collection", "default_out_dir": ".collection", "train_run": ".train_run"}
"""Names whose modules import torch, loaded on first access (PEP 562) so that readers never import it."""


def __getattr__(name: str):
    """`collect`, `default_out_dir` and `train_run`, imported from the trainer's modules when first asked for."""
    if name in _TRAINER:
        return getattr(importlib.import_module(_TRAINER[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CollectionConfig",
    "ConfigError",
    "RunRecord",
    "StorageError",
    "StoredCollection",
    "collect",
    "completed_runs",
    "default_out_dir",
    "export_gptdynamics",
    "import_gptdynamics",
    "load_config",
    "load_dynamics",
    "load_runs",
    "read_examples",
    "read_header",
    "train_run",
]
