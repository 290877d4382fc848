"""Mislabelled-data identification (GPTfluence section 4.6, Fig 7): rank, check, fix, retrain.

The noisy collection (`configs/<scale>/sst2_mislabel.toml`, `[data] flip_fraction = 0.4`) has 40% of its
pool's labels flipped; the flipped ids are recorded in its collection.json (`flipped_ids`). Each ranking
orders the pool by how suspicious an example is:

- GPTfluence: the simulator's multiplicative factor of an example on itself, A_ii (`GPTfluence.self_influence`,
  z' = z_i), from a simulator fitted on the collection's train runs (val runs for early stopping);
- TracIn-CP: sum over the saved checkpoints of lr * |grad L(z_i)|^2 over the LM head, recorded by the collector
  (mean over the runs that trained on z_i); pool examples no run trained on have no score and come last;
- random: a seeded permutation of the pool, one per seed.

Both self-influences rank highest first, as in the paper and TracIn (Pruthi et al. 2020). "Checking" the top
fraction f of the pool reveals which of those examples are mislabelled; those are fixed (`[data] fixed_ids`, the
flip undone; checked examples that were correct need no fix) and the classifier is retrained from scratch on
the same run seeds: a small collection derived from the noisy config (no gradients, `retrain_runs` train runs),
stored by config hash under `<dynamics folder of the scale>/mislabel_retrain/`, resumable.

Test accuracy. The collector records per-step test losses (mean NLL of the target tokens), not predictions. A
test example counts as correctly classified when the final model gives its true label word probability above
one half, p = exp(-n * loss) > 1/2 with n the number of target tokens (1 for SmolLM2's " negative" /
" positive", 9 characters for the tiny GPT-NeoX). The two label words are disjoint continuations, so the true
word then also beats the other one: this is a lower bound of the accuracy of choosing the likelier label word
(an example with p(true) = 0.4 > p(other) = 0.1 is counted wrong).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.collect import CollectionConfig, collect, completed_runs, load_dynamics, read_header
from lib.collect.folder import read_examples

FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""Fractions of the pool checked (paper Fig 7's x axis)."""
NOISY = "sst2_mislabel"
RETRAIN_FOLDER = "mislabel_retrain"


@dataclass(frozen=True)
class MislabelSettings:
    """How many random rankings, which fractions checked and how many retraining runs per fixed set, per scale.

    Each distinct fixed set costs `retrain_runs` fine-tuning runs, so the default scale checks three fractions
    with two random rankings (9 retraining runs of SmolLM2 at most) instead of the paper's six fractions.
    """

    random_seeds: int
    retrain_runs: int
    fractions: tuple[float, ...] = FRACTIONS


SETTINGS = {"smoke": MislabelSettings(random_seeds=3, retrain_runs=1),
            "default": MislabelSettings(random_seeds=2, retrain_runs=1, fractions=(0.0, 0.2, 0.4))}


def rank_by_score(scores: Mapping[int, float], pool_ids: Sequence[int]) -> np.ndarray:
    """Pool ids by decreasing score; ids without a score come last; ties by increasing id."""
    pool = np.sort(np.asarray(pool_ids, dtype=np.int64))
    scored = [int(i) for i in pool if int(i) in scores and np.isfinite(scores[int(i)])]
    seen = set(scored)
    unscored = [int(i) for i in pool if int(i) not in seen]
    scored.sort(key=lambda i: (-float(scores[i]), i))
    return np.asarray(scored + unscored, dtype=np.int64)


def random_ranking(pool_ids: Sequence[int], seed: int) -> np.ndarray:
    """A seeded random order of the pool (independent of the order `pool_ids` comes in)."""
    return np.random.default_rng([0x72616E64, int(seed)]).permutation(np.sort(np.asarray(pool_ids, dtype=np.int64)))


