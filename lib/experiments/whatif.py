"""What-if: curricula a practitioner designs, really trained, against what every simulator predicts for them.

Designs on SST-2 and on WebNLG (loss and BLEU), each laid out like the collection's random runs
(`lib.whatif.designs`, the layout of the collection config's [training]) with several seeds: one group dropped
(SST-2: every negative review; WebNLG: every example of one category, `lib.whatif.categories`); the same examples
easy-to-hard and hard-to-easy (difficulty: the example's loss under the model every run starts from -- known before
any training, independent of the test examples and of any run's curriculum, so the ordering does not peek at the
outcome); one example (the hardest) repeated in a quarter of the steps; half the subset replaced by unseen examples
(the `<task>_unseen` collection's unseen split, which the training runs never saw); a curriculum twice as long.
Each design is trained as a collected run would be (`lib.collect.designed_runs`) and simulated by every method
fitted on the collection's runs (BLEU: GPTfluence and Simfluence only; the gradient and attribution baselines
approximate loss changes).

The designs exist for the paper-size regime (and smoke, the CI check): a book scale whose regime is one of
DESIGN_REGIMES reads its own collections, any other the paper-size ones (`data_scale`), and the chapter says so.
`python -m lib.experiments.whatif --scale default --task <sst2|webnlg> --collect` trains a task's missing designed
runs (resumable, one run at a time, each stored as soon as it is finished). WebNLG's cost (`planned_cost`): 6
designs x 3 seeds = 18 runs, 21 runs' worth of steps ("twice as long" counts double) x 1,568 s, the mean wall time
of the 13 paper-size WebNLG runs collected when this was written, about 33,000 s = 9.1 core-hours on this CPU, plus
the start losses of the 200 pool examples (one forward pass each).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lib.collect import CollectionConfig, StoredCollection
from lib.collect.curricula import Curriculum
from lib.collect.designed_runs import DesignedRun, DesignedRunStore
from lib.dynamics import Dynamics
from lib.experiments.scoring import REFERENCE
from lib.experiments.settings import TASK_LABELS, gptfluence_config
from lib.experiments.simulation import make_simulator, split_or_none
from lib.experiments.store import collection_config, collects_missing, dynamics_folder, progress, stored
from lib.experiments.uncertainty import REASONS, interval, paired_difference, spearman_interval
from lib.paths import REPO_ROOT
from lib.scales import REGIMES, get_scale
from lib.simulators import GPTfluenceConfig
from lib.simulators.attribution_baselines import scores_for_runs
from lib.whatif.categories import dropped_category, webnlg_categories
from lib.whatif.designs import DesignSettings, drop_group, longer, ordered, repeated, with_unseen

DESIGN_REGIMES = ("paper_size", "smoke")
"""The regimes the designs are trained in; a book scale of another regime reads the paper-size collections."""
DESIGNED_REGIME = "paper_size"
SEEDS = (0, 1, 2)
DESIGNS = ("no negatives", "easy to hard", "hard to easy", "one repeated", "half unseen", "twice as long")
"""SST-2's designs (the first drops every negative review)."""
WEBNLG_DESIGNS = ("category dropped", "easy to hard", "hard to easy", "one repeated", "half unseen", "twice as long")
"""WebNLG's designs (the first drops every example of one category, `lib.whatif.categories.dropped_category`)."""
REPEAT_SHARE = 4
"""The repeated example fills one slot in 1 / REPEAT_SHARE of the steps."""
LENGTH_FACTOR = {"twice as long": 2}
"""Steps of a design relative to the collection's runs (1 where not listed)."""
NEGATIVE = 0
"""SST-2's label index of a negative review."""


@dataclass(frozen=True)
class Task:
    """A task's what-if: its collection, the collection its unseen examples come from, its designs and metrics."""

    collection: str
    unseen: str
    designs: tuple[str, ...]
    metrics: tuple[str, ...]

    @property
    def label(self) -> str:
        """The task in words (SST-2, WebNLG)."""
        return TASK_LABELS[self.collection]


TASKS = {"sst2": Task("sst2", "sst2_unseen", DESIGNS, ("loss",)),
         "webnlg": Task("webnlg", "webnlg_unseen", WEBNLG_DESIGNS, ("loss", "bleu"))}
COLLECTION, UNSEEN_COLLECTION = TASKS["sst2"].collection, TASKS["sst2"].unseen


