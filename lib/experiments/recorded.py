"""The dynamics chapter: a scale's recorded collections, their size and cost, the task of each test example, the
spread between runs, and how often BLEU / ROUGE-L never move.

`run(scale, names)` reads them into a `RecordedResult`; `facts(result)` is what the chapter glues.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.collect import StoredCollection, load_config
from lib.curriculum_signal import curriculum_signal, signal_table
from lib.dynamics import Dynamics
from lib.experiments.settings import (ATTRIBUTION_REGIME, FINE_TUNING_TASKS, GENERATION_TASKS, INSTRUCTION_TUNING,
                                      task_label)
from lib.experiments.store import CONFIGS, Progress, committed, progress, skipped_sentence, stored
from lib.experiments.wording import fmt, number
from lib.metrics import GENERATION_NAMES
from lib.scales import PAPER_SIZE_COLLECTIONS, get_scale


def collection_summary(collections: Mapping[str, StoredCollection]) -> pd.DataFrame:
    """One row per collection: task, model, regime, runs per split, steps, batch, test examples, lr and cost."""
    rows = []
    for name, collection in collections.items():
        dyn = collection.dynamics(require_complete=True)
        cfg = dyn.config
        timing = collection.timings()
        splits = {s: int(np.sum(dyn.split == s)) for s in ("train", "val", "test")}
        rows.append({
            "collection": name,
            "task": cfg["data"]["task"],
            "model": cfg["model"]["name"],
            "tuning": "instruction" if cfg["data"]["task"] == "mixture" else "fine-tuning",
            "runs (train/val/test)": f"{splits['train']}/{splits['val']}/{splits['test']}",
            "pool": cfg["data"]["pool_size"],
            "examples per run": cfg["training"]["subset_size"],
            "batch": dyn.batch_size,
            "steps": dyn.n_steps,
            "test examples": dyn.n_tests,
            "lr": cfg["training"]["lr"],
            "precision": "bf16 autocast" if cfg["training"].get("bf16") else "fp32",
            "metrics": ", ".join(collection.metrics),
            "s per run": float(timing["wall_seconds"].mean()),
            "steps/s": float(timing["steps_per_second"].mean()),
            "eval s per step": float((timing["eval_seconds"] / dyn.n_steps).mean()),
            "collection s": float(timing.loc[~timing["reused"], "wall_seconds"].sum()),  # reused runs cost nothing here
        })
    return pd.DataFrame(rows).set_index("collection")


def ids_by_task(tasks_of: Mapping[int, str], order: Sequence[str] | None = None,
                test_ids: Sequence[int] | None = None) -> dict[str, list[int]]:
    """task -> its test ids (of `test_ids`, default all, in their order), from `StoredCollection.test_tasks()`;
    tasks in `order` first, then the others in order of appearance."""
    groups: dict[str, list[int]] = {}
    for test_id in (tasks_of if test_ids is None else (int(t) for t in test_ids)):
        groups.setdefault(tasks_of[test_id], []).append(test_id)
    ranked = [t for t in (order or ()) if t in groups] + [t for t in groups if t not in (order or ())]
    return {t: groups[t] for t in ranked}


def spread_summary(collections: Mapping[str, Dynamics]) -> pd.DataFrame:
    """How much the metric moves during a run and how much runs differ, per collection.

    change = mean over runs and tests of y_T - y_0; |step change| = mean |y_t - y_{t-1}|;
    between-run std = std over runs of y_T, averaged over tests; ratio = between-run std / |change|.
    A simulator that ignores the curriculum (the mean trajectory) is off by about the between-run std.
    """
    rows = []
    for name, dyn in collections.items():
        v = dyn.values
        change = float(np.mean(v[:, -1] - v[:, 0]))
        between = float(np.mean(np.std(v[:, -1], axis=0)))
        rows.append({"collection": name, "metric": dyn.metric, "y_0": float(np.mean(v[:, 0])),
                     "y_T": float(np.mean(v[:, -1])), "change": change,
                     "|step change|": float(np.mean(np.abs(np.diff(v, axis=1)))),
                     "between-run std at T": between,
                     "std / |change|": between / abs(change) if change != 0 else float("nan")})
    return pd.DataFrame(rows).set_index("collection")


def generation_dynamics(collections: Mapping[str, StoredCollection]) -> dict[str, Dynamics]:
    """"WebNLG, BLEU" -> its Dynamics, for every generation metric a collection recorded; the instruction-tuning
    collection keeps the test examples of the papers' generation tasks only."""
    generation = {}
    for name, collection in collections.items():
        for metric, label in GENERATION_NAMES.items():
            if metric not in collection.metrics:
                continue
            values = collection.dynamics(metric, require_complete=True)
            if name == INSTRUCTION_TUNING:  # the generation tasks of the papers' tables only
                by_task = ids_by_task(collection.test_tasks(), GENERATION_TASKS)
                values = values.select_tests([t for task in GENERATION_TASKS for t in by_task.get(task, [])])
                label += " (WebNLG and WMT16 examples)"
            generation[f"{task_label(name)}, {label}"] = values
    return generation


