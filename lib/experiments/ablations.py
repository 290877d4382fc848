"""GPTfluence's ablations (paper Figs 3-6, Table 10): checkpoint interval, Markov order, encoder, model size.

Each function fits simulators on a collection's train runs (val runs for early stopping) and scores them
on its test runs, returning a tidy table (method, target, metric, value, std, n, + the ablated setting)
that the plots of `lib.plots.ablations` draw and `lib.paper.beside` joins with the paper's rows.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.collect import StoredCollection
from lib.dynamics import Dynamics
from lib.encoders import load_encoder
from lib.experiments.comparisons import Case, claim_facts, difference_table
from lib.experiments.scoring import REFERENCE, mean_trajectory, mean_value
from lib.experiments.settings import FINE_TUNING_TASKS, INSTRUCTION_TUNING, gptfluence_config, refit_seeds, task_label
from lib.experiments.store import Progress, collection_config, dynamics, progress, skipped_sentence, stored
from lib.experiments.tables import values_with_std
from lib.experiments.simulation import SimulationResult, make_simulator, simulate_methods, split_or_none
from lib.experiments.wording import cell, compared, human_count, published, trend
from lib.metrics import LOWER_IS_BETTER, SCORES, compare, evaluate
from lib.paper import beside, paper_rows
from lib.scales import get_scale
from lib.simulators import GPTfluence, GPTfluenceConfig, Simfluence
from lib.simulators.health import rollout_health, value_band

INTERVALS = (1, 2, 3, 4, 5, 6, 8, 10)
"""Checkpoint intervals k tried (paper Fig 3 goes up to 10); only those below T are used (see `usable_intervals`)."""
ORDERS = (1, 2, 3, 5, 10)
"""Markov orders n of the paper (Fig 4, Table 10)."""
SPLITS_USED = ("train", "val", "test")
MIN_PREDICTED_STEPS = 4
"""An order-n simulator must still predict at least this many steps (n..T), so n <= T - 3."""
ABLATIONS = ("interval", "order", "encoder", "size")
"""The chapter's four ablations, in the order `run` computes them."""
VARIANTS = "variants"
"""The chapter's fifth part: Simfluence's variants and its closed form against Adam
(lib.experiments.simfluence_variants)."""
SIZE_COLUMN = "runs x tests"
"""The n of a display row: held-out runs x test examples."""
SAME_PREFIX, OWN_STEPS = "same prefix", "own steps"
"""How a Markov-order row is scored: every order given the same true values y_0..y_{N-1} (N the largest order)
and scored on steps N..T; or the paper's convention, order n given y_0..y_{n-1} and scored on steps n..T."""


def usable_intervals(n_steps: int, candidates: Sequence[int] = INTERVALS) -> list[int]:
    """The intervals k of `candidates` below T: each leaves at least one recorded checkpoint between step 0 and T."""
    return [int(k) for k in candidates if 1 <= k < n_steps]


def usable_orders(n_steps: int, orders: Sequence[int] = ORDERS,
                  min_predicted: int = MIN_PREDICTED_STEPS) -> list[int]:
    """The orders n of `orders` for which steps n..T hold at least `min_predicted` predicted values."""
    return [int(n) for n in orders if n_steps - n + 1 >= min_predicted]


def recorded_steps(n_steps: int, k: int) -> np.ndarray:
    """The steps whose values a collection recording every k steps keeps: 0, k, 2k, .. and the final step T."""
    if not 1 <= k <= n_steps:
        raise ValueError(f"k must be in 1..{n_steps} (the number of steps), got {k}")
    return np.unique(np.append(np.arange(0, n_steps + 1, k), n_steps))


def held_checkpoints(dyn: Dynamics, k: int) -> Dynamics:
    """The dynamics as recorded every k steps, at full resolution: each step's value is the one of the next recorded
    checkpoint (the paper: one checkpoint's state approximates the k steps before it).

    Curricula stay per step (batch B), so a simulator trained on these predicts one step at a time; only the values
    between checkpoints are approximated. Step 0 and the final step are always recorded.
    """
    kept = recorded_steps(dyn.n_steps, k)
    source = kept[np.searchsorted(kept, np.arange(dyn.n_steps + 1))]  # the next recorded step at or after t
    return dataclasses.replace(dyn, values=dyn.values[:, source], grad_dots={}, self_influence={})


def from_step(dyn: Dynamics, start: int) -> Dynamics:
    """The runs from step `start` on: values y_start..y_T (column 0 is y_start) and the batches of steps start+1..T."""
    if not 0 <= start < dyn.n_steps:
        raise ValueError(f"start must be in 0..{dyn.n_steps - 1}, got {start}")
    return dataclasses.replace(
        dyn, curricula=dyn.curricula[:, start:], values=dyn.values[:, start:], steps=dyn.steps[start:],
        grad_dots={key: v[:, start:] for key, v in dyn.grad_dots.items()},
        learning_rates=None if dyn.learning_rates is None else dyn.learning_rates[:, start:])


def blind_reference(train: Dynamics, truth: Dynamics) -> tuple[np.ndarray, np.ndarray]:
    """The curriculum-blind REFERENCE prediction of `truth`'s runs from the `train` runs' mean change, and its diverged
    rollouts (bool [runs, tests], judged on the band of the train values as every simulator's)."""
    prediction = mean_trajectory(train, truth)
    return prediction, rollout_health(prediction, truth.metric, value_band(train.values)).diverged


def sizes(truth: Dynamics) -> dict[str, int]:
    """The n of a row scored on `truth`: its held-out runs and test examples."""
    return {"runs": int(truth.n_runs), "tests": int(truth.n_tests)}


def interval_label(method: str, k: int) -> str:
    """A method trained on dynamics recorded every k steps, as a comparison names it: 'GPTfluence, k=4'."""
    return f"{method}, k={int(k)}"


def runs_key(dyn: Dynamics | None) -> str:
    """A digest of everything of a set of runs that a simulator's fit reads: curricula, values, steps, the test ids,
    the metric, the learning rates and the texts. Equal digests mean the same training data."""
    digest = hashlib.sha256()
    if dyn is None:
        return "none"
    for array in (dyn.curricula, dyn.values, dyn.steps, dyn.test_ids):
        digest.update(np.ascontiguousarray(array).tobytes())
    if dyn.learning_rates is not None:
        digest.update(np.ascontiguousarray(dyn.learning_rates).tobytes())
    digest.update(repr((dyn.metric, sorted(dyn.train_texts.items()), sorted(dyn.test_texts.items()))).encode())
    return digest.hexdigest()


class FitMemo:
    """Fitted simulators shared by the chapter's ablations: a setting that is fitted on the same runs with the same
    settings twice (checkpoint interval k = 1, Markov order n = 1 and the model-size fit of the same collection are
    all the plain fit) is fitted once and reused. `made` and `reused` count the fits."""

    def __init__(self) -> None:
        self._fits: dict[tuple, tuple[object, float]] = {}
        self.made = 0
        self.reused = 0

    def fit(self, setting: tuple, make: Callable[[], object], train: Dynamics,
            val: Dynamics | None) -> tuple[object, float]:
        """The simulator `make()` fitted on `train` (and `val`), and the seconds its fit took; fitted only the first
        time `setting` (the method and its settings) meets these runs."""
        key = (setting, runs_key(train), runs_key(val))
        if key in self._fits:
            self.reused += 1
            return self._fits[key]
        simulator = make()
        start = time.perf_counter()
        simulator.fit(train, val)
        self._fits[key] = (simulator, time.perf_counter() - start)
        self.made += 1
        return self._fits[key]


FITTED_METHODS = ("Simfluence", "GPTfluence")
"""The methods `fitted_methods` shares: fitted on the train runs alone (no oracle rescaling on the held-out runs)."""


