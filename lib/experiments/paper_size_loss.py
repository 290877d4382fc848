"""Every method against GPTfluence on complete collections with enough held-out runs (the paper-size ones): the
all-steps MSE with paired bootstrap verdicts, and the score across runs (LDS) with its interval.

`paper_size_section(folders, methods, ...)` reads each folder (read only), fits every method on its training runs
and scores it on its held-out runs. EK-FAC and TRAK need stored score matrices (lib/attribution/store.py): they are
scored on the held-out runs that have them, and GPTfluence is compared with them on those runs only. Every row says
its n (held-out runs x test examples) and how many of the collection's held-out runs it rests on; a method with no
scores at all gets rows with the reason NO_SCORES instead of numbers. `facts` says the tables in words.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.collect import StoredCollection
from lib.dynamics import Dynamics
from lib.experiments import settings
from lib.experiments.comparisons import (Case, across_runs_table, cases_of, difference_table, refit_variants,
                                         score_table)
from lib.experiments.loss_simulation import LossResult
from lib.experiments.scoring import REFERENCE, mean_trajectory
from lib.experiments.settings import REFIT_SEEDS, task_label
from lib.experiments.simulation import (ATTRIBUTION_METHODS, SimulationResult, make_simulator,
                                        simulate_methods)
from lib.experiments.store import dynamics_folder, progress
from lib.experiments.tables import WITHHELD
from lib.experiments.uncertainty import REASONS, SHORT_REASONS, spearman_difference
from lib.experiments.wording import cell, fmt, interval_text, number
from lib.metrics import trajectory_errors
from lib.scales import REGIMES, cross_check_of, get_scale
from lib.simulators import GPTfluenceConfig
from lib.simulators.attribution_baselines import scores_for_runs
from lib.simulators.health import rollout_health, value_band

GPT = "GPTfluence"
SECTION_METHODS = (GPT, "Simfluence", "TracIn-CP (10 ckpts)", "TracIn-CP (all steps)", "Grad-Dot", "EK-FAC", "TRAK",
                   REFERENCE)
"""The section's rows, in order: the papers' methods, the two attribution methods, the curriculum-blind reference."""
NO_SCORES = "no scores"
REASON_TEXTS = {**REASONS, NO_SCORES: "no scores are stored for any held-out run of the collection"}
"""Why a number is withheld (the uncertainty module's reasons and NO_SCORES), as a footnote."""
SHORT_TEXTS = {**SHORT_REASONS, NO_SCORES: "no scores"}
KEYS = {GPT: "gpt", "Simfluence": "sim", "TracIn-CP (10 ckpts)": "tracin10", "TracIn-CP (all steps)": "tracinall",
        "Grad-Dot": "graddot", "EK-FAC": "ekfac", "TRAK": "trak", REFERENCE: "ref"}
"""Each method's part of a glue key."""
ATTRIBUTION_REGIME = settings.ATTRIBUTION_REGIME
"""The section reads this regime's collections, whether they are the book's own or its cross-check."""
SECTION_TASKS = ("sst2", "rte", "boolq", "webnlg", "wmt16_de_en", settings.INSTRUCTION_TUNING)
"""The collections of ATTRIBUTION_REGIME the section compares every method on (each where complete): Table 2's
fine-tuning collections and Table 1's instruction-tuning mixture."""
VERDICT_WORDS = {"better": f"{GPT} better", "worse": f"{GPT} worse", "undecided": "undecided",
                 "not testable": "not testable"}


@dataclass
class CollectionPart:
    """One collection: every method with its own simulator on all held-out runs (`full`), each attribution method
    on the held-out runs it has scores for (None: none), and the held-out run ids."""

    name: str
    full: Case
    attribution: dict[str, Case | None]
    held_out: list[int]
    fit_seconds: dict[str, float] = field(default_factory=dict)
    sigmas: dict[str, float] = field(default_factory=dict)  # the rescaled baselines' fitted factor

    def case_of(self, method: str) -> Case | None:
        """The case a method is scored on (None: it has no scores here)."""
        return self.attribution[method] if method in self.attribution else self.full


@dataclass
class PaperSizeSection:
    """The section's tidy tables (column "task" = the collection's folder name) and what each collection cost."""

    collections: list[str]
    methods: list[str]
    coverage: pd.DataFrame        # task, method, runs (scored), tests, held out, run ids, reason, sigma
    scores: pd.DataFrame          # comparisons.score_table rows; a method without scores: nan, note NO_SCORES
    differences: pd.DataFrame     # comparisons.difference_table of (GPTfluence, method); without scores: reason
    across: pd.DataFrame          # comparisons.across_runs_table; without scores: both reasons NO_SCORES
    lds_differences: pd.DataFrame  # GPTfluence's LDS minus each method's, paired, with the verdict on GPTfluence
    seconds: dict[str, float]     # collection -> wall seconds (loading, fitting, simulating, scoring)
    no_change: dict[str, float]   # collection -> all-steps MSE of predicting no change (y_0 at every step)
    fit_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    fits: int = 1                 # GPTfluence's fits: its own and one per refit seed
    fit_mse: dict[str, list[float]] = field(default_factory=dict)  # collection -> GPTfluence's MSE, fit by fit


def reusable_methods(known: SimulationResult | None, truth: Dynamics, methods: Sequence[str], *,
                     gptfluence: GPTfluenceConfig | None, refit_seeds: Sequence[int]) -> list[str]:
    """The methods of `methods` whose predictions `known` (a result of the same collection, e.g. the chapter's
    Table 2) already holds for exactly these held-out runs, with GPTfluence fitted with these settings and refit
    seeds: fitting them again would give the same numbers."""
    if known is None or not (np.array_equal(known.truth.run_ids, truth.run_ids)
                             and np.array_equal(known.truth.test_ids, truth.test_ids)
                             and np.array_equal(known.truth.values, truth.values)
                             and np.array_equal(known.truth.curricula, truth.curricula)):
        return []
    same_gpt = (getattr(known.simulators.get(GPT), "config", None) == (gptfluence or GPTfluenceConfig())
                and known.refit_seeds == tuple(int(s) for s in refit_seeds))
    return [m for m in methods if m in known.predictions and m in known.simulators and (m != GPT or same_gpt)]


def collection_part(folder: str | os.PathLike, methods: Sequence[str], *, encoder=None,
                    gptfluence: GPTfluenceConfig | None = None,
                    refit_seeds: Sequence[int] = REFIT_SEEDS, known: SimulationResult | None = None) -> CollectionPart:
    """Fit every method of `methods` on the collection's training runs (validation runs for selection) and simulate
    its held-out runs; EK-FAC and TRAK on the held-out runs that have stored scores. GPTfluence is refitted with
    `refit_seeds`: a verdict on it stands only if every fit gets it (comparisons.difference_row). Methods that
    `known` already simulated with the same settings are taken from it, not fitted again (`reusable_methods`)."""
    collection = StoredCollection(Path(folder))
    dyn = collection.dynamics("loss", require_complete=True)
    name = Path(folder).name
    own = [m for m in methods if m not in ATTRIBUTION_METHODS and m != REFERENCE]
    reused = reusable_methods(known, dyn.select_runs("test"), own, gptfluence=gptfluence, refit_seeds=refit_seeds)
    result = simulate_methods(dyn, [m for m in own if m not in reused], encoder=encoder, gptfluence=gptfluence,
                              refit_seeds=refit_seeds)
    for method in reused:
        result.predictions[method], result.health[method] = known.predictions[method], known.health[method]
        result.simulators[method], result.fit_seconds[method] = known.simulators[method], known.fit_seconds[method]
        if method in known.refits:
            result.refits[method] = known.refits[method]
    if REFERENCE in methods:
        train = dyn.select_runs("train")
        result.predictions[REFERENCE] = mean_trajectory(train, result.truth)
        result.health[REFERENCE] = rollout_health(result.predictions[REFERENCE], dyn.metric, value_band(train.values))
    full = cases_of(result, label=name)[0]
    held_out = [int(r) for r in result.truth.run_ids]
    attribution: dict[str, Case | None] = {}
    fitted = dict(result.simulators)
    for method in [m for m in methods if m in ATTRIBUTION_METHODS]:
        scores = scores_for_runs(folder, method, held_out)
        attribution[method] = None
        if scores:
            start = time.perf_counter()
            fitted[method] = make_simulator(method, scores=scores)
            attribution[method] = with_method_on_runs(full, [k for k, r in enumerate(held_out) if r in scores],
                                                      method, fitted[method])
            result.fit_seconds[method] = time.perf_counter() - start
    sigmas = {m: float(sim.sigma_) for m, sim in fitted.items() if getattr(sim, "sigma_", None) is not None}
    return CollectionPart(name, full, attribution, held_out, dict(result.fit_seconds), sigmas)


def with_method_on_runs(case: Case, index: Sequence[int], method: str, simulator) -> Case:
    """`case` restricted to its held-out runs at positions `index`, plus `method`'s simulator fitted (oracle
    rescaling, as TracIn-CP) and rolled out on them."""
    index = list(index)
    truth = case.truth.select_runs(index)
    prediction = simulator.fit(truth).simulate(truth)
    return Case(case.group, truth, {**{m: p[index] for m, p in case.predictions.items()}, method: prediction},
                {**{m: d[index] for m, d in case.diverged.items()}, method: simulator.health_.diverged},
                {**case.orders, method: 1}, {m: tuple(p[index] for p in fits) for m, fits in case.refits.items()})


def paper_size_section(folders: Sequence[str | os.PathLike], methods: Sequence[str] = SECTION_METHODS, *,
                       encoder=None, gptfluence: GPTfluenceConfig | None = None,
                       refit_seeds: Sequence[int] = REFIT_SEEDS,
                       reuse: Mapping[str, SimulationResult] | None = None) -> PaperSizeSection:
    """The section's tables over the collections in `folders` (each complete, with gradients on its held-out runs
    where TracIn-CP or Grad-Dot is asked for). GPTfluence (needs `encoder`) must be among `methods`. `reuse`: results
    by collection name (the folder's last part) whose methods are taken instead of fitted again where they were
    simulated on the same runs with the same settings (`reusable_methods`)."""
    methods = list(methods)
    if GPT not in methods:
        raise ValueError(f"the section compares every method with {GPT}; methods {methods} lack it")
    names = [Path(f).name for f in folders]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"need collection folders with distinct names, got {names}")
    parts, tables, seconds = [], [], {}
    for folder in folders:
        start = time.perf_counter()
        parts.append(collection_part(folder, methods, encoder=encoder, gptfluence=gptfluence, refit_seeds=refit_seeds,
                                     known=(reuse or {}).get(Path(folder).name)))
        tables.append(part_tables(parts[-1], methods))
        seconds[parts[-1].name] = time.perf_counter() - start
    frames = {key: pd.concat([t[key] for t in tables], ignore_index=True) for key in tables[0]}
    no_change = {p.name: no_change_mse(p.full.truth.values) for p in parts}
    fit_mse = {p.name: [float(np.mean(c.errors(GPT))) for c in
                        [p.full] + [p.full.with_refit(GPT, k) for k in range(len(p.full.refits.get(GPT, ())))]]
               for p in parts}
    return PaperSizeSection([p.name for p in parts], methods, seconds=seconds, no_change=no_change,
                            fit_seconds={p.name: p.fit_seconds for p in parts}, fits=1 + len(refit_seeds),
                            fit_mse=fit_mse, **frames)


