"""What-if: curricula a practitioner designs, really trained, against what every simulator predicts for them.

Designs on SST-2, each laid out like the collection's random runs (`lib.whatif.designs`) with several seeds:
all negative reviews dropped; the same examples easy-to-hard and hard-to-easy (difficulty: the example's loss
under the model every run starts from -- known before any training, independent of the test examples and of any
run's curriculum, so the ordering does not peek at the outcome); one example (the hardest) repeated in a quarter
of the steps; half the subset replaced by unseen examples (the `sst2_unseen` collection, whose unseen split the
training runs never saw); a curriculum twice as long. Each design is trained as a collected run would be
(`lib.collect.designed_runs`) and simulated by every method fitted on the collection's runs.

At scale "default" the designs are trained on the committed paper-size SST-2 collections; `python -m
lib.experiments.whatif --scale default --collect` trains the missing designed runs (resumable).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lib.collect import CollectionConfig
from lib.collect.curricula import Curriculum
from lib.collect.designed_runs import DesignedRun, DesignedRunStore
from lib.dynamics import Dynamics
from lib.experiments.scoring import REFERENCE
from lib.experiments.settings import gptfluence_config
from lib.experiments.simulation import make_simulator, split_or_none
from lib.experiments.store import collection_config, collects_missing, committed, stored
from lib.experiments.uncertainty import REASONS, interval, paired_difference, spearman_interval
from lib.paths import REPO_ROOT
from lib.scales import get_scale
from lib.simulators import GPTfluenceConfig
from lib.simulators.attribution_baselines import scores_for_runs
from lib.whatif.designs import DesignSettings, drop_group, longer, ordered, repeated, with_unseen

DATA_SCALE = {"default": "paper_size"}
"""The collections a book scale's chapter reads (the default book reads the committed paper-size collections)."""
COLLECTION, UNSEEN_COLLECTION = "sst2", "sst2_unseen"
SEEDS = (0, 1, 2)
DESIGNS = ("no negatives", "easy to hard", "hard to easy", "one repeated", "half unseen", "twice as long")
REPEAT_SHARE = 4
"""The repeated example fills one slot in 1 / REPEAT_SHARE of the steps."""
NEGATIVE = 0
"""SST-2's label index of a negative review."""


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
    """The scale whose collections the chapter reads at book scale `scale`."""
    get_scale(scale)
    return DATA_SCALE.get(scale, scale)


def designed_folder(scale: str, collection: str) -> Path:
    """`data/designed/<data folder>/<collection>` for committed scales, `build/designed/...` for the others."""
    source = get_scale(data_scale(scale))
    root = REPO_ROOT / ("data" if source.committed else "build") / "designed"
    return root / source.folder / collection


def gptfluence_for(scale: str) -> GPTfluenceConfig:
    """GPTfluence's settings for the collections the chapter reads at `scale` (those of their regime, not of the
    book's scale: the default book's what-if reads the paper-size collections)."""
    return gptfluence_config(data_scale(scale))


def _how(scale: str) -> str:
    return f"train them with `python -m lib.experiments.whatif --scale {scale} --collect`"


