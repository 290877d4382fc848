"""Why GPTfluence's rollouts diverge on unseen test examples, and where the curriculum-blind reference stands.

Measured on a fitted `UnseenResult` (lib/experiments/unseen.py), for the unseen-data chapter:

- `divergence_table`: per collection, scenario and method, the diverged rollouts (`lib.simulators.health`) beside the
  mean they dominate, the median, the mean of the other trajectories and the reference's on those same trajectories,
  and the paired median difference against the reference;
- `growth_table`: the multiplicative factor of each step, alpha(c_t) = sum over the batch of A_i (summed over the
  Markov lags), and its product over a trajectory's steps, the growth of the rollout's homogeneous part: a product
  above 1 means that y_0's contribution grows instead of decaying;
- `distance_table`: how far the unseen test examples' encoder features lie from the seen ones (cosine to the
  nearest seen test example), against the seen ones' distance to each other;
- `roles_table`: GPTfluence against the reference on every run role: its own fit runs, the validation runs that
  chose its epoch, the future runs (with each role's per-run spread);
- `diagnosis_text`: what those tables say, in words computed from them.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from lib.dynamics import Dynamics
from lib.experiments.scoring import REFERENCE
from lib.experiments.tables import WITHHELD
from lib.experiments.uncertainty import paired_difference
from lib.experiments.wording import interval_text, number, relative
from lib.experiments.unseen import SCENARIO_TITLES, UnseenResult, reference_prediction
from lib.metrics import trajectory_errors

GPT = "GPTfluence"


def divergence_table(results: Mapping[str, UnseenResult]) -> pd.DataFrame:
    """One row per (collection label, scenario, method): trajectories, diverged (count, %, test examples with one),
    mean / median all-steps MSE, the mean over the trajectories that did not diverge and the reference's mean on
    those same trajectories, and the median MSE minus the reference's median with its paired bootstrap interval."""
    rows = []
    for label, result in results.items():
        for scenario in result.truth:
            case = result.case(scenario)
            reference = case.errors(REFERENCE)
            for method in case.predictions:
                errors = case.errors(method)
                diverged = np.asarray(case.diverged.get(method, np.zeros_like(errors, dtype=bool)))
                kept = ~diverged if (~diverged).any() else np.ones_like(diverged)
                median = paired_difference(errors, reference, statistic="median")
                rows.append({"collection": label, "scenario": SCENARIO_TITLES[scenario], "method": method,
                             "trajectories": errors.size, "diverged": int(diverged.sum()),
                             "diverged %": 100 * float(diverged.mean()),
                             "tests with a diverged run": f"{int(diverged.any(axis=0).sum())} of {errors.shape[1]}",
                             "mean MSE": float(errors.mean()), "median MSE": float(np.median(errors)),
                             "mean MSE, not diverged": float(errors[kept].mean()),
                             "reference, same trajectories": float(reference[kept].mean()),
                             "reference median": float(np.median(reference)),
                             "median difference": median.estimate,
                             "95% interval": interval_text(median.low, median.high),
                             "verdict on the median": median.verdict if method != REFERENCE else ""})
    return pd.DataFrame(rows)


def step_factors(simulator, runs: Dynamics) -> np.ndarray:
    """[runs, steps, tests] multiplicative factor of each step, sum_j alpha_j(c_t), from the simulator's per-example
    factors A [n_train, order, n_tests] (`GPTfluence.factors`): what multiplies a constant level y at step t."""
    a, _ = simulator.factors(runs.train_ids, runs.test_ids, texts_from=runs)
    rows = np.searchsorted(runs.train_ids, runs.curricula)  # [runs, steps, batch]
    return a.sum(axis=1)[rows].sum(axis=2)