def never_changing(generation: Mapping[str, Dynamics]) -> dict[str, float]:
    """Per Dynamics, the fraction of (run, test example) trajectories whose value never changes."""
    return {key: float(np.mean(np.ptp(d.values, axis=1) == 0)) for key, d in generation.items()}


@dataclass
class RecordedResult:
    """What the dynamics chapter shows of a scale's collections."""

    scale: str
    collections: dict[str, StoredCollection]
    dynamics: dict[str, Dynamics]          # name -> test-loss dynamics
    summary: pd.DataFrame                  # collection_summary
    timings: dict[str, pd.DataFrame]       # name -> per-run timings
    spread: pd.DataFrame                   # spread_summary of the loss
    generation: dict[str, Dynamics]        # generation_dynamics
    signal: pd.DataFrame                   # curriculum-signal figures per collection and metric, compared ones last
    compared: dict[str, str]               # label -> task of the committed collections shown beside the scale's
    skipped: list[Progress] = field(default_factory=list)  # asked-for collections left out: incomplete at this scale

    @property
    def skipped_text(self) -> str:
        """The sentence naming the collections left out with their runs collected ('' when none is)."""
        return skipped_sentence(self.skipped, "the dynamics of these collections")

    @property
    def steps(self) -> dict[str, int]:
        """name -> training steps of the collection's runs."""
        return {name: dyn.n_steps for name, dyn in self.dynamics.items()}

    @property
    def labelled(self) -> dict[str, Dynamics]:
        """The test-loss dynamics by task label ("SST-2", ...), in the order of the collections."""
        return {task_label(name): dyn for name, dyn in self.dynamics.items()}

    @property
    def first_fine_tuning(self) -> str:
        """The first collection that is not the instruction-tuning mixture."""
        return next(name for name in self.dynamics if name != INSTRUCTION_TUNING)

    def mixture_groups(self) -> dict[str, list[int]]:
        """The instruction-tuning collection's test ids by task label, the papers' fine-tuning tasks first ({} when
        the mixture is not among the collections)."""
        if INSTRUCTION_TUNING not in self.collections:
            return {}
        by_task = ids_by_task(self.collections[INSTRUCTION_TUNING].test_tasks(), FINE_TUNING_TASKS)
        return {task_label(task): ids for task, ids in by_task.items()}


def signal_of(dynamics: Mapping[str, Dynamics], generation: Mapping[str, Dynamics],
              compared: Mapping[str, Dynamics]) -> pd.DataFrame:
    """lib.curriculum_signal figures of every loss and generation Dynamics, then of the compared collections."""
    named = {**{f"{task_label(n)}, loss": d for n, d in dynamics.items()}, **generation, **compared}
    return signal_table({name: curriculum_signal(d) for name, d in named.items()})


def run(scale: str, names: Sequence[str], *, data_dir: str | os.PathLike | None = None,
        compare_with: Mapping[str, str] | None = None) -> RecordedResult:
    """Read the collections `names` of `scale` (collected first where the scale allows), and the committed
    collections `compare_with` (label -> folder under data/dynamics) whose curriculum signal is shown beside.
    A collection that is incomplete at a committed scale is left out and listed in `skipped`."""
    progresses = [progress(scale, name, data_dir) for name in names]
    collections = {p.name: stored(scale, p.name, data_dir=data_dir) for p in progresses if p.complete}
    dynamics = {name: c.dynamics(require_complete=True) for name, c in collections.items()}
    generation = generation_dynamics(collections)
    others = {label: committed(folder) for label, folder in (compare_with or {}).items()}
    compared = {label: c.dynamics(require_complete=True) for label, c in others.items()}
    return RecordedResult(scale=scale, collections=collections, dynamics=dynamics,
                          summary=collection_summary(collections),
                          timings={name: c.timings() for name, c in collections.items()},
                          spread=spread_summary(dynamics), generation=generation,
                          signal=signal_of(dynamics, generation, compared),
                          compared={label: c.config["data"]["task"] for label, c in others.items()},
                          skipped=[p for p in progresses if not p.complete])


