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
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from transformers import AutoTokenizer

from lib.collect import CollectionConfig, StoredCollection
from lib.collect.encoding import encode_example
from lib.data.example import Example
from lib.dynamics import Dynamics
from lib.experiments.settings import gptfluence_config
from lib.experiments.simulation import make_simulator, split_or_none
from lib.experiments.store import collection_config, collects_missing, dynamics_folder, stored
from lib.experiments.wording import fmt, position_phrase
from lib.models import _resolve_folder, load_causal_lm
from lib.simulators import tracin_self_influence

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


def noisy_truth(collection: StoredCollection) -> tuple[np.ndarray, np.ndarray]:
    """(pool ids, flipped ids) of a noisy collection, read from its examples and header."""
    header = collection.header
    if "flipped_ids" not in header:
        raise ValueError(f"{collection.folder}: collection.json has no flipped_ids (not a label-noise collection)")
    examples = collection.examples()
    pool = np.sort(examples.loc[examples["role"] == "pool", "id"].astype(int).to_numpy())
    return np.asarray(pool, dtype=np.int64), np.asarray(sorted(header["flipped_ids"]), dtype=np.int64)


def gptfluence_scores(dyn: Dynamics, pool_ids: Sequence[int], *, encoder, gptfluence=None) -> dict[int, float]:
    """A_ii of every pool example from a GPTfluence fitted on the train runs (val runs for early stopping)."""
    simulator = make_simulator("GPTfluence", encoder=encoder, gptfluence=gptfluence)
    simulator.fit(dyn.select_runs("train"), split_or_none(dyn, "val"))
    simulator.features.remember(dyn)  # the texts of every pool example, trained on or not
    return simulator.self_influence(np.sort(np.asarray(pool_ids, dtype=np.int64)))


def tracin_scores(dyn: Dynamics) -> dict[int, float]:
    """TracIn-CP self-influence as recorded by the collector (only examples some gradient run trained on)."""
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


def retrain(config: CollectionConfig, folder: Path, *, collect_missing: bool) -> Dynamics:
    """The finished retraining runs of `config` in `folder`, collecting the missing ones where allowed."""
    collection = StoredCollection(folder)
    how = "run the notebook with GPTFLUENCE_COLLECT=1 (or collect_missing=True) to train them"
    collection.ensure_collected(config, collect_missing=collect_missing, how=how)
    return collection.dynamics(require_complete=True)


def target_token_counts(config: CollectionConfig, collection: StoredCollection) -> dict[int, int]:
    """Number of target tokens of every test example, tokenized as the collector does (no EOS for labels)."""
    tokenizer = _tokenizer(config)
    counts = {}
    for row in collection.examples().to_dict("records"):
        if row["role"] != "test":
            continue
        example = Example(id=int(row["id"]), task=row["task"], prompt=row["prompt"], target=row["target"],
                          label=row["label"], references=tuple(row["references"]))
        encoded = encode_example(tokenizer, example, max_length=config.model.max_length, append_eos=False)
        counts[int(row["id"])] = len(encoded.target_ids)
    return counts


def _tokenizer(config: CollectionConfig):
    if config.model.name == "tiny-neox":
        return load_causal_lm("tiny-neox")[1]
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
    fractions: tuple[float, ...] = ()  # the fractions of the pool checked
    random_seeds: int = 0              # random rankings drawn


def mislabel_experiment(scale: str, *, encoder, fractions: Sequence[float] | None = None,
                        settings: MislabelSettings | None = None, collect_missing: bool | None = None,
                        data_dir: str | os.PathLike | None = None) -> MislabelResult:
    """Rank the noisy pool three ways, fix the top fractions, retrain, and tabulate found / accuracy."""
    settings = settings or SETTINGS[scale]
    fractions = settings.fractions if fractions is None else fractions
    if collect_missing is None:
        collect_missing = collects_missing(scale)
    collection = stored(scale, NOISY, collect_missing=collect_missing, data_dir=data_dir)
    noisy_dyn = collection.dynamics(require_complete=True)
    noisy = collection_config(scale, NOISY, data_dir)
    pool, flipped = noisy_truth(collection)
    scores = {"GPTfluence": gptfluence_scores(noisy_dyn, pool, encoder=encoder, gptfluence=gptfluence_config(scale)),
              "TracIn-CP": tracin_scores(noisy_dyn)}
    ranks = rankings(scores, pool, settings.random_seeds)
    counts = target_token_counts(noisy, collection)
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
                          retrain_runs=settings.retrain_runs, retrain_collections=len(accuracy_of),
                          fractions=tuple(float(f) for f in fractions), random_seeds=settings.random_seeds)


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


def _spread_cell(mean: float, low: float, high: float, seeds: int) -> str:
    """'0.42' for one seed, '0.42 [0.40, 0.45]' (mean [min, max]) over several."""
    return fmt(mean) if seeds == 1 else f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"


