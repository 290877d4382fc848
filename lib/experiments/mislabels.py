"""Mislabelled-data identification (GPTfluence section 4.6, Fig 7): rank, check, fix, retrain.

The noisy collection (`configs/<scale>/sst2_mislabel.toml`, `[data] flip_fraction = 0.4`) has 40% of its
pool's labels flipped; the flipped ids are recorded in its collection.json (`flipped_ids`). Each ranking
orders the pool by how suspicious an example is, highest score first:

- "GPTfluence A_ii" (the paper's words): the simulator's order-1 multiplicative factor of an example on itself,
  A_ii = <f(h_i), g(h_i)> (z' = z_i). With the official code's shared tower (f = g) this is ||f(h_i)||^2 >= 0, a
  norm of the example's projected text feature: it says how strongly the example multiplies a loss it is applied
  to, not whether training on z_i lowers z_i's own loss.
- "GPTfluence self-effect" (a definition that follows from the model, the counterpart of TracIn's): the drop
  of z_i's own loss that the simulator predicts for one step on a batch of B copies of z_i, from the
  collection's mean initial test loss y0: y0 - (B A_ii y0 + B B_ii). Mislabelled examples are those whose loss a
  step on themselves lowers most (the memorization TracIn's gradient norm measures).
- TracIn-CP: sum over the saved checkpoints of lr * |grad L(z_i)|^2 over the LM head, recorded by the collector
  (mean over the runs that trained on z_i); pool examples no run trained on have no score and come last;
- EK-FAC and TRAK (lib/attribution/self_influence.py): an example's influence on its own loss at the final
  model of each held-out run, averaged over the scored runs, read from the noisy collection's stored vectors
  (`python -m lib.attribution <collection> --self`). They exist only where the noisy collection trains the
  top-block regime and the vectors were computed; elsewhere `attribution_self_scores` says why and the rankings
  are left out;
- random: seeded permutations of the pool.

How well a ranking finds the mislabels before any retraining (`detection_table`): the AUC of its scores as a
detector of the flipped labels and the share of them in its top 10-50%, with a 95% bootstrap interval over the pool
examples (flipped and clean resampled separately, the same draws for every method, so differences are paired).

"Checking" the top fraction f of the pool reveals which of those examples are mislabelled; those are fixed
(`[data] fixed_ids`, the flip undone) and the classifier is retrained from scratch on the WHOLE cleaned pool
(`[training] subset_size` = pool size), with several run seeds. Each retraining run ends with one score of
many test examples (`lib.collect.retraining`): accuracy by argmax over the label words and the mean loss of the
true label word. Runs are stored by config hash (`RetrainingStore`, atomic JSON per run, resumable): rankings
that fix the same examples share their runs, and a fix anywhere in the pool changes the retraining.

The retraining runs are trained from the command line, resumably (`python -m lib.experiments.mislabels --scale
<scale> --collect`; without --collect it only counts them and estimates the hours): first every fixed set that the
random and TracIn-CP rankings reach (and nothing fixed), which depend only on the committed noisy collection, every
set's first seed before any set's second; then the sets only the EK-FAC and TRAK rankings reach (stored
self-influence, also fixed by the collection); then GPTfluence is fitted with the scale's settings and the sets only its
rankings reach are trained (`collect_in_order`). Until the scale has GPTfluence settings the second stage waits.

`run` does all of it and compares the rankings' test accuracy after retraining with a paired bootstrap over the
retraining seeds (the same seed trains the same curriculum order for every ranking) and the test examples: the
paper's claim is that GPTfluence's fixes give the more accurate classifier, especially early. `facts` says it in
words.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.attribution.store import load_self_scores, self_influence
from lib.collect import CollectionConfig, StoredCollection
from lib.collect.examples import draw_examples
from lib.collect import retraining
from lib.collect.retraining import RetrainingStore
from lib.dynamics import Dynamics
from lib.experiments.comparisons import claim_facts
from lib.experiments.recorded_plan import drift_sentence, follow_recorded, read_plan, write_plan
from lib.experiments.settings import gptfluence_config
from lib.experiments.simulation import make_simulator, split_or_none
from lib.experiments.store import collection_config, collects_missing, dynamics_folder, stored
from lib.experiments.uncertainty import N_RESAMPLES, SHORT_REASONS, paired_difference, verdict
from lib.experiments.wording import fmt, interval_text, number, position_phrase
from lib.scales import PAPER_SIZE_REGIME, get_scale
from lib.simulators import tracin_self_influence

FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""Fractions of the pool checked (paper Fig 7's x axis)."""
NOISY = "sst2_mislabel"
RETRAIN_FOLDER = "mislabel_retrain"
MAX_RETRAIN_SEEDS = 16
"""The retraining config lists this many runs whatever the number used, so adding seeds later keeps the hash."""
GPT_AII, GPT_EFFECT, TRACIN, RANDOM = "GPTfluence A_ii", "GPTfluence self-effect", "TracIn-CP", "random"
EKFAC, TRAK = "EK-FAC", "TRAK"
ATTRIBUTION_RANKINGS = {EKFAC: "ekfac", TRAK: "trak"}
"""The rankings by stored self-influence (lib/attribution) and each one's method name in the store."""
EARLY = 0.2
"""Fractions checked up to this one are the "early stages" of the paper's claim."""
PAIRS = {(GPT_AII, TRACIN): "mislabel", (GPT_AII, RANDOM): "mislabel_random", (GPT_EFFECT, TRACIN): "mislabel_effect",
         (GPT_EFFECT, RANDOM): "mislabel_effect_random", (TRACIN, RANDOM): "mislabel_tracin_random",
         (EKFAC, RANDOM): "mislabel_ekfac_random", (TRAK, RANDOM): "mislabel_trak_random",
         (GPT_AII, EKFAC): "mislabel_ekfac", (GPT_AII, TRAK): "mislabel_trak"}
"""The accuracy comparisons (A, B) and the glue-key prefix of each (`comparisons.claim_facts`); a pair whose
rankings are not in the retrained table (EK-FAC, TRAK without stored self-influence) is left out."""


@dataclass(frozen=True)
class MislabelSettings:
    """Random rankings, fractions checked, retraining seeds and test examples per scale, and how retraining trains.

    Each distinct fixed set costs `retrain_seeds` retraining runs on the whole cleaned pool. `retrain_model`,
    `retrain_training` and `retrain_warmup` override the noisy config's sections for the retraining (e.g. the
    cheaper top-block regime); `accuracy_tests` is the number of test examples each retrained model is scored on.
    """

    random_seeds: int
    retrain_seeds: int
    accuracy_tests: int
    fractions: tuple[float, ...] = FRACTIONS
    retrain_model: Mapping[str, object] = field(default_factory=dict)
    retrain_training: Mapping[str, object] = field(default_factory=dict)
    retrain_warmup: Mapping[str, object] = field(default_factory=dict)
    run_seconds: float | None = None
    """Measured seconds of one retraining run, for the estimate the command line prints before any run is stored."""