def growth_table(result: UnseenResult, method: str = GPT) -> pd.DataFrame:
    """Per scenario: the step factors' percentiles and share above 1, the test examples whose mean factor exceeds 1,
    and the trajectories whose product of factors over the steps exceeds 1, how many of them diverged and how many
    diverged rollouts have a product of at most 1."""
    simulator = result.simulators[method]
    rows = []
    for scenario, truth in result.truth.items():
        if (method, scenario) not in result.predictions:
            continue
        factors = step_factors(simulator, truth)
        with np.errstate(divide="ignore"):
            log_growth = np.log(np.abs(factors)).sum(axis=1)  # [runs, tests]
        diverged = result.health[(method, scenario)].diverged
        grows = log_growth > 0
        rows.append({"scenario": SCENARIO_TITLES[scenario], "step factor 1%": float(np.quantile(factors, 0.01)),
                     "median": float(np.median(factors)), "99%": float(np.quantile(factors, 0.99)),
                     "steps with factor > 1 (%)": 100 * float(np.mean(factors > 1)),
                     "tests with mean factor > 1": f"{int((factors.mean(axis=(0, 1)) > 1).sum())} of {truth.n_tests}",
                     "trajectories with product > 1": f"{int(grows.sum())} of {grows.size}",
                     "of them diverged": int((grows & diverged).sum()),
                     "diverged with product <= 1": int((~grows & diverged).sum()),
                     "largest product": float(np.exp(log_growth.max()))})
    return pd.DataFrame(rows).set_index("scenario")


def nearest_cosines(simulator, result: UnseenResult) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity of each seen test example's features to the nearest other seen one, and of each unseen
    one's to the nearest seen one (the encoder's features as the simulator embeds them)."""
    split = result.split
    embed = simulator.features.embed
    seen = _unit(embed(split.seen_tests, "test"))
    unseen = _unit(embed(split.unseen_tests, "test"))
    among_seen = seen @ seen.T
    np.fill_diagonal(among_seen, -np.inf)
    return among_seen.max(axis=1), (unseen @ seen.T).max(axis=1)


def distance_table(result: UnseenResult, method: str = GPT) -> pd.DataFrame:
    """Cosine to the nearest seen test example: of the seen ones (leave one out), the unseen ones, and the unseen
    ones with a diverged rollout in any scenario; n, median, lowest and highest."""
    seen, unseen = nearest_cosines(result.simulators[method], result)
    diverged = np.zeros(len(unseen), dtype=bool)
    for scenario in ("test", "both"):
        if (method, scenario) in result.health:
            diverged |= result.health[(method, scenario)].diverged.any(axis=0)
    rows = {"seen tests, to the nearest other seen one": seen, "unseen tests, to the nearest seen one": unseen,
            "unseen tests with a diverged rollout": unseen[diverged]}
    return pd.DataFrame({name: {"n": len(v), "median": float(np.median(v)) if len(v) else np.nan,
                                "lowest": float(v.min()) if len(v) else np.nan,
                                "highest": float(v.max()) if len(v) else np.nan}
                         for name, v in rows.items()}).T.astype({"n": int})


def distance_display(table: pd.DataFrame) -> pd.DataFrame:
    """`distance_table` as the page shows it: numbers in the book's format, and a dash (not NaN) where a row has no
    test example to take a median of (e.g. no unseen test example diverged)."""
    shown = table.astype(object)
    for column in ("median", "lowest", "highest"):
        shown[column] = [number(v) if n else WITHHELD for v, n in zip(table[column], table["n"])]
    return shown


def roles_table(result: UnseenResult, method: str = GPT) -> pd.DataFrame:
    """GPTfluence and the reference (all-steps MSE over the seen test examples) on each run role: the fit runs (the
    reference is their own mean there), the validation runs that chose the epoch, and the two kinds of future runs;
    with the share of trajectories where the method is closer and the per-run MSE range of each."""
    split, simulator = result.split, result.simulators[method]
    roles = {"fit runs (fitted on)": split.fit, "val runs (chose the epoch)": split.val,
             "seen-pool future runs": split.scenario("none"), "unseen-pool future runs": split.scenario("train")}
    rows = []
    for role, runs in roles.items():
        if runs is None or not runs.n_runs:
            continue
        ours = trajectory_errors(simulator.simulate(runs), runs.values, simulator.order)[0]
        blind = trajectory_errors(reference_prediction(split, runs), runs.values)[0]
        rows.append({"runs": role, "n (runs x tests)": f"{runs.n_runs} x {runs.n_tests}",
                     method: float(ours.mean()), REFERENCE: float(blind.mean()),
                     f"{method} closer (% of trajectories)": 100 * float(np.mean(ours < blind)),
                     f"{method} per run": _range(ours.mean(axis=1)), f"{REFERENCE} per run": _range(blind.mean(axis=1))})
    return pd.DataFrame(rows).set_index("runs")


def growth_sentence(diverged: int, damped: int, largest: float) -> str:
    """Why the `diverged` rollouts left the band, from their product of step factors: above 1, y_0's share is
    multiplied at each step; at most 1 (`damped` of them), y_0's share shrinks and the additive terms drive them."""
    grows = ("the sum of the batch's A_i stays above 1 on average, so y_0's share of the rollout is multiplied "
             "instead of damped at each of the steps")
    additive = ("y_0's share of the rollout is damped, so they leave the band through the additive terms (the batches' "
                "B_i) piling up")
    if damped == 0:
        return (f"Of the diverged rollouts every one has a product of its step factors above 1 (largest "
                f"{number(largest)}): {grows}.")
    if damped >= diverged:
        return (f"None of the diverged rollouts has a product of its step factors above 1 (largest {number(largest)}): "
                f"{additive}.")
    return (f"Of the {diverged} diverged rollouts {diverged - damped} have a product of step factors above 1 (largest "
            f"{number(largest)}): for those {grows}; for the other {damped} {additive}.")


