"""Command line: `python -m lib.collect configs/<name>.toml [--out DIR] [--executor local|ray] [--ray-address ADDR]`."""
from __future__ import annotations

import argparse
import logging
import sys

from tqdm.contrib.logging import logging_redirect_tqdm

from lib.curriculum_signal import curriculum_signal

from .config import ConfigError, load_config
from .examples import draw_examples
from .folder import StorageError, completed_runs, read_header
from .reuse import plan_for_folder
from .stored import load_dynamics


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the collector."""
    parser = argparse.ArgumentParser(
        prog="python -m lib.collect",
        description="Collect GPTDynamics-style training runs (curricula + per-step test metrics) for a TOML config. "
                    "Re-running the same command resumes an interrupted collection.")
    parser.add_argument("config", help="TOML configuration file (see configs/)")
    parser.add_argument("--out", help="output folder (default: runs/<config name> in the repository)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="run in this process (default) or as Ray tasks")
    parser.add_argument("--ray-address", help="address of an existing Ray cluster (default: start a local one)")
    parser.add_argument("--threads", type=int, help="torch threads per run (default: all cores of this process)")
    parser.add_argument("--only", type=_run_list, help="run only these run indices, e.g. 0-2,23 (a partial collection)")
    parser.add_argument("--max-runs", type=int, help="run at most this many of the pending runs")
    parser.add_argument("--check", action="store_true", help="validate the config and draw the examples, then stop")
    parser.add_argument("--plan-reuse", action="store_true",
                        help="only print the runs [runtime] reuse_runs_from would take over into --out (no writing)")
    parser.add_argument("--summary", action="store_true",
                        help="only print the curriculum-signal summary of the collection in --out")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars (log lines only)")
    return parser


def _run_list(text: str) -> list[int]:
    """Parse "0-2,23" into [0, 1, 2, 23]."""
    out = []
    try:
        for part in text.split(","):
            if "-" in part:
                lo, hi = part.split("-")
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected run indices like 0-2,23, got {text!r}") from None
    return out


def signal_summary(out) -> str:
    """The curriculum-signal figures of every recorded metric of the finished runs in `out` (lib.curriculum_signal)."""
    header = read_header(out)
    lines = [f"{out}: {len(completed_runs(out))} of {len(header['runs'])} runs finished"]
    for metric in header["metrics"]:
        try:
            s = curriculum_signal(load_dynamics(out, metric))
        except (StorageError, ValueError) as err:
            lines.append(f"  {metric}: no curriculum-signal figures yet ({err})")
            continue
        lines.append(f"  {metric}: share of the mean trajectory's change in the first 2 steps {s.early_share:.2f}; "
                     f"spread of final values across runs / per-example change {s.spread:.3f}; curriculum-blind "
                     f"MSE on held-out runs {s.blind_mse:.3g} ({s.blind_share:.2f} of their movement); flat "
                     f"trajectories {s.flat_share:.0%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point (also `gptfluence-collect`); returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    from .collection import collect, default_out_dir  # lazy: imports torch, which --help / bad input don't need

    try:
        config = load_config(args.config)
        if args.threads is not None:
            config = config.with_overrides(runtime={"threads": args.threads})
        if args.check:
            examples = draw_examples(config)
            print(f"{config.name}: valid (hash {config.config_hash[:12]}); {config.runs.total} runs x "
                  f"{config.training.steps} steps; pool {len(examples.pool)}, test {len(examples.test)}, "
                  f"metrics {', '.join(config.metrics)}")
            return 0
        if args.plan_reuse:
            print(plan_for_folder(config, args.out or default_out_dir(config)).describe(config))
            return 0
        if args.summary:
            out = args.out or default_out_dir(config)
        else:
            with logging_redirect_tqdm():
                out = collect(config, args.out, args.executor, ray_address=args.ray_address,
                              progress=not args.no_progress, only=args.only, max_runs=args.max_runs)
        print(signal_summary(out))
    except (ConfigError, StorageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