TOP_REGIME = {"regime": "top", "top_blocks": 2, "head": "untied"}
"""The paper-size pilot's top-block regime (configs/paper_size/sst2.toml, lib/scales.py): ~10x cheaper runs."""
PAPER_TOP_REGIME = {"regime": "top", "top_blocks": PAPER_SIZE_REGIME.top_blocks, "head": PAPER_SIZE_REGIME.head}
"""The paper-size collections' top-block regime (lib/scales.py PAPER_SIZE_REGIME), read rather than retyped."""
SETTINGS = {  # keyed by data regime (lib.scales: a scale's `regime`); settings_for(scale) picks a scale's
    "smoke": MislabelSettings(random_seeds=2, retrain_seeds=2, accuracy_tests=24, fractions=(0.0, 0.2, 0.4)),
    "full_fine_tuning": MislabelSettings(random_seeds=10, retrain_seeds=3, accuracy_tests=200, retrain_model=TOP_REGIME,
                                retrain_training={"lr": 1e-4},
                                retrain_warmup={"examples": 64, "steps": 32, "batch_size": 4, "lr": 1e-4}),
    # The paper's size: the whole cleaned pool of 200 (batch 4, 3 epochs = 150 steps) in the paper-size top-block
    # regime, the minimums (3 seeds, 10 random rankings, 0-50%, 200 test examples). Measured on this CPU, one
    # thread: a run costs 40 s of one core (39.5 s; 44 s for a process's first, which loads the model; the very first
    # also computes the frozen bottom's states of the 2 x 200 pool and 2 x 200 test variants once, 122 s in all); on
    # the shared machine (load average 7-9 on 2 cores) it took 300-400 s of wall time. Runs: the random and TracIn-CP
    # rankings reach 56 distinct cleaned pools (nothing fixed, shared by every ranking, + 11 rankings x 5 fractions),
    # 168 runs, about 1.9 hours of one core; EK-FAC's and TRAK's rankings (stored self-influence) add 10 pools that
    # the others do not reach, 30 runs, 0.3 hours; GPTfluence's two rankings at most 10 pools, 30 runs, 0.3 hours:
    # at most 228 runs, 2.5 hours, under the ~4 hours that would call for a cheaper design.
    "paper_size": MislabelSettings(
        random_seeds=10, retrain_seeds=3, accuracy_tests=200, retrain_model=PAPER_TOP_REGIME,
        retrain_training={"lr": PAPER_SIZE_REGIME.lr},
        retrain_warmup={"examples": PAPER_SIZE_REGIME.warmup_examples, "steps": PAPER_SIZE_REGIME.warmup_steps,
                        "batch_size": 4, "lr": PAPER_SIZE_REGIME.warmup_lr}, run_seconds=40.0),
}


def settings_for(scale: str) -> MislabelSettings:
    """The retraining settings of `scale`: those of the data regime it reads."""
    regime = get_scale(scale).regime
    if regime not in SETTINGS:
        raise ValueError(f"no mislabel settings for regime {regime!r} (scale {scale!r}); have {', '.join(SETTINGS)}")
    return SETTINGS[regime]


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


def gptfluence_scores(dyn: Dynamics, pool_ids: Sequence[int], *, encoder,
                      gptfluence=None) -> dict[str, dict[int, float]]:
    """Both GPTfluence self-influences of every pool example (A_ii and the self-effect, see the module docstring),
    from one simulator fitted on the train runs (val runs for early stopping)."""
    simulator = make_simulator("GPTfluence", encoder=encoder, gptfluence=gptfluence)
    simulator.fit(dyn.select_runs("train"), split_or_none(dyn, "val"))
    simulator.features.remember(dyn)  # the texts of every pool example, trained on or not
    ids = np.sort(np.asarray(pool_ids, dtype=np.int64))
    a_ii, b_ii = self_factors(simulator, ids)
    y0 = float(np.asarray(dyn.values)[:, 0, :].mean())
    effect = self_effect(a_ii, b_ii, y0, dyn.batch_size)
    return {GPT_AII: dict(zip(ids.tolist(), a_ii.tolist())), GPT_EFFECT: dict(zip(ids.tolist(), effect.tolist()))}


def self_factors(simulator, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A_ii, B_ii) of each id: the order-1 multiplicative and the additive factor with the example as its own test."""
    import torch  # lazy: only scoring a fitted simulator needs torch; reading results and the facts do not

    with torch.no_grad():
        h = torch.as_tensor(simulator.features.embed(ids, "train"), dtype=torch.float32,
                            device=simulator.device)
        f, g = simulator.train_towers(h), simulator.test_towers(h)
        products = (f * g).sum(-1).double().cpu().numpy()  # [factors, ids]
    return products[0], products[simulator.order]


def self_effect(a_ii: np.ndarray, b_ii: np.ndarray, y0: float, batch: int) -> np.ndarray:
    """The simulated drop of an example's own loss y0 after one step on a batch of `batch` copies of it:
    y0 - (batch A_ii y0 + batch B_ii)."""
    return y0 - (batch * np.asarray(a_ii) * y0 + batch * np.asarray(b_ii))


def tracin_scores(dyn: Dynamics) -> dict[int, float]:
    """TracIn-CP self-influence as recorded by the collector (only examples some gradient run trained on)."""
    return tracin_self_influence(dyn)


def attribution_self_scores(folder: str | os.PathLike, noisy: CollectionConfig
                            ) -> tuple[dict[str, dict[int, float]], dict[str, str]]:
    """(scores, reasons): the EK-FAC and TRAK self-influence of the pool stored with the noisy collection in `folder`
    (mean over the scored runs), and for each ranking without stored vectors why it has none."""
    scores, reasons = {}, {}
    for name, method in ATTRIBUTION_RANKINGS.items():
        if load_self_scores(folder, method):
            scores[name] = self_influence(folder, method)
        else:
            reasons[name] = no_self_influence_reason(noisy, name)
    return scores, reasons


def no_self_influence_reason(noisy: CollectionConfig, name: str) -> str:
    """Why `name` has no self-influence for the noisy collection, from its config: EK-FAC and TRAK score the top-block
    regime's trained parameters only; in that regime the vectors simply were not computed."""
    if noisy.model.regime != "top":
        return f"the noisy collection trains the '{noisy.model.regime}' regime, {name} covers the top-block one"
    return f"no {name} self-influence is stored for the noisy collection ({noisy.model.name}, top-block regime)"


# ---------------------------------------------------------------------------------------------------- detection


def auc_matrix(scores: Mapping[int, float], flipped_ids: np.ndarray, clean_ids: np.ndarray) -> np.ndarray:
    """[flipped, clean]: 1 where the flipped example scores above the clean one, 0.5 on ties, else 0 (an unscored
    example scores -inf, as `rank_by_score` ranks it last); the mean is the AUC (Mann-Whitney)."""
    def values(ids: np.ndarray) -> np.ndarray:
        out = np.array([scores.get(int(i), -np.inf) for i in ids], dtype=np.float64)
        return np.where(np.isfinite(out), out, -np.inf)

    f, c = values(flipped_ids)[:, None], values(clean_ids)[None, :]
    return (f > c) + 0.5 * (f == c)


