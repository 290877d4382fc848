"""What simulating costs (GPTfluence Table 13, Figure 9): latency per simulated sample, FLOPs, convergence, collection.

A *simulated sample* is one trajectory: one held-out run x one test example. Latency is measured on the fitted
simulators of `simulate_methods` (a few repeats, median); FLOPs are counted analytically from the shapes the
simulators work with, in one convention for every method: a multiply-add is 2 FLOPs, an addition or a
multiplication 1, table lookups, ReLU and copies 0. `run(scale, collection)` measures all of it into a
`CostResult`; `facts(result)` is what the chapter glues.

EK-FAC and TRAK (lib/attribution) are not simulators fitted here: their scores were computed once per held-out run of
the paper-size top-block collections and stored with the timings of that computation. `attribution_cost` reads those
timings (wall seconds of fitting and scoring, the process's CPU seconds, the machine load where recorded) beside the
seconds the collector spent on the same runs' gradient dot products, which TracIn-CP and Grad-Dot consume.
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from lib.attribution.store import load_scores, load_self_scores
from lib.collect import StoredCollection
from lib.data import get_task
from lib.dynamics import Dynamics
from lib.experiments.settings import ATTRIBUTION_REGIME, gptfluence_config
from lib.experiments.simulation import SimulationResult, per_trajectory_seconds, simulate_methods
from lib.experiments.store import stored
from lib.experiments.wording import fmt, published, ratio_phrase, sci
from lib.models import load_causal_lm
from lib.paths import REPO_ROOT
from lib.paper import paper_rows
from lib.scales import PAPER_SIZE_COLLECTIONS, REGIMES
from lib.simulators import GPTfluenceConfig

COST_METHODS = ("Simfluence", "GPTfluence", "TracIn-CP (10 ckpts)", "TracIn-CP (all steps)", "Grad-Dot")
GRADIENT_METHODS = ("TracIn-CP (10 ckpts)", "TracIn-CP (all steps)", "Grad-Dot")
PAPER_METHOD = {"TracIn-CP (10 ckpts)": "TracIn-CP", "TracIn-CP (all steps)": "TracIn-CP"}
"""Our method name -> the paper's Table 13 row (it reports one TracIn-CP row, Grad-Dot none)."""


# ---------------------------------------------------------------------------------------------------- FLOPs


def mlp_flops(dim: int, hidden: int) -> int:
    """One 2-layer tower (dim -> hidden -> ReLU -> hidden) on one vector: two matrix-vector products and two biases."""
    return 2 * dim * hidden + hidden + 2 * hidden * hidden + hidden


def gptfluence_flops(steps: int, batch: int, dim: int, hidden: int, order: int = 1) -> dict[str, int]:
    """FLOPs of one GPTfluence trajectory computed on its own (nothing shared with other trajectories).

    K = order + 1 towers (order multiplicative factors, one additive). Per step: project the batch's `batch`
    embeddings through the K towers, sum them over the batch (K (batch - 1) hidden additions), one
    bilinear product with the test-side projection per factor (K (2 hidden - 1)) and the recurrence
    (order multiply-adds = 2 order, the additive factor included). Once per trajectory: project the test
    embedding through the K towers. The frozen encoder's embeddings are precomputed and not counted.
    """
    k = order + 1
    project = k * mlp_flops(dim, hidden)
    per_step = batch * project + k * (batch - 1) * hidden + k * (2 * hidden - 1) + 2 * order
    return {"per step": per_step, "per trajectory": steps * per_step + project, "once": project}


def gptfluence_flops_shared(steps: int, batch: int, dim: int, hidden: int, order: int, pool: int, runs: int,
                            tests: int) -> int:
    """FLOPs per trajectory as our vectorized simulator spends them: the `pool` training and `tests` test embeddings
    are projected once for all `runs` x `tests` trajectories; the batch sums per (run, step), the bilinear
    products and the recurrence per trajectory and step."""
    k = order + 1
    project = k * mlp_flops(dim, hidden)
    shared = (pool + tests) * project + runs * steps * k * (batch - 1) * hidden
    own = steps * (k * (2 * hidden - 1) + 2 * order)
    return int(round(shared / (runs * tests))) + own


