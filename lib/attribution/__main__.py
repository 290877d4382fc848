"""`python -m lib.attribution <collection> [--runs I ...] [--methods ekfac trak] [--self] [--force]`: score held-out
runs, store.

With --self, every pool example is scored against itself (self-influence, for mislabel rankings) instead of the
pairwise (training subset x test examples) matrix. A (method, run) whose scores are already stored is skipped (said
on the console; a run with every method stored is not even replayed) unless --force is given.
"""
from __future__ import annotations

import argparse
import logging

from lib.attribution.held_out import held_out_runs, score_run, self_score_run, unscored_methods
from lib.attribution.store import METHODS
from lib.attribution.trak import DEFAULT_PROJ_DIM, TRAKSettings

log = logging.getLogger("lib.attribution")


def main(argv: list[str] | None = None) -> None:
    """Score the given runs (default: the test split) of a collection with each method not stored yet (or all: --force)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("collection")
    parser.add_argument("--runs", type=int, nargs="*", help="run indices (default: the test-split runs)")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--trak-proj-dim", type=int, default=None,
                        help=f"TRAK's projection size, below the runs' training subset size (default: "
                             f"{DEFAULT_PROJ_DIM}, at most half the training subset)")
    parser.add_argument("--self", dest="self_influence", action="store_true",
                        help="self-influence of every pool example instead of the pairwise scores")
    parser.add_argument("--force", action="store_true", help="re-score (and overwrite) runs whose scores are stored")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    score = self_score_run if args.self_influence else score_run
    for run in args.runs or held_out_runs(args.collection):
        methods = list(args.methods) if args.force else unscored_methods(args.collection, run, args.methods,
                                                                           self_influence=args.self_influence)
        stored = [m for m in args.methods if m not in methods]
        if stored:
            log.info("run %d: %s %s already stored, skipped (--force re-scores)", run, "/".join(stored),
                     "self-influence" if args.self_influence else "scores")
        if methods:
            try:
                score(args.collection, run, methods, trak=TRAKSettings(proj_dim=args.trak_proj_dim))
            except ValueError as error:  # bad settings for this collection: say so, without a stack trace
                parser.exit(2, f"{parser.prog}: error: {args.collection} run {run}: {error}\n")


if __name__ == "__main__":
    main()