def get_task(name: str) -> Task:
    """The what-if task called `name` (a key of TASKS); a ValueError lists them."""
    if name not in TASKS:
        raise ValueError(f"no what-if designs for task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]


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
    """The scale whose collections the chapter reads at book scale `scale`: `scale` itself where its regime is one
    of DESIGN_REGIMES (the default scale too, once DEFAULT_READS is the paper-size regime), else the paper-size
    regime (the only one the designs are trained in)."""
    return scale if get_scale(scale).regime in DESIGN_REGIMES else DESIGNED_REGIME


def reads_sentence(scale: str) -> str:
    """What the chapter says about the collections it reads at `scale` ('' where they are the scale's own)."""
    own, read = get_scale(scale), get_scale(data_scale(scale))
    if own.regime == read.regime:
        return ""
    return (f"The designs are trained in the {read.label} regime only, so at this scale, whose other chapters read "
            f"the {own.label} collections, this chapter reads the {read.label} ones.")


def designed_folder(scale: str, collection: str) -> Path:
    """`data/designed/<data folder>/<collection>` for committed scales, `build/designed/...` for the others."""
    source = get_scale(data_scale(scale))
    root = REPO_ROOT / ("data" if source.committed else "build") / "designed"
    return root / source.folder / collection


def gptfluence_for(scale: str) -> GPTfluenceConfig:
    """GPTfluence's settings for the collections the chapter reads at `scale` (those of their regime, which is not
    the book scale's where `data_scale` reads another regime's collections)."""
    return gptfluence_config(data_scale(scale))


def _how(scale: str, task: str = "sst2") -> str:
    flag = "" if task == "sst2" else f" --task {task}"
    return f"train them with `python -m lib.experiments.whatif --scale {scale}{flag} --collect`"


def unseen_collection(scale: str, task: Task) -> str:
    """The collection `half unseen` draws from: `task.unseen` where the scale has its config, else the task's own
    collection (its [data] unseen_size examples, which none of its runs trains on)."""
    try:
        collection_config(data_scale(scale), task.unseen)
    except ValueError:  # no such config at this scale (smoke has no webnlg_unseen)
        return task.collection
    return task.unseen


def examples_table(scale: str, name: str, data_dir=None) -> pd.DataFrame:
    """Collection `name`'s examples (id, role, text, label, ...): its examples.parquet where it has been started,
    else drawn from its config (the same rows; no run is needed to lay out a design)."""
    folder = dynamics_folder(data_scale(scale), name)
    if (folder / "examples.parquet").is_file():
        return StoredCollection(folder).examples()
    from lib.collect.examples import draw_examples

    return pd.DataFrame(draw_examples(collection_config(data_scale(scale), name, data_dir)).rows())


@dataclass(frozen=True)
class Plan:
    """A task's designed runs and what they were built from: difficulty per training example, the repeated
    example, and the dropped group (in words)."""

    task: Task
    designs: list[Design]
    difficulty: dict[int, float]
    repeated_id: int
    group: str


def plan(scale: str, *, task: str = "sst2", data_dir=None, seeds=SEEDS, collect_missing: bool | None = None
         ) -> list[Design]:
    """Every designed run of the task, seed by seed (an interrupted training leaves whole seeds)."""
    return build_plan(scale, task=task, data_dir=data_dir, seeds=seeds, collect_missing=collect_missing).designs


def build_plan(scale: str, *, task: str = "sst2", data_dir=None, seeds=SEEDS, collect_missing: bool | None = None
               ) -> Plan:
    """The task's designs with their difficulty scores (computed once where missing runs may be collected, else
    FileNotFoundError saying how): no run of the collection is needed, only its config and examples."""
    spec, source = get_task(task), data_scale(scale)
    allowed = collects_missing(source) if collect_missing is None else collect_missing
    config = collection_config(source, spec.collection, data_dir)
    unseen_name = unseen_collection(scale, spec)
    unseen_config = collection_config(source, unseen_name, data_dir)
    rows = examples_table(scale, spec.collection, data_dir)
    pool = rows.loc[rows["role"] == "pool", "id"].astype(int).tolist()
    unseen_rows = examples_table(scale, unseen_name, data_dir)
    unseen_pool = _unseen_ids(unseen_config, unseen_rows)
    unseen_seen = unseen_rows.loc[unseen_rows["role"] == "pool", "id"].astype(int).tolist()  # that collection's pool
    groups, dropped, group = _groups(spec, rows, data_dir)
    difficulty = DesignedRunStore(designed_folder(scale, spec.collection)).start_losses(
        config, collect_missing=allowed, how=_how(scale, task))
    hardest = hardest_example(pool, difficulty)
    out = []
    for seed in seeds:
        settings = DesignSettings.of_config(config.training, seed=seed)
        built = [
            (spec.designs[0], spec.collection, drop_group(pool, groups, dropped, settings)),
            ("easy to hard", spec.collection, ordered(pool, difficulty, settings)),
            ("hard to easy", spec.collection, ordered(pool, difficulty, settings, hardest_first=True)),
            ("one repeated", spec.collection, repeated(pool, hardest, max(1, settings.steps // REPEAT_SHARE), settings)),
            ("half unseen", unseen_name, with_unseen(unseen_seen, unseen_pool, settings)),
            ("twice as long", spec.collection, longer(pool, settings, factor=LENGTH_FACTOR["twice as long"])),
        ]
        out.extend(Design(name, seed, collection, curriculum) for name, collection, curriculum in built)
    return Plan(task=spec, designs=out, difficulty=difficulty, repeated_id=hardest, group=group)


def _groups(task: Task, rows: pd.DataFrame, data_dir) -> tuple[dict[int, object], object, str]:
    """(group of every pool id, the group dropped, that group in words): SST-2's labels (negative reviews dropped),
    WebNLG's categories (`dropped_category`)."""
    pool = rows.loc[rows["role"] == "pool"]
    if task.collection == "sst2":
        return dict(zip(pool["id"].astype(int), pool["label"].astype(int))), NEGATIVE, "negative reviews"
    if task.collection == "webnlg":
        categories = webnlg_categories(rows.loc[rows["role"].isin(["pool", "test"]), "id"].astype(int), data_dir)
        of_pool = {int(i): categories[int(i)] for i in pool["id"]}
        test = {int(i): categories[int(i)] for i in rows.loc[rows["role"] == "test", "id"]}
        dropped = dropped_category(of_pool, test)
        return of_pool, dropped, f"category {dropped}"
    raise ValueError(f"no dropped group defined for task {task.collection!r}")


def hardest_example(pool: list[int], difficulty: dict[int, float]) -> int:
    """The pool example with the highest starting loss (the lowest id among equals): the one the design repeats."""
    return max(pool, key=lambda i: (difficulty[i], -i))


def _unseen_ids(config: CollectionConfig, examples) -> list[int]:
    """The unseen split's ids, or a ValueError saying the collection has none (the 'half unseen' design needs it)."""
    ids = examples.loc[examples["role"] == "unseen", "id"].astype(int).tolist()
    if not ids:
        raise ValueError(f"collection {config.name!r} has no unseen split ([data] unseen_size = "
                         f"{config.data.unseen_size}): the 'half unseen' design needs examples no run trained on")
    return ids


def designed_runs(scale: str, designs: list[Design], *, data_dir=None, collect_missing: bool | None = None,
                  finished_only: bool = False, task: str = "sst2") -> dict[str, DesignedRun]:
    """The trained run of every design (`Design.name` -> run), training missing ones where allowed; with
    `finished_only`, the finished ones (a committed scale's runs being trained meanwhile) and no error."""
    source = data_scale(scale)
    allowed = collects_missing(source) if collect_missing is None else collect_missing
    out = {}
    for design in designs:  # one by one, in plan order, so an interrupted pass leaves whole seeds
        config = collection_config(source, design.collection, data_dir)
        store = DesignedRunStore(designed_folder(scale, design.collection))
        if finished_only and not allowed:
            found = store.read(config, design.curriculum)
            if found is not None:
                out[design.name] = found
            continue
        out.update(store.ensure(config, {design.name: design.curriculum}, collect_missing=allowed,
                                how=_how(scale, task)))
    return out


def planned_cost(scale: str, task: str = "webnlg", seeds=SEEDS, data_dir=None) -> dict[str, float]:
    """What training a task's designs costs: runs, runs' worth of steps, the mean wall seconds of the collection's
    runs stored so far, and their product in seconds and core-hours (each run uses one core)."""
    spec = get_task(task)
    timings = StoredCollection(dynamics_folder(data_scale(scale), spec.collection)).timings()
    if timings.empty:
        raise ValueError(f"collection {spec.collection!r} has no stored run to measure a run's cost on")
    per_run = float(timings["wall_seconds"].mean())
    steps = len(seeds) * sum(LENGTH_FACTOR.get(d, 1) for d in spec.designs)
    return {"runs": len(seeds) * len(spec.designs), "run_equivalents": steps, "seconds_per_run": per_run,
            "measured_runs": len(timings), "seconds": steps * per_run, "core_hours": steps * per_run / 3600}


def status(scale: str, task: str = "webnlg", data_dir=None) -> str | None:
    """None when the task's part of the chapter can be computed at `scale` (its collection complete and every
    designed run trained, or the scale collects what is missing), else why not, in one sentence."""
    spec, source = get_task(task), data_scale(scale)
    if collects_missing(source):
        return None
    collected = progress(source, spec.collection, data_dir)
    try:
        designs = plan(scale, task=task, data_dir=data_dir, collect_missing=False)
        trained = len(designed_runs(scale, designs, data_dir=data_dir, collect_missing=False, finished_only=True,
                                    task=task))
    except FileNotFoundError:  # the difficulty scores are computed with the first designed run
        trained = 0
    planned = len(SEEDS) * len(spec.designs)
    if collected.complete and trained == planned:
        return None
    cost = planned_cost(scale, task, data_dir=data_dir)
    todo = (f"`python -m lib.experiments.whatif --scale {scale} --task {task} --collect` trains them (resumable; "
            f"all {planned} take about {cost['core_hours']:.1f} core-hours here: {cost['run_equivalents']} runs' "
            f"worth of steps x {cost['seconds_per_run']:,.0f} s, the mean wall time of the collection's "
            f"{cost['measured_runs']} runs so far)")
    return (f"{spec.label} is not in this chapter yet: its collection in the {get_scale(source).label} regime has "
            f"{collected.runs_text} and {trained} of its {planned} designed runs are trained; {todo}.")
GRADIENT_METHODS = ("TracIn-CP (10 ckpts)", "Grad-Dot")
ATTRIBUTION_METHODS = ("EK-FAC", "TRAK")
"""Fitted on the held-out runs with stored scores (lib/attribution) and simulated through their mean per pair."""
GPT = "GPTfluence"
METHODS = (GPT, "Simfluence", *GRADIENT_METHODS, *ATTRIBUTION_METHODS)


LOSS_ONLY = (*GRADIENT_METHODS, *ATTRIBUTION_METHODS)
"""Methods that simulate the loss only (gradient dot products and attribution scores approximate loss changes)."""


@dataclass
class WhatIfResult:
    """Every design's true runs, each method's simulation of them, and the scores (one row per design x method)."""

    designs: list[Design]
    truth: dict[str, Dynamics]                       # design -> its trained runs (one per finished seed)
    predictions: dict[tuple[str, str], np.ndarray]   # (method, design) -> [seeds, steps + 1, tests]
    refusals: dict[tuple[str, str], str]             # (method, design) -> why the method cannot simulate it
    mse: pd.DataFrame                                # design, method, mse (+ interval), difference to REFERENCE
    effects: pd.DataFrame                            # design, method, sign agreement and Spearman of the effect
    missing: dict[str, int] = field(default_factory=dict)  # design -> seeds not trained yet
    difficulty: dict[int, float] = field(default_factory=dict)
    repeated_id: int = -1
    source_scale: str = ""
    n_held_out: int = 0
    unfit: dict[str, str] = field(default_factory=dict)  # method -> why it was not fitted (so simulates no design)
    task: str = "sst2"
    metric: str = "loss"
    group: str = ""                                  # the group the first design drops, in words

    @property
    def design_names(self) -> tuple[str, ...]:
        """The task's designs, in the chapter's order."""
        return get_task(self.task).designs


def run(scale: str, *, encoder, task: str = "sst2", metric: str = "loss", data_dir=None, gptfluence=None,
        methods=METHODS, seeds=SEEDS) -> WhatIfResult:
    """The chapter's part for one task and metric: fit every method on the collection's runs, simulate each
    designed run and score it."""
    spec, source = get_task(task), data_scale(scale)
    if metric not in spec.metrics:
        raise ValueError(f"the what-if designs of {task} are scored on {list(spec.metrics)}, not {metric!r}")
    planned = build_plan(scale, task=task, data_dir=data_dir, seeds=seeds)
    designs = planned.designs
    runs = designed_runs(scale, designs, data_dir=data_dir, finished_only=True, task=task)
    base = stored(source, spec.collection, data_dir=data_dir)
    dyn = base.dynamics(metric, require_complete=True)
    train, val, held = dyn.select_runs("train"), split_or_none(dyn, "val"), dyn.select_runs("test")
    unseen_rows = examples_table(scale, unseen_collection(scale, spec), data_dir)
    texts = {int(i): str(t) for i, t in zip(unseen_rows["id"], unseen_rows["text"]) if int(i) not in dyn.train_texts}
    models, unfit = _fit(methods, train, val, held, encoder=encoder,
                         gptfluence=gptfluence or gptfluence_for(scale), folder=base.folder)
    truth, predictions, missing, refusals = {}, {}, {}, {}
    for name in spec.designs:
        done = [d for d in designs if d.design == name and d.name in runs]
        missing[name] = sum(d.design == name for d in designs) - len(done)
        if not done:
            continue
        truth[name] = _as_dynamics([runs[d.name] for d in done], dyn)
        for method, model in models.items():
            try:
                predictions[(method, name)] = _simulate(model, truth[name], texts)
            except ValueError as err:
                refusals[(method, name)] = str(err)
        predictions[(REFERENCE, name)] = blind_reference(train, truth[name])
    held_predictions = {}  # the baseline of each method's predicted effect: its simulation of the held-out runs
    for method, model in models.items():
        try:
            held_predictions[method] = _simulate(model, held, texts)
        except ValueError as err:  # no effect scores for it
            refusals[(method, "held-out runs")] = str(err)
    return WhatIfResult(designs=designs, truth=truth, predictions=predictions, refusals=refusals,
                        mse=mse_table(truth, predictions), effects=effect_table(truth, predictions, held,
                                                                                held_predictions),
                        missing=missing, difficulty=planned.difficulty, repeated_id=planned.repeated_id,
                        source_scale=get_scale(source).regime, n_held_out=held.n_runs, unfit=unfit, task=task,
                        metric=metric, group=planned.group)


def _fit(methods, train: Dynamics, val: Dynamics | None, held: Dynamics, *, encoder, gptfluence,
         folder) -> tuple[dict, dict[str, str]]:
    """Each method fitted as the book fits it (the gradient baselines' rescaling on the held-out runs, as both papers;
    EK-FAC and TRAK on the held-out runs whose scores are stored with the collection in `folder`, as the loss
    chapter), and why each method that could not be fitted was not (method -> reason, stated once for every
    design)."""
    from lib.whatif.saved import fitted  # lazy: torch

    out, unfit = {}, {}
    for method in methods:
        if method in LOSS_ONLY and train.metric != "loss":
            unfit[method] = (f"{method} simulates the loss only (its scores approximate loss changes), not "
                             f"{train.metric}")
            continue
        if method in ATTRIBUTION_METHODS:
            scores = scores_for_runs(folder, method, held.run_ids)
            if not scores:
                unfit[method] = (f"{method} has no stored scores for any held-out run ({held.run_ids.tolist()}); "
                                 f"compute them with `python -m lib.attribution <collection> --runs ...`")
                continue
            scored = held.select_runs(np.isin(held.run_ids, list(scores)))
            out[method] = fitted(make_simulator(method, scores=scores).fit(scored), scored)
            continue
        simulator = make_simulator(method, encoder=encoder, gptfluence=gptfluence)
        if method in GRADIENT_METHODS:
            out[method] = fitted(simulator.fit(held), held)
        else:
            out[method] = fitted(simulator.fit(train, val), train, val)
    return out, unfit


def _as_dynamics(runs: list[DesignedRun], like: Dynamics) -> Dynamics:
    """Designed runs of one design as a Dynamics (their curricula and trajectories of `like`'s metric; the
    collection's test order)."""
    for r in runs:
        if not np.array_equal(r.test_ids, like.test_ids):
            raise ValueError(f"designed run {r.name!r} records test ids in another order than the collection")
    return Dynamics.from_arrays(np.stack([r.curriculum.batches for r in runs]),
                                np.stack([r.values[like.metric] for r in runs]), like.test_ids, like.metric,
                                split=["test"] * len(runs))


def _simulate(model, runs: Dynamics, texts: dict[int, str]) -> np.ndarray:
    """The method's simulation [runs, steps + 1, tests] of each run's curriculum from the run's first values."""
    from lib.whatif.simulate import simulate_curriculum  # lazy: torch

    order = model.simulator.order
    out = []
    for r in range(runs.n_runs):
        initial = {int(t): runs.values[r, :order, k] for k, t in enumerate(runs.test_ids)}
        table = simulate_curriculum(model, initial, runs.curricula[r], texts=texts)
        out.append(table.pivot(index="step", columns="test_id", values="value")[list(runs.test_ids)].to_numpy())
    return np.stack(out)


def blind_reference(train: Dynamics, runs: Dynamics) -> np.ndarray:
    """The curriculum-blind REFERENCE: each run's y_0 plus the training runs' mean change, held at its last value
    past the training runs' length (it knows nothing of a longer curriculum)."""
    change = np.mean(train.values - train.values[:, :1], axis=0)  # [T + 1, tests]
    steps = runs.values.shape[1]
    index = np.minimum(np.arange(steps), change.shape[0] - 1)
    return runs.values[:, :1] + change[index][None]


def squared_errors(prediction: np.ndarray, truth: np.ndarray, order: int = 1) -> np.ndarray:
    """All-steps MSE per trajectory [runs, tests]: the mean over the simulated steps (from `order` on)."""
    return np.mean((prediction[:, order:] - truth[:, order:]) ** 2, axis=1)


def mse_table(truth: dict[str, Dynamics], predictions: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """Per design and method: all-steps MSE with its interval, the paired difference to the REFERENCE, and (where
    GPTfluence simulated the design) the paired difference to GPTfluence (gpt_diff, gpt_verdict: "better" when the
    method's MSE is lower)."""
    rows = []
    for (method, name), prediction in predictions.items():
        values = truth[name].values
        errors = squared_errors(prediction, values)
        reference = squared_errors(predictions[(REFERENCE, name)], values)
        gpt = predictions.get((GPT, name))
        level = interval(errors)
        row = {"design": name, "method": method, "mse": level.estimate, "mse_low": level.low, "mse_high": level.high,
               "runs": values.shape[0], "tests": values.shape[2]}
        if method != REFERENCE:
            diff = paired_difference(errors, reference)
            row.update(diff=diff.estimate, diff_low=diff.low, diff_high=diff.high, verdict=diff.verdict,
                       why=REASONS.get(diff.reason, "") if diff.reason else "")
        if method not in (REFERENCE, GPT) and gpt is not None:
            diff = paired_difference(errors, squared_errors(gpt, values))
            row.update(gpt_diff=diff.estimate, gpt_diff_low=diff.low, gpt_diff_high=diff.high, gpt_verdict=diff.verdict)
        rows.append(row)
    return pd.DataFrame(rows)


def effect_table(truth: dict[str, Dynamics], predictions: dict[tuple[str, str], np.ndarray], held: Dynamics,
                 held_predictions: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per design and method: the effect on each test example's final loss (the design's final value minus the
    held-out random runs' mean final value; predicted: the method's simulation of both), its sign agreement and its
    Spearman across test examples, each with a bootstrap interval over seeds x test examples."""
    rows = []
    true_base = held.values[:, -1].mean(axis=0)
    for (method, name), prediction in predictions.items():
        if method == REFERENCE or method not in held_predictions:
            continue
        true_effect = truth[name].values[:, -1] - true_base[None]
        pred_effect = prediction[:, -1] - held_predictions[method][:, -1].mean(axis=0)[None]
        sign = interval((np.sign(pred_effect) == np.sign(true_effect)).astype(np.float64))
        rho = spearman_interval(pred_effect, true_effect, across="tests")
        rows.append({"design": name, "method": method, "true_effect": float(true_effect.mean()),
                     "predicted_effect": float(pred_effect.mean()), "sign_agreement": sign.estimate,
                     "sign_low": sign.low, "sign_high": sign.high, "spearman": rho.estimate, "spearman_low": rho.low,
                     "spearman_high": rho.high, "runs": true_effect.shape[0], "tests": true_effect.shape[1]})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    """Command line: train (or check) a task's designed runs at a scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default")
    parser.add_argument("--task", default="sst2", choices=list(TASKS))
    parser.add_argument("--collect", action="store_true", help="train the missing designed runs")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    how = _how(args.scale, args.task)
    if not args.collect:  # a status: what is trained, what is not, never a traceback for a missing run
        try:
            designs = plan(args.scale, task=args.task, data_dir=args.data_dir)
        except FileNotFoundError as err:  # the difficulty scores are computed with the first designed run
            print(f"0 designed runs trained ({err})")
            return
        done = designed_runs(args.scale, designs, data_dir=args.data_dir, collect_missing=False, finished_only=True,
                             task=args.task)
        for design in designs:
            run = done.get(design.name)
            print(f"{design.name}: " + (f"{run.curriculum.steps} steps, {run.seconds:.0f} s" if run else "not trained"))
        print(f"{len(done)} of {len(designs)} designed runs trained"
              + ("" if len(done) == len(designs) else f"; {how.replace('them', 'the rest')}"))
        return
    designs = plan(args.scale, task=args.task, data_dir=args.data_dir, collect_missing=True)
    try:
        cost = planned_cost(args.scale, args.task, data_dir=args.data_dir)
        print(f"{len(designs)} designed runs, about {cost['core_hours']:.1f} core-hours if none is trained yet "
              f"({cost['run_equivalents']} runs' worth of steps x {cost['seconds_per_run']:,.0f} s a collected run)",
              flush=True)
    except ValueError:  # no collected run to measure the cost on
        pass
    for design in designs:
        run = designed_runs(args.scale, [design], data_dir=args.data_dir, collect_missing=True,
                            task=args.task)[design.name]
        print(f"{design.name}: {run.curriculum.steps} steps, {run.seconds:.0f} s", flush=True)


QUESTIONS = {
    "no negatives": "What if every negative review is dropped?",
    "category dropped": "What if every example of {group} is dropped?",
    "easy to hard": "What if the examples come easy to hard?",
    "hard to easy": "What if the examples come hard to easy?",
    "one repeated": "What if one example is repeated in a quarter of the steps?",
    "half unseen": "What if half the examples are ones no training run saw?",
    "twice as long": "What if training runs twice as long?",
}
DESIGN_QUESTIONS = {name: QUESTIONS[name] for name in DESIGNS}
"""SST-2's questions (every design's, with its dropped group: `question`)."""


def question(result: WhatIfResult, name: str) -> str:
    """The question design `name` answers, its dropped group named."""
    return QUESTIONS[name].format(group=result.group)


def _fmt(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.3g}"


def _range(low: float, high: float) -> str:
    return "no interval" if not (np.isfinite(low) and np.isfinite(high)) else f"[{low:.3g}, {high:.3g}]"


def trusted(result: WhatIfResult, name: str) -> str:
    """The method to trust for design `name`: the lowest all-steps MSE among those whose paired difference to the
    curriculum-blind reference is "better"; else "the reference" (no method beats it) or "undecided"."""
    rows = result.mse[(result.mse["design"] == name) & (result.mse["method"] != REFERENCE)]
    better = rows[rows["verdict"] == "better"]
    if len(better):
        return str(better.sort_values("mse").iloc[0]["method"])
    if (rows["verdict"] == "worse").all() and len(rows):
        return "the reference"
    return "undecided"


def design_text(result: WhatIfResult, name: str) -> str:
    """A paragraph on design `name` from the computed scores: errors against the reference, direction of the effect,
    and which method to trust."""
    if name not in result.truth:
        return f"**{question(result, name)}** No run of this design is trained yet, so nothing is claimed about it."
    truth = result.truth[name]
    rows = result.mse[result.mse["design"] == name].set_index("method")
    effects = result.effects[result.effects["design"] == name].set_index("method")
    parts = [f"**{question(result, name)}** {truth.n_runs} trained run(s) x {truth.n_tests} test examples."]
    for method, row in rows.iterrows():
        if method == REFERENCE:
            continue
        verdict = {"better": "beats the reference", "worse": "worse than the reference"}.get(row["verdict"], row["verdict"])
        text = (f"{method}: all-steps MSE {_fmt(row['mse'])} (the reference's: {_fmt(rows.loc[REFERENCE, 'mse'])}; "
                f"difference {_fmt(row['diff'])} {_range(row['diff_low'], row['diff_high'])}, {verdict})")
        if method in effects.index:
            e = effects.loc[method]
            text += (f"; effect sign right for {e['sign_agreement']:.0%} {_range(e['sign_low'], e['sign_high'])} of the"
                     f" (run, test example) pairs, Spearman {_fmt(e['spearman'])} {_range(e['spearman_low'], e['spearman_high'])}")
        parts.append(text + ".")
    refused = [*result.unfit, *(m for (m, d) in result.refusals if d == name)]
    if refused:
        parts.append(f"Refused: {', '.join(refused)} (no parameters, gradients or scores for the examples of this "
                     f"design, or not this metric; the table of refusals says which).")
    pick = trusted(result, name)
    parts.append(f"A practitioner asking this should trust: **{pick}**" + _trust_note(rows, pick))
    return " ".join(parts)


def _trust_note(rows: pd.DataFrame, pick: str) -> str:
    """The end of the trust sentence: why nothing is trusted, or how much of the reference's error the trusted method
    still makes (beating the reference is not being close to the truth)."""
    if pick == "undecided":
        return " (no method's MSE interval against the curriculum-blind reference excludes 0)."
    if pick == "the reference":
        return "."
    return f", whose all-steps MSE is still {rows.loc[pick, 'mse'] / rows.loc[REFERENCE, 'mse']:.0%} of the reference's."


def webnlg_sentence(why: str | None) -> str:
    """The chapter's sentence on WebNLG: why its designs are not in the chapter yet (`status`), or where they are."""
    if why is not None:
        return why
    return (f"WebNLG's designs follow SST-2's below, scored on the loss and on BLEU ({', '.join(LOSS_ONLY)} "
            f"simulate the loss only).")


def facts(result: WhatIfResult) -> dict[str, object]:
    """The glued numbers of one task and metric (SST-2's loss: `whatif_*`; another: `whatif_<task>_<metric>_*`):
    sizes, every design's trust verdict, and each (design, method)'s scores."""
    prefix = "whatif" if (result.task, result.metric) == ("sst2", "loss") else f"whatif_{result.task}_{result.metric}"
    out: dict[str, object] = {
        f"{prefix}_designs": len(result.design_names),
        f"{prefix}_trained": sum(t.n_runs for t in result.truth.values()),
        f"{prefix}_planned": len(result.designs), f"{prefix}_missing": sum(result.missing.values()),
        f"{prefix}_held_out": result.n_held_out, f"{prefix}_repeated_id": result.repeated_id,
        f"{prefix}_repeated_loss": float(result.difficulty.get(result.repeated_id, np.nan)),
        f"{prefix}_difficulty_low": float(min(result.difficulty.values())),
        f"{prefix}_difficulty_high": float(max(result.difficulty.values())),
    }
    if prefix == "whatif":
        out.update(whatif_scale=result.source_scale, whatif_regime=REGIMES[result.source_scale].label)
    else:
        out[f"{prefix}_group"] = result.group
    for name in result.design_names:
        key = f"{prefix}_{name.replace(' ', '_')}"
        out[f"{key}_trust"] = trusted(result, name) if name in result.truth else "not trained yet"
        out[f"{key}_runs"] = result.truth[name].n_runs if name in result.truth else 0
    for _, row in result.mse.iterrows():
        key = f"{prefix}_{row['design'].replace(' ', '_')}_{_method_key(row['method'])}"
        out[f"{key}_mse"] = float(row["mse"])
        if row["method"] != REFERENCE:
            out[f"{key}_verdict"] = str(row["verdict"])
        if isinstance(row.get("gpt_verdict"), str):
            out[f"{key}_vs_gpt"] = row["gpt_verdict"]
    for _, row in result.effects.iterrows():
        key = f"{prefix}_{row['design'].replace(' ', '_')}_{_method_key(row['method'])}"
        out[f"{key}_sign"] = float(row["sign_agreement"])
        out[f"{key}_spearman"] = float(row["spearman"])
    return out


def _method_key(method: str) -> str:
    return {"GPTfluence": "gpt", "Simfluence": "sim", "TracIn-CP (10 ckpts)": "tracin", "Grad-Dot": "graddot",
            "EK-FAC": "ekfac", "TRAK": "trak", REFERENCE: "ref"}[method]


def scores_display(result: WhatIfResult) -> pd.DataFrame:
    """The MSE and effect scores side by side, one row per design x method, intervals as text."""
    table = result.mse.merge(result.effects.drop(columns=["runs", "tests"]), on=["design", "method"], how="left")
    return pd.DataFrame({
        "design": table["design"], "method": table["method"], "runs x tests": table["runs"].astype(str) + " x "
        + table["tests"].astype(str), "all-steps MSE": table["mse"].map(_fmt),
        "minus reference [95%]": [("" if m == REFERENCE else f"{_fmt(d)} {_range(lo, hi)}")
                                  for m, d, lo, hi in zip(table["method"], table.get("diff", np.nan),
                                                          table.get("diff_low", np.nan), table.get("diff_high", np.nan))],
        "verdict": table.get("verdict", pd.Series([""] * len(table))).fillna("").replace({"better": "beats reference",
                                                                                         "worse": "worse than reference"}),
        "minus GPTfluence [95%]": [("" if not np.isfinite(d) else f"{_fmt(d)} {_range(lo, hi)}")
                                   for d, lo, hi in table.reindex(columns=["gpt_diff", "gpt_diff_low", "gpt_diff_high"])
                                   .astype(float).itertuples(index=False)],
        "effect sign right [95%]": [("" if not np.isfinite(s) else f"{s:.0%} {_range(lo, hi)}")
                                    for s, lo, hi in zip(table["sign_agreement"], table["sign_low"], table["sign_high"])],
        "effect Spearman [95%]": [("" if not np.isfinite(s) else f"{_fmt(s)} {_range(lo, hi)}")
                                  for s, lo, hi in zip(table["spearman"], table["spearman_low"], table["spearman_high"])],
    })


def refusals_display(result: WhatIfResult) -> pd.DataFrame:
    """One row per method not fitted (design: "every design") and per (method, design) a fitted method could not
    simulate, with its reason (first sentence)."""
    rows = [{"design": "every design", "method": m, "why": why} for m, why in result.unfit.items()]
    rows += [{"design": d, "method": m, "why": why.split(": ids")[0]} for (m, d), why in result.refusals.items()]
    return pd.DataFrame(rows, columns=["design", "method", "why"])


if __name__ == "__main__":
    main()