def chapter_section(scale: str, own: LossResult, cross: LossResult | None, *, encoder,
                    tasks: Sequence[str] = SECTION_TASKS, data_dir=None) -> PaperSizeSection | None:
    """The loss chapter's section at `scale`: every method on the complete collections of ATTRIBUTION_REGIME among
    `tasks`, with that regime's GPTfluence settings and refits. GPTfluence and Simfluence are taken from the
    chapter's Table 2 of that regime (`own` where it is the scale's regime, `cross` where it is the cross-check's)
    (the mixture's from its Table 1) rather than fitted again. None at the smoke scale (it would fit the paper-size
    collections in a CI check)."""
    current = get_scale(scale)
    if current.regime == "smoke":
        return None
    other = cross_check_of(scale)
    table2 = own if current.regime == ATTRIBUTION_REGIME else (
        cross if other is not None and other.regime == ATTRIBUTION_REGIME else None)
    folders = [dynamics_folder(ATTRIBUTION_REGIME, t) for t in tasks if progress(ATTRIBUTION_REGIME, t, data_dir).complete]
    if not folders:
        return None
    return paper_size_section(folders, encoder=encoder, gptfluence=settings.gptfluence_config(ATTRIBUTION_REGIME),
                              refit_seeds=settings.refit_seeds(ATTRIBUTION_REGIME),
                              reuse=None if table2 is None else reusable_results(table2))