def _flipped_and_clean(pool_ids: Sequence[int], flipped: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pool, its flipped ids, its clean ids), sorted; a ValueError when either group is empty."""
    pool = np.sort(np.asarray(pool_ids, dtype=np.int64))
    flipped_ids = np.intersect1d(pool, np.asarray(flipped, dtype=np.int64))
    clean_ids = np.setdiff1d(pool, flipped_ids)
    if not len(flipped_ids) or not len(clean_ids):
        raise ValueError(f"detection needs flipped and clean pool examples, got {len(flipped_ids)} flipped of "
                         f"{len(pool)}")
    return pool, flipped_ids, clean_ids


def _bootstrap_interval(matrix: np.ndarray, n_resamples: int, seed: int) -> tuple[float, float]:
    """95% percentile interval of the mean of a [flipped, clean] matrix, flipped (rows) and clean (columns) resampled
    with replacement separately; the same seed draws the same resamples for every matrix of that shape (paired)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, matrix.shape[0], size=(n_resamples, matrix.shape[0]))
    cols = rng.integers(0, matrix.shape[1], size=(n_resamples, matrix.shape[1]))
    resampled = np.array([matrix[i][:, j].mean() for i, j in zip(rows, cols)])
    low, high = np.percentile(resampled, [2.5, 97.5])
    return float(low), float(high)


def detection_table(scores: Mapping[str, Mapping[int, float]], pool_ids: Sequence[int], flipped: Sequence[int], *,
                    random_seeds: int, fractions: Sequence[float] = FRACTIONS[1:],
                    missing: Mapping[str, str] | None = None, n_resamples: int = N_RESAMPLES,
                    seed: int = 0) -> pd.DataFrame:
    """Per ranking, how well it finds the flipped labels before any retraining: the AUC of its scores with a 95%
    bootstrap interval (flipped and clean pool examples resampled separately; the same draws for every method), the
    share of the flipped found in its top `fractions` of the pool, and the pool examples it scores. Random: the mean
    over `random_seeds` rankings, with [min, max] over them for the interval. `missing` rankings get a row with
    their reason (column "note") and no numbers."""
    pool, flipped_ids, clean_ids = _flipped_and_clean(pool_ids, flipped)
    rows = []
    for name, s in scores.items():
        m = auc_matrix(s, flipped_ids, clean_ids)
        low, high = _bootstrap_interval(m, n_resamples, seed)
        ranking = rank_by_score(s, pool)
        rows.append({"method": name, "scored": int(np.isin(pool, list(s)).sum()), "pool": len(pool),
                     "flipped": len(flipped_ids), "auc": float(m.mean()), "low": float(low), "high": float(high),
                     "interval": "95% bootstrap over pool examples", "note": "",
                     **{f"found {100 * f:.0f}%": fraction_found(ranking, f, flipped_ids) for f in fractions}})
    if random_seeds:
        ranks = [random_ranking(pool, k) for k in range(random_seeds)]
        aucs = [auc_matrix({int(i): -p for p, i in enumerate(r)}, flipped_ids, clean_ids).mean() for r in ranks]
        rows.append({"method": RANDOM, "scored": len(pool), "pool": len(pool), "flipped": len(flipped_ids),
                     "auc": float(np.mean(aucs)), "low": float(min(aucs)), "high": float(max(aucs)),
                     "interval": f"[min, max] over {random_seeds} random rankings", "note": "",
                     **{f"found {100 * f:.0f}%": float(np.mean([fraction_found(r, f, flipped_ids) for r in ranks]))
                        for f in fractions}})
    for name, reason in (missing or {}).items():
        rows.append({"method": name, "scored": 0, "pool": len(pool), "flipped": len(flipped_ids), "auc": np.nan,
                     "low": np.nan, "high": np.nan, "interval": "", "note": reason,
                     **{f"found {100 * f:.0f}%": np.nan for f in fractions}})
    return pd.DataFrame(rows)


def detection_differences(scores: Mapping[str, Mapping[int, float]], pool_ids: Sequence[int],
                          flipped: Sequence[int], pairs: Sequence[tuple[str, str]], *, n_resamples: int = N_RESAMPLES,
                          seed: int = 0) -> pd.DataFrame:
    """AUC of ranking A minus ranking B for each pair whose both rankings have scores, with the 95% paired bootstrap
    interval (the same resampled pool examples for both) and the verdict on A (higher is better)."""
    pool, flipped_ids, clean_ids = _flipped_and_clean(pool_ids, flipped)
    rows = []
    for a, b in pairs:
        if a not in scores or b not in scores:
            continue
        m = auc_matrix(scores[a], flipped_ids, clean_ids) - auc_matrix(scores[b], flipped_ids, clean_ids)
        low, high = _bootstrap_interval(m, n_resamples, seed)
        rows.append({"A": a, "B": b, "difference": float(m.mean()), "low": low, "high": high,
                     "verdict": verdict(low, high, lower_is_better=False),
                     "n": f"{len(flipped_ids)} flipped x {len(clean_ids)} clean pool examples"})
    return pd.DataFrame(rows, columns=["A", "B", "difference", "low", "high", "verdict", "n"])


def detection_display(table: pd.DataFrame) -> pd.DataFrame:
    """`detection_table` for the page: AUC [interval], the share of the flipped found in each top fraction ("top
    10%", ...), the pool examples scored, and a note: for a ranking without scores its reason (its numbers "-"), for
    random how its interval is made."""
    found = [c for c in table.columns if c.startswith("found ")]
    rows = []
    for r in table.to_dict("records"):
        if r["note"]:
            rows.append({"method": r["method"], "AUC [95% interval]": "-", **{c: "-" for c in found}, "scored": "-",
                         "note": r["note"]})
            continue
        auc = f"{fmt(r['auc'])} {interval_text(r['low'], r['high'])}"
        rows.append({"method": r["method"], "AUC [95% interval]": auc,
                     **{c: fmt(r[c]) for c in found}, "scored": f"{r['scored']} of {r['pool']}",
                     "note": f"interval: {r['interval']}" if r["method"] == RANDOM else ""})
    return pd.DataFrame(rows).set_index("method").rename(columns={c: f"top {c[6:]}" for c in found})


def rankings(scores: Mapping[str, Mapping[int, float]], pool_ids: Sequence[int],
             random_seeds: int) -> dict[tuple[str, int], np.ndarray]:
    """(ranking name, seed) -> ranking; seed 0 for the score-based rankings, 0..random_seeds-1 for random."""
    out = {(name, 0): rank_by_score(s, pool_ids) for name, s in scores.items()}
    for seed in range(random_seeds):
        out[(RANDOM, seed)] = random_ranking(pool_ids, seed)
    return out