def fitted_methods(dyn: Dynamics, methods: Sequence[str], *, encoder, gptfluence: GPTfluenceConfig,
                   fits: FitMemo, held_out: Dynamics | None = None, **labels) -> SimulationResult:
    """`simulation.simulate_methods` with the fits taken from `fits` (each method fitted on the train runs, val runs
    for model selection, at most once per memo), scored on the test runs (or `held_out`)."""
    train, val = dyn.select_runs("train"), split_or_none(dyn, "val")
    truth = held_out if held_out is not None else dyn.select_runs("test")
    predictions, fit_s, sim_s, fitted, health = {}, {}, {}, {}, {}
    unknown = [m for m in methods if m not in FITTED_METHODS]
    if unknown:
        raise ValueError(f"fitted_methods fits {', '.join(FITTED_METHODS)} on the train runs; got {unknown}")
    for method in methods:
        setting = (method, repr(gptfluence) if method == "GPTfluence" else "",
                   getattr(encoder, "name", str(encoder)) if method == "GPTfluence" else "")
        fitted[method], fit_s[method] = fits.fit(
            setting, lambda m=method: make_simulator(m, encoder=encoder, gptfluence=gptfluence), train, val)
        start = time.perf_counter()
        predictions[method] = fitted[method].simulate(truth)
        sim_s[method] = time.perf_counter() - start
        health[method] = fitted[method].health_
    orders = {m: getattr(fitted[m], "order", 1) for m in methods}
    table = compare(predictions, truth, order=orders, **labels)
    return SimulationResult(truth, predictions, table, fit_s, sim_s, fitted, health)


def _simulate(dyn: Dynamics, methods: Sequence[str], *, fits: FitMemo | None, **kwargs) -> SimulationResult:
    """`fitted_methods` through `fits`, or a fresh `simulate_methods` when there is no memo."""
    if fits is None:
        return simulate_methods(dyn, list(methods), **kwargs)
    return fitted_methods(dyn, methods, fits=fits, **kwargs)


def checkpoint_interval_ablation(dyn: Dynamics, intervals: Sequence[int], *, encoder, gptfluence: GPTfluenceConfig,
                                 methods: Sequence[str] = ("Simfluence", "GPTfluence"), reference: bool = True,
                                 cases: list[Case] | None = None, fits: FitMemo | None = None,
                                 **labels) -> pd.DataFrame:
    """Fit `methods` on the train and val runs recorded every k steps, score them on the test runs at every step
    (paper Fig 3), for each k.

    The training and validation runs are `held_checkpoints(dyn, k)`: a collection that recorded only every k-th
    step, each value held back over the k steps before it. The held-out test runs keep every step's true value,
    so every k is scored on the same steps 1..T against the same truth. With `reference`, the curriculum-blind
    REFERENCE (the mean change of the same approximate train runs) is a row of every k. `cases`, when given,
    receives one `comparisons.Case` of the held-out runs whose methods are `interval_label(method, k)`. With `fits`
    (a `FitMemo`), a fit already made on the same runs (k = 1 is the plain collection) is reused.
    """
    truth = dyn.select_runs("test")
    frames, predictions, diverged = [], {}, {}
    for k in intervals:
        held = held_checkpoints(dyn, int(k))
        result = _simulate(held, methods, fits=fits, encoder=encoder, gptfluence=gptfluence, held_out=truth,
                           **labels)
        table = result.table
        for method in methods:
            predictions[interval_label(method, k)] = result.predictions[method]
            diverged[interval_label(method, k)] = result.health[method].diverged
        if reference:
            prediction, diverged[interval_label(REFERENCE, k)] = blind_reference(held.select_runs("train"), truth)
            predictions[interval_label(REFERENCE, k)] = prediction
            table = pd.concat([table, evaluate(prediction, truth, method=REFERENCE, **labels)], ignore_index=True)
        table = table.assign(interval=int(k), recorded_steps=len(recorded_steps(dyn.n_steps, int(k))) - 1,
                             scored_steps=truth.n_steps, **sizes(truth))
        table["fit_seconds"] = table["method"].map(result.fit_seconds)
        frames.append(table)
    if cases is not None:
        cases.append(Case(str(labels.get("task", "all")), truth, predictions, diverged, {}))
    return pd.concat(frames, ignore_index=True)


def order_label(n: int) -> str:
    """GPTfluence of Markov order n, as a comparison names it: 'GPTfluence, n=3'."""
    return f"GPTfluence, n={int(n)}"


def markov_order_ablation(dyn: Dynamics, orders: Sequence[int], *, encoder, gptfluence: GPTfluenceConfig,
                          reference: bool = True, blind: bool = True, cases: list[Case] | None = None,
                          fits: FitMemo | None = None, **labels) -> pd.DataFrame:
    """GPTfluence of each Markov order n, fitted on the train runs and scored on the test runs (Fig 4, Table 10).

    Rows with scored="same prefix" give every order the same true values y_0..y_{N-1} (N = max(orders)): the
    order-n rollout starts from the last n of them and every order is scored on the same steps N..T, so a higher
    order is not scored on easier steps. Rows with scored="own steps" follow the paper's convention: order n is
    given y_0..y_{n-1} and scored on steps n..T. With `reference`, Simfluence (order 1) is added; with `blind`, the
    curriculum-blind REFERENCE (order 1: the train runs' mean change from y_{N-1}, or from y_0 on own steps).
    `fitted_order` is the order of the fitted simulator; `setting` is "markov_order=n" as in the paper CSV.
    `cases`, when given, receives one `comparisons.Case` of the same-prefix scoring (group "<task> <target>"): its
    truth holds y_{N-1}..y_T and every method's prediction the same columns, so each is scored on steps N..T.
    With `fits` (a `FitMemo`), a fit already made on the same runs (order 1 is the plain fit) is reused.
    """
    train, val, test = dyn.select_runs("train"), split_or_none(dyn, "val"), dyn.select_runs("test")
    prefix = max(orders)
    fits = fits or FitMemo()
    simulators: list[tuple[str, int, tuple, Callable[[], object]]] = []
    for n in orders:
        config = dataclasses.replace(gptfluence, order=int(n))
        simulators.append(("GPTfluence", int(n), ("GPTfluence", repr(config), getattr(encoder, "name", str(encoder))),
                           lambda c=config: GPTfluence(encoder, c)))
    if reference:
        simulators.append(("Simfluence", 1, ("Simfluence", "", ""), lambda: make_simulator("Simfluence")))
    band = value_band(train.values)
    frames, predictions, diverged = [], {}, {}
    for method, n, setting, make in simulators:
        simulator, seconds = fits.fit(setting, make, train, val)
        order = simulator.order
        same = from_step(test, prefix - order)  # columns 0..order-1 = y_{N-order}..y_{N-1}, the given values
        for scored, truth, from_step_ in ((SAME_PREFIX, same, prefix), (OWN_STEPS, test, order)):
            prediction = simulator.simulate(truth)
            frames.append(evaluate(prediction, truth, order=order, method=method, **labels).assign(
                order=n, fitted_order=order, setting=f"markov_order={n}", scored=scored,
                scored_from=from_step_, fit_seconds=seconds, **sizes(truth)))
            if scored == SAME_PREFIX:
                label = order_label(n) if method == "GPTfluence" else method
                predictions[label] = prediction[:, order - 1:]
                diverged[label] = rollout_health(predictions[label], dyn.metric, band).diverged
    if blind:
        for scored, start_ in ((SAME_PREFIX, prefix - 1), (OWN_STEPS, 0)):
            truth = from_step(test, start_)
            prediction, flags = blind_reference(from_step(train, start_), truth)
            frames.append(evaluate(prediction, truth, method=REFERENCE, **labels).assign(
                order=1, fitted_order=1, setting="markov_order=1", scored=scored, scored_from=start_ + 1,
                fit_seconds=0.0, **sizes(truth)))
            if scored == SAME_PREFIX:
                predictions[REFERENCE], diverged[REFERENCE] = prediction, flags
    if cases is not None:
        shared = from_step(test, prefix - 1)  # y_{N-1}..y_T: the columns every same-prefix prediction is cut to
        cases.append(Case(f"{labels.get('task', 'all')} {dyn.metric}", shared, predictions, diverged, {}))
    return pd.concat(frames, ignore_index=True)