def checked_table(table: pd.DataFrame) -> pd.DataFrame:
    """The `summary` as the chapter shows it: rows fraction checked, columns (what, ranking) as text."""
    shown = pd.DataFrame({
        "method": table.ranking, "checked": table.fraction.map(lambda f: f"{f:.1f}"),
        "mislabels found": [_spread_cell(r.found_mean, r.found_min, r.found_max, r.seeds) for r in table.itertuples()],
        "test accuracy": [_spread_cell(r.accuracy_mean, r.accuracy_min, r.accuracy_max, r.seeds)
                          for r in table.itertuples()],
        "test loss": table.loss_mean.map(lambda v: fmt(v)),
    })
    return shown.pivot(index="checked", columns="method", values=["mislabels found", "test accuracy", "test loss"])


def _at(table: pd.DataFrame, ranking: str, fraction: float, key: str) -> float:
    """The mean `key` ("found", "accuracy", "loss") of a ranking at a fraction checked, from `summary`."""
    row = table[(table.ranking == ranking) & np.isclose(table.fraction, fraction)]
    return float(row[f"{key}_mean"].iloc[0])


def _beats(table: pd.DataFrame, a: str, b: str, key: str, fractions: Sequence[float]) -> str:
    """'k of n': at how many of `fractions` ranking a's mean `key` is above b's."""
    k = sum(_at(table, a, f, key) > _at(table, b, f, key) + 1e-12 for f in fractions)
    return f"{k} of {len(fractions)}"


def facts(result: MislabelResult) -> dict[str, object]:
    """Gluable facts of the chapter: the noisy runs, each ranking's mislabels found, accuracy and loss at the
    fractions checked, and how often GPTfluence beats TracIn-CP and random ranking."""
    table = summary(result.table)
    out: dict[str, object] = {
        "mis_flipped": len(result.flipped), "mis_retrain_collections": result.retrain_collections,
        "mis_noisy_acc": fmt(result.noisy_accuracy), "mis_noisy_loss": fmt(result.noisy_loss),
        "mis_tracin_scored": int(np.isin(result.pool_ids, list(result.scores["TracIn-CP"])).sum()),
    }
    checked_fractions = [f for f in result.fractions if f > 0]  # the scale's fractions checked (Fig 7's x axis)
    early = [f for f in result.fractions if 0 < f <= 0.2]
    top = max(checked_fractions)
    out["mis_fracs_checked"] = " / ".join(f"{100 * f:.0f}%" for f in checked_fractions)
    out["mis_frac_top"] = f"{100 * top:.0f}%"
    for name, key in (("GPTfluence", "gpt"), ("TracIn-CP", "tracin"), ("random", "random")):
        out[f"mis_{key}_found_list"] = " / ".join(fmt(_at(table, name, f, "found")) for f in checked_fractions)
        out[f"mis_{key}_acc_list"] = " / ".join(fmt(_at(table, name, f, "accuracy")) for f in checked_fractions)
        out[f"mis_{key}_loss_top"] = fmt(_at(table, name, top, "loss"))
    out["mis_acc_0"] = fmt(_at(table, "random", 0.0, "accuracy"))
    out["mis_loss_0"] = fmt(_at(table, "random", 0.0, "loss"))
    for other, okey in (("TracIn-CP", "tracin"), ("random", "random")):
        for key in ("found", "accuracy"):
            out[f"mis_gpt_beats_{okey}_{key}"] = _beats(table, "GPTfluence", other, key, checked_fractions)
        out[f"mis_gpt_beats_{okey}_found_early"] = _beats(table, "GPTfluence", other, "found", early)
        out[f"mis_gpt_beats_{okey}_acc_early"] = _beats(table, "GPTfluence", other, "accuracy", early)
    out["mis_tracin_beats_random_found"] = _beats(table, "TracIn-CP", "random", "found", checked_fractions)
    accuracies = table.accuracy_mean.to_numpy()
    flat = bool(np.allclose(accuracies, accuracies[0]))
    out["mis_acc_reading"] = (
        f"is {fmt(accuracies[0])} for every method and fraction checked: at this scale the accuracy measure does "
        "not separate the methods, and only the mean test loss does" if flat else
        f"ranges from {fmt(accuracies.min())} to {fmt(accuracies.max())} across methods and fractions checked")
    out["mis_gpt_vs_random_found_top"] = position_phrase(_at(table, "GPTfluence", top, "found"),
                                                         _at(table, "random", top, "found"))
    out["mis_gpt_vs_tracin_found_top"] = position_phrase(_at(table, "GPTfluence", top, "found"),
                                                         _at(table, "TracIn-CP", top, "found"))
    return out