def retrain_config(noisy: CollectionConfig, fixed_ids: Sequence[int], settings: MislabelSettings) -> CollectionConfig:
    """The noisy config with `fixed_ids` repaired, trained on the whole pool (same run seeds), no gradients, scored
    on `settings.accuracy_tests` test examples; the settings' model / training / warm-up overrides applied."""
    sections = {"model": dict(settings.retrain_model),
                "training": {**settings.retrain_training, "subset_size": noisy.data.pool_size},
                "warmup": dict(settings.retrain_warmup)}
    return noisy.with_overrides(
        name=f"{noisy.name}_retrain", data={"fixed_ids": sorted({int(i) for i in fixed_ids}),
                                            "test_size": settings.accuracy_tests},
        runs={"train": MAX_RETRAIN_SEEDS, "val": 0, "test": 0}, gradients={"splits": []},
        **{k: v for k, v in sections.items() if v})


def retraining_plan(ranks: Mapping[tuple[str, int], np.ndarray], flipped: Sequence[int], noisy: CollectionConfig,
                    settings: MislabelSettings, fractions: Sequence[float]) -> pd.DataFrame:
    """One row per (ranking, seed, fraction, retraining seed): the fixed set, its retraining config and run index.

    Rows whose fixed sets are equal hold the same config (its hash is the content key), so they share runs.
    """
    rows = []
    for (name, seed), ranking in ranks.items():
        for f in fractions:
            fixed = fixes(ranking, f, flipped)
            config = retrain_config(noisy, fixed, settings)
            for run in range(settings.retrain_seeds):
                rows.append({"ranking": name, "seed": seed, "fraction": float(f), "checked": len(checked(ranking, f)),
                             "found": len(fixed), "fraction_found": fraction_found(ranking, f, flipped),
                             "fixed": fixed, "retrain_seed": run, "config": config,
                             "folder": config.config_hash[:16]})
    return pd.DataFrame(rows)


def retrain(plan: pd.DataFrame, store: RetrainingStore, *, collect_missing: bool) -> pd.DataFrame:
    """The plan with each row's retraining accuracy and loss, training the missing runs where allowed."""
    how = ("run the notebook with GPTFLUENCE_COLLECT=1 (or collect_missing=True) to train them; "
           f"{len(plan.drop_duplicates(['folder', 'retrain_seed']))} distinct runs in all")
    wanted = list(zip(plan["config"], plan["retrain_seed"]))
    scores = store.ensure(wanted, collect_missing=collect_missing, how=how)
    got = [scores[(c.config_hash, int(i))] for c, i in wanted]
    return plan.assign(accuracy=[g.accuracy for g in got], final_loss=[g.loss for g in got],
                       tests=[g.tests for g in got], seconds=[g.seconds for g in got],
                       predicted=[np.asarray(g.predicted, dtype=np.int64) for g in got],
                       test_ids=[np.asarray(g.test_ids, dtype=np.int64) for g in got])


GPTFLUENCE_RANKINGS = (GPT_AII, GPT_EFFECT)
"""The rankings that need a fitted GPTfluence simulator; the others depend only on the noisy collection."""


STAGES = ("random and TracIn-CP rankings (and nothing fixed)",
          "EK-FAC and TRAK self-influence rankings (the sets the above do not fix)",
          "GPTfluence's rankings (the sets the others do not fix)")
"""The retraining stages in training order: a fixed set belongs to the first stage of any ranking that reaches it."""


def ranking_stage(name: str) -> int:
    """The stage (index into STAGES) of a ranking: 2 GPTfluence's, 1 EK-FAC / TRAK, 0 the others (random, TracIn-CP)."""
    return 2 if name in GPTFLUENCE_RANKINGS else 1 if name in ATTRIBUTION_RANKINGS else 0


def staged_queue(plan: pd.DataFrame) -> list[tuple[CollectionConfig, int, int]]:
    """The plan's distinct runs (config, retraining seed, stage) in the order to train them: stage by stage (a set's
    stage is the lowest of the rankings that reach it, `ranking_stage`); within a stage every set's first seed before
    any set's second (an interrupted pass leaves whole seeds), by fraction checked."""
    stage = plan.groupby("folder")["ranking"].agg(lambda names: min(ranking_stage(n) for n in names))
    rows = plan.assign(stage=plan["folder"].map(stage))
    rows = rows.sort_values(["stage", "retrain_seed", "fraction", "ranking", "seed"], kind="stable")
    rows = rows.drop_duplicates(["folder", "retrain_seed"])
    return list(zip(rows["config"], rows["retrain_seed"].astype(int), rows["stage"].astype(int)))


def retraining_queue(plan: pd.DataFrame) -> list[tuple[CollectionConfig, int]]:
    """The plan's distinct runs (config, retraining seed) in the order to train them (`staged_queue`)."""
    return [(config, seed) for config, seed, _ in staged_queue(plan)]


def test_labels(config: CollectionConfig) -> dict[int, int]:
    """Test id -> true label of the test examples a retraining config scores (drawn as the retraining draws them)."""
    return {int(e.id): int(e.label) for e in draw_examples(config).test}


def with_correct(table: pd.DataFrame, labels: Mapping[int, int]) -> pd.DataFrame:
    """The retrained table with `correct`, per row the 0/1 of each test example (in one test order for all rows);
    a ValueError when the rows score other test examples or their accuracy is not the mean of `correct`."""
    order = table["test_ids"].iloc[0]
    correct = []
    for ids, predicted, accuracy in zip(table["test_ids"], table["predicted"], table["accuracy"]):
        if not np.array_equal(ids, order):
            raise ValueError("the retraining runs scored different test examples; they cannot be paired")
        hits = (predicted == np.array([labels[int(i)] for i in ids])).astype(np.float64)
        if not math.isclose(hits.mean(), accuracy, abs_tol=1e-9):
            raise ValueError(f"a stored accuracy {accuracy} is not the share of correct predictions {hits.mean()}")
        correct.append(hits)
    return table.assign(correct=correct)


def correct_by_seed(table: pd.DataFrame, ranking: str, fractions: Sequence[float]) -> np.ndarray:
    """[retraining seeds, test examples]: the share of `ranking`'s retrained classifiers (its seeds x `fractions`)
    that get each test example right, per retraining seed."""
    rows = table[(table["ranking"] == ranking) & np.isclose(table["fraction"].to_numpy()[:, None],
                                                            np.asarray(fractions)[None]).any(axis=1)]
    if rows.empty:
        raise ValueError(f"no retrained rows of ranking {ranking!r} at fractions {list(fractions)}")
    return np.stack([np.mean(np.stack(list(group["correct"])), axis=0)
                     for _, group in rows.groupby("retrain_seed", sort=True)])