def encoder_ablation(dyn: Dynamics, encoders: dict[str, object], *, gptfluence: GPTfluenceConfig,
                     reference: bool = True, blind: bool = True, cases: list[Case] | None = None,
                     **labels) -> pd.DataFrame:
    """GPTfluence with each frozen encoder (label -> Encoder or encoder name), scored on the test runs (Fig 5).

    With `reference`, Simfluence (no features) is added once, with encoder "(none)"; with `blind`, the
    curriculum-blind REFERENCE, with encoder REFERENCE. Every setting is fitted on the same train runs and scored on
    the same held-out runs (`run_counts` columns say which). `cases`, when given, receives one `comparisons.Case`
    (group: the `task` label, else "all") whose methods are the encoder labels, "Simfluence" and REFERENCE.
    """
    runs = run_counts(dyn)
    truth = dyn.select_runs("test")
    frames, predictions, diverged = [], {}, {}
    for label, encoder in encoders.items():
        result = simulate_methods(dyn, ["GPTfluence"], encoder=encoder, gptfluence=gptfluence, **labels)
        simulator = result.simulators["GPTfluence"]
        predictions[label], diverged[label] = result.predictions["GPTfluence"], result.health["GPTfluence"].diverged
        frames.append(result.table.assign(encoder=label, encoder_name=simulator.features.encoder.name,
                                          dim=simulator.features.encoder.dim,
                                          fit_seconds=result.fit_seconds["GPTfluence"], **runs, **sizes(truth)))
    if reference:
        result = simulate_methods(dyn, ["Simfluence"], **labels)
        predictions["Simfluence"], diverged["Simfluence"] = (result.predictions["Simfluence"],
                                                             result.health["Simfluence"].diverged)
        frames.append(result.table.assign(encoder="(none)", encoder_name="(none)", dim=0,
                                          fit_seconds=result.fit_seconds["Simfluence"], **runs, **sizes(truth)))
    if blind:
        predictions[REFERENCE], diverged[REFERENCE] = blind_reference(dyn.select_runs("train"), truth)
        frames.append(evaluate(predictions[REFERENCE], truth, method=REFERENCE, **labels).assign(
            encoder=REFERENCE, encoder_name="(none)", dim=0, fit_seconds=0.0, **runs, **sizes(truth)))
    if cases is not None:
        cases.append(Case(str(labels.get("task", "all")), truth, predictions, diverged, {}))
    return pd.concat(frames, ignore_index=True)


def model_description(collection: StoredCollection) -> dict:
    """The GPT of a collection: name, regime and parameter counts (total, trainable) from its first run's run.json."""
    model = collection.config.get("model", {})
    environment = collection.run_meta(collection.run_indices()[0]).get("environment", {})
    return {"model": model.get("name", "?"), "regime": model.get("regime", "full"),
            "parameters": float(environment.get("model_parameters", np.nan)),  # float: shown by the number rule
            "trainable": float(environment.get("trainable_parameters", np.nan))}


def equal_runs(collections: Mapping[str, Dynamics]) -> dict[str, Dynamics]:
    """Every collection cut to the same number of train, val and test runs (the smallest counts), so that no setting
    is fitted on more runs or scored on more held-out runs than another.

    The runs kept are the first combination (in run order: val, test, then train runs) in which the train runs'
    batches hold every example the kept val and test runs train on, since Simfluence has no parameters for others.
    """
    counts = {split: min(int((d.split == split).sum()) for d in collections.values()) for split in SPLITS_USED}
    if counts["train"] < 1 or counts["test"] < 1:
        raise ValueError(f"every collection needs train and test runs; the smallest counts are {counts}")
    return {name: dyn.select_runs(_covered_runs(name, dyn, counts)) for name, dyn in collections.items()}


def _covered_runs(name: str, dyn: Dynamics, counts: Mapping[str, int]) -> np.ndarray:
    """Run positions of `dyn`: counts[split] runs of each split, the train runs covering the others' examples."""
    choices = {split: list(itertools.combinations(np.flatnonzero(dyn.split == split), counts[split]))
               for split in SPLITS_USED}
    for val, test in itertools.product(choices["val"], choices["test"]):
        held = list(val) + list(test)
        needed = set(np.unique(dyn.curricula[held]).tolist())
        for train in choices["train"]:
            if needed <= set(np.unique(dyn.curricula[list(train)]).tolist()):
                return np.sort(np.array(list(train) + held))
    raise ValueError(f"{name}: no {counts['train']} of its train runs cover the examples of {counts['val']} val and "
                     f"{counts['test']} test runs")


def run_counts(dyn: Dynamics) -> dict[str, object]:
    """Train / val / test run counts of a collection and its held-out run ids, for the rows of a table."""
    test = dyn.select_runs("test")
    return {"train_runs": int((dyn.split == "train").sum()), "val_runs": int((dyn.split == "val").sum()),
            "test_runs": int(test.n_runs), "held_out": " ".join(map(str, test.run_ids.tolist())),
            "held_out_curricula": curricula_key(test)}


def curricula_key(dyn: Dynamics) -> str:
    """12 hex digits naming a set of runs by their curricula: equal keys mean the same held-out training orders."""
    return hashlib.sha256(np.ascontiguousarray(dyn.curricula).tobytes()).hexdigest()[:12]


def model_size_ablation(collections: dict[str, Dynamics], models: dict[str, dict], *, encoder,
                        gptfluence: GPTfluenceConfig, methods: Sequence[str] = ("Simfluence", "GPTfluence"),
                        blind: bool = True, cases: list[Case] | None = None,
                        fits: FitMemo | None = None) -> pd.DataFrame:
    """Fit and score `methods` on each collection (collection name -> Dynamics, one GPT size each) (Fig 6).

    The collections are first cut to equal run counts (`equal_runs`). `models`: collection name -> its
    `model_description`. Rows carry the collection name, its GPT (model, regime, parameters, trainable), a display
    label and the runs used (`run_counts`: whether the held-out curricula are the same shows in held_out_curricula).
    With `blind`, the curriculum-blind REFERENCE is a row of every collection. `cases`, when given, receives one
    `comparisons.Case` per collection (group: its name). With `fits` (a `FitMemo`), a fit already made on the same
    runs (the checkpoint-interval ablation's k = 1 on the same collection) is reused.
    """
    frames = []
    for name, dyn in equal_runs(collections).items():
        info = models[name]
        result = _simulate(dyn, methods, fits=fits, encoder=encoder, gptfluence=gptfluence, collection=name)
        predictions = dict(result.predictions)
        diverged = {m: h.diverged for m, h in result.health.items()}
        table = result.table
        if blind:
            predictions[REFERENCE], diverged[REFERENCE] = blind_reference(dyn.select_runs("train"), result.truth)
            table = pd.concat([table, evaluate(predictions[REFERENCE], result.truth, method=REFERENCE,
                                               collection=name)], ignore_index=True)
        table = table.assign(**info, label=model_label(info), **run_counts(dyn), **sizes(result.truth))
        table["fit_seconds"] = table["method"].map(result.fit_seconds)
        frames.append(table)
        if cases is not None:
            cases.append(Case(name, result.truth, predictions, diverged, {}))
    return pd.concat(frames, ignore_index=True)


PAPER_SIZE_TABLE = "1"
"""Fig 6's paper values: its Table 1 (instruction tuning, loss) holds the 410M, 1B and 2.8B points of the figure;
the 14M-160M points are only drawn."""


