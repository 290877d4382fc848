"""How sure a comparison is: a bootstrap over held-out runs x test examples, and the rules that withhold a number.

Every "A is better than B" of the book rests on `paired_difference`: the held-out runs and the test examples are
resampled with replacement (independently: a two-way bootstrap), the same resamples for both methods, and the
statistic's difference A - B is recomputed on each; the 95% percentile interval of those differences decides
"better", "worse" or "undecided" (an interval that contains 0). Scores compared across different runs or test
examples (e.g. two scenarios of the unseen-data chapter) use `unpaired_difference`.

Numbers that can't mean anything are withheld, with the reason (`REASONS`): a Spearman over fewer than
`MIN_ITEMS` items, a bootstrap over fewer than `MIN_ITEMS` trajectories, a metric whose true trajectories mostly do
not move (`flat_share`, `is_testable`). The score across runs of the data-attribution literature (linear datamodeling score,
`lds`) ranks held-out runs, so it needs `MIN_ITEMS` of them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy.stats import rankdata

MIN_ITEMS = 5
"""Fewest items a Spearman ranks, or trajectories a bootstrap resamples, for the number to be shown."""
MIN_RUNS = 2
"""Fewest held-out runs (independent curricula) for a verdict: with one, the bootstrap sees how the difference varies
between test examples of that run but not between curricula, and calls a difference on a third to half of
synthetic nulls (tests/experiments/test_uncertainty.py)."""
CONFIDENCE = 0.95
"""Coverage of every interval the book shows."""
N_RESAMPLES = 2000
"""Bootstrap resamples: the percentile interval's ends move by well under its width between seeds."""
FLAT_TOL = 1e-12
"""A true trajectory whose values span no more than this is flat (BLEU and ROUGE-L of an unchanged generation)."""

REASONS = {
    "few tests": f"a Spearman over fewer than {MIN_ITEMS} test examples is not shown",
    "few runs": f"a score across runs needs at least {MIN_ITEMS} held-out runs",
    "few trajectories": f"fewer than {MIN_ITEMS} trajectories: too few to resample",
    "flat": f"fewer than {MIN_ITEMS} true trajectories move: the metric is not testable here",
    "one run": "one held-out run: the interval covers its test examples, not other curricula, so no verdict",
    "constant": "the prediction is the same in every held-out run: it cannot rank curricula, so it has no LDS",
    "fit seed": "the verdict changes when GPTfluence is fitted again with another seed, so no verdict",
}
SHORT_REASONS = {"few tests": f"< {MIN_ITEMS} tests", "few runs": f"< {MIN_ITEMS} runs",
                 "few trajectories": f"< {MIN_ITEMS} trajectories", "flat": "flat truths", "one run": "one run",
                 "constant": "same in every run", "fit seed": "changes with the fit's seed"}
"""The same reasons in a table cell."""
"""Why a number is withheld: the footnote of its dash."""
VERDICTS = ("better", "worse", "undecided", "not testable")


@dataclass(frozen=True)
class Interval:
    """A statistic on the data, its bootstrap percentile interval, and the sizes it rests on."""

    estimate: float
    low: float
    high: float
    runs: int
    tests: int
    reason: str = ""  # a key of REASONS when the number is withheld (estimate and ends nan)

    @property
    def shown(self) -> bool:
        """Whether the number may be shown (no reason withholds it; with one run it is shown without a verdict)."""
        return self.reason in ("", "one run")


@dataclass(frozen=True)
class Difference(Interval):
    """A - B with its interval, and the verdict on A read from it: better, worse, undecided or not testable."""

    verdict: str = "undecided"


def withheld(reason: str, runs: int, tests: int) -> Interval:
    """An Interval that shows nothing, for `reason` (a key of REASONS)."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}; one of {sorted(REASONS)}")
    return Interval(np.nan, np.nan, np.nan, runs, tests, reason)


def resamples(n_runs: int, n_tests: int, *, n_resamples: int = N_RESAMPLES, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (runs [B, n_runs], tests [B, n_tests]) drawn with replacement, independently for runs and tests.

    With one run, every resample keeps it (a bootstrap over runs has nothing to draw from).
    """
    if n_runs < 1 or n_tests < 1:
        raise ValueError(f"need at least one run and one test example, got {n_runs} x {n_tests}")
    rng = np.random.default_rng(seed)
    runs = rng.integers(0, n_runs, size=(n_resamples, n_runs))
    tests = rng.integers(0, n_tests, size=(n_resamples, n_tests))
    return runs, tests