def reusable_results(table: LossResult) -> dict[str, SimulationResult]:
    """The chapter's simulations by collection name: Table 2's fine-tuning collections and, where Table 1 was
    simulated, the instruction-tuning mixture."""
    out = dict(table.fine_tuning)
    if table.instruction is not None:
        out[settings.INSTRUCTION_TUNING] = table.instruction
    return out


def regime_facts(scale: str) -> dict[str, str]:
    """Gluable words on whose collections the section reads at `scale`: ps_regime (ATTRIBUTION_REGIME's label),
    ps_trains (what its runs train) and ps_whose (the chapter's own collections, or the cross-check's)."""
    regime = REGIMES[ATTRIBUTION_REGIME]
    own = get_scale(scale).regime == ATTRIBUTION_REGIME
    whose = ("this chapter's own collections: GPTfluence and Simfluence are those of Tables 1 and 2, on the same runs"
             if own
             else "the book's cross-check collections, read only here (see the dynamics chapter)")
    return {"ps_regime": regime.label, "ps_trains": regime.trains, "ps_whose": whose}


def no_change_mse(values: np.ndarray) -> float:
    """All-steps MSE of predicting no change at all (each run's y_0 at every step) for true values
    [runs, steps + 1, tests]: the error a rescaled baseline falls back to when its sigma goes to 0."""
    flat = np.repeat(values[:, :1], values.shape[1], axis=1)
    return float(np.mean(trajectory_errors(flat, values)[0]))