def checked(ranking: np.ndarray, fraction: float) -> np.ndarray:
    """The first round(fraction * pool size) ids of a ranking: the examples inspected."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction checked must be in [0, 1], got {fraction}")
    return np.asarray(ranking[: int(round(fraction * len(ranking)))], dtype=np.int64)


def fixes(ranking: np.ndarray, fraction: float, flipped: Sequence[int]) -> tuple[int, ...]:
    """The mislabelled examples among the checked ones (sorted): the fixed_ids of the retraining."""
    return tuple(sorted(int(i) for i in np.intersect1d(checked(ranking, fraction), np.asarray(flipped, np.int64))))


def fraction_found(ranking: np.ndarray, fraction: float, flipped: Sequence[int]) -> float:
    """|checked ∩ flipped| / |flipped| (0 when nothing is flipped)."""
    return len(fixes(ranking, fraction, flipped)) / len(flipped) if len(flipped) else 0.0


def noisy_truth(folder: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(pool ids, flipped ids) of a noisy collection, read from its examples.parquet and collection.json."""
    header = read_header(folder)
    if "flipped_ids" not in header:
        raise ValueError(f"{folder}: collection.json has no flipped_ids (not a label-noise collection)")
    pool = np.sort([int(r["id"]) for r in read_examples(folder, header["config_hash"]) if r["role"] == "pool"])
    return np.asarray(pool, dtype=np.int64), np.asarray(sorted(header["flipped_ids"]), dtype=np.int64)


def gptfluence_scores(dyn, pool_ids: Sequence[int], *, encoder, gptfluence=None) -> dict[int, float]:
    """A_ii of every pool example from a GPTfluence fitted on the train runs (val runs for early stopping)."""
    from lib.experiments.simulation import make_simulator

    simulator = make_simulator("GPTfluence", encoder=encoder, gptfluence=gptfluence)
    train = dyn.select_runs("train")
    val = dyn.select_runs("val") if (dyn.split == "val").any() else None
    simulator.fit(train, val)
    simulator.features.remember(dyn)  # the texts of every pool example, trained on or not
    return simulator.self_influence(np.sort(np.asarray(pool_ids, dtype=np.int64)))


def tracin_scores(dyn) -> dict[int, float]:
    """TracIn-CP self-influence as recorded by the collector (only examples some gradient run trained on)."""
    from lib.simulators.gradient_baselines import tracin_self_influence

    return tracin_self_influence(dyn)


def rankings(scores: Mapping[str, Mapping[int, float]], pool_ids: Sequence[int],
             random_seeds: int) -> dict[tuple[str, int], np.ndarray]:
    """(ranking name, seed) -> ranking; seed 0 for the score-based rankings, 0..random_seeds-1 for random."""
    out = {(name, 0): rank_by_score(s, pool_ids) for name, s in scores.items()}
    for seed in range(random_seeds):
        out[("random", seed)] = random_ranking(pool_ids, seed)
    return out


def retrain_config(noisy: CollectionConfig, fixed_ids: Sequence[int], runs: int) -> CollectionConfig:
    """The noisy config with `fixed_ids` repaired, `runs` train runs (same run seeds) and no gradients."""
    return noisy.with_overrides(name=f"{noisy.name}_retrain", data={"fixed_ids": sorted(int(i) for i in fixed_ids)},
                                runs={"train": runs, "val": 0, "test": 0}, gradients={"splits": []})


def retrain_folder(base: Path, config: CollectionConfig) -> Path:
    """<base>/<first 16 hex digits of the config hash>: equal fixed sets share one retraining."""
    return Path(base) / config.config_hash[:16]


def retrain(config: CollectionConfig, folder: Path, *, collect_missing: bool) -> "Dynamics":
    """The finished retraining runs of `config` in `folder`, collecting the missing ones where allowed."""
    finished = 0
    if (folder / "collection.json").is_file() and read_header(folder)["config_hash"] == config.config_hash:
        finished = len(completed_runs(folder, config.config_hash))
    if finished < config.runs.total:
        if not collect_missing:
            raise FileNotFoundError(f"retraining {folder} has {finished} of {config.runs.total} runs; run the "
                                    "notebook with GPTFLUENCE_COLLECT=1 (or collect_missing=True) to train them")
        collect(config, folder, progress=False)
    return load_dynamics(folder, require_complete=True)


def target_token_counts(config: CollectionConfig, folder: str | os.PathLike) -> dict[int, int]:
    """Number of target tokens of every test example, tokenized as the collector does (no EOS for labels)."""
    from lib.collect.encoding import encode_example
    from lib.data.example import Example

    tokenizer = _tokenizer(config)
    header = read_header(folder)
    counts = {}
    for row in read_examples(folder, header["config_hash"]):
        if row["role"] != "test":
            continue
        example = Example(id=int(row["id"]), task=row["task"], prompt=row["prompt"], target=row["target"],
                          label=row["label"], references=tuple(row["references"]))
        encoded = encode_example(tokenizer, example, max_length=config.model.max_length, append_eos=False)
        counts[int(row["id"])] = len(encoded.target_ids)
    return counts


