"""What verifying run files costs when loading the default book's committed collections (data/dynamics/default).

    python benchmarks/verification_cost.py [--repeats 7]

Loads every committed collection with `load_dynamics` for each recorded metric, as the book does, three ways:
without the run files' sha256 check, with it and an empty verification cache (a fresh process), and with it
and a warm cache (a notebook that loads again). Prints the minimum and median wall time of each.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lib.collect import folder, load_dynamics, read_header  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    folders = sorted(p.parent for p in (REPO / "data" / "dynamics" / "default").rglob("collection.json"))
    calls = [(f, m) for f in folders for m in read_header(f)["metrics"]]

    def load_all(verify: bool) -> None:
        for f, metric in calls:
            load_dynamics(f, metric, verify_files=verify)

    load_all(False)  # imports and the file system cache warmed up
    modes = {"no run-file hashes": (False, True), "hashes, cold cache": (True, True), "hashes, warm cache": (True, False)}
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(args.repeats):
        for name, (verify, clear) in modes.items():
            if clear:
                folder._VERIFIED.clear()
            start = time.perf_counter()
            load_all(verify)
            times[name].append(time.perf_counter() - start)
    files = [p for f in folders for p in (f / "runs").rglob("*.parquet")]
    print(f"{len(folders)} collections, {len(calls)} load_dynamics calls, {len(files)} run Parquet files, "
          f"{sum(p.stat().st_size for p in files) / 1e6:.2f} MB")
    for name, values in times.items():
        values.sort()
        print(f"{name:20s} min {values[0] * 1000:7.1f} ms   median {values[len(values) // 2] * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
