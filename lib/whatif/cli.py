"""Command line: `python -m lib.whatif --simulator fitted.pt --curriculum FILE --out trajectories.csv [--figure F]`."""
from __future__ import annotations

import argparse
import sys

from lib.whatif.figure import plot_whatif
from lib.whatif.files import CURRICULUM_FORMATS, read_curriculum, read_initial
from lib.whatif.saved import load
from lib.whatif.simulate import simulate_curriculum


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the what-if command."""
    parser = argparse.ArgumentParser(
        prog="python -m lib.whatif", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=CURRICULUM_FORMATS,
        description="Simulate the test examples' trajectories under a curriculum you design, with a fitted simulator "
                    "saved by lib.whatif.save, and write them as a table (step, test_id, value, diverged).")
    parser.add_argument("--simulator", required=True, help="a fitted simulator saved by lib.whatif.save (.pt)")
    parser.add_argument("--curriculum", required=True, help="the curriculum: a .csv or .jsonl file (see below)")
    parser.add_argument("--initial", help="CSV test_id,value of each test example's value before training")
    parser.add_argument("--out", required=True, help="where to write the trajectories (CSV)")
    parser.add_argument("--figure", help="also draw the trajectories into this image file (e.g. .png)")
    parser.add_argument("--encoder", help="GPTfluence: the encoder to load instead of the saved name (e.g. a folder)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; a bad input ends it with its message and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        model = load(args.simulator, encoder=args.encoder)
        initial = read_initial(args.initial) if args.initial else None
        table = simulate_curriculum(model, initial, read_curriculum(args.curriculum))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table.to_csv(args.out, index=False)
    if args.figure:
        plot_whatif(table, metric=model.simulator.metric_).savefig(args.figure)
    diverged = table.groupby("test_id")["diverged"].any().sum()
    print(f"{args.out}: {table['step'].max()} steps x {table['test_id'].nunique()} test examples "
          f"({diverged} diverged) by {type(model.simulator).__name__}")
    return 0