def plan(scale: str, *, data_dir=None, seeds=SEEDS, collect_missing: bool | None = None) -> list[Design]:
    """Every designed run of the chapter, seed by seed (an interrupted training leaves whole seeds)."""
    source = data_scale(scale)
    allowed = collects_missing(source) if collect_missing is None else collect_missing
    base = stored(source, COLLECTION, data_dir=data_dir)  # the collections themselves: as their scale allows
    unseen = stored(source, UNSEEN_COLLECTION, data_dir=data_dir)
    config = collection_config(source, COLLECTION, data_dir)
    unseen_config = collection_config(source, UNSEEN_COLLECTION, data_dir)
    examples = base.examples()
    pool = examples.loc[examples["role"] == "pool", "id"].astype(int).tolist()
    labels = dict(zip(pool, examples.loc[examples["role"] == "pool", "label"].astype(int)))
    unseen_rows = unseen.examples()
    unseen_pool = _unseen_ids(unseen_config, unseen_rows)
    unseen_seen = unseen_rows.loc[unseen_rows["role"] == "pool", "id"].astype(int).tolist()  # that collection's pool
    difficulty = DesignedRunStore(designed_folder(scale, COLLECTION)).start_losses(
        config, collect_missing=allowed, how=_how(scale))
    hardest = hardest_example(pool, difficulty)
    train = base.dynamics("loss", require_complete=True).select_runs("train")
    out = []
    for seed in seeds:
        settings = DesignSettings.of(train.curricula, seed=seed)
        built = {
            "no negatives": (COLLECTION, drop_group(pool, labels, NEGATIVE, settings)),
            "easy to hard": (COLLECTION, ordered(pool, difficulty, settings)),
            "hard to easy": (COLLECTION, ordered(pool, difficulty, settings, hardest_first=True)),
            "one repeated": (COLLECTION, repeated(pool, hardest, max(1, settings.steps // REPEAT_SHARE), settings)),
            "half unseen": (UNSEEN_COLLECTION, with_unseen(unseen_seen, unseen_pool, settings)),
            "twice as long": (COLLECTION, longer(pool, settings)),
        }
        out.extend(Design(name, seed, collection, curriculum) for name, (collection, curriculum) in built.items())
    return out


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
                  finished_only: bool = False) -> dict[str, DesignedRun]:
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
        out.update(store.ensure(config, {design.name: design.curriculum}, collect_missing=allowed, how=_how(scale)))
    return out


GRADIENT_METHODS = ("TracIn-CP (10 ckpts)", "Grad-Dot")
ATTRIBUTION_METHODS = ("EK-FAC", "TRAK")
"""Fitted on the held-out runs with stored scores (lib/attribution) and simulated through their mean per pair."""
GPT = "GPTfluence"
METHODS = (GPT, "Simfluence", *GRADIENT_METHODS, *ATTRIBUTION_METHODS)


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


def run(scale: str, *, encoder, data_dir=None, gptfluence=None, methods=METHODS, seeds=SEEDS) -> WhatIfResult:
    """The chapter: fit every method on the SST-2 collection's runs, simulate each designed run and score it."""
    source = data_scale(scale)
    designs = plan(scale, data_dir=data_dir, seeds=seeds)
    runs = designed_runs(scale, designs, data_dir=data_dir, finished_only=True)
    base = stored(source, COLLECTION, data_dir=data_dir)
    dyn = base.dynamics("loss", require_complete=True)
    train, val, held = dyn.select_runs("train"), split_or_none(dyn, "val"), dyn.select_runs("test")
    unseen_rows = stored(source, UNSEEN_COLLECTION, data_dir=data_dir).examples()
    texts = {int(i): str(t) for i, t in zip(unseen_rows["id"], unseen_rows["text"]) if int(i) not in dyn.train_texts}
    models, unfit = _fit(methods, train, val, held, encoder=encoder,
                         gptfluence=gptfluence or gptfluence_for(scale), folder=base.folder)
    truth, predictions, missing = {}, {}, {}
    refusals = {(method, "held-out runs"): why for method, why in unfit.items()}
    for name in DESIGNS:
        done = [d for d in designs if d.design == name and d.name in runs]
        missing[name] = sum(d.design == name for d in designs) - len(done)
        if not done:
            continue
        truth[name] = _as_dynamics([runs[d.name] for d in done], dyn)
        refusals.update({(method, name): why for method, why in unfit.items()})
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
    store = DesignedRunStore(designed_folder(scale, COLLECTION))
    difficulty = store.start_losses(collection_config(source, COLLECTION, data_dir), collect_missing=False,
                                    how=_how(scale))
    rows = base.examples()
    pool = rows.loc[rows["role"] == "pool", "id"].astype(int).tolist()
    return WhatIfResult(designs=designs, truth=truth, predictions=predictions, refusals=refusals,
                        mse=mse_table(truth, predictions), effects=effect_table(truth, predictions, held,
                                                                                held_predictions),
                        missing=missing, difficulty=difficulty,
                        repeated_id=hardest_example(pool, difficulty),
                        source_scale=source, n_held_out=held.n_runs)


def _fit(methods, train: Dynamics, val: Dynamics | None, held: Dynamics, *, encoder, gptfluence,
         folder) -> tuple[dict, dict[str, str]]:
    """Each method fitted as the book fits it (the gradient baselines' rescaling on the held-out runs, as both papers;
    EK-FAC and TRAK on the held-out runs whose scores are stored with the collection in `folder`, as the loss
    chapter), and why each method that could not be fitted was not (method -> reason)."""
    from lib.whatif.saved import fitted  # lazy: torch

    out, unfit = {}, {}
    for method in methods:
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
    """Designed runs of one design as a Dynamics (their curricula and loss trajectories; the collection's test order)."""
    for r in runs:
        if not np.array_equal(r.test_ids, like.test_ids):
            raise ValueError(f"designed run {r.name!r} records test ids in another order than the collection")
    return Dynamics.from_arrays(np.stack([r.curriculum.batches for r in runs]), np.stack([r.values["loss"] for r in runs]),
                                like.test_ids, "loss", split=["test"] * len(runs))


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
    """Command line: train (or check) the chapter's designed runs at a scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default")
    parser.add_argument("--collect", action="store_true", help="train the missing designed runs")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    designs = plan(args.scale, data_dir=args.data_dir, collect_missing=args.collect or None)
    if not args.collect:  # a status: what is trained, what is not, never a traceback for a missing run
        done = designed_runs(args.scale, designs, data_dir=args.data_dir, collect_missing=False, finished_only=True)
        for design in designs:
            run = done.get(design.name)
            print(f"{design.name}: " + (f"{run.curriculum.steps} steps, {run.seconds:.0f} s" if run else "not trained"))
        print(f"{len(done)} of {len(designs)} designed runs trained"
              + ("" if len(done) == len(designs) else f"; {_how(args.scale).replace('them', 'the rest')}"))
        return
    for design in designs:
        run = designed_runs(args.scale, [design], data_dir=args.data_dir, collect_missing=True)[design.name]
        print(f"{design.name}: {run.curriculum.steps} steps, {run.seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()


DESIGN_QUESTIONS = {
    "no negatives": "What if every negative review is dropped?",
    "easy to hard": "What if the examples come easy to hard?",
    "hard to easy": "What if the examples come hard to easy?",
    "one repeated": "What if one example is repeated in a quarter of the steps?",
    "half unseen": "What if half the examples are ones no training run saw?",
    "twice as long": "What if training runs twice as long?",
}


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
        return f"**{DESIGN_QUESTIONS[name]}** No run of this design is trained yet, so nothing is claimed about it."
    truth = result.truth[name]
    rows = result.mse[result.mse["design"] == name].set_index("method")
    effects = result.effects[result.effects["design"] == name].set_index("method")
    parts = [f"**{DESIGN_QUESTIONS[name]}** {truth.n_runs} trained run(s) x {truth.n_tests} test examples."]
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
    refused = [m for (m, d) in result.refusals if d == name]
    if refused:
        parts.append(f"Refused: {', '.join(refused)} (no parameters, gradients or scores for the examples of this "
                     f"design; the table of refusals says which).")
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


def webnlg_reason() -> str:
    """Why there is no WebNLG design: the paper-size WebNLG collection's state, in one sentence."""
    config = collection_config("paper_size", "webnlg")
    done = committed("paper_size/webnlg").finished_runs_of(config)
    return (f"WebNLG is not in this chapter: its paper-size collection has {done} of {config.runs.total} runs "
            f"collected, and the designs are compared on paper-size collections only.")


def facts(result: WhatIfResult) -> dict[str, object]:
    """The chapter's glued numbers: sizes, every design's trust verdict, and each (design, method)'s scores."""
    out: dict[str, object] = {
        "whatif_scale": result.source_scale, "whatif_regime": get_scale(result.source_scale).label,
        "whatif_designs": len(DESIGNS),
        "whatif_trained": sum(t.n_runs for t in result.truth.values()),
        "whatif_planned": len(result.designs), "whatif_missing": sum(result.missing.values()),
        "whatif_held_out": result.n_held_out, "whatif_repeated_id": result.repeated_id,
        "whatif_repeated_loss": float(result.difficulty.get(result.repeated_id, np.nan)),
        "whatif_difficulty_low": float(min(result.difficulty.values())),
        "whatif_difficulty_high": float(max(result.difficulty.values())),
        "whatif_webnlg": webnlg_reason(),
    }
    for name in DESIGNS:
        key = name.replace(" ", "_")
        out[f"whatif_{key}_trust"] = trusted(result, name) if name in result.truth else "not trained yet"
        out[f"whatif_{key}_runs"] = result.truth[name].n_runs if name in result.truth else 0
    for _, row in result.mse.iterrows():
        key = f"whatif_{row['design'].replace(' ', '_')}_{_method_key(row['method'])}"
        out[f"{key}_mse"] = float(row["mse"])
        if row["method"] != REFERENCE:
            out[f"{key}_verdict"] = str(row["verdict"])
        if isinstance(row.get("gpt_verdict"), str):
            out[f"{key}_vs_gpt"] = row["gpt_verdict"]
    for _, row in result.effects.iterrows():
        key = f"whatif_{row['design'].replace(' ', '_')}_{_method_key(row['method'])}"
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
    """One row per (method, design) a method could not simulate, with its reason (first sentence)."""
    return pd.DataFrame([{"design": d, "method": m, "why": why.split(": ids")[0]}
                         for (m, d), why in result.refusals.items()], columns=["design", "method", "why"])
