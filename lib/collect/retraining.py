"""Retraining runs that end in one classification score: train, then score every test example once.

The mislabel experiment (GPTfluence Fig 7) retrains the classifier on each cleaned pool and needs only its final
test accuracy, on many test examples: recording every step's metric, as a collection run does, would cost one
evaluation per step for nothing. A retraining run is run `run_index` of a collection config (`[training]
subset_size` = the pool size for the whole cleaned pool): its curriculum, initial model, optimizer and per-batch
loss are the collector's (`train_run`), then the final model scores each test example by the label word it gives
the highest probability (the sum of the word's target-token log-probabilities) and by the loss of its true label
word. Results are small JSON files written atomically (`RetrainingStore`): an interrupted set of runs is
resumed, never redone, and a finished one is read back without loading a model.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from lib.cores import available_cores

from .config import CollectionConfig
from .folder import read_json
from .run_store import ConfigRunStore

VARIANT_OFFSET = 10**9
"""Id offset of a test example's label-word variants: example id + (j + 1) * offset has target label word j."""


@dataclass(frozen=True)
class RetrainScore:
    """One finished retraining run: accuracy by argmax over the label words and mean true-word loss."""

    config_hash: str
    run_index: int
    seed: int
    tests: int
    accuracy: float          # mean over test examples of [argmax_j log p(word_j | prompt) == true label]
    loss: float              # mean over test examples of the true label word's mean target-token NLL
    predicted: tuple[int, ...]  # the predicted label index of each test example, in test order
    test_ids: tuple[int, ...]
    seconds: float

    def to_json(self) -> dict:
        """A plain dict for the result file."""
        return dataclasses.asdict(self)


def variant_id(example_id: int, label: int) -> int:
    """The id of an example's variant with label word `label`."""
    return int(example_id) + (int(label) + 1) * VARIANT_OFFSET


def label_variants(examples: Sequence, label_words: Sequence[str]) -> list[list]:
    """Per label word j, every example with target word j (and label j) under the id `variant_id(id, j)`."""
    out = []
    for j, word in enumerate(label_words):
        out.append([dataclasses.replace(e, id=variant_id(e.id, j), target=word, label=j, references=(word,))
                    for e in examples])
    return out


def choose_labels(mean_nll: np.ndarray, target_tokens: np.ndarray) -> np.ndarray:
    """The label index with the highest sequence probability: argmin over words of mean NLL x target tokens.

    mean_nll, target_tokens: [words, tests]. Ties go to the lower label index.
    """
    return np.argmin(np.asarray(mean_nll) * np.asarray(target_tokens), axis=0)


def retrain_and_score(config: CollectionConfig, run_index: int, *, device: str | None = None) -> RetrainScore:
    """Train run `run_index` of `config` as the collector would (no per-step evaluation), then score its tests."""
    # lazy: training imports torch and the trainer; reading the store (RetrainingStore) must not
    import torch

    from lib.data import get_task

    from .curricula import run_seed, sample_curriculum
    from .encoding import make_batch
    from .evaluate import Evaluator
    from .examples import draw_examples
    from .head import batch_loss
    from .initial_model import initial_model, wants_eos
    from .optimizer import adamw_linear_decay
    from .train_run import default_device

    start = time.perf_counter()
    device = torch.device(device) if device is not None else default_device()
    torch.set_num_threads(config.runtime.threads or available_cores())
    examples = draw_examples(config)
    words = get_task(config.data.task).label_words
    variants = label_variants(examples.test, words)
    # Every pool example under every label word: the encoded examples (and, in the top-block regime, their cached
    # boundary states) are then the same for every fixed set, and each run trains on its pool's labels.
    pool_variants = label_variants(examples.pool, words)
    universal = dataclasses.replace(examples, pool=tuple(e for group in pool_variants for e in group),
                                    test=tuple(e for group in variants for e in group))
    as_labelled = {int(e.id): variant_id(e.id, e.label) for e in examples.pool}
    seed = run_seed(config.runs.seed, run_index)
    t_cfg = config.training
    curriculum = sample_curriculum(examples.pool_ids, subset_size=t_cfg.subset_size, batch_size=t_cfg.batch_size,
                                   epochs=t_cfg.epochs, seed=config.runs.seed, run_index=run_index)
    start_model = initial_model(config, universal, device)
    model, parts, encoded, states = start_model.model, start_model.parts, start_model.encoded, start_model.states
    optimizer, scheduler = adamw_linear_decay(model, t_cfg, lr=t_cfg.lr, steps=curriculum.steps,
                                               fused=config.model.regime == "top")
    torch.manual_seed(seed)
    for row in curriculum.batches:
        batch = make_batch([encoded[as_labelled[int(i)]] for i in row], start_model.pad_id, states).to(device)
        loss, _, _ = batch_loss(parts, batch)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
    nll, tokens = [], []
    for group in variants:
        evaluator = Evaluator(start_model.tokenizer, group, settings=config.evaluation, metrics=["loss"],
                              max_length=config.model.max_length, append_eos=wants_eos, device=device,
                              bf16=t_cfg.bf16, states=states)
        nll.append(evaluator(model, parts).losses)
        tokens.append([len(e.target_ids) for e in evaluator.encoded])
    nll, tokens = np.asarray(nll), np.asarray(tokens, dtype=np.float64)
    truth = np.array([int(e.label) for e in examples.test])
    predicted = choose_labels(nll, tokens)
    return RetrainScore(config_hash=config.config_hash, run_index=int(run_index), seed=int(seed),
                        tests=len(truth), accuracy=float(np.mean(predicted == truth)),
                        loss=float(np.mean(nll[truth, np.arange(len(truth))])),
                        predicted=tuple(int(p) for p in predicted), test_ids=tuple(int(e.id) for e in examples.test),
                        seconds=time.perf_counter() - start)


