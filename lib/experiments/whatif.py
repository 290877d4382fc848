"""What-if: curricula a practitioner designs, really trained, against what every simulator predicts for them.

Designs on SST-2, each laid out like the collection's random runs (`lib.whatif.designs`) with several seeds:
all negative reviews dropped; the same examples easy-to-hard and hard-to-easy (difficulty: the example's loss
under the model every run starts from -- known before any training, independent of the test examples and of any
run's curriculum, so the ordering does not peek at the outcome); one example (the hardest) repeated in a quarter
of the steps; half the subset replaced by unseen examples (the `sst2_unseen` collection, whose unseen split the
training runs never saw); a curriculum twice as long. Each design is trained as a collected run would be
(`lib.collect.designed_runs`) and simulated by every method fitted on the collection's runs.

At scale "default" the designs are trained on the committed paper-size SST-2 collections; `python -m
lib.experiments.whatif --scale default --collect` trains the missing designed runs (resumable).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lib.collect import CollectionConfig
from lib.collect.curricula import Curriculum
from lib.collect.designed_runs import DesignedRun, DesignedRunStore
from lib.experiments.store import collection_config, collects_missing, stored
from lib.paths import REPO_ROOT
from lib.scales import get_scale
from lib.whatif.designs import DesignSettings, drop_group, longer, ordered, repeated, with_unseen

DATA_SCALE = {"default": "paper_size"}
"""The collections a book scale's chapter reads (the default book reads the committed paper-size collections)."""
COLLECTION, UNSEEN_COLLECTION = "sst2", "sst2_unseen"
SEEDS = (0, 1, 2)
DESIGNS = ("no negatives", "easy to hard", "hard to easy", "one repeated", "half unseen", "twice as long")
REPEAT_SHARE = 4
"""The repeated example fills one slot in 1 / REPEAT_SHARE of the steps."""
NEGATIVE = 0
"""SST-2's label index of a negative review."""


@dataclass(frozen=True)
class Design:
    """One designed run to train: its design name, seed, collection and curriculum."""

    design: str
    seed: int
    collection: str
    curriculum: Curriculum

    @property
    def name(self) -> str:
        """`<design> / seed <seed>`."""
        return f"{self.design} / seed {self.seed}"


def data_scale(scale: str) -> str:
    """The scale whose collections the chapter reads at book scale `scale`."""
    get_scale(scale)
    return DATA_SCALE.get(scale, scale)


def designed_folder(scale: str, collection: str) -> Path:
    """`data/designed/<data scale>/<collection>` for committed scales, `build/designed/...` for the others."""
    source = data_scale(scale)
    root = REPO_ROOT / ("data" if get_scale(source).committed else "build") / "designed"
    return root / source / collection


def _how(scale: str) -> str:
    return f"train them with `python -m lib.experiments.whatif --scale {scale} --collect`"


def plan(scale: str, *, data_dir=None, seeds=SEEDS, collect_missing: bool | None = None) -> list[Design]:
    """Every designed run of the chapter, seed by seed (an interrupted training leaves whole seeds)."""
    source = data_scale(scale)
    allowed = collects_missing(source) if collect_missing is None else collect_missing
    base = stored(source, COLLECTION, data_dir=data_dir)  # the collections themselves: as their scale allows
    unseen = stored(source, UNSEEN_COLLECTION, data_dir=data_dir)
    config = collection_config(source, COLLECTION, data_dir)
    unseen_config = collection_config(source, UNSEEN_COLLECTION, data_dir)
    examples = base.examples()
    pool = examples.loc[examples["role"] == "pool", "id"].astype(int).tolist()
    labels = dict(zip(pool, examples.loc[examples["role"] == "pool", "label"].astype(int)))
    unseen_rows = unseen.examples()
    unseen_pool = _unseen_ids(unseen_config, unseen_rows)
    unseen_seen = unseen_rows.loc[unseen_rows["role"] == "pool", "id"].astype(int).tolist()  # that collection's pool
    difficulty = DesignedRunStore(designed_folder(scale, COLLECTION)).start_losses(
        config, collect_missing=allowed, how=_how(scale))
    hardest = max(pool, key=lambda i: (difficulty[i], -i))
    train = base.dynamics("loss", require_complete=True).select_runs("train")
    out = []
    for seed in seeds:
        settings = DesignSettings.of(train.curricula, seed=seed)
        built = {
            "no negatives": (COLLECTION, drop_group(pool, labels, NEGATIVE, settings)),
            "easy to hard": (COLLECTION, ordered(pool, difficulty, settings)),
            "hard to easy": (COLLECTION, ordered(pool, difficulty, settings, hardest_first=True)),
            "one repeated": (COLLECTION, repeated(pool, hardest, max(1, settings.steps // REPEAT_SHARE), settings)),
            "half unseen": (UNSEEN_COLLECTION, with_unseen(unseen_seen, unseen_pool, settings)),
            "twice as long": (COLLECTION, longer(pool, settings)),
        }
        out.extend(Design(name, seed, collection, curriculum) for name, (collection, curriculum) in built.items())
    return out


def _unseen_ids(config: CollectionConfig, examples) -> list[int]:
    """The unseen split's ids, or a ValueError saying the collection has none (the 'half unseen' design needs it)."""
    ids = examples.loc[examples["role"] == "unseen", "id"].astype(int).tolist()
    if not ids:
        raise ValueError(f"collection {config.name!r} has no unseen split ([data] unseen_size = "
                         f"{config.data.unseen_size}): the 'half unseen' design needs examples no run trained on")
    return ids


def designed_runs(scale: str, designs: list[Design], *, data_dir=None,
                  collect_missing: bool | None = None) -> dict[str, DesignedRun]:
    """The trained run of every design (`Design.name` -> run), training missing ones where allowed."""
    source = data_scale(scale)
    allowed = collects_missing(source) if collect_missing is None else collect_missing
    out = {}
    for design in designs:  # one by one, in plan order, so an interrupted pass leaves whole seeds
        config = collection_config(source, design.collection, data_dir)
        store = DesignedRunStore(designed_folder(scale, design.collection))
        out.update(store.ensure(config, {design.name: design.curriculum}, collect_missing=allowed, how=_how(scale)))
    return out


def main(argv=None) -> None:
    """Command line: train (or check) the chapter's designed runs at a scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default")
    parser.add_argument("--collect", action="store_true", help="train the missing designed runs")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    designs = plan(args.scale, data_dir=args.data_dir, collect_missing=args.collect or None)
    for design in designs:
        run = designed_runs(args.scale, [design], data_dir=args.data_dir, collect_missing=args.collect)[design.name]
        print(f"{design.name}: {run.curriculum.steps} steps, {run.seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
