"""Simulating runs on examples the simulator never saw (paper Tables 11 and 12, Figs 8 and 19-30).

One collection (e.g. `configs/<scale>/sst2_unseen.toml`, with `[runs] unseen_splits = ["test"]`) holds
every run the experiment needs, in four roles:

- fit runs: the train-split runs but the last `held_out` ones; the simulators learn from them;
- val runs: the val split (early stopping of GPTfluence, ridge-lambda choice of Simfluence);
- seen-pool future runs: the last `held_out` train-split runs, trained on the same pool as the fit runs
  but never shown to the simulators;
- unseen-pool future runs: the test split, trained on the collection's unseen pool, disjoint from the pool.

The collection's test examples are split (seeded) into seen tests, whose trajectories the simulators are
fitted on, and unseen tests, withheld from fitting. The four scenarios simulate:

| scenario | future runs | test examples |
|---|---|---|
| none  (the ordinary setting) | seen-pool | seen |
| train (unseen training data) | unseen-pool | seen |
| test  (unseen test data) | seen-pool | unseen |
| both | unseen-pool | unseen |

`run` reads the collection, assigns the roles and simulates every scenario; `facts` says it in words. `run_all` does it
for every unseen-data collection of a scale (`collections`: SST-2, RTE, WebNLG where configured), leaving out and
naming the incomplete ones; `lib.experiments.unseen_diagnosis` measures why rollouts diverge.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from lib.collect import CollectionConfig
from lib.dynamics import Dynamics
from lib.experiments.comparisons import (CLAIM, Case, claim_facts, difference_row, refit_variants, score_table,
                                         seed_checked, sentence)
from lib.experiments.scoring import REFERENCE, mean_value
from lib.experiments.settings import gptfluence_config, refit_seeds, task_label
from lib.experiments.simulation import REFITTED, make_simulator, refitted_simulators, split_or_none
from lib.experiments.store import Progress, collection_config, dynamics, has_config, progress, skipped_sentence
from lib.experiments.uncertainty import REASONS, unpaired_difference, unpaired_spearman_difference
from lib.experiments.wording import cell, compared, fmt, interval_text, published, relative
from lib.metrics import SCORES, trajectory_errors
from lib.paper import paper_rows
from lib.simulators import GPTfluenceConfig
from lib.simulators.health import RolloutHealth, rollout_health, value_band

SCENARIOS = ("none", "train", "test", "both")
"""What is unseen: nothing, the training examples, the test examples, or both (the paper's setting names)."""
SCENARIO_TITLES = {"none": "nothing unseen", "train": "unseen training data", "test": "unseen test data",
                   "both": "unseen training and test data"}
COLLECTION = "sst2_unseen"
"""The chapter's main collection, `configs/<scale>/sst2_unseen.toml`: the text's numbers are its."""
COLLECTIONS = ("sst2_unseen", "rte_unseen", "webnlg_unseen", "mixture_unseen")
PAPER_TASK = "rte"
"""The task of the paper's unseen-data finding (GPTfluence Table 11, fine-tuning): the scoreboard tests it there."""
"""Every unseen-data collection the chapter reads where its scale has a config (`collections`), main one first."""
PAIR_KEYS = {("GPTfluence", REFERENCE): "gr", ("Simfluence", REFERENCE): "sr", ("GPTfluence", "Simfluence"): "gs"}
"""The glue-key names of the paired comparisons within a scenario (`unseen_<key>_<scenario>_...`)."""


@dataclass(frozen=True)
class UnseenSplit:
    """The runs and test examples of each role (see the module docstring)."""

    fit: Dynamics          # fit runs x seen tests
    val: Dynamics | None   # val runs x seen tests
    seen_runs: Dynamics    # seen-pool future runs x all tests
    unseen_runs: Dynamics  # unseen-pool future runs x all tests
    seen_tests: np.ndarray
    unseen_tests: np.ndarray

    def scenario(self, name: str) -> Dynamics:
        """The future runs and test examples simulated in scenario `name` (one of SCENARIOS)."""
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; one of {SCENARIOS}")
        runs = self.unseen_runs if name in ("train", "both") else self.seen_runs
        tests = self.unseen_tests if name in ("test", "both") else self.seen_tests
        return runs.select_tests(tests)

    def coverage(self) -> float:
        """Fraction of the seen-pool future runs' training examples that some fit run used (1.0: all)."""
        used = self.seen_runs.train_ids
        return float(np.isin(used, self.fit.train_ids).mean())

    def summary(self) -> pd.DataFrame:
        """Runs, test examples and distinct training examples of each role."""
        rows = []
        for role, dyn, tests in (("fit runs", self.fit, self.seen_tests),
                                 ("val runs", self.val, self.seen_tests),
                                 ("seen-pool future runs", self.seen_runs, None),
                                 ("unseen-pool future runs", self.unseen_runs, None)):
            if dyn is None:
                continue
            rows.append({"role": role, "runs": dyn.n_runs, "run ids": _id_ranges(dyn.run_ids),
                         "training examples": len(dyn.train_ids),
                         "shared with fit runs": int(np.isin(dyn.train_ids, self.fit.train_ids).sum()),
                         "test examples": len(tests) if tests is not None else dyn.n_tests})
        return pd.DataFrame(rows).set_index("role")


def split_unseen(dyn: Dynamics, *, held_out: int | None = None, unseen_test_fraction: float = 0.5,
                 seed: int = 0) -> UnseenSplit:
    """Assign the runs and test examples of an unseen-data collection to their roles.

    `held_out` train-split runs (default: as many as the test split has) become the seen-pool future
    runs. The test split must be trained on examples no fit or val run used (collected with
    `[runs] unseen_splits = ["test"]`), else a ValueError says so.
    """
    train_index = np.flatnonzero(dyn.split == "train")
    unseen_runs = dyn.select_runs("test")
    held_out = unseen_runs.n_runs if held_out is None else int(held_out)
    if unseen_runs.n_runs == 0:
        raise ValueError("the collection has no test-split runs: nothing to simulate on unseen training data")
    if not 1 <= held_out < len(train_index):
        raise ValueError(f"held_out must be in 1..{len(train_index) - 1} (train-split runs: {len(train_index)}), "
                         f"got {held_out}")
    if not 0 < unseen_test_fraction < 1:
        raise ValueError(f"unseen_test_fraction must be in (0, 1), got {unseen_test_fraction}")
    fit_runs = dyn.select_runs(train_index[:-held_out])
    seen_runs = dyn.select_runs(train_index[-held_out:])
    val_runs = split_or_none(dyn, "val")
    known = np.unique(np.concatenate([fit_runs.train_ids] + ([val_runs.train_ids] if val_runs is not None else [])))
    shared = np.intersect1d(unseen_runs.train_ids, known)
    if shared.size:
        raise ValueError(
            f"the test-split runs share {shared.size} training examples with the fit/val runs (e.g. ids "
            f"{shared[:5].tolist()}): collect them on the unseen pool with [runs] unseen_splits = [\"test\"]")
    n_unseen = int(round(unseen_test_fraction * dyn.n_tests))
    if not 1 <= n_unseen < dyn.n_tests:
        raise ValueError(f"{dyn.n_tests} test examples can't be split with unseen_test_fraction={unseen_test_fraction}")
    order = np.random.default_rng(seed).permutation(dyn.n_tests)
    unseen_tests = np.sort(dyn.test_ids[order[:n_unseen]])
    seen_tests = np.sort(dyn.test_ids[order[n_unseen:]])
    return UnseenSplit(fit=fit_runs.select_tests(seen_tests),
                       val=None if val_runs is None else val_runs.select_tests(seen_tests),
                       seen_runs=seen_runs, unseen_runs=unseen_runs,
                       seen_tests=seen_tests, unseen_tests=unseen_tests)


@dataclass
class UnseenResult:
    """Predictions, scores and refusals of each method in each scenario."""

    split: UnseenSplit
    truth: dict[str, Dynamics]                          # scenario -> simulated runs x tests
    predictions: dict[tuple[str, str], np.ndarray]      # (method, scenario) -> [runs, steps + 1, tests]
    table: pd.DataFrame                                 # comparisons.score_table columns + scenario, setting
    refusals: dict[tuple[str, str], str] = field(default_factory=dict)  # (method, scenario) -> error message
    simulators: dict[str, object] = field(default_factory=dict)
    health: dict[tuple[str, str], RolloutHealth] = field(default_factory=dict)  # (method, scenario) -> rollouts
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)  # paired comparisons per scenario (`differences`)
    config: CollectionConfig | None = None              # the collection's config (`run`), for the setting facts
    refits: dict[tuple[str, str], tuple[np.ndarray, ...]] = field(default_factory=dict)  # GPTfluence's other seeds

    def case(self, scenario: str) -> Case:
        """The scenario's simulated runs with every method that simulated it (and the reference)."""
        methods = [m for m, s in self.predictions if s == scenario]
        return Case(scenario, self.truth[scenario], {m: self.predictions[(m, scenario)] for m in methods},
                    {m: self.health[(m, scenario)].diverged for m in methods if (m, scenario) in self.health},
                    {m: int(getattr(self.simulators.get(m), "order", 1)) for m in methods},
                    {m: self.refits[(m, scenario)] for m in methods if (m, scenario) in self.refits})