def part_tables(part: CollectionPart, methods: Sequence[str]) -> dict[str, pd.DataFrame]:
    """One collection's rows of every table of the section."""
    coverage, scores, differences, across, lds_rows = [], [], [], [], []
    n_tests = part.full.truth.n_tests
    for method in methods:
        case = part.case_of(method)
        runs = [] if case is None else [int(r) for r in case.truth.run_ids]
        coverage.append({"task": part.name, "method": method, "runs": len(runs), "tests": n_tests,
                         "held out": len(part.held_out), "run ids": runs,
                         "reason": "" if case is not None else NO_SCORES, "sigma": part.sigmas.get(method, np.nan)})
        if case is None:
            scores.append(pd.DataFrame([unscored_score(part.name, method, metric, n_tests)
                                        for metric in ("mse", "mae", "spearman", "median_mse", "diverged")]))
            across.append(pd.DataFrame([{"task": part.name, "method": method, "runs": 0, "tests": n_tests,
                                         **{f"{label}{end}": np.nan for label in ("Spearman", "LDS")
                                            for end in ("", " low", " high")},
                                         "Spearman reason": NO_SCORES, "LDS reason": NO_SCORES}]))
        else:
            scores.append(score_table([case], [method], average=False))
            across.append(across_runs_table([case], [method]))
        if method == GPT:
            continue
        if case is None:
            differences.append(pd.DataFrame([unscored_difference(part.name, method, n_tests)]))
            lds_rows.append(unscored_difference(part.name, method, n_tests))
        else:
            differences.append(difference_table([case], [(GPT, method)], shared_runs=True))
            lds_rows.append(lds_difference(case, GPT, method))
    return {"coverage": pd.DataFrame(coverage), "scores": pd.concat(scores, ignore_index=True),
            "differences": pd.concat(differences, ignore_index=True), "across": pd.concat(across, ignore_index=True),
            "lds_differences": pd.DataFrame(lds_rows)}


def unscored_score(task: str, method: str, metric: str, tests: int) -> dict[str, object]:
    """A score_table row that shows nothing: the method has no scores on this collection."""
    return {"method": method, "target": "loss", "metric": metric, "value": np.nan, "std": np.nan, "n": 0,
            "note": NO_SCORES, "runs": 0, "tests": tests, "task": task}


def unscored_difference(task: str, method: str, tests: int) -> dict[str, object]:
    """A difference_table row that compares nothing: the method has no scores on this collection."""
    return {"task": task, "A": GPT, "B": method, "runs": 0, "tests": tests, "flat share": np.nan,
            "diverged A": 0, "diverged B": 0, "difference": np.nan, "low": np.nan, "high": np.nan,
            "verdict": "not compared", "reason": NO_SCORES}