def diagnosis_text(label: str, divergence: pd.DataFrame, growth: pd.DataFrame, distance: pd.DataFrame,
                   roles: pd.DataFrame, method: str = GPT) -> str:
    """A paragraph on one collection, every number read from the four tables (`divergence` of this collection)."""
    row = divergence[(divergence["method"] == method) & (divergence["scenario"] == SCENARIO_TITLES["test"])].iloc[0]
    parts = [f"**{label}.** With unseen test data, {row['diverged']} of {row['trajectories']} {method} rollouts "
             f"({number(row['diverged %'])}%) diverged, on {row['tests with a diverged run']} unseen test examples."]
    if row["diverged"]:
        parts.append(f"They make the mean MSE {number(row['mean MSE'])}; the median is {number(row['median MSE'])} "
                     f"against the reference's {number(row['reference median'])} (difference "
                     f"{number(row['median difference'])}, 95% interval {row['95% interval']}: "
                     f"{row['verdict on the median']}), and the other trajectories' mean is "
                     f"{number(row['mean MSE, not diverged'])} against {number(row['reference, same trajectories'])} "
                     f"for the reference on the same ones.")
        test = growth.loc[SCENARIO_TITLES["test"]]
        parts.append(growth_sentence(int(row["diverged"]), int(test["diverged with product <= 1"]),
                                     float(test["largest product"])) +
                     f" The step factors of the unseen test examples have median {number(test['median'])} and "
                     f"99th percentile {number(test['99%'])}; {test['tests with mean factor > 1']} unseen test "
                     f"examples have a mean factor above 1, against "
                     f"{growth.loc[SCENARIO_TITLES['none'], 'tests with mean factor > 1']} seen ones.")
    seen, unseen = distance.iloc[0], distance.iloc[1]
    word = relative(unseen["median"], seen["median"])
    meaning = {"higher": "the unseen ones lie closer", "lower": "the unseen ones lie farther",
               "about the same": "as close"}.get(word, "not comparable")
    parts.append(f"In the encoder's space the unseen test examples' median cosine to the nearest seen one is "
                 f"{number(unseen['median'])}, the seen ones' to each other {number(seen['median'])} ({word}: {meaning})")
    if distance.iloc[2]["n"]:
        parts[-1] += (f"; the ones with a diverged rollout have {number(distance.iloc[2]['lowest'])} to "
                      f"{number(distance.iloc[2]['highest'])}, all unseen ones {number(unseen['lowest'])} to "
                      f"{number(unseen['highest'])}")
    parts[-1] += "."
    fit, val = roles.iloc[0], roles.iloc[1] if len(roles) > 1 else None
    text = (f"On its own fit runs {method}'s rollouts reach MSE {number(fit[method])}, the reference (there the fit "
            f"runs' own mean) {number(fit[REFERENCE])}")
    if val is not None and "val" in roles.index[1]:
        text += (f"; on the validation runs that chose its epoch, {number(val[method])} against "
                 f"{number(val[REFERENCE])}")
    future = roles.loc["seen-pool future runs"]
    text += (f"; on the seen-pool future runs {number(future[method])} against {number(future[REFERENCE])}, the "
             f"reference's per-run MSE spanning {future[REFERENCE + ' per run']} and {method}'s "
             f"{future[method + ' per run']}.")
    parts.append(text)
    return " ".join(parts)


def _unit(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows left as they are)."""
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.where(norms > 0, norms, 1.0)


def _range(values: np.ndarray) -> str:
    """'0.0129 to 0.0289': the lowest and highest of per-run values."""
    return f"{number(values.min())} to {number(values.max())}"
