"""Moved: folder.py (the folder's mechanics), run_schema.py (one run's files), stored.py (reading a collection).

Kept only for `gptdynamics_jsonl.export_gptdynamics`, which imports these three names from here; delete this
module once it imports them from `lib.collect.folder` and `lib.collect.stored`.
"""
from .folder import read_examples, read_header
from .stored import load_dynamics

__all__ = ["load_dynamics", "read_examples", "read_header"]
