"""The reader's scoreboard: each claim of the papers, the paper's figure, ours with its interval and n, and the verdict.

Each row reads the values its chapter glued when it was executed (`lib.book_glue.glued_values` of the executed
notebook), so the intro computes nothing twice and types no number: a chapter not executed in this build, or a
claim its chapter does not (yet) test, reads "pending" with the reason. The intro must therefore be executed after
the chapters it reads (see `CHAPTERS_DIR`).
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from lib.book_glue import glued_values
from lib.experiments.store import has_config, progress
from lib.paths import REPO_ROOT

CHAPTERS_DIR = {"default": "book/notebooks", "smoke": "build/smoke-book/notebooks",
                "paper_size": "build/paper-book/notebooks", "full_fine_tuning": "build/full-fine-tuning-book/notebooks"}
"""Where each scale's book is built (relative to the repository): the intro reads the chapters there when the runner
does not say (`chapters_dir`)."""
VERDICTS = ("holds", "does not hold", "undecided", "not testable", "pending")
UNDER_REDESIGN = "pending (chapter under redesign)"
NOT_EXECUTED = "pending (chapter not executed in this build)"


@dataclass(frozen=True)
class Claim:
    """One claim of the papers and where the book tests it: the chapter (notebook stem), the glue-key prefix of its
    `comparisons.claim_facts` (or another key for the verdict), and the glued text of the paper's figure."""

    claim: str
    chapter: str
    key: str | None            # prefix of {key}_claim / _diff / _interval / _n; None: not tested yet
    paper: str                 # a template over the chapter's glued values, e.g. "MSE {t2_red_mse_paper}"
    source: str                # the paper's table or figure
    verdict_key: str | None = None  # a glued verdict that is not a claim_facts one
    ours: str | None = None    # a template of ours when `key` is None


CLAIMS: tuple[Claim, ...] = (
    Claim("GPTfluence simulates the loss better than Simfluence (instruction tuning)", "03_loss_simulation", "t1_gs",
          "lower MSE on {t1_wins_mse_paper} tasks", "GPTfluence Table 1 (Pythia-410M)"),
    Claim("GPTfluence simulates the loss better than Simfluence (fine-tuning)", "03_loss_simulation", "t2_gs",
          "average MSE {t2_red_mse_paper}", "GPTfluence Table 2"),
    Claim("GPTfluence simulates the loss better than TracIn-CP (instruction tuning)", "03_loss_simulation", "t1_gt",
          "best of five methods in {t1_cells_paper} cells", "GPTfluence Table 1 (Pythia-410M)"),
    Claim("GPTfluence simulates the loss better than Grad-Dot (instruction tuning)", "03_loss_simulation", "t1_gd",
          "best of five methods in {t1_cells_paper} cells", "GPTfluence Table 1 (Pythia-410M)"),
    Claim("GPTfluence simulates BLEU better than Simfluence (instruction tuning)", "04_metric_simulation",
          "t3_gs_bleu", "average MSE {t3_red_mse_bleu_paper}", "GPTfluence Table 3 (Pythia-410M)"),
    Claim("GPTfluence simulates ROUGE-L better than Simfluence (instruction tuning)", "04_metric_simulation",
          "t3_gs_rougeL", "average MSE {t3_red_mse_rougeL_paper}", "GPTfluence Table 3 (Pythia-410M)"),
    Claim("GPTfluence simulates BLEU better than Simfluence (fine-tuning)", "04_metric_simulation", "t4_gs_bleu",
          "average MSE {t4_red_mse_bleu_paper}", "GPTfluence Table 4"),
    Claim("GPTfluence simulates ROUGE-L better than Simfluence (fine-tuning)", "04_metric_simulation",
          "t4_gs_rougeL", "average MSE {t4_red_mse_rougeL_paper}", "GPTfluence Table 4"),
    Claim("GPTfluence beats the curriculum-blind reference (fine-tuning loss; not a paper claim)",
          "03_loss_simulation", "t2_gr", "not reported", "-"),
    Claim("GPTfluence simulates runs with unseen data; Simfluence cannot", "06_unseen_data", None,
          "simulates every scenario", "GPTfluence Tables 11, 12", verdict_key="unseen_structural",
          ours="Simfluence refused {unseen_sim_refused_count} of 3 unseen scenarios"),
    Claim("Unseen training data is simulated better than unseen test data (Spearman)", "06_unseen_data", "unseen_claim_tt_rho",
          "Spearman {unseen_paper_rho_train} against {unseen_paper_rho_test} on RTE", "GPTfluence Table 11", verdict_key="unseen_claim_train_easier"),
    Claim("Fixing the mislabels GPTfluence ranks first gives a more accurate classifier than TracIn-CP's",
          "07_mislabels", "mislabel", "higher test accuracy after fixing and retraining, especially early (curves)",
          "GPTfluence Fig 7"),
    Claim("Fixing the mislabels GPTfluence ranks first gives a more accurate classifier than random checking",
          "07_mislabels", "mislabel_random", "higher test accuracy after fixing and retraining (curves)",
          "GPTfluence Fig 7"),
    Claim("Denser checkpoints help GPTfluence (every step against the sparsest interval)", "05_ablations",
          "interval_dense", "MSE rises and Spearman falls as the interval grows (curves, no values printed)",
          "GPTfluence Fig 3"),
    Claim("A higher Markov order helps GPTfluence (highest order against order 1, loss)", "05_ablations",
          "order_high", "RTE: Spearman {order_paper_rte_rho_first} at n = 1, {order_paper_rte_rho_last} at n = "
          "{order_paper_max}; MSE {order_paper_rte_mse_first} and {order_paper_rte_mse_last}",
          "GPTfluence Fig 4, Table 10"),
    Claim("GPTfluence beats Simfluence on larger GPTs too (model size; ours: the largest GPT here)", "05_ablations",
          "size_gs", "better at every size from 14M to 2.8B (curves; Table 1 for 410M, 1B, 2.8B)",
          "GPTfluence Fig 6"),
)
"""The papers' claims the scoreboard lists, in the book's order."""