def simfluence_flops(steps: int, batch: int) -> dict[str, int]:
    """FLOPs of one Simfluence trajectory: per step, look up the batch's A_i and B_i (free), sum each over the batch
    (2 (batch - 1) additions) and apply y_t = alpha y_{t-1} + beta (one multiply-add)."""
    per_step = 2 * (batch - 1) + 2
    return {"per step": per_step, "per trajectory": steps * per_step, "once": 0}


def grad_dot_flops(train_tokens: float, test_tokens: float, vocab: int, d_model: int) -> float:
    """LM-head gradient dot product of one training and one test example, as `lib.collect.gradients.grad_dots`
    computes it: for every pair of target tokens, delta_a . delta'_b (2 V - 1) and h_a . h'_b (2 d - 1), their
    product (1) and the weighted pooling into the example pair (2): n n' (2 V + 2 d + 1)."""
    return float(train_tokens * test_tokens * (2 * vocab + 2 * d_model + 1))


def tracin_flops(steps: int, batch: int, setting: str, *, subset: int, checkpoints: int, train_tokens: float,
                 test_tokens: float, vocab: int, d_model: int) -> dict[str, float]:
    """FLOPs of one TracIn-CP / Grad-Dot trajectory.

    "simulator": what the rollout itself does per trajectory: per step, sum the batch's `batch` dot products
    (batch - 1), times the learning rate and sigma (2), added to y_{t-1} (1).
    "gradient dot products": the dot products the rollout consumes, computed during collection:
    "all" one per (step, batch example); "ckpt10" every example of the run's subset at each of the
    `checkpoints` checkpoints; "final" every subset example once, at the final model.
    """
    pair = grad_dot_flops(train_tokens, test_tokens, vocab, d_model)
    pairs = {"all": steps * batch, "ckpt10": checkpoints * subset, "final": subset}
    if setting not in pairs:
        raise ValueError(f"setting must be one of {sorted(pairs)}, got {setting!r}")
    simulator = steps * ((batch - 1) + 3)
    dots = pairs[setting] * pair
    return {"simulator": float(simulator), "gradient dot products": dots, "per trajectory": simulator + dots}


def gpt_forward_flops(parameters: int, tokens: float) -> float:
    """The usual 2 x parameters FLOPs per token of a forward pass (attention's sequence-length term left out)."""
    return 2.0 * parameters * tokens


@dataclass(frozen=True)
class CostShapes:
    """Everything the FLOP counts depend on, read from a collection, its GPT and the simulators' settings."""

    steps: int
    batch: int
    subset: int          # training examples per run
    pool: int            # distinct training examples the simulator projects
    runs: int            # held-out runs simulated together
    tests: int
    checkpoints: int     # TracIn-CP's saved checkpoints per run
    encoder_dim: int
    hidden: int
    order: int
    vocab: int
    d_model: int
    gpt_parameters: int
    train_tokens: float  # mean target tokens of a training example (the tokens the loss is taken on)
    test_tokens: float   # mean target tokens of a test example
    subset_tokens: float  # all tokens of a run's subset (one forward of the subset)