def lds_difference(case: Case, a: str, b: str) -> dict[str, object]:
    """a's LDS minus b's on the case's held-out runs, paired bootstrap interval, verdict on a (higher is better);
    withheld (reason) with fewer than MIN_ITEMS held-out runs; "undecided" (reason "fit seed") when a refit of a or
    b (`Case.refits`) gets another verdict."""
    final = case.truth.values[:, -1]

    def lds(c: Case):
        return spearman_difference(c.predictions[a][:, -1], c.predictions[b][:, -1], final, across="runs")

    diff = lds(case)
    constant = [m for m in (a, b) if not np.any(np.ptp(case.predictions[m][:, -1], axis=0) > 0)]
    verdict = diff.verdict if np.isfinite(diff.estimate) else ""
    reason = diff.reason or ("constant" if constant else "")
    if verdict and not reason and any(lds(v[0]).verdict != verdict for v in refit_variants([case], a, b)):
        verdict, reason = "undecided", "fit seed"
    return {"task": case.group, "A": a, "B": b, "runs": diff.runs, "tests": diff.tests, "difference": diff.estimate,
            "low": diff.low, "high": diff.high, "verdict": verdict, "reason": reason}


def _ordered(table: pd.DataFrame, section: PaperSizeSection, key: str = "method") -> pd.DataFrame:
    """Rows in the section's collection order, then method order."""
    ranks = {"task": {t: k for k, t in enumerate(section.collections)},
             key: {m: k for k, m in enumerate(section.methods)}}
    return table.assign(_t=table["task"].map(ranks["task"]), _m=table[key].map(ranks[key])).sort_values(
        ["_t", "_m"], kind="stable").drop(columns=["_t", "_m"])


def sigma_display(section: PaperSizeSection) -> pd.DataFrame:
    """The rescaled baselines' fitted factor sigma: rows method, columns collection (blank: not fitted there)."""
    rows = section.coverage[section.coverage["sigma"].notna()]
    wide = rows.pivot_table(index="method", columns="task", values="sigma", aggfunc="first", sort=False)
    wide = wide.reindex(index=[m for m in section.methods if m in wide.index],
                        columns=[t for t in section.collections if t in wide.columns])
    wide.columns = [task_label(t) for t in wide.columns]
    return wide.map(lambda v: number(v) if np.isfinite(v) else "")


def _verdict_text(verdict: str, reason: str) -> str:
    """'better', 'undecided (one run)', or WITHHELD with the short reason."""
    return (verdict or WITHHELD) + (f" ({SHORT_TEXTS[reason]})" if reason else "")


def _display(section: PaperSizeSection, differences: pd.DataFrame, cells, extra) -> pd.DataFrame:
    """Rows (collection, method) in the section's order: `cells((task, method))`, the verdict on GPTfluence and
    GPTfluence minus the row from `differences` with its 95% interval (blank on GPTfluence's own row), the n with
    how many held-out runs the row rests on, then `extra((task, method))` (the page shows the first columns)."""
    diffs = differences.set_index(["task", "B"])
    rows = []
    for _, cov in _ordered(section.coverage, section).iterrows():
        key = (cov["task"], cov["method"])
        row = {"collection": task_label(key[0]), "method": key[1], **cells(key)}
        d = diffs.loc[key] if key in diffs.index else None
        row[f"verdict on {GPT}"] = "" if d is None else _verdict_text(d["verdict"], d["reason"])
        row[f"{GPT} − row [95% interval]"] = "" if d is None else (
            f"{number(d['difference'])} {interval_text(d['low'], d['high'])}{_fits_text(d)}"
            if np.isfinite(d["difference"]) else WITHHELD)
        row["n (runs x tests)"] = _n_cell(cov)
        rows.append({**row, **extra(key)})
    return pd.DataFrame(rows).set_index(["collection", "method"])


def _fits_text(row) -> str:
    """'; 5 fits: 0.0083 to 0.0241' where the difference was also taken with GPTfluence's refits, else ''."""
    fits = row.get("fits", np.nan)
    if not (isinstance(fits, (int, float)) and np.isfinite(fits)):
        return ""
    return f"; {int(fits)} fits: {number(row['fits low'])} to {number(row['fits high'])}"


