"""Runs of designed curricula: trained and evaluated step by step exactly as a collected run, stored one file each.

A designed run is run `DESIGN_RUN_INDEX` of a collection config trained on a given curriculum (`train_run(...,
curriculum=...)`): same initial model, optimizer (its linear decay over the curriculum's steps), seed and
per-step evaluation as a collected run. It answers "what really happens on this curriculum" for the what-if
chapter. `DesignedRunStore` keeps each finished run as one JSON file named by the curriculum's content and the
config hash, written atomically, so an interrupted set of runs is resumed and a finished one is never redone.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from .config import CollectionConfig
from .curricula import Curriculum
from .folder import read_json, write_json_atomic
from .run_store import ConfigRunStore

DESIGN_RUN_INDEX = 0
"""The run index a designed run is trained as (its seed: dropout draws); its curriculum is the given one."""
FORMAT = "designed-run"


@dataclass(frozen=True)
class DesignedRun:
    """A finished designed run: its curriculum and every recorded metric per step [steps + 1, tests]."""

    key: str
    config_hash: str
    name: str
    curriculum: Curriculum
    test_ids: np.ndarray
    values: dict[str, np.ndarray]
    learning_rates: np.ndarray
    train_losses: np.ndarray
    seconds: float

    def to_json(self) -> dict:
        """A plain dict for the run file (floats as JSON numbers: repr round-trips float64 exactly)."""
        return {"format": FORMAT, "key": self.key, "config_hash": self.config_hash, "name": self.name,
                "subset": self.curriculum.subset.tolist(), "batches": self.curriculum.batches.tolist(),
                "test_ids": self.test_ids.tolist(), "values": {m: v.tolist() for m, v in self.values.items()},
                "learning_rates": self.learning_rates.tolist(), "train_losses": self.train_losses.tolist(),
                "seconds": self.seconds}

    @classmethod
    def from_json(cls, payload: dict) -> "DesignedRun":
        """The inverse of `to_json`."""
        curriculum = Curriculum(subset=np.asarray(payload["subset"], dtype=np.int64),
                                batches=np.asarray(payload["batches"], dtype=np.int64))
        return cls(key=payload["key"], config_hash=payload["config_hash"], name=payload["name"],
                   curriculum=curriculum, test_ids=np.asarray(payload["test_ids"], dtype=np.int64),
                   values={m: np.asarray(v, dtype=np.float64) for m, v in payload["values"].items()},
                   learning_rates=np.asarray(payload["learning_rates"], dtype=np.float64),
                   train_losses=np.asarray(payload["train_losses"], dtype=np.float64), seconds=float(payload["seconds"]))


def curriculum_key(curriculum: Curriculum) -> str:
    """16 hex digits naming a curriculum by its content (its subset and every step's ids, in order)."""
    text = json.dumps({"subset": np.asarray(curriculum.subset).tolist(), "batches": np.asarray(curriculum.batches).tolist()})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_curriculum(config: CollectionConfig, examples, curriculum: Curriculum) -> None:
    """Refuse a curriculum with ids that are no training example of the collection (pool, or unseen if it has one)."""
    batches = np.asarray(curriculum.batches)
    if batches.ndim != 2 or batches.size == 0:
        raise ValueError(f"a curriculum's batches must be a non-empty [steps, batch] array, got shape {batches.shape}")
    pool, unseen = set(examples.pool_ids.tolist()), set(examples.unseen_ids.tolist())
    foreign = sorted(set(batches.ravel().tolist()) - pool - unseen)
    if foreign:
        raise ValueError(f"curriculum ids {foreign[:10]} are not training examples of collection {config.name!r} "
                         f"(pool ids{' and unseen ids' if unseen else ''} only)")


def train_designed(config: CollectionConfig, curriculum: Curriculum, examples=None, *, name: str = "",
                   device: str | None = None) -> DesignedRun:
    """Train `curriculum` as run DESIGN_RUN_INDEX of `config` with per-step evaluation (no gradient data)."""
    from .examples import draw_examples  # lazy: training imports torch; reading the store must not
    from .train_run import train_run

    start = time.perf_counter()
    examples = draw_examples(config) if examples is None else examples
    check_curriculum(config, examples, curriculum)
    trained = config
    if config.records_gradients(DESIGN_RUN_INDEX):  # gradient data are not needed and do not change the training
        trained = config.with_overrides(gradients={"splits": []})
    record = train_run(trained, DESIGN_RUN_INDEX, examples, device=device, progress=False, curriculum=curriculum)
    return DesignedRun(key=curriculum_key(curriculum), config_hash=config.config_hash, name=name,
                       curriculum=Curriculum(subset=np.asarray(curriculum.subset, dtype=np.int64),
                                             batches=np.asarray(curriculum.batches, dtype=np.int64)),
                       test_ids=np.asarray(record.test_ids, dtype=np.int64),
                       values={m: np.asarray(v, dtype=np.float64) for m, v in record.values.items()},
                       learning_rates=np.asarray(record.learning_rates), train_losses=np.asarray(record.train_losses),
                       seconds=time.perf_counter() - start)


def start_losses(config: CollectionConfig, examples=None, *, device: str | None = None) -> dict[int, float]:
    """Each training example's loss (mean target-token NLL) under the model every run starts from."""
    import torch

    from .evaluate import Evaluator
    from .examples import draw_examples
    from .initial_model import initial_model, wants_eos
    from .train_run import default_device

    examples = draw_examples(config) if examples is None else examples
    device = torch.device(device) if device is not None else default_device()
    start = initial_model(config, examples, device)
    train = (*examples.pool, *examples.unseen)
    evaluator = Evaluator(start.tokenizer, train, settings=config.evaluation, metrics=["loss"],
                          max_length=config.model.max_length, append_eos=wants_eos, device=device,
                          bf16=config.training.bf16, states=start.states)
    losses = evaluator(start.model, start.parts).losses
    return {int(i): float(v) for i, v in zip(evaluator.test_ids, losses)}


class DesignedRunStore(ConfigRunStore):
    """Finished designed runs under one folder: `<config hash[:16]>/<curriculum key>.json`, each written atomically."""

    def path(self, config: CollectionConfig, curriculum: Curriculum) -> Path:
        """Where the run of `curriculum` under `config` is stored."""
        return self.config_folder(config) / f"{curriculum_key(curriculum)}.json"

    def read(self, config: CollectionConfig, curriculum: Curriculum) -> DesignedRun | None:
        """The stored run, or None when not finished (a file of another config or curriculum is refused)."""
        path = self.path(config, curriculum)
        if not path.is_file():
            return None
        payload = read_json(path)
        if payload.get("format") != FORMAT or payload.get("config_hash") != config.config_hash:
            raise ValueError(f"{path} holds no designed run of config {config.config_hash[:16]} "
                             f"(format {payload.get('format')!r}, config {str(payload.get('config_hash'))[:16]})")
        run = DesignedRun.from_json(payload)
        if run.key != curriculum_key(curriculum) or not np.array_equal(run.curriculum.batches, curriculum.batches):
            raise ValueError(f"{path} holds another curriculum (key {run.key}) than the one asked for")
        return run

    def write(self, config: CollectionConfig, run: DesignedRun) -> Path:
        """Store a finished run atomically (with the config beside it, for whoever reads the folder)."""
        if run.config_hash != config.config_hash:
            raise ValueError(f"run of config {run.config_hash[:16]} cannot be stored as one of {config.config_hash[:16]}")
        return self.write_payload(config, self.path(config, run.curriculum), run.to_json())

    def ensure(self, config: CollectionConfig, designs: Mapping[str, Curriculum], *, collect_missing: bool, how: str,
               device: str | None = None, examples=None) -> dict[str, DesignedRun]:
        """Every named design's run, training the missing ones in the given order when allowed (else
        FileNotFoundError saying `how`)."""
        pending = [name for name, c in designs.items() if self.read(config, c) is None]
        if pending and not collect_missing:
            raise FileNotFoundError(f"{len(pending)} of {len(designs)} designed runs of {config.name!r} are missing in "
                                    f"{self.folder} ({', '.join(pending[:5])}{' ..' if len(pending) > 5 else ''}); {how}")
        if pending and examples is None:
            from .examples import draw_examples
            examples = draw_examples(config)
        for name in pending:
            if self.read(config, designs[name]) is None:  # another process may have finished it meanwhile
                self.write(config, train_designed(config, designs[name], examples, name=name, device=device))
        return {name: self.read(config, c) for name, c in designs.items()}

    def start_losses(self, config: CollectionConfig, *, collect_missing: bool, how: str,
                     examples=None) -> dict[int, float]:
        """`start_losses` of the config, computed once and kept as `<config hash[:16]>/start_losses.json`."""
        path = self.config_folder(config) / "start_losses.json"
        if not path.is_file():
            if not collect_missing:
                raise FileNotFoundError(f"{path} is missing; {how}")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, {"config_hash": config.config_hash,
                                     "losses": {str(k): v for k, v in start_losses(config, examples).items()}})
        payload = read_json(path)
        if payload.get("config_hash") != config.config_hash:
            raise ValueError(f"{path} holds start losses of config {str(payload.get('config_hash'))[:16]}")
        return {int(k): float(v) for k, v in payload["losses"].items()}