class RetrainingStore(ConfigRunStore):
    """Finished retraining runs under one folder: `<config hash[:16]>/run-<index>.json`, each written atomically.

    Equal configs (e.g. two rankings that fix the same examples) share a folder and so share their runs.
    """

    def path(self, config: CollectionConfig, run_index: int) -> Path:
        """Where run `run_index` of `config` is stored."""
        return self.config_folder(config) / f"run-{int(run_index):04d}.json"

    def read(self, config: CollectionConfig, run_index: int) -> RetrainScore | None:
        """The stored result, or None when the run is not finished (a result of another config is refused)."""
        path = self.path(config, run_index)
        if not path.is_file():
            return None
        payload = read_json(path)
        if payload.get("config_hash") != config.config_hash:
            raise ValueError(f"{path} holds a run of config {payload.get('config_hash', '?')[:16]}, not "
                             f"{config.config_hash[:16]}")
        return RetrainScore(**{k: tuple(v) if isinstance(v, list) else v for k, v in payload.items()})

    def missing(self, wanted: Iterable[tuple[CollectionConfig, int]]) -> list[tuple[CollectionConfig, int]]:
        """The (config, run index) pairs of `wanted` without a stored result, each once, in the given order."""
        seen, out = set(), []
        for config, run_index in wanted:
            key = (config.config_hash, int(run_index))
            if key not in seen and self.read(config, run_index) is None:
                seen.add(key)
                out.append((config, int(run_index)))
        return out

    def write(self, config: CollectionConfig, score: RetrainScore) -> Path:
        """Store a finished run atomically (with the config beside it, for whoever reads the folder)."""
        return self.write_payload(config, self.path(config, score.run_index), score.to_json())

    def ensure(self, wanted: Sequence[tuple[CollectionConfig, int]], *, collect_missing: bool, how: str,
               device: str | None = None) -> dict[tuple[str, int], RetrainScore]:
        """Every wanted run's result, training the missing ones when allowed (else FileNotFoundError saying `how`).

        Missing runs are trained run index by run index (every fixed set's seed 0, then every set's seed 1, ..), so
        an interrupted pass leaves whole seeds rather than whole sets.
        """
        pending = self.missing(wanted)
        if pending and not collect_missing:
            raise FileNotFoundError(f"{len(pending)} of {len(wanted)} retraining runs are missing in {self.folder}; "
                                    f"{how}")
        for config, run_index in sorted(pending, key=lambda pair: pair[1]):  # every set's first seed first
            self.write(config, retrain_and_score(config, run_index, device=device))
        return {(c.config_hash, int(i)): self.read(c, i) for c, i in wanted}



def content_key(fixed_ids: Iterable[int]) -> str:
    """12 hex digits naming a set of fixed ids by its content (order and duplicates do not matter)."""
    text = json.dumps(sorted({int(i) for i in fixed_ids}))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