def accuracy_differences(table: pd.DataFrame, fractions: Sequence[float]) -> pd.DataFrame:
    """Per pair of PAIRS and group of fractions checked ("all": every fraction above 0; "early": those up to EARLY),
    ranking A's test accuracy after fixing and retraining minus B's, averaged over the fractions, with its 95% paired
    bootstrap interval over the retraining seeds and the test examples, and the verdict on A (higher is better).
    Columns as `comparisons.difference_table` (group column "checked"), so `claim_facts` reads them."""
    groups = {"all": [f for f in fractions if f > 0], "early": [f for f in fractions if 0 < f <= EARLY]}
    rows = []
    present = set(table["ranking"])
    for a, b in PAIRS:
        for group, chosen in groups.items():
            if not chosen or not {a, b} <= present:
                continue
            diff = paired_difference(correct_by_seed(table, a, chosen), correct_by_seed(table, b, chosen),
                                     lower_is_better=False)
            rows.append({"checked": group, "fractions": " / ".join(f"{100 * f:.0f}%" for f in chosen), "A": a, "B": b,
                         "runs": diff.runs, "tests": diff.tests, "flat share": 0.0, "difference": diff.estimate,
                         "low": diff.low, "high": diff.high, "verdict": diff.verdict, "reason": diff.reason})
    return pd.DataFrame(rows)


def differences_display(differences: pd.DataFrame) -> pd.DataFrame:
    """`accuracy_differences` for the page: per comparison and fractions checked the accuracy difference A - B, its
    95% interval, the verdict on A and its n (retraining seeds x test examples)."""
    return pd.DataFrame({
        "comparison": differences["A"] + " vs " + differences["B"], "fractions checked": differences["fractions"],
        "accuracy difference A - B": [number(v) for v in differences["difference"]],
        "95% interval": [interval_text(lo, hi) for lo, hi in zip(differences["low"], differences["high"])],
        "verdict on A": [v + (f" ({SHORT_REASONS[r]})" if r else "") for v, r in zip(differences["verdict"],
                                                                                    differences["reason"])],
        "n (seeds x tests)": [f"{r} x {t}" for r, t in zip(differences["runs"], differences["tests"])],
    }).set_index(["comparison", "fractions checked"])


DETECTION_PAIRS = ((EKFAC, TRACIN), (TRAK, TRACIN), (EKFAC, TRAK), (GPT_AII, TRACIN), (GPT_EFFECT, TRACIN),
                   (GPT_AII, EKFAC), (GPT_AII, TRAK))
"""The detection AUC comparisons (A, B) the chapter states; a pair is compared where both rankings have scores."""


@dataclass
class Detection:
    """How well each ranking finds the flipped labels of one noisy collection before retraining (`detection_table`,
    `detection_differences`)."""

    scale: str
    table: pd.DataFrame
    differences: pd.DataFrame
    pool: int
    flipped: int


def detect(scale: str, scores: Mapping[str, Mapping[int, float]], pool: np.ndarray, flipped: np.ndarray, *,
           random_seeds: int, missing: Mapping[str, str]) -> Detection:
    """The `Detection` of the given rankings (and `random_seeds` random ones); `missing` rankings with their reason."""
    table = detection_table(scores, pool, flipped, random_seeds=random_seeds, missing=missing)
    return Detection(scale, table, detection_differences(scores, pool, flipped, DETECTION_PAIRS), len(pool),
                     int(np.isin(flipped, pool).sum()))


def detection_at(scale: str, *, data_dir: str | os.PathLike | None = None) -> Detection:
    """Detection on a committed scale's noisy collection by the rankings that need no fitted simulator (TracIn-CP,
    EK-FAC and TRAK where stored, random); GPTfluence's rows say why they are absent (it is fitted only by `run` and
    by the retraining command's last stage)."""
    collection = stored(scale, NOISY, collect_missing=False, data_dir=data_dir)
    noisy = collection_config(scale, NOISY, data_dir)
    pool, flipped = noisy_truth(collection)
    attribution, missing = attribution_self_scores(collection.folder, noisy)
    train_runs = noisy.runs.train
    missing.update({name: f"GPTfluence is not fitted on this collection's {train_runs} training runs here"
                    for name in GPTFLUENCE_RANKINGS})
    scores = {TRACIN: tracin_scores(collection.dynamics(require_complete=True)), **attribution}
    return detect(scale, scores, pool, flipped, random_seeds=settings_for(scale).random_seeds, missing=missing)


@dataclass
class MislabelResult:
    """Everything the chapter shows."""

    pool_ids: np.ndarray
    flipped: np.ndarray
    scores: dict[str, dict[int, float]]
    rankings: dict[tuple[str, int], np.ndarray]
    table: pd.DataFrame  # per (ranking, seed, fraction, retrain_seed): checked, found, fraction_found, accuracy, ...
    settings: MislabelSettings
    retrain_runs: int            # distinct retraining runs (fixed set x seed)
    retrain_sets: int            # distinct fixed sets
    retrain_seconds: float       # mean seconds of one retraining run (as recorded when it ran)
    tests: int                   # test examples each retrained model is scored on
    fractions: tuple[float, ...] = ()  # the fractions of the pool checked
    noisy_config: CollectionConfig | None = None
    retrain_example: CollectionConfig | None = None  # the retraining config with nothing fixed
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)  # `accuracy_differences` (`run`)
    missing: dict[str, str] = field(default_factory=dict)  # rankings left out (EK-FAC, TRAK) -> why
    detection: Detection | None = None  # how each ranking finds the flipped labels before retraining
    plan_drift: pd.DataFrame = field(default_factory=pd.DataFrame)  # today's fixed sets vs the recorded plan's

    @property
    def by_fraction(self) -> pd.DataFrame:
        """The table per ranking and fraction checked (`summary`): what the figure and the table show."""
        return summary(self.table)

    @property
    def random_seeds(self) -> int:
        """Random rankings drawn."""
        return self.settings.random_seeds