def flop_table(shapes: CostShapes) -> pd.DataFrame:
    """One row per method: FLOPs per simulated step and per trajectory (simulator alone), the gradient dot products
    a gradient method consumes, GPT forward passes it needs beyond training (per run, shared by all test examples),
    and how each was counted."""
    s = shapes
    gpt = gptfluence_flops(s.steps, s.batch, s.encoder_dim, s.hidden, s.order)
    sim = simfluence_flops(s.steps, s.batch)
    rows = [
        {"method": "Simfluence", "per step": sim["per step"], "per trajectory": sim["per trajectory"],
         "per trajectory, shared work amortized": sim["per trajectory"], "gradient dot products": 0.0,
         "GPT forwards per run": 0.0,
         "how counted": "per step: look up A_i, B_i of the batch (free), two batch sums, one multiply-add"},
        {"method": "GPTfluence", "per step": gpt["per step"], "per trajectory": gpt["per trajectory"],
         "per trajectory, shared work amortized": gptfluence_flops_shared(s.steps, s.batch, s.encoder_dim, s.hidden,
                                                                           s.order, s.pool, s.runs, s.tests),
         "gradient dot products": 0.0, "GPT forwards per run": 0.0,
         "how counted": f"per step: {s.order + 1} towers on each of the {s.batch} batch embeddings, batch sums, "
                        f"bilinear products, recurrence; once: towers on the test embedding (encoder not counted)"},
    ]
    for method, setting, forwards in (("TracIn-CP (10 ckpts)", "ckpt10", s.checkpoints),
                                      ("TracIn-CP (all steps)", "all", 0), ("Grad-Dot", "final", 1)):
        t = tracin_flops(s.steps, s.batch, setting, subset=s.subset, checkpoints=s.checkpoints,
                         train_tokens=s.train_tokens, test_tokens=s.test_tokens, vocab=s.vocab, d_model=s.d_model)
        how = {"ckpt10": f"dot products of the {s.subset} subset examples at {s.checkpoints} checkpoints; "
                         f"a forward of the subset at each",
               "all": "dot products of the batch at every step, from the training forward (no extra forward)",
               "final": f"dot products of the {s.subset} subset examples at the final model; one forward"}[setting]
        rows.append({"method": method, "per step": t["simulator"] / s.steps, "per trajectory": t["simulator"],
                     "per trajectory, shared work amortized": t["simulator"],
                     "gradient dot products": t["gradient dot products"],
                     "GPT forwards per run": gpt_forward_flops(s.gpt_parameters, s.subset_tokens) * forwards,
                     "how counted": "rollout: batch sum, x lr, x sigma, add; " + how})
    table = pd.DataFrame(rows).set_index("method")
    for column in ("per step", "per trajectory", "per trajectory, shared work amortized", "gradient dot products",
                   "GPT forwards per run"):
        table[column] = table[column].astype(float)
    return table


# ---------------------------------------------------------------------------------------------------- latency