def signal_display(result: RecordedResult) -> pd.DataFrame:
    """The curriculum-signal table as the chapter shows it (3 significant figures, n of runs and tests)."""
    shown = result.signal.rename(columns={
        "early_share": "change in first 2 steps (share)", "spread": "final spread / change",
        "blind_mse": "curriculum-blind MSE", "blind_share": "blind MSE / movement", "flat_share": "flat (share)"})
    for column in ("change in first 2 steps (share)", "final spread / change", "curriculum-blind MSE",
                   "blind MSE / movement", "flat (share)"):
        shown[column] = shown[column].map(fmt)
    return shown


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """`collection_summary` as the chapter shows it: one column per collection, numbers by the book's rule."""
    shown = summary.copy()
    shown["lr"] = shown["lr"].map("{:.0e}".format)
    for column in ("s per run", "steps/s", "eval s per step", "collection s"):
        shown[column] = shown[column].map(number)
    return shown.T


def paper_size_status() -> pd.DataFrame:
    """Every paper-size collection (lib.scales.PAPER_SIZE_COLLECTIONS) with its size, how many of its runs are
    committed in data/dynamics/paper_size/, and why it has that size."""
    rows = []
    for planned in PAPER_SIZE_COLLECTIONS:
        config = load_config(CONFIGS / "paper_size" / f"{planned.name}.toml")
        finished = committed(f"paper_size/{planned.name}").finished_runs_of(config)
        rows.append({"collection": planned.name, "model": config.model.name, "runs (train/val/test)": planned.runs,
                     "steps": planned.steps, "test examples": planned.test_examples, "metrics": planned.metrics,
                     "runs collected": f"{finished} of {config.runs.total}", "complete": finished == config.runs.total,
                     "size and cost": planned.why})
    return pd.DataFrame(rows).set_index("collection")


def paper_size_display(status: pd.DataFrame) -> pd.DataFrame:
    """`paper_size_status` as the chapter's table shows it: sizes and progress (the reasons go below, as a list)."""
    return status.drop(columns=["complete", "size and cost"])


def paper_size_reasons(status: pd.DataFrame) -> str:
    """The reason for each paper-size collection's size, as a Markdown list."""
    return "\n".join(f"- **{name}**: {why}" for name, why in status["size and cost"].items())


def paper_size_facts(status: pd.DataFrame) -> dict[str, object]:
    """Gluable counts of the paper-size collections: complete ones (named) out of all."""
    done = status.index[status["complete"]].tolist()
    return {"paper_size_total": len(status), "paper_size_complete": len(done),
            "paper_size_complete_names": ", ".join(done) if done else "none"}


def paper_size_role(scale: str) -> dict[str, str]:
    """Gluable sentence (paper_size_role) on whether the chapters at `scale` simulate the paper-size collections or
    other ones, so that the list of paper-size collections is read right in either build."""
    regime = get_scale(scale).regime
    if regime == ATTRIBUTION_REGIME:
        return {"paper_size_role": "They are the collections this build's chapters simulate, described in the "
                                   "sections above."}
    section = "" if regime == "smoke" else ("; its loss chapter compares every method on these where it can (with "
                                            "EK-FAC and TRAK)")
    return {"paper_size_role": f"This build's chapters simulate the collections described above, not these{section}."}


def never_changing_table(result: RecordedResult) -> pd.DataFrame:
    """Per generation metric and collection, the percentage of trajectories that never change."""
    flat = never_changing(result.generation)
    return pd.DataFrame({"trajectories that never change (%)": {k: f"{100 * v:.0f}" for k, v in flat.items()}})