def _n_cell(row) -> str:
    """'5 x 64'; '3 x 64 (3 of 5 runs scored)' when the row rests on some held-out runs only; '0 of 5 runs (no
    scores)' when on none."""
    if row["reason"]:
        return f"{row['runs']} of {row['held out']} runs ({SHORT_TEXTS[row['reason']]})"
    text = f"{row['runs']} x {row['tests']}"
    return text if row["runs"] == row["held out"] else f"{text} ({row['runs']} of {row['held out']} runs scored)"


def mse_display(section: PaperSizeSection) -> pd.DataFrame:
    """The all-steps MSE table for the page: per (collection, method) the MSE (std), GPTfluence's MSE minus the
    row's with its 95% paired interval and the verdict on GPTfluence, the n, the median MSE and the diverged
    rollouts."""
    scores = section.scores.pivot_table(index=["task", "method"], columns="metric", values=["value", "std"],
                                        aggfunc="first", dropna=False)
    return _display(section, section.differences,
                    lambda key: {"all-steps MSE (std)": cell(scores.loc[key, ("value", "mse")],
                                                             scores.loc[key, ("std", "mse")], missing=WITHHELD)},
                    lambda key: {"MSE median": cell(scores.loc[key, ("value", "median_mse")], missing=WITHHELD),
                                 "diverged": cell(scores.loc[key, ("value", "diverged")], missing=WITHHELD)})


def _rows(table: pd.DataFrame, key: tuple[str, str]) -> pd.Series:
    """Rows of (task, method) `key`."""
    return (table["task"] == key[0]) & (table["method"] == key[1])


def lds_display(section: PaperSizeSection) -> pd.DataFrame:
    """The across-run table for the page: per (collection, method) the LDS with its interval, GPTfluence's LDS minus
    the row's with its paired interval and verdict, the n, and the papers' final-step Spearman (within a run)."""
    across = section.across.set_index(["task", "method"])
    return _display(section, section.lds_differences,
                    lambda key: {"LDS (across runs) [95% interval]": _score_text(across.loc[key], "LDS")},
                    lambda key: {"final-step Spearman (within a run)": _score_text(across.loc[key], "Spearman")})


def _score_text(row, label: str) -> str:
    """'0.45 [0.2, 0.6]', or WITHHELD with the short reason."""
    if row[f"{label} reason"]:
        return f"{WITHHELD} ({SHORT_TEXTS[row[f'{label} reason']]})"
    return f"{number(row[label])} {interval_text(row[f'{label} low'], row[f'{label} high'])}"


def footnotes(section: PaperSizeSection) -> str:
    """Why each withheld number is withheld: the reasons the tables carry, joined by semicolons ('' when none)."""
    keys = list(section.coverage["reason"]) + list(section.scores["note"]) + list(section.differences["reason"])
    keys += list(section.lds_differences["reason"]) + list(section.across["LDS reason"])
    keys += list(section.across["Spearman reason"])
    texts = [REASON_TEXTS[k] for k in dict.fromkeys(k for k in keys if isinstance(k, str) and k)]
    return "; ".join(texts)


def _n_text(runs: int, tests: int) -> str:
    return f"{runs} held-out run{'s' if runs != 1 else ''} x {tests} test examples"


def _name(method: str) -> str:
    """How the text names a method: the reference by what it is."""
    return f"the curriculum-blind reference ({method})" if method == REFERENCE else method


def _possessive(method: str) -> str:
    return "the reference's" if method == REFERENCE else f"{method}'s"


def comparison_sentence(section: PaperSizeSection, method: str) -> str:
    """How `method` compares with GPTfluence on every collection, in one sentence: GPTfluence's all-steps MSE and
    LDS minus the method's, each with its interval and the verdict on GPTfluence, and the n; or why not compared."""
    clauses = []
    coverage = section.coverage.set_index(["task", "method"])
    diffs = section.differences.set_index(["task", "B"])
    lds = section.lds_differences.set_index(["task", "B"])
    for task in section.collections:
        cov, d, l_ = coverage.loc[(task, method)], diffs.loc[(task, method)], lds.loc[(task, method)]
        label = task_label(task)
        if cov["reason"]:
            clauses.append(f"on {label} not compared ({REASON_TEXTS[cov['reason']]})")
            continue
        scored = f", {cov['runs']} of {cov['held out']} held-out runs scored" if cov["runs"] < cov["held out"] else ""
        clauses.append(f"on {label} ({_n_text(int(d['runs']), int(d['tests']))}{scored}) MSE {_difference_phrase(d)}, "
                       f"LDS {_difference_phrase(l_)}")
    return (f"Against {_name(method)}, {GPT}'s all-steps MSE and LDS minus {_possessive(method)}: "
            + "; ".join(clauses) + ".")