COUNTERPARTS: tuple[tuple[str, str, str], ...] = (
    ("Table 12, unseen data in instruction tuning", "mixture_unseen",
     "not collected: the instruction-tuning mixture is the costliest collection here, and an unseen-data variant "
     "would cost as much again"),
    ("Table 11's unseen data on BLEU / ROUGE-L (WebNLG)", "webnlg_unseen", "no collection at this scale"),
    ("Table 11's unseen data on RTE", "rte_unseen", "no collection at this scale"),
)
"""Counterparts of the papers' tables that need a collection of their own: (what, collection, why when the scale has
no config for it)."""


def missing_counterparts(scale: str, data_dir=None) -> str:
    """The sentence listing the COUNTERPARTS this scale does not have yet, each with its reason or its runs collected
    (or saying that it has them all)."""
    parts = []
    for what, name, why in COUNTERPARTS:
        if not has_config(scale, name):
            parts.append(f"{what} ({why})")
        elif not (state := progress(scale, name, data_dir)).complete:
            parts.append(f"{what} (its collection: {state.runs_text})")
    return (f"Not yet here: {'; '.join(parts)}." if parts else
            "Every counterpart that needs a collection of its own is here.")


def chapter_values(folder: str | Path, chapter: str) -> dict[str, object] | None:
    """The values chapter `chapter` glued in its executed notebook under `folder` (None when it is not there)."""
    path = Path(folder) if Path(folder).is_absolute() else REPO_ROOT / folder
    notebook = path / f"{chapter}.ipynb"
    if not notebook.exists():
        return None
    values = {}
    for name, data in glued_values(json.loads(notebook.read_text())).items():
        text = data.get("text/plain", "")
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    return values


def _fill(template: str, values: Mapping[str, object]) -> str:
    try:
        return template.format(**values)
    except KeyError as err:
        return f"pending (the chapter glued no {err.args[0]})"


def row(claim: Claim, values: Mapping[str, object] | None) -> dict[str, str]:
    """One scoreboard row: claim, the paper's figure, ours ('difference [interval], n', and the chapter's reason
    when there is no verdict), the verdict, the chapter."""
    out = {"claim": claim.claim, "paper": "", "source": claim.source, "ours": "", "verdict": "pending",
           "chapter": claim.chapter}
    if claim.key is None and claim.verdict_key is None:
        out["verdict"] = UNDER_REDESIGN
        return out
    if values is None:
        out["verdict"] = NOT_EXECUTED
        return out
    out["paper"] = _fill(claim.paper, values)
    if claim.key is not None and f"{claim.key}_diff" in values:
        n = f", {values[f'{claim.key}_n']}" if f"{claim.key}_n" in values else ""
        if values[f"{claim.key}_diff"] == "n/a" and values.get(f"{claim.key}_n", "n/a") == "n/a":
            out["ours"] = str(values.get(f"{claim.key}_why") or "not computed")  # e.g. its collections incomplete
            out["verdict"] = str(values.get(f"{claim.key}_claim", "not testable"))
            return out
        if values[f"{claim.key}_diff"] == "n/a" and f"{claim.key}_flat" in values:
            out["ours"] = f"{values[f'{claim.key}_flat']} of the true trajectories flat{n}"
        else:
            out["ours"] = f"{values[f'{claim.key}_diff']} {values.get(f'{claim.key}_interval', '')}{n}"
        if values.get(f"{claim.key}_why"):  # why there is no verdict (e.g. one held-out run), as the chapter says
            out["ours"] += f". {values[f'{claim.key}_why']}"
    elif claim.ours is not None:
        out["ours"] = _fill(claim.ours, values)
    verdict = values.get(claim.verdict_key or f"{claim.key}_claim", "pending (the chapter glued no verdict)")
    out["verdict"] = str(verdict)
    return out


def scoreboard(folder: str | Path) -> pd.DataFrame:
    """Every claim of CLAIMS read from the chapters executed under `folder`."""
    cache: dict[str, dict | None] = {}
    rows = []
    for claim in CLAIMS:
        if claim.chapter not in cache:
            cache[claim.chapter] = chapter_values(folder, claim.chapter)
        rows.append(row(claim, cache[claim.chapter]))
    return pd.DataFrame(rows)


def as_markdown(board: pd.DataFrame) -> str:
    """The scoreboard as a Markdown table whose chapter cells link to the chapters (to those executed in this build:
    a book built from some chapters only has no page to link to for the others)."""
    lines = ["| claim | paper | ours: difference [95% interval], n | verdict | chapter |", "|---|---|---|---|---|"]
    for _, r in board.iterrows():
        paper = f"{r['paper']} ({r['source']})" if r["paper"] else r["source"]
        name = r["chapter"][3:].replace("_", " ")
        chapter = name if r["verdict"] == NOT_EXECUTED else f"[{name}]({r['chapter']}.ipynb)"
        lines.append(f"| {r['claim']} | {paper} | {r['ours'] or '-'} | **{r['verdict']}** | {chapter} |")
    return "\n".join(lines)


def counts(board: pd.DataFrame) -> dict[str, int]:
    """How many claims hold, do not hold, are undecided, not testable or pending (any 'pending ...')."""
    verdicts = board["verdict"].map(lambda v: "pending" if v.startswith("pending") else v)
    return {f"board_{v.replace(' ', '_')}": int((verdicts == v).sum()) for v in VERDICTS} | {"board_claims": len(board)}