def facts(result: RecordedResult) -> dict[str, object]:
    """Gluable facts of the dynamics chapter: size and cost of the collections, spread between runs, flat BLEU."""
    summary, spread = result.summary, result.spread
    all_runs = pd.concat(result.timings.values())
    ratio = spread["std / |change|"]
    flat = never_changing(result.generation)
    return {
        "scale": result.scale,
        "n_collections": len(result.dynamics),
        "model": ", ".join(sorted(summary["model"].unique())),
        "n_runs_total": int(sum(d.n_runs for d in result.dynamics.values())),
        "collect_minutes": fmt(summary["collection s"].sum() / 60),
        "steps_per_s_min": fmt(summary["steps/s"].min()),
        "steps_per_s_max": fmt(summary["steps/s"].max()),
        "eval_share": fmt(100 * all_runs["eval_seconds"].sum() / all_runs["wall_seconds"].sum()),
        "train_share": fmt(100 * all_runs["train_seconds"].sum() / all_runs["wall_seconds"].sum()),
        "ratio_min": fmt(ratio.min()),
        "ratio_max": fmt(ratio.max()),
        "ratio_min_name": task_label(ratio.idxmin()),
        "ratio_max_name": task_label(ratio.idxmax()),
        "loss_falls_everywhere": "falls" if (spread["change"] < 0).all() else "does not fall",
        "n_falling": int((spread["change"] < 0).sum()),
        "n_generation": len(result.generation),
        "flat_min": fmt(100 * min(flat.values())) if flat else "n/a",
        "flat_max": fmt(100 * max(flat.values())) if flat else "n/a",
        **signal_facts(result),
    }


def early_words(share: float) -> str:
    """An early share in words: the share of the change made in the first 2 steps, or, when negative, how far the
    mean trajectory first moves against its (small) overall change."""
    if share < 0:
        return f"moves the other way in the first 2 steps, by {fmt(-share)} times its whole change"
    return f"makes {fmt(share)} of its change in the first 2 steps"


def compared_verdict(row: pd.Series, same_task: pd.Series) -> str:
    """How a compared collection's signal stands against this build's collection of the same task, in words."""
    spread = row["spread"] / same_task["spread"] if same_task["spread"] > 0 else float("nan")
    if row["early_share"] < 0 or same_task["early_share"] < 0:  # no "less" or "more" between opposite directions
        early = (f"its mean trajectory {early_words(row['early_share'])}, that of this build's {same_task.name} "
                 f"collection {early_words(same_task['early_share'])}")
    else:
        early = (f"{'less' if row['early_share'] < same_task['early_share'] else 'no less'} of its change happens in "
                 f"the first 2 steps than in this build's {same_task.name} collection "
                 f"({fmt(row['early_share'])} vs {fmt(same_task['early_share'])})")
    return (f"{early}, and its runs end "
            f"{fmt(spread)} times as far apart relative to their change ({fmt(row['spread'])} vs "
            f"{fmt(same_task['spread'])})")


def early_range_text(shares: pd.Series) -> str:
    """The early shares of this build's loss collections in words: the range of the forward ones, and the
    collections whose mean trajectory first moves the other way (a negative share), named."""
    forward, backward = shares[shares >= 0], shares[shares < 0]
    parts = []
    if len(forward):
        parts.append(f"{fmt(forward.min())} to {fmt(forward.max())} of the mean change happens in the first 2 steps"
                     if len(forward) > 1 else f"{fmt(forward.iloc[0])} of the mean change happens in the first 2 "
                                              f"steps ({forward.index[0].removesuffix(', loss')})")
    if len(backward):
        names = ", ".join(f"{n.removesuffix(', loss')} ({fmt(-v)} times)" for n, v in backward.items())
        parts.append(f"the mean trajectory first moves against its overall change, by a multiple of it, in {names}")
    return "; ".join(parts)


def signal_facts(result: RecordedResult) -> dict[str, object]:
    """Gluable curriculum-signal figures: the range over the scale's loss collections, and each compared one's."""
    loss = result.signal[[name not in result.compared and name.endswith(", loss") for name in result.signal.index]]
    out = {"signal_early_text": early_range_text(loss["early_share"]),
           "signal_spread_min": fmt(loss["spread"].min()), "signal_spread_max": fmt(loss["spread"].max()),
           "signal_blind_min": fmt(loss["blind_share"].min()), "signal_blind_max": fmt(loss["blind_share"].max())}
    for i, (label, task) in enumerate(result.compared.items()):
        row = result.signal.loc[label]
        out |= {f"compared{i}_verdict": compared_verdict(row, result.signal.loc[f"{task_label(task)}, loss"])
                if f"{task_label(task)}, loss" in result.signal.index else
                f"this build has no {task_label(task)} loss collection to compare it with",
                f"compared{i}_label": label, f"compared{i}_runs": int(row["runs"]),
                f"compared{i}_steps": int(row["steps"]), f"compared{i}_tests": int(row["tests"]),
                f"compared{i}_early": fmt(row["early_share"]), f"compared{i}_spread": fmt(row["spread"]),
                f"compared{i}_blind": fmt(row["blind_share"])}
    return out