def _tokenizer(config: CollectionConfig):
    if config.model.name == "tiny-neox":
        from lib.models import load_causal_lm

        return load_causal_lm("tiny-neox")[1]
    from transformers import AutoTokenizer

    from lib.models import _resolve_folder

    return AutoTokenizer.from_pretrained(_resolve_folder(config.model.name, config.runtime.cache_dir))


def final_accuracy(dyn, token_counts: Mapping[int, int]) -> float:
    """Mean over runs and test examples of [exp(-n * final loss) > 1/2] (see the module docstring)."""
    n = np.array([token_counts[int(i)] for i in dyn.test_ids], dtype=np.float64)
    final = np.asarray(dyn.values)[:, -1, :]
    return float((n[None, :] * final < math.log(2)).mean())


@dataclass
class MislabelResult:
    """Everything the chapter shows."""

    pool_ids: np.ndarray
    flipped: np.ndarray
    scores: dict[str, dict[int, float]]
    rankings: dict[tuple[str, int], np.ndarray]
    table: pd.DataFrame  # ranking, seed, fraction, checked, found, fraction_found, accuracy, final_loss, folder
    noisy_accuracy: float        # accuracy of the noisy collection's runs themselves
    noisy_loss: float            # their mean final test loss
    retrain_runs: int
    retrain_collections: int
    extras: dict = field(default_factory=dict)


def mislabel_experiment(scale: str, *, encoder, fractions: Sequence[float] | None = None,
                        settings: MislabelSettings | None = None, collect_missing: bool | None = None,
                        data_dir: str | os.PathLike | None = None) -> MislabelResult:
    """Rank the noisy pool three ways, fix the top fractions, retrain, and tabulate found / accuracy."""
    from lib.experiments.settings import gptfluence_config
    from lib.experiments.store import COLLECT_ENV, collection_config, dynamics, dynamics_folder

    settings = settings or SETTINGS[scale]
    fractions = settings.fractions if fractions is None else fractions
    if collect_missing is None:
        collect_missing = scale != "default" or os.environ.get(COLLECT_ENV) == "1"
    noisy_dyn = dynamics(scale, NOISY, collect_missing=collect_missing, data_dir=data_dir)
    folder = dynamics_folder(scale, NOISY)
    noisy = collection_config(scale, NOISY)
    if data_dir is not None:
        noisy = noisy.with_overrides(runtime={"data_dir": str(data_dir)})
    pool, flipped = noisy_truth(folder)
    scores = {"GPTfluence": gptfluence_scores(noisy_dyn, pool, encoder=encoder, gptfluence=gptfluence_config(scale)),
              "TracIn-CP": tracin_scores(noisy_dyn)}
    ranks = rankings(scores, pool, settings.random_seeds)
    counts = target_token_counts(noisy, folder)
    base = dynamics_folder(scale, RETRAIN_FOLDER)
    rows, accuracy_of, loss_of = [], {}, {}
    for (name, seed), ranking in ranks.items():
        for f in fractions:
            fixed = fixes(ranking, f, flipped)
            config = retrain_config(noisy, fixed, settings.retrain_runs)
            out = retrain_folder(base, config)
            if out not in accuracy_of:
                retrained = retrain(config, out, collect_missing=collect_missing)
                accuracy_of[out] = final_accuracy(retrained, counts)
                loss_of[out] = float(np.asarray(retrained.values)[:, -1, :].mean())
            rows.append({"ranking": name, "seed": seed, "fraction": float(f), "checked": len(checked(ranking, f)),
                         "found": len(fixed), "fraction_found": fraction_found(ranking, f, flipped),
                         "accuracy": accuracy_of[out], "final_loss": loss_of[out], "folder": out.name})
    return MislabelResult(pool_ids=pool, flipped=flipped, scores=scores, rankings=ranks,
                          table=pd.DataFrame(rows), noisy_accuracy=final_accuracy(noisy_dyn, counts),
                          noisy_loss=float(np.asarray(noisy_dyn.values)[:, -1, :].mean()),
                          retrain_runs=settings.retrain_runs, retrain_collections=len(accuracy_of))


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max over seeds of fraction found and accuracy (and mean final test loss), per ranking and
    fraction checked."""
    grouped = table.groupby(["ranking", "fraction"])
    out = grouped.agg(found_mean=("fraction_found", "mean"), found_min=("fraction_found", "min"),
                      found_max=("fraction_found", "max"), accuracy_mean=("accuracy", "mean"),
                      accuracy_min=("accuracy", "min"), accuracy_max=("accuracy", "max"),
                      loss_mean=("final_loss", "mean"),
                      seeds=("seed", "nunique"))
    return out.reset_index()