def run(scale: str, *, encoder, fractions: Sequence[float] | None = None, settings: MislabelSettings | None = None,
        collect_missing: bool | None = None, data_dir: str | os.PathLike | None = None,
        store: RetrainingStore | None = None) -> MislabelResult:
    """The chapter: rank the noisy pool (GPTfluence twice, TracIn-CP, EK-FAC and TRAK where stored, random), fix the
    top fractions, retrain on the whole cleaned pool (or read the stored retrainings), tabulate, compare the rankings'
    accuracy after retraining (`accuracy_differences`) and how well each finds the flipped labels (`detect`)."""
    settings = settings or settings_for(scale)
    fractions = settings.fractions if fractions is None else fractions
    if collect_missing is None:
        collect_missing = collects_missing(scale)
    collection = stored(scale, NOISY, collect_missing=collect_missing, data_dir=data_dir)
    noisy_dyn = collection.dynamics(require_complete=True)
    noisy = collection_config(scale, NOISY, data_dir)
    pool, flipped = noisy_truth(collection)
    attribution, missing = attribution_self_scores(collection.folder, noisy)
    scores = {**gptfluence_scores(noisy_dyn, pool, encoder=encoder, gptfluence=gptfluence_config(scale)),
              TRACIN: tracin_scores(noisy_dyn), **attribution}
    ranks = rankings(scores, pool, settings.random_seeds)
    store = store or RetrainingStore(dynamics_folder(scale, RETRAIN_FOLDER))
    plan, drift = follow_recorded(retraining_plan(ranks, flipped, noisy, settings, fractions), read_plan(store.folder),
                                  lambda fixed: retrain_config(noisy, fixed, settings))
    table = retrain(plan, store, collect_missing=collect_missing)
    write_plan(store.folder, plan)  # what the stored retrainings were trained for (unchanged when already recorded)
    example = retrain_config(noisy, [], settings)
    table = with_correct(table, test_labels(example))
    runs = table.drop_duplicates(["folder", "retrain_seed"])
    return MislabelResult(pool_ids=pool, flipped=flipped, scores=scores, rankings=ranks,
                          table=table.drop(columns="config"), settings=settings, retrain_runs=len(runs),
                          retrain_sets=int(table["folder"].nunique()), retrain_seconds=float(runs["seconds"].mean()),
                          tests=int(table["tests"].iloc[0]), fractions=tuple(float(f) for f in fractions),
                          noisy_config=noisy, retrain_example=example,
                          differences=accuracy_differences(table, fractions), missing=missing,
                          detection=detect(scale, scores, pool, flipped, random_seeds=settings.random_seeds,
                                           missing=missing), plan_drift=drift)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per ranking and fraction checked: fraction found (mean, min, max over rankings), and test accuracy and loss
    after retraining (mean, min, max over rankings x retraining seeds), with the number of each."""
    grouped = table.groupby(["ranking", "fraction"])
    out = grouped.agg(found_mean=("fraction_found", "mean"), found_min=("fraction_found", "min"),
                      found_max=("fraction_found", "max"), accuracy_mean=("accuracy", "mean"),
                      accuracy_min=("accuracy", "min"), accuracy_max=("accuracy", "max"),
                      accuracy_std=("accuracy", "std"), loss_mean=("final_loss", "mean"),
                      loss_min=("final_loss", "min"), loss_max=("final_loss", "max"),
                      seeds=("seed", "nunique"), retrainings=("accuracy", "size"))
    return out.reset_index()


def _spread_cell(mean: float, low: float, high: float, n: int) -> str:
    """'0.42' for one value, '0.42 [0.40, 0.45]' (mean [min, max]) over several."""
    return fmt(mean) if n == 1 else f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"


def checked_table(table: pd.DataFrame) -> pd.DataFrame:
    """The `summary` as the chapter shows it: rows fraction checked, columns (what, ranking) as text: mislabels
    found over rankings, test accuracy and loss over rankings x retraining seeds, as mean [min, max]."""
    shown = pd.DataFrame({
        "method": table.ranking, "checked": table.fraction.map(lambda f: f"{f:.1f}"),
        "mislabels found": [_spread_cell(r.found_mean, r.found_min, r.found_max, r.seeds) for r in table.itertuples()],
        "test accuracy": [_spread_cell(r.accuracy_mean, r.accuracy_min, r.accuracy_max, r.retrainings)
                          for r in table.itertuples()],
        "test loss": [_spread_cell(r.loss_mean, r.loss_min, r.loss_max, r.retrainings) for r in table.itertuples()],
    })
    return shown.pivot(index="checked", columns="method", values=["mislabels found", "test accuracy", "test loss"])


def _row(table: pd.DataFrame, ranking: str, fraction: float) -> pd.Series:
    return table[(table.ranking == ranking) & np.isclose(table.fraction, fraction)].iloc[0]


def _at(table: pd.DataFrame, ranking: str, fraction: float, key: str) -> float:
    """The mean `key` ("found", "accuracy", "loss") of a ranking at a fraction checked, from `summary`."""
    return float(_row(table, ranking, fraction)[f"{key}_mean"])


def _beats(table: pd.DataFrame, a: str, b: str, key: str, fractions: Sequence[float]) -> str:
    """'k of n': at how many of `fractions` ranking a's mean `key` is above b's."""
    k = sum(_at(table, a, f, key) > _at(table, b, f, key) + 1e-12 for f in fractions)
    return f"{k} of {len(fractions)}"


def accuracy_verdict(table: pd.DataFrame, a: str, b: str, fractions: Sequence[float]) -> str:
    """'above at k, below at m, undecided at the other u of n': ranking a's mean accuracy against b's, counted as
    above or below only when the gap exceeds twice its standard error over the retrainings."""
    above = below = 0
    for f in fractions:
        ra, rb = _row(table, a, f), _row(table, b, f)
        gap = ra.accuracy_mean - rb.accuracy_mean
        se = np.sqrt(np.nan_to_num(ra.accuracy_std) ** 2 / ra.retrainings
                     + np.nan_to_num(rb.accuracy_std) ** 2 / rb.retrainings)
        above += gap > 2 * se + 1e-12
        below += gap < -2 * se - 1e-12
    undecided = len(fractions) - above - below
    return f"above at {above}, below at {below}, undecided at the other {undecided} of {len(fractions)}"


def setting_facts(noisy: CollectionConfig, retrain: CollectionConfig) -> dict[str, object]:
    """The noisy collection's and the retraining's settings, for the text."""
    return {"mis_model": noisy.model.name, "mis_pool": noisy.data.pool_size,
            "mis_flip_pct": f"{100 * noisy.data.flip_fraction:.0f}%", "mis_tests": noisy.data.test_size,
            "mis_runs": f"{noisy.runs.train}/{noisy.runs.val}/{noisy.runs.test}", "mis_steps": noisy.training.steps,
            "mis_subset": noisy.training.subset_size, "mis_retrain_steps": retrain.training.steps,
            "mis_retrain_lr": retrain.training.lr, "mis_retrain_regime": retrain.model.regime,
            "mis_retrain_warmup": retrain.warmup.examples}


KEYS = ((GPT_AII, "gpt"), (GPT_EFFECT, "effect"), (TRACIN, "tracin"), (RANDOM, "random"), (EKFAC, "ekfac"),
        (TRAK, "trak"))
"""The rankings and their glue-key names."""
KEY = dict(KEYS)


def facts(result: MislabelResult) -> dict[str, object]:
    """Gluable facts of the chapter: the setting, each ranking's mislabels found, accuracy and loss at the fractions
    checked, and how GPTfluence compares with TracIn-CP and random ranking."""
    table = summary(result.table)
    settings = result.settings
    out: dict[str, object] = {
        "mis_flipped": len(result.flipped), "mis_retrain_runs": result.retrain_runs,
        "mis_retrain_sets": result.retrain_sets, "mis_retrain_seeds": settings.retrain_seeds,
        "mis_retrain_seconds": fmt(result.retrain_seconds), "mis_acc_tests": result.tests,
        "mis_seeds": settings.random_seeds,
        "mis_tracin_scored": int(np.isin(result.pool_ids, list(result.scores[TRACIN])).sum()),
        "mis_aii_min": fmt(min(result.scores[GPT_AII].values())),
        "mis_plan_drift": drift_sentence(result.plan_drift),
    }
    if result.noisy_config is not None:
        out.update(setting_facts(result.noisy_config, result.retrain_example))
    checked_fractions = [f for f in result.fractions if f > 0]  # the scale's fractions checked (Fig 7's x axis)
    early = [f for f in result.fractions if 0 < f <= 0.2]
    top = max(checked_fractions)
    out["mis_fracs_checked"] = " / ".join(f"{100 * f:.0f}%" for f in checked_fractions)
    out["mis_frac_top"] = f"{100 * top:.0f}%"
    present = set(table["ranking"])
    for name, key in KEYS:
        if name not in present:
            why = result.missing.get(name, f"no {name} ranking was retrained")
            out.update({f"mis_{key}_{what}": f"not ranked ({why})" for what in ("found_list", "acc_list", "loss_top")})
            continue
        out[f"mis_{key}_found_list"] = " / ".join(fmt(_at(table, name, f, "found")) for f in checked_fractions)
        out[f"mis_{key}_acc_list"] = " / ".join(fmt(_at(table, name, f, "accuracy")) for f in checked_fractions)
        out[f"mis_{key}_loss_top"] = fmt(_at(table, name, top, "loss"))
    out["mis_acc_0"] = fmt(_at(table, RANDOM, 0.0, "accuracy"))
    out["mis_loss_0"] = fmt(_at(table, RANDOM, 0.0, "loss"))
    for mine, mkey in ((GPT_AII, "gpt"), (GPT_EFFECT, "effect")):
        for other, okey in ((TRACIN, "tracin"), (RANDOM, "random")):
            out[f"mis_{mkey}_beats_{okey}_found"] = _beats(table, mine, other, "found", checked_fractions)
            out[f"mis_{mkey}_beats_{okey}_found_early"] = _beats(table, mine, other, "found", early)
            out[f"mis_{mkey}_vs_{okey}_acc"] = accuracy_verdict(table, mine, other, checked_fractions)
        out[f"mis_{mkey}_vs_random_found_top"] = position_phrase(_at(table, mine, top, "found"),
                                                                 _at(table, RANDOM, top, "found"))
    out["mis_tracin_beats_random_found"] = _beats(table, TRACIN, RANDOM, "found", checked_fractions)
    out["mis_tracin_vs_random_acc"] = accuracy_verdict(table, TRACIN, RANDOM, checked_fractions)
    out["mis_gpt_vs_tracin_found_top"] = position_phrase(_at(table, GPT_AII, top, "found"),
                                                         _at(table, TRACIN, top, "found"))
    accuracies = table.accuracy_mean.to_numpy()
    out["mis_acc_low"], out["mis_acc_high"] = fmt(accuracies.min()), fmt(accuracies.max())
    if not result.differences.empty:
        out.update(claim_facts_of(result.differences))
    if result.detection is not None:
        out.update(detection_facts(result.detection, "mis"))
    return out


def absent_reason(table: pd.DataFrame, name: str) -> str:
    """Why ranking `name` has no detection figures in `table` (indexed by method): its note, or that it is not there
    ('' when it is ranked)."""
    return table.loc[name, "note"] if name in table.index else f"no {name} ranking here"


def auc_text(table: pd.DataFrame, name: str) -> str:
    """A ranked ranking's detection AUC with its 95% interval, from `table` (indexed by method)."""
    return f"{fmt(table.loc[name, 'auc'])} {interval_text(table.loc[name, 'low'], table.loc[name, 'high'])}"