def size_paper_rows(task: str = "average") -> pd.DataFrame:
    """The paper's Simfluence and GPTfluence loss-simulation scores per Pythia size (Table 1, instruction tuning),
    tidy as ours with a `model` and a `source` column."""
    rows = paper_rows(source="gptfluence", table=PAPER_SIZE_TABLE, task=task, method=["Simfluence", "GPTfluence"])
    return rows.assign(source=f"paper (Table {PAPER_SIZE_TABLE})")[
        ["model", "method", "metric", "value", "std", "source"]]


def size_beside_paper(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """One values table: our rows per GPT and the paper's per Pythia size, "value (std)" per metric."""
    mine = ours.assign(source="ours")
    columns = ["source", "model", "method", "metric", "value", "std"]
    both = pd.concat([mine[columns + [c for c in ("runs", "tests") if c in mine]], paper], ignore_index=True)
    return values_with_std(both, index=["source", "model", "method"]).rename_axis(columns=None)


def model_label(info: dict) -> str:
    """"smollm2-135m (full, 135M)": the GPT, its regime and its trainable parameter count."""
    trainable = info.get("trainable")
    count = "?" if trainable is None or not np.isfinite(trainable) else human_count(trainable)
    return f"{info['model']} ({info['regime']}, {count} trainable)"


def table10_beside(ours: pd.DataFrame) -> pd.DataFrame:
    """Our Markov-order rows, both scorings, beside the paper's Table 10, joined on task, target, setting, metric.

    Columns "same prefix" and "own steps" (with their std) are ours, "paper" (and "paper std") the paper's. `ours`
    needs a `task` column (the paper's task names: rte, webnlg). Paper rows of tasks, targets or metrics we did not
    run are left out; our rows the paper lacks are kept with an empty paper column.
    """
    mine = ours[ours["method"] == "GPTfluence"]
    paper = paper_rows(table="10")
    paper = paper[paper["task"].isin(mine["task"]) & paper["target"].isin(mine["target"])
                  & paper["metric"].isin(mine["metric"])]
    on = ["task", "target", "setting", "metric"]
    table = beside(mine[mine["scored"] == SAME_PREFIX], paper, on=on, ours_label=SAME_PREFIX)
    own = mine[mine["scored"] == OWN_STEPS][on + ["value", "std"]].rename(
        columns={"value": OWN_STEPS, "std": f"{OWN_STEPS} std"})
    table = table.merge(own, on=on, how="left")
    if {"runs", "tests"} <= set(mine.columns):  # the n of our rows: held-out runs x test examples per (task, target)
        n = {key: f"{int(r)} x {int(t)}" for key, (r, t) in
             mine[mine["scored"] == SAME_PREFIX].groupby(["task", "target"])[["runs", "tests"]].first().iterrows()}
        table[SIZE_COLUMN] = [n.get((t, g), "") for t, g in zip(table["task"], table["target"])]
    table["order"] = table["setting"].str.split("=").str[1].astype(int)
    return table.sort_values(["task", "target", "metric", "order"]).drop(columns="order").reset_index(drop=True)


def table10_wide(table: pd.DataFrame) -> pd.DataFrame:
    """`table10_beside` as a display table: rows (task, target, order n), columns metric x (ours on the same prefix,
    ours on own steps, paper) as "v (std)"."""
    columns = (SAME_PREFIX, OWN_STEPS, "paper")
    cells = table.assign(n=table["setting"].str.split("=").str[1].astype(int))
    for who in columns:
        cells[f"{who}_cell"] = [cell(v, s, missing="-", paper=who == "paper")
                                for v, s in zip(table[who], table[f"{who} std"])]
    wide = cells.pivot(index=["task", "target", "n"], columns="metric", values=[f"{who}_cell" for who in columns])
    wide = wide.swaplevel(axis=1).rename(columns={f"{who}_cell": who for who in columns}, level=1)
    metrics = [m for m in SCORES if m in wide.columns.get_level_values(0)]
    wide = wide.reindex(columns=[(m, who) for m in metrics for who in columns]).sort_index()
    if SIZE_COLUMN in table.columns:  # ours: held-out runs x test examples
        n = table.dropna(subset=[SAME_PREFIX]).drop_duplicates(["task", "target"]).set_index(["task", "target"])
        wide[("n", "runs x tests")] = [n[SIZE_COLUMN].get((t, g), "") for t, g, _ in wide.index]
    return wide


def interval_facts(table: pd.DataFrame) -> dict[str, object]:
    """Gluable facts of the checkpoint-interval ablation, averaged over tasks (the paper's Fig 3 claims)."""
    ks = sorted(table["interval"].unique())
    k0, k1 = int(ks[0]), int(ks[-1])
    out: dict[str, object] = {"interval_list": ", ".join(map(str, ks)), "interval_max": k1,
                              "interval_tasks": int(table["task"].nunique()) if "task" in table else 1,
                              "interval_task_names": (", ".join(task_label(t) for t in table["task"].unique())
                                                      if "task" in table else "all")}
    for method, key in (("GPTfluence", "gpt"), ("Simfluence", "sim")):
        for metric in SCORES:
            for k, tag in ((k0, "first"), (k1, "last")):
                out[f"interval_{key}_{metric}_{tag}"] = mean_value(table, method=method, metric=metric, interval=k)
    for metric in SCORES:
        out[f"interval_gpt_{metric}_trend"] = trend(out[f"interval_gpt_{metric}_first"],
                                                    out[f"interval_gpt_{metric}_last"])
    out["interval_gpt_vs_sim_rho_last"] = compared(out["interval_gpt_spearman_last"], out["interval_sim_spearman_last"],
                                                   "spearman")
    out["interval_gpt_vs_sim_mse_last"] = compared(out["interval_gpt_mse_last"], out["interval_sim_mse_last"], "mse")
    return out


def order_facts(table: pd.DataFrame, candidates: Sequence[int] = ORDERS) -> dict[str, object]:
    """Gluable facts of the Markov-order ablation per (task, target): first/last order scores and the best order,
    on the same prefix (the fair comparison) and on each order's own steps (the paper's convention);
    `order_dropped` lists the `candidates` left out."""
    out: dict[str, object] = {}
    gpt = table[table["method"] == "GPTfluence"]
    orders = sorted(gpt["order"].unique())
    out["order_list"] = ", ".join(map(str, orders))
    out["order_max"] = int(orders[-1])
    out["order_prefix"] = int(orders[-1])
    dropped = [n for n in candidates if n not in orders]
    out["order_dropped"] = ", ".join(map(str, dropped)) if dropped else "none"
    wins = 0
    groups = list(gpt.groupby(["task", "target"], sort=False))
    for (task, target), part in groups:
        key = f"order_{task}_{target}"
        for scored, tag in ((SAME_PREFIX, "same"), (OWN_STEPS, "own")):
            rows = part[part["scored"] == scored]
            mse = rows[rows["metric"] == "mse"].set_index("order")["value"]
            out[f"{key}_best_mse_{tag}"] = int(mse.idxmin()) if mse.notna().any() else "none"
            rho = rows[rows["metric"] == "spearman"].set_index("order")["value"]
            out[f"{key}_rho_first_{tag}"], out[f"{key}_rho_last_{tag}"] = float(rho.iloc[0]), float(rho.iloc[-1])
            out[f"{key}_rho_trend_{tag}"] = trend(float(rho.iloc[0]), float(rho.iloc[-1]))
            if scored == SAME_PREFIX:
                wins += int(mse.iloc[-1] < mse.iloc[0])
    out["order_groups"] = len(groups)
    out["order_higher_wins"] = wins
    return out


def encoder_facts(table: pd.DataFrame, roles: dict[str, str],
                  sentence_roles: Sequence[str] = ("mean", "cls")) -> dict[str, object]:
    """Gluable facts of the encoder ablation: the best encoder per metric and each role's scores.

    `roles` names encoder labels by a scale-independent role (e.g. {"mean": "MiniLM, mean pooling", "gpt": ..}),
    giving keys such as `encoder_gpt_mse`; `encoder_best_mse` is the label of the best encoder and
    `encoder_best_mse_kind` says whether it is one of the `sentence_roles` (the paper's finding).
    """
    gpt = table[table["method"] == "GPTfluence"]
    out: dict[str, object] = {}
    for metric in SCORES:
        scores = gpt[gpt["metric"] == metric].set_index("encoder")["value"].dropna()
        pick = scores.idxmin if LOWER_IS_BETTER[metric] else scores.idxmax
        out[f"encoder_best_{metric}"] = pick() if len(scores) else "none"
        for role, label in roles.items():
            out[f"encoder_{role}_{metric}"] = mean_value(gpt, encoder=label, metric=metric)
        out[f"encoder_sim_{metric}"] = mean_value(table, method="Simfluence", metric=metric)
    sentence = {roles[r] for r in sentence_roles if r in roles}
    for metric in ("mse", "spearman"):
        best = out[f"encoder_best_{metric}"]
        out[f"encoder_best_{metric}_kind"] = ("a sentence encoder, as in the paper" if best in sentence
                                              else "not a sentence encoder, unlike the paper")
    runs = table.drop_duplicates("encoder")
    out["encoder_train_runs"] = int(runs["train_runs"].iloc[0])
    out["encoder_test_runs"] = int(runs["test_runs"].iloc[0])
    out["encoder_same_runs"] = "the same" if runs["held_out_curricula"].nunique() == 1 else "not the same"
    return out


def size_facts(table: pd.DataFrame) -> dict[str, object]:
    """Gluable facts of the model-size ablation: in how many model settings GPTfluence beats Simfluence, and the
    runs every setting was fitted and scored on."""
    out: dict[str, object] = {"size_settings": int(table["collection"].nunique())}
    for metric in SCORES:
        wins = 0
        for name in table["collection"].unique():
            verdict = compared(mean_value(table, collection=name, method="GPTfluence", metric=metric),
                               mean_value(table, collection=name, method="Simfluence", metric=metric), metric)
            wins += verdict == "better than"
        out[f"size_gpt_wins_{metric}"] = wins
    runs = table.drop_duplicates("collection")
    for split in SPLITS_USED:
        out[f"size_{split}_runs"] = int(runs[f"{split}_runs"].iloc[0])
    out["size_same_held_out"] = ("the same held-out curricula" if runs["held_out_curricula"].nunique() == 1 else
                                 "different held-out curricula (the collections were drawn with different run seeds)")
    return out


# ---------------------------------------------------------------------------------------------------- the chapter

ORDER_TARGETS = {"rte": ("loss",), "webnlg": ("loss", "bleu", "rougeL")}
"""The paper's Table 10: Markov order on RTE (loss) and WebNLG (loss, BLEU, ROUGE-L)."""
SIZE_COLLECTIONS = ("sst2", "sst2_size2")
"""One collection per GPT setting, same task and protocol (paper Fig 6)."""


@dataclass(frozen=True)
class AblationGrid:
    """What the chapter ablates at a scale: the collections and settings of each ablation, and why."""

    interval_tasks: tuple[str, ...]           # checkpoint interval (Fig 3)
    intervals: tuple[int, ...]                # candidates k; those below T are used
    order_targets: Mapping[str, tuple[str, ...]]  # Markov order (Fig 4, Table 10): task -> metrics
    orders: tuple[int, ...]                   # candidates n; those leaving MIN_PREDICTED_STEPS are used
    encoder_collection: str                   # encoder features (Fig 5)
    size_collections: tuple[str, ...]         # model size (Fig 6)
    variant_tasks: tuple[str, ...]            # Simfluence's variants (Simfluence Table 2), closed form
    adam_tasks: tuple[str, ...]               # Simfluence in closed form against Adam
    why: str
    process_groups: tuple[tuple[str, ...], ...] = (ABLATIONS + (VARIANTS,),)
    """The chapter's parts (ABLATIONS and VARIANTS) grouped per worker process: one group runs in the kernel,
    several run side by side (lib.experiments.ablation_chapter)."""

    def __post_init__(self) -> None:
        parts = [part for group in self.process_groups for part in group]
        if sorted(parts) != sorted(ABLATIONS + (VARIANTS,)):
            raise ValueError(f"process_groups must hold each of {list(ABLATIONS + (VARIANTS,))} once; got "
                             f"{[list(g) for g in self.process_groups]}")


FULL_GRID = AblationGrid(
    interval_tasks=FINE_TUNING_TASKS, intervals=INTERVALS, order_targets=ORDER_TARGETS, orders=ORDERS,
    encoder_collection=INSTRUCTION_TUNING, size_collections=SIZE_COLLECTIONS, variant_tasks=FINE_TUNING_TASKS,
    adam_tasks=FINE_TUNING_TASKS,
    why="The paper's grid on every collection: the collections are small (12-16 steps), so every fit takes seconds.")
PAPER_SIZE_GRID = AblationGrid(
    interval_tasks=("sst2", "webnlg"), intervals=(1, 4, 10), order_targets={"rte": ("loss",), "webnlg": ("loss",)},
    orders=(1, 2, 5), encoder_collection=INSTRUCTION_TUNING, size_collections=SIZE_COLLECTIONS,
    variant_tasks=FINE_TUNING_TASKS, adam_tasks=("sst2",),
    why="A GPTfluence fit on a paper-size collection takes from seconds to over a minute here (full batch, up to "
        "3,000 steps), and the book makes dozens of them, so the grid keeps the ends and one middle value of each "
        "range, on one classification and one generation task: k in "
        "{1, 4, 10} on SST-2 and WebNLG, n in {1, 2, 5} on the loss of RTE and WebNLG (the paper's Table 10 tasks); "
        "Adam against the closed form on SST-2 only (Adam's 300 epochs of batches of 128 over 150,000 transitions "
        "cost minutes for a fit the closed form gives exactly). A fit on the same runs with the same settings (k = 1, "
        "n = 1, the model-size fit of SST-2) is made once and reused within a process; the Markov orders run in a "
        "process of their own beside the other parts, so the plain WebNLG fit is made once in each.",
    process_groups=(("order",), ("interval", "encoder", "size", VARIANTS)))
GRIDS: dict[str, AblationGrid] = {"smoke": FULL_GRID, "full_fine_tuning": FULL_GRID, "paper_size": PAPER_SIZE_GRID}
"""The grid per data regime (lib.scales.Scale.regime)."""


def ablation_grid(scale: str) -> AblationGrid:
    """The chapter's grid at `scale`: that of the regime it reads (FULL_GRID where none is set); an unknown scale
    raises."""
    return GRIDS.get(get_scale(scale).regime, FULL_GRID)


@dataclass(frozen=True)
class Skipped:
    """A part of an ablation left out because its collections are incomplete at this scale."""

    ablation: str                  # "interval", "order", "encoder", "size", "variants", "adam"
    what: str                      # what is left out, e.g. "checkpoint intervals on webnlg"
    missing: tuple[Progress, ...]  # the incomplete collections

    @property
    def sentence(self) -> str:
        """The computed sentence the chapter shows in place of the left-out part."""
        return skipped_sentence(self.missing, self.what)


def complete_only(scale: str, names: Sequence[str], ablation: str, what: str,
                  skipped: list[Skipped], data_dir: str | os.PathLike | None = None) -> list[str]:
    """The `names` whose collections are complete at `scale`; the others are appended to `skipped` as one part."""
    progresses = {name: progress(scale, name, data_dir) for name in dict.fromkeys(names)}
    missing = tuple(p for p in progresses.values() if not p.complete)
    if missing:
        skipped.append(Skipped(ablation, what, missing))
    return [name for name in names if progresses[name].complete]


def skipped_text(skipped: Sequence[Skipped], ablation: str) -> str:
    """The sentences of the parts of `ablation` left out ('' when none is)."""
    return " ".join(part.sentence for part in skipped if part.ablation == ablation)


PAPER_FIG3_STEPS = 288
"""Steps of the paper's Fig 3 runs: instruction-tuned Pythia-410M, 3 epochs of 96 batches (its Table 5)."""
ENCODER_PAPER_NOTE = ("Figure 5's bars are not in the paper's text, only its axes (all-steps MAE 0.160-0.200, "
                      "final-step rho 0.60-0.90) and its finding: BERT's features beat the Pythia encoders', and a "
                      "larger Pythia encoder is not always better")
"""What can be read of the paper's Figure 5 (the values were not read: no figure image is at hand)."""


@dataclass
class AblationResult:
    """The four ablations of the chapter as tidy tables (method, target, metric, value, std, n + the setting), and
    their comparisons (`comparisons.difference_table`: A - B on the all-steps MSE with its 95% paired bootstrap
    interval and the verdict on A)."""

    scale: str
    gptfluence: GPTfluenceConfig
    encoder_name: str
    interval: pd.DataFrame        # checkpoint_interval_ablation over FINE_TUNING_TASKS (column task)
    interval_steps: list[int]     # T of each task's runs
    order_steps: list[int]        # T of the Markov-order collections
    orders: pd.DataFrame          # markov_order_ablation over ORDER_TARGETS (columns task, target)
    encoders: pd.DataFrame        # encoder_ablation on the instruction-tuning collection
    encoder_roles: dict[str, str]  # role ("mean", "cls", "gpt") -> encoder label
    sizes: pd.DataFrame           # model_size_ablation over SIZE_COLLECTIONS
    size_models: pd.DataFrame     # per collection: model, regime, parameters, trainable, lr
    size_paper: pd.DataFrame      # size_paper_rows
    interval_differences: pd.DataFrame | None = None  # interval_comparisons (column task)
    order_differences: pd.DataFrame | None = None     # order_comparisons (column setting: "<task> <target>")
    encoder_differences: pd.DataFrame | None = None   # encoder_comparisons (column task)
    size_differences: pd.DataFrame | None = None      # size_comparisons (column collection)
    grid: AblationGrid = FULL_GRID
    skipped: list[Skipped] = field(default_factory=list)  # parts left out: their collections are incomplete
    seconds: dict[str, float] = field(default_factory=dict)  # ablation -> wall seconds
    fits_made: int = 0             # simulators fitted (FitMemo.made)
    fits_reused: int = 0           # fits reused instead of refitted (FitMemo.reused)
    side_by_side: tuple[tuple[str, ...], ...] = ()  # part groups that ran at once, a process each

    def has(self, ablation: str) -> bool:
        """Whether `ablation` ("interval", "order", "encoder", "size") has rows at this scale."""
        table = {"interval": self.interval, "order": self.orders, "encoder": self.encoders, "size": self.sizes}[ablation]
        return not table.empty


def run(scale: str, *, encoder, data_dir: str | os.PathLike | None = None, encoder_loader=None,
        parts: Sequence[str] = ABLATIONS) -> AblationResult:
    """Run the chapter's ablations `parts` (default: all four) at `scale` (`ablation_grid(scale)`) with
    GPTfluence's `encoder` (others loaded by `encoder_loader`); a part not asked for has an empty table. A part whose
    collections are incomplete is left out and listed in `skipped`; a fit made twice on the same runs with the same
    settings is made once (`FitMemo`)."""
    unknown = [part for part in parts if part not in ABLATIONS]
    if unknown:
        raise ValueError(f"unknown ablation(s) {unknown}; the chapter's are {list(ABLATIONS)}")
    grid, current, config = ablation_grid(scale), get_scale(scale), gptfluence_config(scale)
    skipped: list[Skipped] = []
    fits, seconds = FitMemo(), {}
    common = dict(scale=scale, grid=grid, config=config, encoder=encoder, data_dir=data_dir, skipped=skipped,
                  fits=fits)
    fields: dict[str, object] = {}
    for part, compute in (("interval", _interval_part), ("order", _order_part), ("encoder", _encoder_part),
                          ("size", _size_part)):
        if part in parts:
            start = time.perf_counter()
            fields.update(compute(**common, **({"encoder_loader": encoder_loader} if part == "encoder" else {})))
            seconds[part] = time.perf_counter() - start
    gpts = chapter_gpts(scale, grid)
    return AblationResult(
        scale=scale, gptfluence=config, encoder_name=current.encoder,
        interval=fields.get("interval", pd.DataFrame()), interval_steps=fields.get("interval_steps", []),
        order_steps=fields.get("order_steps", []), orders=fields.get("orders", pd.DataFrame()),
        encoders=fields.get("encoders", pd.DataFrame()),
        encoder_roles={"mean": "MiniLM, mean pooling", "cls": "MiniLM, CLS pooling",
                       "gpt": f"GPT itself: {current.model}", "default": _default_encoder_label(current, gpts)},
        sizes=fields.get("sizes", pd.DataFrame()), size_models=fields.get("size_models", pd.DataFrame()),
        size_paper=size_paper_rows(),
        interval_differences=fields.get("interval_differences"), order_differences=fields.get("order_differences"),
        encoder_differences=fields.get("encoder_differences"), size_differences=fields.get("size_differences"),
        grid=grid, skipped=skipped, seconds=seconds, fits_made=fits.made, fits_reused=fits.reused)


def chapter_gpts(scale: str, grid: AblationGrid) -> list[str]:
    """The GPTs of the chapter: the scale's own, then those of the model-size collections."""
    return list(dict.fromkeys([get_scale(scale).model] + [collection_config(scale, n).model.name
                                                          for n in grid.size_collections]))


def _encoder_labels(gpts: Sequence[str]) -> dict[str, str]:
    """The encoder ablation's label -> encoder name: MiniLM with two poolings and each GPT of the chapter."""
    labels = {"MiniLM, mean pooling": "minilm-mean", "MiniLM, CLS pooling": "minilm-cls"}
    labels.update({f"GPT itself: {name}": name for name in gpts})
    return labels


def _default_encoder_label(current, gpts: Sequence[str]) -> str:
    """The label of the scale's own encoder among `_encoder_labels`."""
    return next(label for label, name in _encoder_labels(gpts).items() if name == current.encoder)


def _interval_part(*, scale, grid, config, encoder, data_dir, skipped, fits) -> dict[str, object]:
    """The checkpoint-interval ablation on the grid's complete interval tasks: its fields of AblationResult."""
    tasks = complete_only(scale, grid.interval_tasks, "interval", "the checkpoint-interval ablation on these tasks",
                          skipped, data_dir)
    runs = {task: dynamics(scale, task, data_dir=data_dir) for task in tasks}
    intervals = (sorted(set.intersection(*(set(usable_intervals(d.n_steps, grid.intervals)) for d in runs.values())))
                 if runs else [])
    cases: list[Case] = []
    interval = pd.concat([checkpoint_interval_ablation(d, intervals, encoder=encoder, gptfluence=config, task=task,
                                                       cases=cases, fits=fits)
                          for task, d in runs.items()], ignore_index=True) if runs else pd.DataFrame()
    return {"interval": interval, "interval_steps": sorted({d.n_steps for d in runs.values()}),
            "interval_differences": interval_comparisons(cases, intervals) if cases else None}


def _order_part(*, scale, grid, config, encoder, data_dir, skipped, fits) -> dict[str, object]:
    """The Markov-order ablation on the grid's complete order targets: its fields of AblationResult."""
    orders, order_steps, cases = [], set(), []
    for task in complete_only(scale, list(grid.order_targets), "order", "the Markov-order ablation on these tasks",
                              skipped, data_dir):
        for target in grid.order_targets[task]:
            d = dynamics(scale, task, metric=target, data_dir=data_dir)
            order_steps.add(d.n_steps)
            orders.append(markov_order_ablation(d, usable_orders(d.n_steps, grid.orders), encoder=encoder,
                                                gptfluence=config, task=task, cases=cases, fits=fits))
    orders = pd.concat(orders, ignore_index=True) if orders else pd.DataFrame()
    gpt_orders = sorted(orders.loc[orders["method"] == "GPTfluence", "order"].unique()) if len(orders) else []
    return {"orders": orders, "order_steps": sorted(order_steps),
            "order_differences": order_comparisons(cases, gpt_orders) if cases else None}


def _encoder_part(*, scale, grid, config, encoder, data_dir, skipped, fits, encoder_loader) -> dict[str, object]:
    """The encoder ablation on the grid's instruction-tuning collection, when complete: its fields of AblationResult."""
    current, gpts = get_scale(scale), chapter_gpts(scale, grid)
    labels = _encoder_labels(gpts)
    cases: list[Case] = []
    table = pd.DataFrame()
    if complete_only(scale, [grid.encoder_collection], "encoder", "the encoder ablation", skipped, data_dir):
        loader = encoder_loader or load_encoder
        encoders = {label: (encoder if name == current.encoder else loader(name)) for label, name in labels.items()}
        table = encoder_ablation(dynamics(scale, grid.encoder_collection, data_dir=data_dir), encoders,
                                 gptfluence=config, cases=cases, task=grid.encoder_collection)
    default = _default_encoder_label(current, gpts)
    return {"encoders": table,
            "encoder_differences": encoder_comparisons(cases, table, default) if cases else None}


def _size_part(*, scale, grid, config, encoder, data_dir, skipped, fits) -> dict[str, object]:
    """The model-size ablation, when all of the grid's size collections are complete: its fields of AblationResult."""
    cases: list[Case] = []
    sizes_table, size_models = pd.DataFrame(), pd.DataFrame()
    if len(complete_only(scale, grid.size_collections, "size", "the model-size ablation", skipped,
                         data_dir)) == len(grid.size_collections):
        size_runs = {name: dynamics(scale, name, data_dir=data_dir) for name in grid.size_collections}
        models = {name: model_description(stored(scale, name, data_dir=data_dir)) for name in grid.size_collections}
        sizes_table = model_size_ablation(size_runs, models, encoder=encoder, gptfluence=config, cases=cases,
                                          fits=fits)
        size_models = pd.DataFrame([{"collection": n, **models[n], "lr": collection_config(scale, n).training.lr}
                                    for n in grid.size_collections]).set_index("collection")
    return {"sizes": sizes_table, "size_models": size_models,
            "size_differences": size_comparisons(cases) if cases else None}


def interval_means(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over tasks of each (method, interval, metric): value and the mean of the tasks' std (missing when a
    task has none: a mean over some tasks would pass for all); with runs and tests columns, the held-out runs and
    test examples of all tasks (the n of the mean)."""
    sums = {"runs": ("runs", "sum"), "tests": ("tests", "sum")} if {"runs", "tests"} <= set(table.columns) else {}
    return table.groupby(["method", "interval", "metric"], as_index=False, sort=False).agg(
        value=("value", "mean"), std=("std", lambda s: s.mean(skipna=False)), **sums)


# ------------------------------------------------------------------------------ comparisons with their intervals

def interval_comparisons(cases: Sequence[Case], intervals: Sequence[int]) -> pd.DataFrame:
    """The checkpoint-interval comparisons per task and over the tasks (each task its own runs): GPTfluence at the
    densest k against the sparsest (the paper: denser is better), GPTfluence against Simfluence at the sparsest k,
    and GPTfluence against the curriculum-blind reference at both."""
    return difference_table(cases, list(interval_pairs(intervals).values()), shared_runs=False)


def interval_pairs(intervals: Sequence[int]) -> dict[str, tuple[str, str]]:
    """The checkpoint-interval comparisons (A, B) by glue key: `interval_dense` (GPTfluence at the densest k against
    the sparsest), `interval_gs_last` (against Simfluence at the sparsest k), `interval_gr_first` / `_last` (against
    the curriculum-blind reference at the densest / sparsest k)."""
    first, last = int(min(intervals)), int(max(intervals))
    gpt = {k: interval_label("GPTfluence", k) for k in (first, last)}
    return {"interval_dense": (gpt[first], gpt[last]),
            "interval_gs_last": (gpt[last], interval_label("Simfluence", last)),
            "interval_gr_first": (gpt[first], interval_label(REFERENCE, first)),
            "interval_gr_last": (gpt[last], interval_label(REFERENCE, last))}


def order_comparisons(cases: Sequence[Case], orders: Sequence[int]) -> pd.DataFrame:
    """The Markov-order comparisons on the same prefix per (task, target) and over the loss settings (paper Fig 4 is
    on the loss; each setting its own runs): the highest order against order 1, order 1 against Simfluence, and
    both orders against the curriculum-blind reference."""
    low, high = order_label(min(orders)), order_label(max(orders))
    pairs = [(high, low), (low, "Simfluence"), (low, REFERENCE), (high, REFERENCE)]
    loss = [c.group for c in cases if c.group.endswith(" loss")]
    return difference_table(cases, pairs, shared_runs=False, average_of=loss, column="setting")


def encoder_comparisons(cases: Sequence[Case], table: pd.DataFrame, default: str) -> pd.DataFrame:
    """The encoder comparisons on the held-out runs: the best encoder by all-steps MSE against the runner-up, every
    other encoder against the `default` one, and the default against Simfluence and the curriculum-blind reference."""
    ranked = top_two(table, "mse")
    pairs = [tuple(ranked)] if len(ranked) == 2 else []
    pairs += [(e, default) for e in dict.fromkeys(table.loc[table["method"] == "GPTfluence", "encoder"])
              if e != default and not {(e, default), (default, e)} & set(pairs)]
    pairs += [(default, "Simfluence"), (default, REFERENCE)]
    return difference_table(cases, pairs, shared_runs=True)


def top_two(table: pd.DataFrame, metric: str) -> list[str]:
    """The two GPTfluence encoders of an `encoder_ablation` with the best `metric`, best first."""
    scores = table[(table["method"] == "GPTfluence") & (table["metric"] == metric)].set_index("encoder")["value"]
    return list(scores.dropna().sort_values(ascending=LOWER_IS_BETTER[metric]).index[:2])


def size_comparisons(cases: Sequence[Case]) -> pd.DataFrame:
    """The model-size comparisons per GPT setting and over the settings (each its own runs): GPTfluence against
    Simfluence (the paper: better at every size) and both against the curriculum-blind reference."""
    pairs = [("GPTfluence", "Simfluence"), ("GPTfluence", REFERENCE), ("Simfluence", REFERENCE)]
    return difference_table(cases, pairs, shared_runs=False, column="collection")


def comparison_facts(result: AblationResult) -> dict[str, object]:
    """Gluable `comparisons.claim_facts` of the chapter's comparisons: the scoreboard's claims (`interval_dense`:
    denser checkpoints help; `order_high`: a higher Markov order helps; `size_gs`: GPTfluence beats Simfluence on
    the largest GPT) and the others the text states."""
    out: dict[str, object] = {}
    if result.interval_differences is not None:
        for key, (a, b) in interval_pairs(result.interval["interval"].unique()).items():
            out.update(claim_facts(result.interval_differences, a, b, key))
    if result.order_differences is not None:
        orders = sorted(result.orders.loc[result.orders["method"] == "GPTfluence", "order"].unique())
        low, high = order_label(orders[0]), order_label(orders[-1])
        for key, a, b in (("order_high", high, low), ("order_gs", low, "Simfluence"),
                          ("order_gr_low", low, REFERENCE), ("order_gr_high", high, REFERENCE)):
            out.update(claim_facts(result.order_differences, a, b, key, column="setting"))
    if result.encoder_differences is not None:
        default = result.encoder_roles["default"]
        ranked = top_two(result.encoders, "mse")
        if len(ranked) == 2:
            out.update(claim_facts(result.encoder_differences, *ranked, "encoder_top"))
            out["encoder_runner_up"] = ranked[1]
        out.update(claim_facts(result.encoder_differences, default, "Simfluence", "encoder_gs"))
        out.update(claim_facts(result.encoder_differences, default, REFERENCE, "encoder_gr"))
        out["encoder_default"] = default
    if result.size_differences is not None:
        out.update(size_comparison_facts(result))
    return out


def size_comparison_facts(result: AblationResult) -> dict[str, object]:
    """Gluable `claim_facts` of the model-size comparisons (`size_gs` on the largest GPT, `size_all`, `size_gr`,
    `size_sr`) and the largest GPT's label."""
    out: dict[str, object] = {}
    largest = result.size_models["parameters"].astype(float).idxmax()
    out["size_largest"] = model_label(result.size_models.loc[largest].to_dict())
    out.update(claim_facts(result.size_differences, "GPTfluence", "Simfluence", "size_gs", column="collection",
                           at=largest))
    out["size_gs_groups"] = claim_facts(result.size_differences, "GPTfluence", "Simfluence", "size_all",
                                        column="collection")["size_all_groups"]
    for key, a in (("size_gr", "GPTfluence"), ("size_sr", "Simfluence")):
        out.update(claim_facts(result.size_differences, a, REFERENCE, key, column="collection"))
    return out


def paper_order_facts() -> dict[str, object]:
    """The paper's Table 10 values the text quotes, as published: GPTfluence's final-step Spearman and all-steps MSE
    on RTE loss at the lowest and highest order."""
    rows = paper_rows(table="10", task="rte", target="loss", method="GPTfluence")
    rows = rows.assign(order=rows["setting"].str.split("=").str[1].astype(int))
    out: dict[str, object] = {}
    for metric, key in (("spearman", "rho"), ("mse", "mse")):
        part = rows[rows["metric"] == metric].sort_values("order")
        out[f"order_paper_rte_{key}_first"] = published(part["value"].iloc[0])
        out[f"order_paper_rte_{key}_last"] = published(part["value"].iloc[-1])
        out["order_paper_max"] = int(part["order"].iloc[-1])
    return out


CLAIM_PARTS = ("said", "claim", "diff", "interval", "n", "flat", "why", "groups")
"""The keys `comparisons.claim_facts` glues per claim, after its prefix."""


def _claim_keys(*prefixes: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{part}" for prefix in prefixes for part in CLAIM_PARTS)


PART_KEYS: dict[str, tuple[str, ...]] = {
    "interval": ("interval_steps", "interval_list", "interval_max", "interval_min_checkpoints", "interval_task_names",
                 "interval_gpt_mse_first", "interval_gpt_mse_last", "interval_gpt_spearman_first",
                 "interval_gpt_spearman_last", "interval_sim_mse_last", "interval_sim_spearman_last",
                 *_claim_keys("interval_dense", "interval_gs_last", "interval_gr_first", "interval_gr_last")),
    "order": ("order_steps", "order_list", "order_dropped", "order_max", "order_prefix",
              *(f"order_{task}_loss_{key}" for task in ORDER_TARGETS for key in
                ("rho_first_same", "rho_last_same", "best_mse_same", "best_mse_own")),
              *_claim_keys("order_high", "order_gs", "order_gr_low", "order_gr_high")),
    "encoder": ("encoder_best_mse", "encoder_best_mse_kind", "encoder_runner_up", "encoder_default",
                "encoder_train_runs", "encoder_test_runs", "encoder_same_runs",
                *(f"encoder_{role}_{metric}" for role in ("mean", "cls", "gpt", "sim") for metric in ("mse", "spearman")),
                *_claim_keys("encoder_top", "encoder_gs", "encoder_gr")),
    "size": ("size_largest", "size_train_runs", "size_val_runs", "size_test_runs", "size_same_held_out",
             *_claim_keys("size_gs", "size_gr", "size_sr")),
}
"""Every key of a part's findings that the scoreboard or the chapter's computed text (`ablation_text`) may read: a part
left out glues them too (`left_out_facts`), so that a reader of the glued values finds each key, saying why it has
no number."""


def left_out_facts(skipped: Sequence[Skipped], glued: Mapping[str, object]) -> dict[str, object]:
    """For every part left out (`skipped`, whole or for some collections), each key of PART_KEYS that was not glued:
    the computed left-out sentence for a claim's `_why`, 'not testable' for its `_claim`, 'n/a' for the rest (the
    page shows no number of a left-out part: `ablation_text` writes its paragraphs). Nothing where nothing is left
    out."""
    out: dict[str, object] = {}
    for part in skipped:
        for key in PART_KEYS.get(part.ablation, ()):
            if key in glued or key in out:
                continue
            out[key] = part.sentence if key.endswith("_why") else "not testable" if key.endswith("_claim") else "n/a"
    return out


def one_fit_note(scale: str) -> str:
    """Why this chapter's verdicts are each one GPTfluence fit's, where the chapters that refit it at `scale` (the
    loss, metric and unseen-data chapters: `settings.refit_seeds`) keep a verdict only if every refit gets it."""
    seeds = refit_seeds(scale)
    if not seeds:
        return "One fit per setting: at this scale every chapter fits GPTfluence once per setting, this one too."
    return (f"One fit per setting: every GPTfluence setting of this chapter is fitted once. The loss, metric and "
            f"unseen-data chapters also refit GPTfluence with {len(seeds)} other seeds and keep a verdict only where "
            f"every fit gets it; this chapter does not (it would make {len(seeds) + 1} times its fits), so each of "
            f"its verdicts is one fit's, and a fit's kept epoch, with its MSE, can move with the seed.")


def facts(result: AblationResult) -> dict[str, object]:
    """Gluable facts of the chapter: the settings, then each ablation's (interval_, order_, encoder_, size_ keys), the
    comparisons with their intervals (`comparison_facts`), and for a part left out its keys saying so
    (`left_out_facts`)."""
    steps = result.interval_steps
    out: dict[str, object] = {
        "scale_name": result.scale, "encoder_name": result.encoder_name, "gpt_lr": result.gptfluence.lr,
        "gpt_epochs": result.gptfluence.max_epochs, "gpt_patience": result.gptfluence.patience,
        "interval_candidates": ", ".join(map(str, result.grid.intervals)),
        "interval_paper_checkpoints": PAPER_FIG3_STEPS // 10,
        "order_min_predicted": MIN_PREDICTED_STEPS, "encoder_paper_note": ENCODER_PAPER_NOTE,
        "encoder_gpt_label": result.encoder_roles["gpt"], "reference_name": REFERENCE,
        "fits_note": one_fit_note(result.scale),
    }
    if result.has("interval"):  # a part left out (incomplete collections) glues none of its keys
        out["interval_steps"] = ", ".join(map(str, steps))
        out["interval_min_checkpoints"] = int(min(len(recorded_steps(t, int(result.interval["interval"].max()))) - 1
                                                  for t in steps))
        out.update(interval_facts(result.interval))
    if result.has("order"):
        out.update(order_facts(result.orders, result.grid.orders))
        out["order_steps"] = ", ".join(map(str, result.order_steps))
    if result.has("encoder"):
        out.update(encoder_facts(result.encoders, result.encoder_roles))
    if result.has("size"):
        out.update(size_facts(result.sizes))
    out.update(paper_order_facts())
    out.update(comparison_facts(result))
    out.update(left_out_facts(result.skipped, out))
    return out
