"""Choose the top-block regime's k, learning rate and warm-up by the curriculum signal they give on SST-2.

    .venv/bin/python benchmarks/sweep_top_blocks.py [--out build/sweep] [--runs 6] [--epochs 2] [--only NAME,...]

Each setting is a small collection (resumable, in --out/<name>) at the paper's per-run protocol (pool 200,
128 examples per run, batch 4) for `--epochs` epochs, 64 test examples, runs split train / 1 val / 1 test;
the table prints, per setting, the curriculum-signal figures of lib/curriculum_signal.py (early share,
spread, curriculum-blind MSE and its share of the movement), the mean test loss at steps 0, 2 and T, and
the seconds per step. What we look for: trajectories that keep moving after step 2 (low early share) and
differ between curricula (high spread, high blind share), at a cost that fits the paper-size collections.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.collect import collect, load_config, load_dynamics, load_runs  # noqa: E402
from lib.curriculum_signal import curriculum_signal  # noqa: E402

BASE = "configs/default/sst2.toml"
WARMUP = {"examples": 64, "steps": 32, "batch_size": 4, "lr": 1e-4}
SETTINGS: dict[str, dict] = {  # name -> (model, training, warmup) overrides
    "k2_lr1e-4_warm32": {"model": {"top_blocks": 2}, "training": {"lr": 1e-4}, "warmup": WARMUP},
    "k1_lr1e-4_warm32": {"model": {"top_blocks": 1}, "training": {"lr": 1e-4}, "warmup": WARMUP},
    "k4_lr1e-4_warm32": {"model": {"top_blocks": 4}, "training": {"lr": 1e-4}, "warmup": WARMUP},
    "k2_lr3e-5_warm32": {"model": {"top_blocks": 2}, "training": {"lr": 3e-5}, "warmup": WARMUP},
    "k2_lr3e-4_warm32": {"model": {"top_blocks": 2}, "training": {"lr": 3e-4}, "warmup": WARMUP},
    "k2_lr1e-4_nowarm": {"model": {"top_blocks": 2}, "training": {"lr": 1e-4}, "warmup": {"examples": 0}},
    "k2_lr1e-4_warm32_frozen_head": {"model": {"top_blocks": 2, "head": "frozen"}, "training": {"lr": 1e-4},
                                     "warmup": WARMUP},
}


def setting_config(name: str, runs: int, epochs: int):
    """The sweep collection `name`: the SST-2 base config in the top-block regime with the setting's overrides."""
    over = SETTINGS[name]
    return load_config(BASE).with_overrides(
        name=f"sweep_{name}",
        data={"pool_size": 200, "test_size": 64},
        model={"regime": "top", "head": "untied", **over["model"]},
        training={"subset_size": 128, "batch_size": 4, "epochs": epochs, **over["training"]},
        runs={"train": runs - 2, "val": 1, "test": 1, "seed": 0},
        gradients={"splits": []}, warmup=over["warmup"], runtime={"threads": 1})


def summarize(folder: Path) -> dict:
    """The signal figures, mean losses and seconds per step of one sweep collection."""
    dyn = load_dynamics(folder)
    s = curriculum_signal(dyn)
    mean = dyn.values.mean(axis=(0, 2))
    per_step = np.mean([r.timing["wall_seconds"] / r.curriculum.shape[0] for r in load_runs(folder)])
    return {"runs": s.runs, "steps": s.steps, "early share": s.early_share, "spread": s.spread,
            "blind MSE": s.blind_mse, "blind share": s.blind_share, "loss 0": mean[0], "loss 2": mean[2],
            "loss T": mean[-1], "s/step": per_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="build/sweep")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", help="comma-separated setting names (default: all)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SETTINGS)
    rows = {}
    for name in names:
        folder = Path(args.out) / name
        collect(setting_config(name, args.runs, args.epochs), folder, progress=False)
        rows[name] = summarize(folder)
        print(f"{name}: {rows[name]}", flush=True)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        print(pd.DataFrame(rows).T)


if __name__ == "__main__":
    main()