def _difference_phrase(row) -> str:
    """'-0.0123 [-0.02, -0.005] (GPTfluence better)', with the reason a verdict or number is missing (short: the
    tables' footnote says it in full)."""
    if not np.isfinite(row["difference"]):
        return f"not computed ({SHORT_TEXTS.get(row['reason'], row['reason'])})"
    verdict = VERDICT_WORDS.get(row["verdict"], row["verdict"])
    why = f": {SHORT_TEXTS[row['reason']]}" if row["reason"] else ""
    return f"{fmt(row['difference'])} {interval_text(row['low'], row['high'])} ({verdict}{why})"


def facts(section: PaperSizeSection | None, methods: Sequence[str] = SECTION_METHODS) -> dict[str, object]:
    """Every value the section glues (keys 'ps_...'); 'n/a' for each when there is no section (e.g. not run at this
    scale). ps_collections, ps_n, ps_footnotes, ps_tally (verdicts counted), ps_fits (GPTfluence's fits), ps_fit_spread (its MSE's range over them), ps_{method}_vs_gpt (one sentence per
    method), ps_{collection}_{method}_mse and _lds (value with interval, or the reason)."""
    keys = ["ps_collections", "ps_n", "ps_footnotes", "ps_tally", "ps_gpt_lds", "ps_no_change", "ps_fits", "ps_fit_spread"]
    keys += [f"ps_{KEYS.get(m, m)}_vs_gpt" for m in methods if m != GPT]
    if section is None:
        return dict.fromkeys(keys, "n/a")
    labels = [task_label(t) for t in section.collections]
    sizes = section.coverage[section.coverage["method"] == GPT]
    n_texts = [_n_text(int(r), int(t)) for r, t in zip(sizes["runs"], sizes["tests"])]
    if len(set(n_texts)) == 1:
        n_text = n_texts[0] + (" per collection" if len(labels) > 1 else "")
    else:
        n_text = "; ".join(f"{label} {text}" for label, text in zip(labels, n_texts))
    out: dict[str, object] = {
        "ps_collections": labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1],
        "ps_n": n_text,
        "ps_footnotes": footnotes(section) or "none is withheld",
        "ps_tally": tally(section.differences),
        "ps_fits": str(section.fits),
        "ps_fit_spread": "; ".join(f"{task_label(t)} {fmt(min(v))} to {fmt(max(v))}"
                                   for t, v in section.fit_mse.items()),
    }
    across = section.across.set_index(["task", "method"])
    for method in section.methods:
        for task in section.collections:
            row = across.loc[(task, method)]
            out[f"ps_{task}_{KEYS.get(method, method)}_lds"] = _score_text(row, "LDS")
            mse = section.scores[_rows(section.scores, (task, method)) & (section.scores["metric"] == "mse")].iloc[0]
            out[f"ps_{task}_{KEYS.get(method, method)}_mse"] = cell(mse["value"], mse["std"], missing=WITHHELD)
        if method != GPT:
            out[f"ps_{KEYS.get(method, method)}_vs_gpt"] = comparison_sentence(section, method)
    out["ps_gpt_lds"] = "; ".join(f"{task_label(t)} {out[f'ps_{t}_gpt_lds']}" for t in section.collections)
    out["ps_no_change"] = ", ".join(f"{task_label(t)} {fmt(section.no_change[t])}" for t in section.collections)
    return {**dict.fromkeys(keys, "n/a"), **out}


def tally(differences: pd.DataFrame) -> str:
    """The all-steps MSE comparisons of GPTfluence counted by verdict: 'better in 9, worse in 3, undecided in 6 of
    18 comparisons (2 not compared: no scores)'."""
    counts = differences["verdict"].value_counts()
    compared = int(len(differences) - counts.get("not compared", 0))
    text = (f"better in {counts.get('better', 0)}, worse in {counts.get('worse', 0)}, undecided in "
            f"{counts.get('undecided', 0)} of {compared} comparisons")
    if counts.get("not testable", 0):
        text += f", {counts['not testable']} not testable"
    if counts.get("not compared", 0):
        text += f" ({counts['not compared']} not compared: no scores)"
    return text