def detection_facts(detection: Detection, prefix: str) -> dict[str, object]:
    """Per ranking `<prefix>_<key>_auc` (AUC [95% interval], or its reason), `<prefix>_<key>_found_top` (share of the
    flipped in the top fraction checked), `<prefix>_det_missing` (the rankings without scores and why, or "none"),
    and per pair of DETECTION_PAIRS `<prefix>_<a>_vs_<b>_auc` (the AUC
    difference, its paired interval and the verdict on A, or why there is none); `<prefix>_det_n` the sizes."""
    table = detection.table.set_index("method")
    found = [c for c in table.columns if c.startswith("found ")]
    absent = [f"{name}: {note}" for name, note in zip(table.index, table["note"]) if note and name != RANDOM]
    out: dict[str, object] = {f"{prefix}_det_n": f"{detection.flipped} flipped and {detection.pool - detection.flipped}"
                                                 f" clean pool examples", f"{prefix}_det_top": found[-1][6:],
                              f"{prefix}_det_missing": "; ".join(absent) if absent else "none"}
    for name, key in KEYS:
        if name not in table.index:
            continue
        row = table.loc[name]
        if row["note"]:
            out[f"{prefix}_{key}_auc"] = out[f"{prefix}_{key}_found_top"] = f"not ranked ({row['note']})"
        else:
            out[f"{prefix}_{key}_auc"] = auc_text(table, name)
            out[f"{prefix}_{key}_found_top"] = fmt(row[found[-1]])
    out[f"{prefix}_attribution"] = attribution_sentence(detection)
    diffs = {(r["A"], r["B"]): r for r in detection.differences.to_dict("records")}
    for a, b in DETECTION_PAIRS:
        if (a, b) in diffs:
            r = diffs[(a, b)]
            text = f"{number(r['difference'])} {interval_text(r['low'], r['high'])}: {r['verdict']}"
        else:
            text = f"not compared ({'; '.join(r for m in (a, b) if (r := absent_reason(table, m)))})"
        out[f"{prefix}_{KEY[a]}_vs_{KEY[b]}_auc"] = text
    return out


def attribution_sentence(detection: Detection) -> str:
    """EK-FAC's and TRAK's detection AUC beside TracIn-CP's and random's, in one sentence; where neither is ranked,
    one clause says why (each reason once) instead of a "not ranked" per figure."""
    table = detection.table.set_index("method")
    unranked = {m: why for m in (EKFAC, TRAK) if (why := absent_reason(table, m))}
    ranked = [f"{m} {auc_text(table, m)}" for m in (EKFAC, TRAK) if m not in unranked]
    parts = [f"the AUC is {', '.join(ranked)}"] if ranked else []
    if unranked:
        parts.append(f"{' and '.join(unranked)} {'is' if len(unranked) == 1 else 'are'} not ranked "
                     f"({'; '.join(dict.fromkeys(unranked.values()))})")
    others = [f"{m} {auc_text(table, m)}" for m in (TRACIN, RANDOM) if not absent_reason(table, m)]
    return "; ".join(parts) + (f"; beside them TracIn-CP and random: {', '.join(others)}" if others else "")