def reference_prediction(split: UnseenSplit, runs: Dynamics) -> np.ndarray:
    """The curriculum-blind REFERENCE for `runs`: each test example's mean change over the fit runs added to the
    run's y_0; a test example no fit run recorded (unseen) takes the mean change over all seen test examples."""
    change = np.mean(split.fit.values - split.fit.values[:, :1], axis=0)  # [steps + 1, seen tests]
    position = {int(t): k for k, t in enumerate(split.fit.test_ids)}
    blind = change.mean(axis=1)
    columns = [change[:, position[int(t)]] if int(t) in position else blind for t in runs.test_ids]
    return runs.values[:, :1] + np.stack(columns, axis=1)[None]


def run(scale: str, *, encoder, gptfluence: GPTfluenceConfig | None = None, collection: str = COLLECTION,
        data_dir=None, **split_options) -> UnseenResult:
    """The chapter: read the unseen-data collection at `scale`, assign its roles (`split_unseen`, which refuses a
    collection whose unseen pool is not disjoint from the fitted runs), fit Simfluence and GPTfluence (the scale's
    settings unless `gptfluence` is given, refitted with the scale's `refit_seeds`) and simulate every scenario."""
    runs = dynamics(scale, collection, data_dir=data_dir)
    split = split_unseen(runs, **split_options)
    result = unseen_experiment(runs, encoder=encoder, gptfluence=gptfluence or gptfluence_config(scale), split=split,
                               refit_seeds=refit_seeds(scale))
    result.config = collection_config(scale, collection, data_dir)
    return result