def _weights(index: np.ndarray, n: int) -> np.ndarray:
    """How often each of n items occurs in each resample: [B, n]."""
    return np.stack([np.bincount(row, minlength=n) for row in index]).astype(np.float64)


def resampled_means(values: np.ndarray, runs: np.ndarray, tests: np.ndarray) -> np.ndarray:
    """Mean of values [runs, tests] over each resample's (run, test) cross product: [B]."""
    n_runs, n_tests = values.shape
    w_runs, w_tests = _weights(runs, n_runs), _weights(tests, n_tests)
    return np.einsum("br,rt,bt->b", w_runs, values, w_tests) / (n_runs * n_tests)


def resampled_medians(values: np.ndarray, runs: np.ndarray, tests: np.ndarray) -> np.ndarray:
    """Median of values [runs, tests] over each resample's (run, test) cross product: [B]."""
    return np.array([np.median(values[np.ix_(r, t)]) for r, t in zip(runs, tests)])


def _rank_correlation(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """Spearman's rho along `axis` (average ranks for ties); nan where either side is constant."""
    rx, ry = rankdata(x, axis=axis), rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    denominator = np.sqrt(np.sum(rx**2, axis=axis) * np.sum(ry**2, axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.sum(rx * ry, axis=axis) / denominator
    return np.where(denominator > 0, rho, np.nan)


def final_spearman(pred_final: np.ndarray, true_final: np.ndarray) -> float:
    """The papers' final-step Spearman: per run, rho across test examples of [runs, tests]; the mean over runs."""
    rho = _rank_correlation(np.asarray(pred_final, float), np.asarray(true_final, float), axis=1)
    return float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")


def lds(pred_final: np.ndarray, true_final: np.ndarray) -> float:
    """Linear datamodeling score: per test example, rho across runs of [runs, tests]; the mean over test examples."""
    rho = _rank_correlation(np.asarray(pred_final, float), np.asarray(true_final, float), axis=0)
    return float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")


def _resampled_spearman(pred_final: np.ndarray, true_final: np.ndarray, runs: np.ndarray, tests: np.ndarray,
                        across: str) -> np.ndarray:
    """final_spearman (across="tests") or lds (across="runs") on each resample, all at once: [B]."""
    index = (runs[:, :, None], tests[:, None, :])  # each resample's [runs, tests] cross product
    pred, truth = pred_final[index], true_final[index]  # [B, runs, tests]
    rho = _rank_correlation(pred, truth, axis=2 if across == "tests" else 1)  # [B, runs] or [B, tests]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample whose every rho is undefined gives nan
        return np.nanmean(rho, axis=1)


def _percentiles(draws: np.ndarray) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def verdict(low: float, high: float, lower_is_better: bool) -> str:
    """'better' / 'worse' for A when the interval of A - B lies on one side of 0, else 'undecided'."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "undecided"
    if high < 0:
        return "better" if lower_is_better else "worse"
    if low > 0:
        return "worse" if lower_is_better else "better"
    return "undecided"


Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
STATISTICS: dict[str, Statistic] = {"mean": resampled_means, "median": resampled_medians}


def interval(values: np.ndarray, *, statistic: str = "mean", n_resamples: int = N_RESAMPLES,
             seed: int = 0) -> Interval:
    """A statistic of per-trajectory values [runs, tests] (e.g. squared errors) with its bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    n_runs, n_tests = values.shape
    if values.size < MIN_ITEMS:
        return withheld("few trajectories", n_runs, n_tests)
    runs, tests = resamples(n_runs, n_tests, n_resamples=n_resamples, seed=seed)
    estimate = float(np.mean(values) if statistic == "mean" else np.median(values))
    return Interval(estimate, *_percentiles(STATISTICS[statistic](values, runs, tests)), n_runs, n_tests)


def paired_difference(a: np.ndarray, b: np.ndarray, *, lower_is_better: bool = True, statistic: str = "mean",
                      n_resamples: int = N_RESAMPLES, seed: int = 0) -> Difference:
    """statistic(a) - statistic(b) of per-trajectory values [runs, tests] of two methods on the same trajectories,
    with the interval of the same resamples for both, and the verdict on a."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"paired values must share a [runs, tests] shape, got {a.shape} and {b.shape}")
    n_runs, n_tests = a.shape
    if a.size < MIN_ITEMS:
        return Difference(np.nan, np.nan, np.nan, n_runs, n_tests, "few trajectories")
    runs, tests = resamples(n_runs, n_tests, n_resamples=n_resamples, seed=seed)
    resampled = STATISTICS[statistic]
    draws = resampled(a, runs, tests) - resampled(b, runs, tests)
    pick = np.mean if statistic == "mean" else np.median
    low, high = _percentiles(draws)
    return _decided(float(pick(a) - pick(b)), low, high, n_runs, n_tests, lower_is_better)


def _decided(estimate: float, low: float, high: float, runs: int, tests: int, lower_is_better: bool) -> Difference:
    """A Difference with its verdict, or 'undecided' for the reason "one run" when fewer than MIN_RUNS runs."""
    if runs < MIN_RUNS:
        return Difference(estimate, low, high, runs, tests, "one run", verdict="undecided")
    return Difference(estimate, low, high, runs, tests, verdict=verdict(low, high, lower_is_better))


def unpaired_difference(a: np.ndarray, b: np.ndarray, *, lower_is_better: bool = True, statistic: str = "mean",
                        n_resamples: int = N_RESAMPLES, seed: int = 0) -> Difference:
    """statistic(a) - statistic(b) of per-trajectory values of two different sets of trajectories, each resampled
    on its own; n is the smaller of the two."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    runs, tests = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    if min(a.size, b.size) < MIN_ITEMS:
        return Difference(np.nan, np.nan, np.nan, runs, tests, "few trajectories")
    resampled, pick = STATISTICS[statistic], (np.mean if statistic == "mean" else np.median)
    draws_a = resampled(a, *resamples(*a.shape, n_resamples=n_resamples, seed=seed))
    draws_b = resampled(b, *resamples(*b.shape, n_resamples=n_resamples, seed=seed + 1))
    low, high = _percentiles(draws_a - draws_b)
    return _decided(float(pick(a) - pick(b)), low, high, runs, tests, lower_is_better)


def pooled_difference(pairs: Sequence[tuple[np.ndarray, np.ndarray]], *, shared_runs: bool,
                      lower_is_better: bool = True, n_resamples: int = N_RESAMPLES, seed: int = 0) -> Difference:
    """The mean over groups (e.g. tasks: the papers' Average rows) of mean(a) - mean(b) per group, paired.

    `shared_runs`: the groups are test examples of the same held-out runs (instruction tuning: one collection), so
    one draw of runs serves every group and the runs count once. Otherwise (fine-tuning: one collection per task)
    every (group, run) is its own curriculum: these units are drawn with replacement across groups (a group may be
    drawn twice or not at all, so the interval also covers how the difference varies between tasks), each weighted
    so that the estimate is the mean of the groups' means. Test examples are drawn within each group.
    """
    if not pairs:
        raise ValueError("no groups to pool")
    diffs = [np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64) for a, b in pairs]
    runs_of = [d.shape[0] for d in diffs]
    if shared_runs and len(set(runs_of)) != 1:
        raise ValueError(f"groups of shared runs must have as many runs each, got {runs_of}")
    runs, tests = (runs_of[0] if shared_runs else sum(runs_of)), sum(d.shape[1] for d in diffs)
    if sum(d.size for d in diffs) < MIN_ITEMS:
        return Difference(np.nan, np.nan, np.nan, runs, tests, "few trajectories")
    estimate = float(np.mean([np.mean(d) for d in diffs]))
    rng = np.random.default_rng(seed)
    if shared_runs:
        run_draw = rng.integers(0, runs, size=(n_resamples, runs))
        draws = sum(resampled_means(d, run_draw, rng.integers(0, d.shape[1], size=(n_resamples, d.shape[1])))
                    for d in diffs) / len(diffs)
    else:
        # one row per (group, run) unit: its test examples' differences resampled, and its weight
        unit_means, weights = [], []
        for d in diffs:
            test_draw = rng.integers(0, d.shape[1], size=(n_resamples, d.shape[1]))
            w_tests = _weights(test_draw, d.shape[1])
            unit_means.extend(w_tests @ d[r] / d.shape[1] for r in range(d.shape[0]))  # each [B]
            weights.extend([1.0 / d.shape[0]] * d.shape[0])
        unit_means, weights = np.stack(unit_means, axis=1), np.asarray(weights)  # [B, U], [U]
        w_units = _weights(rng.integers(0, runs, size=(n_resamples, runs)), runs) * weights  # [B, U]
        draws = np.sum(w_units * unit_means, axis=1) / np.sum(w_units, axis=1)
    low, high = _percentiles(draws)
    return _decided(estimate, low, high, runs, tests, lower_is_better)


def spearman_difference(pred_a: np.ndarray, pred_b: np.ndarray, truth: np.ndarray, *, across: str = "tests",
                        n_resamples: int = N_RESAMPLES, seed: int = 0) -> Difference:
    """Paired difference of a rank score of two methods' final values [runs, tests] against the truth's.

    across="tests": the papers' final-step Spearman (needs MIN_ITEMS test examples); across="runs": the linear
    datamodeling score (needs MIN_ITEMS held-out runs). Higher is better.
    """
    pred_a, pred_b, truth = (np.asarray(x, dtype=np.float64) for x in (pred_a, pred_b, truth))
    n_runs, n_tests = truth.shape
    reason = _rank_reason(n_runs, n_tests, across)
    if reason:
        return Difference(np.nan, np.nan, np.nan, n_runs, n_tests, reason)
    score = final_spearman if across == "tests" else lds
    runs, tests = resamples(n_runs, n_tests, n_resamples=n_resamples, seed=seed)
    draws = (_resampled_spearman(pred_a, truth, runs, tests, across)
             - _resampled_spearman(pred_b, truth, runs, tests, across))
    low, high = _percentiles(draws)
    return _decided(score(pred_a, truth) - score(pred_b, truth), low, high, n_runs, n_tests, lower_is_better=False)


def spearman_interval(pred_final: np.ndarray, true_final: np.ndarray, *, across: str = "tests",
                      n_resamples: int = N_RESAMPLES, seed: int = 0) -> Interval:
    """A rank score of one method's final values [runs, tests] (see spearman_difference) with its interval."""
    pred_final, true_final = np.asarray(pred_final, dtype=np.float64), np.asarray(true_final, dtype=np.float64)
    n_runs, n_tests = true_final.shape
    reason = _rank_reason(n_runs, n_tests, across)
    if not reason and across == "runs" and not np.any(np.ptp(pred_final, axis=0) > 0):
        reason = "constant"
    if reason:
        return withheld(reason, n_runs, n_tests)
    score = final_spearman if across == "tests" else lds
    runs, tests = resamples(n_runs, n_tests, n_resamples=n_resamples, seed=seed)
    low, high = _percentiles(_resampled_spearman(pred_final, true_final, runs, tests, across))
    return Interval(score(pred_final, true_final), low, high, n_runs, n_tests)


def _rank_reason(n_runs: int, n_tests: int, across: str) -> str:
    """The REASONS key that withholds a rank score over too few items, or ''."""
    if across not in ("tests", "runs"):
        raise ValueError(f"across must be 'tests' or 'runs', got {across!r}")
    if across == "tests" and n_tests < MIN_ITEMS:
        return "few tests"
    if across == "runs" and n_runs < MIN_ITEMS:
        return "few runs"
    return ""


def flat_share(values: np.ndarray, order: int = 0) -> tuple[float, int]:
    """(share of true trajectories [runs, steps + 1, tests] that do not move from step `order` on, number that move)."""
    values = np.asarray(values, dtype=np.float64)[:, order:]
    span = np.ptp(values, axis=1)  # [runs, tests]
    flat = span <= FLAT_TOL
    return float(flat.mean()), int((~flat).sum())


def is_testable(values: np.ndarray, order: int = 0) -> bool:
    """Whether at least MIN_ITEMS true trajectories move, so that simulators can be told apart on them."""
    return flat_share(values, order)[1] >= MIN_ITEMS


def unpaired_spearman_difference(pred_a: np.ndarray, truth_a: np.ndarray, pred_b: np.ndarray, truth_b: np.ndarray,
                                 *, n_resamples: int = N_RESAMPLES, seed: int = 0) -> Difference:
    """The papers' final-step Spearman of a (final values [runs, tests] and their truth) minus b's, on different runs
    or test examples, each resampled on its own; higher is better."""
    arrays = [np.asarray(x, dtype=np.float64) for x in (pred_a, truth_a, pred_b, truth_b)]
    runs, tests = min(arrays[1].shape[0], arrays[3].shape[0]), min(arrays[1].shape[1], arrays[3].shape[1])
    reason = _rank_reason(runs, tests, "tests")
    if reason:
        return Difference(np.nan, np.nan, np.nan, runs, tests, reason)
    draws = []
    for k, (pred, truth) in enumerate((arrays[:2], arrays[2:])):
        index = resamples(*truth.shape, n_resamples=n_resamples, seed=seed + k)
        draws.append(_resampled_spearman(pred, truth, *index, "tests"))
    low, high = _percentiles(draws[0] - draws[1])
    estimate = final_spearman(*arrays[:2]) - final_spearman(*arrays[2:])
    return _decided(estimate, low, high, runs, tests, lower_is_better=False)