def claim_facts_of(differences: pd.DataFrame) -> dict[str, object]:
    """The accuracy comparisons as claims: per pair of PAIRS its prefix over every fraction checked ("mislabel_...")
    and "<prefix>_early" over the early ones (`comparisons.claim_facts` keys: _claim, _diff, _interval, _n, ...; the
    n counts retraining seeds, the runs of this chapter)."""
    out: dict[str, object] = {}
    for (a, b), prefix in PAIRS.items():
        for group, key in (("all", prefix), ("early", f"{prefix}_early")):
            rows = differences[(differences["A"] == a) & (differences["B"] == b) & (differences["checked"] == group)]
            if not rows.empty:
                out.update(claim_facts(differences, a, b, key, column="checked", at=group))
                out[f"{key}_n"] = f"{rows['runs'].iloc[0]} retraining seeds x {rows['tests'].iloc[0]} test examples"
    return out


def seconds_per_run(store: RetrainingStore, queue: Sequence[tuple[CollectionConfig, int]],
                    settings: MislabelSettings) -> tuple[float | None, str]:
    """(seconds, where from) of one retraining run: the mean of the queue's stored runs, else the settings' figure."""
    done = [score for config, i in queue if (score := store.read(config, i)) is not None]
    if done:
        return float(np.mean([d.seconds for d in done])), f"the mean of the {len(done)} stored runs"
    return settings.run_seconds, "measured before collecting"


def train_queue(label: str, queue: Sequence[tuple[CollectionConfig, int]], store: RetrainingStore, *,
                collect: bool, settings: MislabelSettings, say=print,
                timed: Sequence[tuple[CollectionConfig, int]] | None = None) -> list[tuple[str, int]]:
    """Say a stage's runs (distinct, missing, estimated hours at the seconds of the stored runs of `timed`, default
    the queue) and, with `collect`, train the missing ones in the queue's order, each stored as it finishes; returns
    the (config hash, seed) trained."""
    missing = store.missing(queue)
    seconds, source = seconds_per_run(store, queue if timed is None else timed, settings)
    eta = ("" if seconds is None
           else f"; about {len(missing) * seconds / 3600:.1f} hours at {seconds:.0f} s a run ({source})")
    say(f"{label}: {len(queue)} runs ({len({c.config_hash for c, _ in queue})} cleaned pools x their seeds), "
        f"{len(missing)} missing{eta}")
    trained = []
    for k, (config, run_index) in enumerate(missing if collect else [], 1):
        score = retraining.retrain_and_score(config, run_index)
        store.write(config, score)
        trained.append((config.config_hash, int(run_index)))
        say(f"  [{k}/{len(missing)}] {config.config_hash[:16]} seed {run_index}: accuracy {score.accuracy:.3f}, "
            f"{score.seconds:.0f} s")
    return trained


def collect_in_order(collection_plan: pd.DataFrame, gptfluence_plan, store: RetrainingStore, *, collect: bool,
                     settings: MislabelSettings, say=print,
                     attribution_missing: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """The retraining runs in three stages (STAGES): those of `collection_plan` (rankings that depend only on the
    noisy collection: random and TracIn-CP, then the sets only EK-FAC and TRAK add), then, once `gptfluence_plan()`
    (called only after those) returns the whole plan, the runs only GPTfluence's rankings add; `gptfluence_plan`
    returns None when GPTfluence cannot be fitted yet. `attribution_missing`: the EK-FAC / TRAK rankings left out
    of `collection_plan` and why, said in place of their runs."""
    staged = staged_queue(collection_plan)
    first = [(c, i) for c, i, stage in staged if stage == 0]
    trained = train_queue(STAGES[0], first, store, collect=collect, settings=settings, say=say)
    attributed = [(c, i) for c, i, stage in staged if stage == 1]
    for name, reason in (attribution_missing or {}).items():
        say(f"{name}'s ranking: none ({reason})")
    if set(collection_plan["ranking"]) & set(ATTRIBUTION_RANKINGS):  # timed as the runs stored so far, of any stage
        trained += train_queue(STAGES[1], attributed, store, collect=collect, settings=settings, say=say,
                               timed=first + attributed)
    if not collect:
        at_most = len(GPTFLUENCE_RANKINGS) * sum(f > 0 for f in settings.fractions) * settings.retrain_seeds
        say(f"GPTfluence's rankings: at most {at_most} more runs, known after its fit (run with --collect)")
        return trained
    full = gptfluence_plan()
    if full is None:
        return trained
    done = {(c.config_hash, i) for c, i, _ in staged}
    second = [(c, i) for c, i in retraining_queue(full) if (c.config_hash, i) not in done]
    return trained + train_queue(STAGES[2], second, store, collect=collect, settings=settings, say=say)


def main(argv: Sequence[str] | None = None, say=print) -> None:
    """Command line: count (or, with --collect, train) the retraining runs of a scale, resumably, in stage order."""
    import argparse

    parser = argparse.ArgumentParser(description="The mislabel experiment's retraining runs at a scale: the fixed sets "
                                     "of the random and TracIn-CP rankings first, then EK-FAC's and TRAK's (stored "
                                     "self-influence), then GPTfluence's (after its fit).")
    parser.add_argument("--scale", default="default")
    parser.add_argument("--collect", action="store_true", help="train the missing runs (else only count them)")
    parser.add_argument("--skip-gptfluence", action="store_true", help="stop after the random and TracIn-CP sets")
    parser.add_argument("--store", default=None, help="folder of the runs (default: the scale's mislabel_retrain)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    settings = settings_for(args.scale)
    collection = stored(args.scale, NOISY, collect_missing=False, data_dir=args.data_dir)
    noisy_dyn = collection.dynamics(require_complete=True)
    noisy = collection_config(args.scale, NOISY, args.data_dir)
    pool, flipped = noisy_truth(collection)
    tracin = tracin_scores(noisy_dyn)
    attribution, attribution_missing = attribution_self_scores(collection.folder, noisy)
    collection_plan = retraining_plan(rankings({TRACIN: tracin, **attribution}, pool, settings.random_seeds), flipped,
                                      noisy, settings, settings.fractions)

    def gptfluence_plan() -> pd.DataFrame | None:
        if args.skip_gptfluence:
            return None
        try:
            config = gptfluence_config(args.scale)
        except ValueError as err:
            say(f"GPTfluence's rankings wait: {err}; rerun this command once they are set (the runs above are kept)")
            return None
        from lib.encoders import load_encoder  # lazy: only the GPTfluence stage needs the encoder

        scores = {**gptfluence_scores(noisy_dyn, pool, encoder=load_encoder(get_scale(args.scale).encoder),
                                      gptfluence=config), TRACIN: tracin, **attribution}
        return retraining_plan(rankings(scores, pool, settings.random_seeds), flipped, noisy, settings,
                               settings.fractions)

    store = RetrainingStore(args.store or dynamics_folder(args.scale, RETRAIN_FOLDER))
    store.clean_temp()
    collect_in_order(collection_plan, gptfluence_plan, store, collect=args.collect, settings=settings, say=say,
                     attribution_missing=attribution_missing)


if __name__ == "__main__":
    main()