@dataclass
class UnseenChapter:
    """Every complete unseen-data collection of a scale, by collection name (main one first), and those left out."""

    results: dict[str, UnseenResult]
    skipped: list[Progress] = field(default_factory=list)

    @property
    def main(self) -> UnseenResult:
        """The main collection's result (`COLLECTION` where complete, else the first complete one)."""
        return self.results[COLLECTION] if COLLECTION in self.results else next(iter(self.results.values()))

    @property
    def labels(self) -> dict[str, UnseenResult]:
        """The results by the task label of their collection (SST-2, RTE, ...)."""
        return {task_label(r.config.data.task) if r.config else name: r for name, r in self.results.items()}

    @property
    def skipped_text(self) -> str:
        """The sentence naming the collections left out with their runs collected ('' when none is)."""
        return skipped_sentence(self.skipped, "the unseen-data experiment on these collections")


def collections(scale: str) -> list[str]:
    """The names of COLLECTIONS that have a config at `scale`."""
    return [name for name in COLLECTIONS if has_config(scale, name)]


def run_all(scale: str, *, encoder, gptfluence: GPTfluenceConfig | None = None, data_dir=None,
            **split_options) -> UnseenChapter:
    """`run` on every complete collection of `collections(scale)`; an incomplete one is left out and listed."""
    states = [progress(scale, name, data_dir) for name in collections(scale)]
    results = {p.name: run(scale, encoder=encoder, gptfluence=gptfluence, collection=p.name, data_dir=data_dir,
                           **split_options) for p in states if p.complete}
    if not results:
        raise ValueError(f"no complete unseen-data collection at scale {scale!r}: "
                         + "; ".join(f"{p.name}: {p.runs_text}" for p in states))
    return UnseenChapter(results, [p for p in states if not p.complete])


