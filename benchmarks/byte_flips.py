"""Flip every byte of one finished run's Parquet files and load the collection after each flip.

    python benchmarks/byte_flips.py                 # verified loading (the default): every flip must be refused
    python benchmarks/byte_flips.py --no-verify     # without the sha256 check, to see what a flip would do

Collects the collector tests' tests/collect/fixtures/configs/smoke_sst2.toml (tiny-neox, seconds) into a
temporary folder, takes its first gradient run (all four Parquet files), and for each byte of each file writes
the file with that byte inverted (xor 0xFF), loads the collection with `load_dynamics`, and restores the file.
Each flip is classified: a StorageError naming the flipped file, another StorageError, another exception (its
type), loaded with different numbers (silently wrong), or loaded identical. Prints one line per file and the
totals; exits 1 unless every flip was a StorageError naming the file.
"""
from __future__ import annotations

import argparse
import collections
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SMOKE_CONFIG = REPO / "tests" / "collect" / "fixtures" / "configs" / "smoke_sst2.toml"  # the collector tests' config
sys.path.insert(0, str(REPO))

from lib.collect import StorageError, collect, load_dynamics, read_header  # noqa: E402


def same(a, b) -> bool:
    """Whether two Dynamics hold the same numbers (NaN equal to NaN)."""
    if a.values.shape != b.values.shape or a.curricula.shape != b.curricula.shape:
        return False
    arrays = [(a.values, b.values), (a.curricula, b.curricula), (a.learning_rates, b.learning_rates)]
    arrays += [(a.grad_dots[k], b.grad_dots.get(k)) for k in a.grad_dots]
    return (all(y is not None and x.shape == y.shape and np.array_equal(x, y, equal_nan=True) for x, y in arrays)
            and sorted(a.grad_dots) == sorted(b.grad_dots) and a.self_influence == b.self_influence)


def flip_bytes(out: Path, path: Path, verify: bool, stride: int = 1) -> collections.Counter:
    """Outcome counts of inverting each `stride`-th byte of `path` (restored after each) and loading `out`."""
    reference = load_dynamics(out, verify_files=verify)
    original = path.read_bytes()
    outcomes: collections.Counter = collections.Counter()
    try:
        for offset in range(0, len(original), stride):
            damaged = bytearray(original)
            damaged[offset] ^= 0xFF
            path.write_bytes(bytes(damaged))
            try:
                loaded = load_dynamics(out, verify_files=verify)
            except StorageError as err:
                outcomes["StorageError naming the file" if str(path) in str(err) else "other StorageError"] += 1
            except Exception as err:  # noqa: BLE001 - classifying what escapes is the point
                outcomes[f"{type(err).__name__} (not a StorageError)"] += 1
            else:
                outcomes["loaded identical" if same(loaded, reference) else "loaded with other numbers"] += 1
    finally:
        path.write_bytes(original)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-verify", action="store_true", help="load with verify_files=False")
    parser.add_argument("--stride", type=int, default=1, help="flip every n-th byte only (default: every byte)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        out = collect(SMOKE_CONFIG, Path(tmp) / "smoke_sst2", progress=False)
        run = next(r["run"] for r in read_header(out)["runs"] if r["gradients"])
        folder = out / "runs" / f"run-{run:04d}"
        total: collections.Counter = collections.Counter()
        start = time.perf_counter()
        for path in sorted(folder.glob("*.parquet")):
            outcomes = flip_bytes(out, path, verify=not args.no_verify, stride=args.stride)
            total.update(outcomes)
            print(f"{path.name:24s} {sum(outcomes.values()):6d} flips: "
                  + ", ".join(f"{n} {kind}" for kind, n in outcomes.most_common()))
        print(f"run {run}, verify_files={not args.no_verify}: {sum(total.values())} flips in "
              f"{time.perf_counter() - start:.1f} s: " + ", ".join(f"{n} {k}" for k, n in total.most_common()))
    return 0 if set(total) == {"StorageError naming the file"} else 1


if __name__ == "__main__":
    sys.exit(main())
