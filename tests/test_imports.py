"""Reading and analysing committed collections imports no torch: a reader of the book's data needs numpy and pandas,
not the trainer. Each check runs in a fresh interpreter, where nothing has imported torch yet."""
import subprocess
import sys

import pytest

from lib.paths import REPO_ROOT

TORCH_FREE = ("lib.experiments", "lib.experiments.store", "lib.experiments.scoreboard", "lib.experiments.wording",
              "lib.experiments.uncertainty", "lib.experiments.published", "lib.collect", "lib.dynamics")
"""Modules a reader of committed collections and of the executed book imports."""


def _imports_torch(code: str) -> bool:
    """Whether running `code` in a fresh interpreter leaves torch imported."""
    probe = f"import sys\n{code}\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                         env={"OMP_NUM_THREADS": "1", "PATH": ""})
    return out.stdout.strip().splitlines()[-1] == "True"


def test_the_probe_sees_an_import_of_torch():
    assert _imports_torch("import torch")


@pytest.mark.parametrize("module", TORCH_FREE)
def test_module_imports_no_torch(module):
    assert not _imports_torch(f"import {module}"), f"importing {module} imports torch"


def test_reading_a_committed_collection_imports_no_torch():
    code = ("from lib.experiments.store import committed\n"
            "dyn = committed('default/sst2').dynamics('loss', require_complete=True)\n"
            "assert dyn.n_runs > 0")
    assert not _imports_torch(code)