def latency_table(result: SimulationResult, *, repeats: int = 3, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per method: seconds per simulated trajectory of the held-out runs.

    "first call" is the timing of `simulate_methods` (it includes one-time work such as embedding new texts);
    "median" and "min" re-run the fitted simulator's `simulate` on the same runs `repeats` times.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    methods = list(methods or result.simulators)
    missing = [m for m in methods if m not in result.simulators]
    if missing:
        raise ValueError(f"methods {missing} were not simulated; have {sorted(result.simulators)}")
    n = result.truth.n_runs * result.truth.n_tests
    first = per_trajectory_seconds(result)
    rows = []
    for method in methods:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result.simulators[method].simulate(result.truth)
            times.append((time.perf_counter() - start) / n)
        rows.append({"method": method, "trajectories": n, "first call": float(first[method]),
                     "median": float(statistics.median(times)), "min": float(min(times)), "repeats": repeats,
                     "fit seconds": float(result.fit_seconds[method])})
    return pd.DataFrame(rows).set_index("method")


def collection_cost(timings: pd.DataFrame, steps: int) -> pd.DataFrame:
    """Seconds per training step of a collection's runs (`StoredCollection.timings()`, `steps` per run), with and
    without gradient recording (mean over runs): training, evaluation of the test examples, gradient dot products,
    and the whole run (wall / steps)."""
    rows = []
    for recorded, group in timings.groupby("gradients"):
        rows.append({"runs": "recording gradients" if recorded else "without gradients", "n runs": len(group),
                     "train s/step": float(group["train_seconds"].mean() / steps),
                     "eval s/step": float(group["eval_seconds"].mean() / steps),
                     "gradient s/step": float(group["gradient_seconds"].mean() / steps),
                     "wall s/step": float(group["wall_seconds"].mean() / steps),
                     "wall s/run": float(group["wall_seconds"].mean())})
    return pd.DataFrame(rows).set_index("runs")


def gradient_seconds_per_trajectory(timings: pd.DataFrame, tests: int) -> float:
    """Gradient-recording seconds of a recording run (`StoredCollection.timings()`) divided by its `tests` test
    examples (mean over recording runs).

    The collector records the "all", "ckpt10" and "final" dot products (and self-influence) in one pass, so
    this is the cost of all of them together: an upper bound for any one gradient method.
    """
    recording = timings[timings["gradients"]]
    if recording.empty:
        raise ValueError("no run of this collection recorded gradients")
    return float(recording["gradient_seconds"].mean() / tests)


def latency_with_recording(latency: pd.DataFrame, gradient_s_per_trajectory: float) -> pd.Series:
    """Median simulation seconds per trajectory, plus for the gradient methods the recording share they depend on."""
    extra = pd.Series([gradient_s_per_trajectory if m in GRADIENT_METHODS else 0.0 for m in latency.index],
                      index=latency.index)
    return latency["median"] + extra


def with_paper_cost(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Our latency and FLOPs beside the paper's Table 13 (`paper_rows(table=13)`), one row per our method.

    ours: index method, columns "latency" (s per trajectory) and "flops" (per trajectory).
    """
    wide = paper.pivot_table(index="method", columns="metric", values="value", aggfunc="first")
    rows = []
    for method in ours.index:
        name = PAPER_METHOD.get(method, method)
        has = name in wide.index
        rows.append({"method": method, "latency (s/sample), ours": float(ours.loc[method, "latency"]),
                     "latency (s/sample), paper": float(wide.loc[name, "latency_s_per_sample"]) if has else np.nan,
                     "FLOPs, ours": float(ours.loc[method, "flops"]),
                     "FLOPs, paper": float(wide.loc[name, "flops"]) if has else np.nan})
    return pd.DataFrame(rows).set_index("method")


def convergence(history: pd.DataFrame, best_epoch: int) -> dict[str, float]:
    """Summary of a GPTfluence `history_`: epochs run, the epoch it kept (`best_epoch_`), first and kept validation
    MSE, seconds.

    The kept epoch is the simulator's own choice (fewest diverged validation rollouts first, then the all-steps
    MSE of the others), which need not be the epoch of the lowest all-steps MSE of all rollouts.
    """
    needed = {"epoch", "train_mse", "val_mse", "seconds"}
    if not needed <= set(history.columns) or history.empty:
        raise ValueError(f"history needs rows with columns {sorted(needed)}, got {list(history.columns)}")
    kept = history.index[history["epoch"] == best_epoch]
    if not len(kept):
        raise ValueError(f"best_epoch {best_epoch} is not an epoch of the history (1..{int(history['epoch'].max())})")
    best = kept[0]
    return {"epochs": float(history["epoch"].iloc[-1]), "best epoch": float(best_epoch),
            "first val mse": float(history["val_mse"].iloc[0]), "best val mse": float(history["val_mse"].loc[best]),
            "lowest val mse": float(history["val_mse"].min()),
            "first train mse": float(history["train_mse"].iloc[0]),
            "last train mse": float(history["train_mse"].iloc[-1]),
            "seconds": float(history["seconds"].iloc[-1]),
            "seconds per epoch": float(history["seconds"].iloc[-1] / len(history))}


def cost_shapes(result: SimulationResult, dyn: Dynamics, examples: pd.DataFrame, *, hidden: int, order: int,
                encoder_dim: int, model=None, tokenizer=None) -> CostShapes:
    """The shapes of `flop_table` for a collection: its runs and batches, the simulators' sizes, and the GPT's
    vocabulary, width, parameters and target-token counts of its `examples` (`StoredCollection.examples()`; the
    GPT is loaded by name unless given)."""
    cfg = dyn.config
    if model is None or tokenizer is None:
        model, tokenizer = load_causal_lm(cfg["model"]["name"])
    head = model.get_output_embeddings().weight
    has_eos = tokenizer.eos_token_id is not None

    def target_tokens(frame: pd.DataFrame) -> np.ndarray:  # as lib.collect.encoding: EOS after generation targets
        return np.array([len(tokenizer(t, add_special_tokens=False)["input_ids"])
                         + int(has_eos and get_task(task).kind == "generation")
                         for t, task in zip(frame["target"], frame["task"])])

    pool = examples[examples["role"] == "pool"]
    tests = examples[examples["role"] == "test"]
    prompt_tokens = np.array([len(tokenizer(p, add_special_tokens=True)["input_ids"]) for p in pool["prompt"]])
    pool_targets = target_tokens(pool)
    subset = int(cfg["training"]["subset_size"])
    return CostShapes(
        steps=dyn.n_steps, batch=dyn.batch_size, subset=subset, pool=len(dyn.train_ids), runs=result.truth.n_runs,
        tests=dyn.n_tests, checkpoints=int(cfg.get("gradients", {}).get("checkpoints", 10)), encoder_dim=encoder_dim,
        hidden=hidden, order=order, vocab=int(head.shape[0]), d_model=int(head.shape[1]),
        gpt_parameters=int(sum(p.numel() for p in model.parameters())),
        train_tokens=float(pool_targets.mean()), test_tokens=float(target_tokens(tests).mean()),
        subset_tokens=float(subset * (prompt_tokens + pool_targets).mean()))


# ---------------------------------------------------------------------------------------------------- EK-FAC, TRAK

def _dynamics_root(root: str | os.PathLike | None) -> Path:
    """The folder collection folders are under: `root`, or the committed dynamics."""
    return Path(root) if root is not None else REPO_ROOT / "data" / "dynamics"


def attribution_collections(root: str | os.PathLike | None = None) -> list[str]:
    """The collections of ATTRIBUTION_REGIME under `root` (default: the committed dynamics) that have stored EK-FAC or
    TRAK results (an `attribution/` folder), as '<folder>/<name>', in the order of PAPER_SIZE_COLLECTIONS (others
    after, by name)."""
    regime = REGIMES[ATTRIBUTION_REGIME].folder
    found = sorted(p.parent.name for p in (_dynamics_root(root) / regime).glob("*/attribution") if p.is_dir())
    order = {p.name: k for k, p in enumerate(PAPER_SIZE_COLLECTIONS)}
    return [f"{regime}/{n}" for n in sorted(found, key=lambda n: (order.get(n, len(order)), n))]
ATTRIBUTION_NAMES = {"ekfac": "EK-FAC", "trak": "TRAK"}
GRADIENT_ROW = "TracIn-CP / Grad-Dot"
"""The row of the gradient dot products the collector records (every setting of both methods in one pass)."""
NOT_RECORDED = "not recorded"


def attribution_timings(folder: str | os.PathLike) -> pd.DataFrame:
    """One row per stored EK-FAC / TRAK result of a collection folder (pairwise scores and self-influence): what it
    scored, wall seconds of the fit and of the scoring, of the run's replay, the process's CPU seconds over fit and
    scoring (NaN where not recorded), its torch threads, and the 1-minute load average when the result was written
    (NaN where not recorded)."""
    rows = []
    for method, name in ATTRIBUTION_NAMES.items():
        for kind, results in (("pairwise", load_scores(folder, method)),
                              ("self-influence", load_self_scores(folder, method))):
            for run, r in results.items():
                scored = (f"{len(r.train_ids)} train x {len(r.test_ids)} tests" if kind == "pairwise"
                          else f"{len(r.ids)} pool examples, each on itself")
                load = r.info.get("machine_load", {}).get("load_average_1_5_15")
                parameters = r.info.get("tracked_parameters", r.info.get("parameters"))
                rows.append({"method": name, "kind": kind, "run": int(run), "scored": scored, "parameters": parameters,
                             "fit": float(r.seconds["fit"]), "score": float(r.seconds["score"]),
                             "replay": float(r.seconds.get("replay", np.nan)),
                             "cpu": float(r.info.get("cpu_seconds", np.nan)), "threads": r.info.get("threads"),
                             "load": float(load[0]) if load else np.nan})
    return pd.DataFrame(rows, columns=["method", "kind", "run", "scored", "parameters", "fit", "score", "replay", "cpu",
                                       "threads", "load"])


def _spread(values: Sequence[float]) -> str:
    """'median [min, max] (n k)' of the finite values, NOT_RECORDED when there is none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return NOT_RECORDED
    return f"{fmt(np.median(v))} [{fmt(v.min())}, {fmt(v.max())}] (n {v.size})"


def attribution_cost(folders: Sequence[str] | None = None, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Per collection, method and kind: runs, what was scored, and the median [min, max] over runs of wall seconds
    (fit, scoring, the run's replay), CPU seconds and CPU share (CPU / wall of fit and scoring: below 1 the process
    waited for the CPU), and the load average; beside them, per collection with pairwise scores, the collector's
    wall seconds of gradient dot products in the same held-out runs (TracIn-CP's and Grad-Dot's inputs). `root`:
    the folder the collection folders are under (default: the committed dynamics). `folders` None: every collection
    with stored results (`attribution_collections`)."""
    base = _dynamics_root(root)
    rows = []
    for name in attribution_collections(root) if folders is None else folders:
        folder = base / name
        timings = attribution_timings(folder)
        for (method, kind), group in timings.groupby(["method", "kind"], sort=False):
            wall = group["fit"] + group["score"]
            rows.append({"collection": name, "method": method, "kind": kind, "runs": len(group),
                         "scored": group["scored"].iloc[0], "parameters": f"{int(group['parameters'].iloc[0]):,}",
                         "fit (s)": _spread(group["fit"]), "scoring (s)": _spread(group["score"]),
                         "wall (s)": _spread(wall), "CPU (s)": _spread(group["cpu"]),
                         "CPU share": _spread(group["cpu"] / wall), "replay (s)": _spread(group["replay"]),
                         "load average": _spread(group["load"])})
        if (timings["kind"] == "pairwise").any():
            held_out = timings.loc[timings["kind"] == "pairwise", "run"].unique()
            recorded = StoredCollection(folder).timings()
            recorded = recorded[recorded["gradients"] & recorded.index.isin(held_out)]
            rows.append({"collection": name, "method": GRADIENT_ROW, "kind": "gradient dot products, while training",
                         "runs": len(recorded), "scored": "every checkpoint's and step's dot products",
                         "parameters": "LM head", "fit (s)": "-", "scoring (s)": _spread(recorded["gradient_seconds"]),
                         "wall (s)": _spread(recorded["gradient_seconds"]),
                         "CPU (s)": NOT_RECORDED, "CPU share": NOT_RECORDED, "replay (s)": "-",
                         "load average": NOT_RECORDED})
    return pd.DataFrame(rows)


def attribution_display(table: pd.DataFrame) -> pd.DataFrame:
    """`attribution_cost` for the page: one row per collection and method (a collection's results are of one kind),
    CPU and wall seconds first, then their parts, the load, and what was scored."""
    shown = ["CPU (s)", "wall (s)", "fit (s)", "scoring (s)", "CPU share", "replay (s)", "load average", "runs",
             "scored", "parameters"]
    return table.assign(scored=table["kind"] + ": " + table["scored"]).set_index(["collection", "method"])[shown]


def attribution_facts(table: pd.DataFrame) -> dict[str, object]:
    """Glue keys `att_<collection>_<method>_<kind>_{cpu,wall,runs}` (collection: the folder's last part; kind:
    "pair" or "self"; the gradient dot products' `att_<collection>_grad_...`): CPU and wall seconds (fit + scoring)
    as median [min, max] (n) over the runs, and the runs; `att_load` says whether any row recorded the machine load."""
    out: dict[str, object] = {}
    kinds = {"pairwise": "pair", "self-influence": "self"}
    for r in table.to_dict("records"):
        method = {"EK-FAC": "ekfac", "TRAK": "trak", GRADIENT_ROW: "grad"}[r["method"]]
        key = f"att_{Path(r['collection']).name}_{method}" + (f"_{kinds[r['kind']]}" if method != "grad" else "")
        out.update({f"{key}_cpu": r["CPU (s)"], f"{key}_wall": r["wall (s)"], f"{key}_runs": int(r["runs"])})
    recorded = table["load average"] != NOT_RECORDED
    out["att_load"] = (f"recorded for {int(recorded.sum())} of {len(table)} rows" if recorded.any()
                       else "not recorded for any of these results (all were written before the stores recorded it)")
    return out


# ---------------------------------------------------------------------------------------------------- the chapter

SHORT_NAMES = {"sim": "Simfluence", "gpt": "GPTfluence", "tracin": "TracIn-CP (10 ckpts)",
               "tracin_all": "TracIn-CP (all steps)", "graddot": "Grad-Dot"}
"""The glue keys' short names of the methods timed."""
PAPER_SHAPES = {"steps": 96, "batch": 4, "dim": 384, "hidden": 384}
"""The paper's shapes (Table 7: batch 4, 96 steps; MiniLM 384-d features, 384-wide towers), to count our FLOPs at."""


@dataclass
class CostResult:
    """Everything the cost chapter shows of one collection."""

    dynamics: Dynamics
    timings: pd.DataFrame                # the collection's per-run timings
    simulation: SimulationResult         # COST_METHODS fitted and simulated
    gptfluence: GPTfluenceConfig
    repeats: int
    latency: pd.DataFrame                # latency_table plus "with gradient recording"
    gradient_s_per_trajectory: float
    shapes: CostShapes
    flops: pd.DataFrame                  # flop_table
    paper: pd.DataFrame                  # the paper's Table 13, wide: method x (latency_s_per_sample, flops)
    table13: pd.DataFrame                # with_paper_cost
    convergence: dict[str, float]        # of GPTfluence's history_ and its kept epoch best_epoch_
    simfluence_val_mse: float            # Simfluence's best validation MSE (closed form)
    collection: pd.DataFrame             # collection_cost


def run(scale: str, collection: str, *, encoder, repeats: int = 5,
        data_dir: str | os.PathLike | None = None) -> CostResult:
    """Fit and time every method of COST_METHODS on `collection`, count their FLOPs, and read the collection's cost."""
    recorded = stored(scale, collection, data_dir=data_dir)
    dyn = recorded.dynamics(require_complete=True)
    timings = recorded.timings()
    config = gptfluence_config(scale)
    result = simulate_methods(dyn, list(COST_METHODS), encoder=encoder, gptfluence=config)
    latency = latency_table(result, repeats=repeats, methods=list(COST_METHODS))
    grad_per_traj = gradient_seconds_per_trajectory(timings, dyn.n_tests)
    latency["with gradient recording"] = latency_with_recording(latency, grad_per_traj)
    shapes = cost_shapes(result, dyn, recorded.examples(), hidden=config.hidden, order=config.order,
                         encoder_dim=encoder.dim)
    flops = flop_table(shapes)
    paper13 = paper_rows(table=13)
    ours13 = pd.DataFrame({"latency": latency["with gradient recording"],
                           "flops": flops["per trajectory"] + flops["gradient dot products"]})
    return CostResult(
        dynamics=dyn, timings=timings, simulation=result, gptfluence=config, repeats=repeats, latency=latency,
        gradient_s_per_trajectory=grad_per_traj, shapes=shapes, flops=flops,
        paper=paper13.pivot_table(index="method", columns="metric", values="value", aggfunc="first"),
        table13=with_paper_cost(ours13, paper13), convergence=convergence(result.simulators["GPTfluence"].history_,
                                                          result.simulators["GPTfluence"].best_epoch_),
        simfluence_val_mse=float(min(result.simulators["Simfluence"].val_mse_.values())),
        collection=collection_cost(timings, dyn.n_steps))


def facts(result: CostResult) -> dict[str, object]:
    """Gluable facts of the cost chapter: latency, FLOPs (ours, the paper's, ours at the paper's shapes),
    GPTfluence's convergence, and what collecting costs per trajectory against simulating one."""
    truth, latency, flops, shapes, paper = result.simulation.truth, result.latency, result.flops, result.shapes, \
        result.paper
    out: dict[str, object] = {"n_traj": int(truth.n_runs * truth.n_tests), "n_runs": int(truth.n_runs),
                              "n_tests": int(truth.n_tests), "repeats": int(result.repeats)}
    for key, method in SHORT_NAMES.items():
        out[f"lat_{key}"] = sci(latency.loc[method, "median"])
        out[f"lat_rec_{key}"] = sci(latency.loc[method, "with gradient recording"])
        out[f"fit_{key}"] = fmt(latency.loc[method, "fit seconds"])
    out["grad_per_traj"] = sci(result.gradient_s_per_trajectory)
    out.update({"steps": int(shapes.steps), "batch": int(shapes.batch), "subset": int(shapes.subset),
                "ckpts": int(shapes.checkpoints), "vocab": int(shapes.vocab), "d_model": int(shapes.d_model),
                "train_tokens": fmt(shapes.train_tokens), "test_tokens": fmt(shapes.test_tokens),
                "enc_dim": int(shapes.encoder_dim), "hidden": int(shapes.hidden)})
    for key, method in SHORT_NAMES.items():
        out[f"fl_{key}"] = sci(flops.loc[method, "per trajectory"])
        out[f"fl_dots_{key}"] = sci(flops.loc[method, "gradient dot products"])
        out[f"fl_fwd_{key}"] = sci(flops.loc[method, "GPT forwards per run"])
    out["fl_gpt_shared"] = sci(flops.loc["GPTfluence", "per trajectory, shared work amortized"])
    for key, method in (("tracin", "TracIn-CP"), ("gpt", "GPTfluence"), ("sim", "Simfluence")):
        out[f"p_lat_{key}"] = published(paper.loc[method, "latency_s_per_sample"])
        out[f"p_fl_{key}"] = sci(paper.loc[method, "flops"])
    paper_gpt = gptfluence_flops(order=1, **PAPER_SHAPES)
    paper_sim = simfluence_flops(steps=PAPER_SHAPES["steps"], batch=PAPER_SHAPES["batch"])
    out.update({"pshape_gpt_step": sci(paper_gpt["per step"]), "pshape_gpt_traj": sci(paper_gpt["per trajectory"]),
                "pshape_sim_step": sci(paper_sim["per step"]), "pshape_sim_traj": sci(paper_sim["per trajectory"])})
    summary, sim_val, config = result.convergence, result.simfluence_val_mse, result.gptfluence
    out.update({"epochs": int(summary["epochs"]), "best_epoch": int(summary["best epoch"]),
                "first_val": fmt(summary["first val mse"]), "best_val": fmt(summary["best val mse"]),
                "lowest_val": fmt(summary["lowest val mse"]),
                "first_train": fmt(summary["first train mse"]), "last_train": fmt(summary["last train mse"]),
                "train_seconds": fmt(summary["seconds"]), "s_per_epoch": fmt(summary["seconds per epoch"]),
                "sim_val": fmt(sim_val), "val_compare": "lower" if summary["best val mse"] < sim_val else "higher",
                "stop_reason": f"it stopped after {config.patience} epochs without improvement"
                if summary["epochs"] < config.max_epochs else f"it ran all {config.max_epochs} epochs"})
    collect, timings = result.collection, result.timings
    recording = collect.loc["recording gradients"] if "recording gradients" in collect.index else None
    per_traj_collect = float(timings["wall_seconds"].mean() / result.dynamics.n_tests)
    gpt_latency = float(latency.loc["GPTfluence", "median"])
    out.update({
        "wall_step": fmt(collect["wall s/step"].max()), "eval_step": fmt(collect["eval s/step"].mean()),
        "train_step": fmt(collect["train s/step"].mean()),
        "grad_step": fmt(recording["gradient s/step"] if recording is not None else float("nan")),
        "run_seconds": fmt(timings["wall_seconds"].mean()),
        "collection_seconds": fmt(timings["wall_seconds"].sum()), "n_all_runs": int(len(timings)),
        "collect_per_traj": sci(per_traj_collect), "collect_vs_gpt": ratio_phrase(per_traj_collect, gpt_latency),
        "payoff": "a simulator pays off only when it is used for many more curricula than it was trained on."
        if per_traj_collect > gpt_latency else "at this scale simulating is not cheaper than recording."})
    return out