def with_titles(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with its scenario column written as the chapter's titles ("unseen training data", ...)."""
    return table.assign(scenario=table["scenario"].map(SCENARIO_TITLES))


def unseen_experiment(dyn: Dynamics, *, encoder, gptfluence: GPTfluenceConfig,
                      methods: Sequence[str] = ("Simfluence", "GPTfluence"), scenarios: Sequence[str] = SCENARIOS,
                      split: UnseenSplit | None = None, refit_seeds: Sequence[int] = (),
                      **split_options) -> UnseenResult:
    """Fit each method once on the fit runs x seen tests, then simulate every scenario.

    GPTfluence is also fitted with each of `refit_seeds`: a verdict on it stands only if every fit gets it
    (comparisons.difference_row; the refits are kept in `refits`, not in `predictions`).

    A method that can't simulate a scenario raises a ValueError there (Simfluence has no parameters for
    examples it never saw); its message is kept in `refusals` and the scenario gets no row for it.
    """
    split = split or split_unseen(dyn, **split_options)
    truth = {name: split.scenario(name) for name in scenarios}
    predictions, refusals, simulators, health = {}, {}, {}, {}
    for method in methods:
        simulator = make_simulator(method, encoder=encoder, gptfluence=gptfluence)
        simulator.fit(split.fit, split.val)
        simulators[method] = simulator
        for name in scenarios:
            try:
                predictions[(method, name)] = simulator.simulate(truth[name])
            except ValueError as err:
                refusals[(method, name)] = str(err)
                continue
            health[(method, name)] = simulator.health_
    refits: dict[tuple[str, str], tuple[np.ndarray, ...]] = {}
    if REFITTED in methods and refit_seeds:
        fits = refitted_simulators(split.fit, split.val, encoder=encoder, gptfluence=gptfluence,
                                   refit_seeds=refit_seeds)
        refits = {(REFITTED, name): tuple(f.simulate(truth[name]) for f in fits)
                  for name in scenarios if (REFITTED, name) in predictions}
    band = value_band(split.fit.values)
    for name in scenarios:
        predictions[(REFERENCE, name)] = reference_prediction(split, truth[name])
        health[(REFERENCE, name)] = rollout_health(predictions[(REFERENCE, name)], dyn.metric, band)
    result = UnseenResult(split, truth, predictions, pd.DataFrame(), refusals, simulators, health, refits=refits)
    frames = [score_table([result.case(name)], [m for m in list(methods) + [REFERENCE] if (m, name) in predictions],
                          column="scenario", average=False) for name in scenarios]
    result.table = pd.concat(frames, ignore_index=True).assign(setting=lambda t: "unseen=" + t["scenario"])
    result.differences = differences(result)
    return result


def differences(result: UnseenResult) -> pd.DataFrame:
    """Paired comparisons of the all-steps MSE within each scenario (`comparisons.difference_row`): every method
    against the reference, and GPTfluence against Simfluence where both simulated."""
    rows = []
    for name in result.truth:
        case = result.case(name)
        pairs = [(m, REFERENCE) for m in case.predictions if m != REFERENCE]
        if {"GPTfluence", "Simfluence"} <= set(case.predictions):
            pairs.append(("GPTfluence", "Simfluence"))
        rows += [difference_row([case], a, b, shared_runs=True, group=name) for a, b in pairs]
    return pd.DataFrame(rows).rename(columns={"group": "scenario"})


def train_vs_test(result: UnseenResult, method: str = "GPTfluence") -> dict[str, object]:
    """The paper's finding "unseen training data is simulated better than unseen test data", for `method`: its
    final-step Spearman and its all-steps MSE with unseen training data minus with unseen test data, each with an
    unpaired bootstrap interval (other runs and other test examples) and the verdict on the first. Where the method
    has refits (`UnseenResult.refits`), a verdict stands only if every refit gets it; otherwise it is "undecided",
    reason "fit seed" (`comparisons.seed_checked`, as every paired comparison)."""
    if not {"train", "test"} <= set(result.truth):
        return {}
    a, b = result.case("train"), result.case("test")
    fits = [[a, b], *refit_variants([a, b], method, method)]  # the method's own fit, then each refit in its place
    rho = seed_checked([unpaired_spearman_difference(x.predictions[method][:, -1], x.truth.values[:, -1],
                                                     y.predictions[method][:, -1], y.truth.values[:, -1])
                        for x, y in fits])
    mse = seed_checked([unpaired_difference(x.errors(method), y.errors(method)) for x, y in fits])
    out = {}
    for key, diff in (("rho", rho), ("mse", mse)):
        out.update({f"unseen_tt_{key}_diff": fmt(diff.estimate), f"unseen_tt_{key}_interval": interval_text(diff.low, diff.high),
                    f"unseen_tt_{key}_verdict": diff.verdict,
                    f"unseen_tt_{key}_why": sentence(REASONS.get(diff.reason, "")),
                    f"unseen_tt_{key}_n": (f"{a.truth.n_runs} x {a.truth.n_tests} against "
                                           f"{b.truth.n_runs} x {b.truth.n_tests} held-out runs x test examples")})
    out["unseen_tt_rho_claim"] = CLAIM[rho.verdict]
    return out


def paper_task_facts(chapter: UnseenChapter, method: str = "GPTfluence") -> dict[str, object]:
    """The paper's finding (unseen training data simulated better than unseen test data) tested on the paper's task
    (PAPER_TASK, its Table 11) when this scale has it complete, else on the main collection: `train_vs_test` under
    the prefix `unseen_claim_tt_`, the task (`unseen_claim_task`), why that task, and the verdict the scoreboard
    reads (`unseen_claim_train_easier`)."""
    by_task = {r.config.data.task: r for r in chapter.results.values() if r.config is not None}
    result = by_task.get(PAPER_TASK, chapter.main)
    task = result.config.data.task if result.config is not None else "?"
    facts_ = train_vs_test(result, method)
    if not facts_:
        return {"unseen_claim_task": task_label(task), "unseen_claim_train_easier": "not testable",
                "unseen_claim_why": f"{task_label(task)} has no unseen training and unseen test scenarios."}
    out = {key.replace("unseen_tt_", "unseen_claim_tt_"): value for key, value in facts_.items()}
    out["unseen_claim_tt_rho_n"] = f"{task_label(task)}: {out['unseen_claim_tt_rho_n']}"
    out["unseen_claim_task"] = task_label(task)
    out["unseen_claim_train_easier"] = out["unseen_claim_tt_rho_claim"]
    out["unseen_claim_why"] = (f"on {task_label(task)}, the paper's task" if task == PAPER_TASK else
                               f"on {task_label(task)}: this scale has no complete {task_label(PAPER_TASK)} "
                               f"unseen-data collection, the paper's task")
    return out


def refusals_table(result: UnseenResult) -> pd.DataFrame:
    """One row per (method, scenario): simulated, or the error message of the refusal."""
    rows = []
    for method in result.simulators:
        for name in result.truth:
            message = result.refusals.get((method, name))
            rows.append({"method": method, "scenario": SCENARIO_TITLES[name],
                         "simulated": message is None, "error": message or ""})
    return pd.DataFrame(rows)


def unseen_beside(ours: pd.DataFrame, task: str, method: str = "GPTfluence") -> pd.DataFrame:
    """Our scores per scenario beside the paper's Tables 11 (fine-tuning, FT) and 12 (instruction tuning, IT).

    The paper ran RTE and WebNLG; each (table, task) of its rows for our target becomes a column, e.g.
    "paper RTE (FT, T11)"; ours is "ours SST-2 (FT)". Rows: unseen (none, train, test, both) x metric; the
    paper has no "none" rows (empty cells).
    """
    mine = ours[ours["method"] == method]
    target = mine["target"].iloc[0]
    own = f"ours {task_label(task)} (FT)"
    wide = mine.assign(column=own)[["setting", "metric", "column", "value", "std"]]
    paper = paper_rows(table=["11", "12"], target=target, method=method)
    kind = {"11": "FT, T11", "12": "IT, T12"}
    paper = paper.assign(column=[f"paper {task_label(t)} ({kind[str(n)]})" for n, t in zip(paper["table"],
                                                                                          paper["task"])])
    both = pd.concat([wide, paper[["setting", "metric", "column", "value", "std"]]], ignore_index=True)
    both["cell"] = [cell(v, s, missing="n/a", paper=c.startswith("paper"))
                    for v, s, c in zip(both["value"], both["std"], both["column"])]
    both["unseen"] = both["setting"].str.split("=").str[1]
    table = both.pivot(index=["unseen", "metric"], columns="column", values="cell")
    index = [(s, m) for s in SCENARIOS for m in SCORES if (s, m) in table.index]
    columns = [own] + sorted((c for c in table.columns if c.startswith("paper")),
                             key=lambda c: (c.endswith("T12)"), c))
    return table.reindex(index=pd.MultiIndex.from_tuples(index, names=["unseen", "metric"]),
                         columns=columns).fillna("").rename_axis(columns=None)


def facts(result: UnseenResult, method: str = "GPTfluence") -> dict[str, object]:
    """Gluable facts: `method`'s scores per scenario, how each unseen scenario compares with "none", and
    whether unseen training data is simulated better than unseen test data (the paper's finding)."""
    table = result.table
    out: dict[str, object] = {}
    for name in result.truth:
        for metric in SCORES:
            out[f"unseen_{name}_{metric}"] = mean_value(table, method=method, scenario=name, metric=metric)
            out[f"unseen_sim_{name}_{metric}"] = mean_value(table, method="Simfluence", scenario=name, metric=metric)
        out[f"unseen_{name}_median_mse"] = mean_value(table, method=method, scenario=name, metric="median_mse")
        out[f"unseen_ref_{name}_median_mse"] = mean_value(table, method=REFERENCE, scenario=name, metric="median_mse")
        if (method, name) in result.health:
            health = result.health[(method, name)]
            out[f"unseen_{name}_diverged"] = f"{health.n_diverged} of {health.n_trajectories}"
    for name in ("train", "test", "both"):
        if name in result.truth and "none" in result.truth:
            out[f"unseen_{name}_vs_none_mse"] = relative(out[f"unseen_{name}_mse"], out["unseen_none_mse"])
            out[f"unseen_{name}_vs_none_rho"] = relative(out[f"unseen_{name}_spearman"], out["unseen_none_spearman"])
    if "train" in result.truth and "test" in result.truth:
        out["unseen_train_vs_test_rho"] = compared(out["unseen_train_spearman"], out["unseen_test_spearman"],
                                                   "spearman")
        out["unseen_train_vs_test_mse"] = compared(out["unseen_train_mse"], out["unseen_test_mse"], "mse")
        out.update(train_vs_test(result, method))
    out["unseen_gpt_vs_sim_none_mse"] = compared(out.get("unseen_none_mse", np.nan),
                                                 out.get("unseen_sim_none_mse", np.nan), "mse")
    diffs = result.differences
    for (a, b, name) in zip(diffs["A"], diffs["B"], diffs["scenario"]):
        if (a, b) in PAIR_KEYS:
            out.update(claim_facts(diffs, a, b, f"unseen_{PAIR_KEYS[(a, b)]}_{name}", column="scenario", at=name))
    out["unseen_runs"] = " / ".join(f"{result.truth[s].n_runs} x {result.truth[s].n_tests}" for s in result.truth)
    out["unseen_diverged"] = int(table.loc[table["metric"] == "diverged", "value"].sum())
    refused = [s for s in SCENARIOS if ("Simfluence", s) in result.refusals]
    out["unseen_sim_refused"] = ", ".join(SCENARIO_TITLES[s] for s in refused) if refused else "none"
    out["unseen_sim_refused_count"] = len(refused)
    simulated_all = all((method, s) in result.predictions for s in result.truth)
    unseen = [s for s in result.truth if s != "none"]
    out["unseen_structural"] = "holds" if simulated_all and set(unseen) <= set(refused) else "does not hold"
    paper = paper_rows(table="11", task="rte", method=method, metric="spearman")
    for name in ("train", "test"):
        rows = paper.loc[paper["setting"] == f"unseen={name}", "value"]
        out[f"unseen_paper_rho_{name}"] = published(rows.iloc[0]) if len(rows) else "n/a"
    if result.config is not None:
        out.update(setting_facts(result.split, result.config))
    return out


def setting_facts(split: UnseenSplit, config: CollectionConfig) -> dict[str, object]:
    """The collection and its roles, for the text: task, steps, pool sizes, runs and test examples per role, and the
    share (%) of the withheld seen-pool runs' training examples that some fit run used (`UnseenSplit.coverage`)."""
    return {"task": task_label(config.data.task), "n_steps": int(split.fit.n_steps),
            "n_seen_tests": len(split.seen_tests), "n_unseen_tests": len(split.unseen_tests),
            "pool_size": config.data.pool_size, "unseen_size": config.data.unseen_size,
            "coverage": 100 * split.coverage(), "n_fit_runs": int(split.fit.n_runs),
            "n_future_runs": int(split.unseen_runs.n_runs)}


def _id_ranges(ids: np.ndarray) -> str:
    """"0-3, 6" for the ids 0, 1, 2, 3, 6."""
    ids = sorted(int(i) for i in ids)
    parts, start = [], None
    for k, i in enumerate(ids):
        start = i if start is None else start
        if k + 1 == len(ids) or ids[k + 1] != i + 1:
            parts.append(str(start) if start == i else f"{start}-{i}")
            start = None
    return ", ".join(parts)
