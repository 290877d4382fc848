"""Whether two data regimes rank the methods alike: the verdicts of the same paired comparisons, read side by side.

A ranking is a set of paired verdicts (A better / worse than B, from the 95% interval of the difference). Two
regimes agree on a comparison only when both decide it the same way; opposite decisions disagree; a comparison
undecided (or without a verdict) in either regime is undecided, never agreement. `facts` says it in words.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from lib.experiments.comparisons import AVERAGE
from lib.experiments.settings import task_label
from lib.experiments.uncertainty import SHORT_REASONS
from lib.experiments.wording import join_words

DECIDED = ("better", "worse")
"""The verdicts that rank two methods; any other (undecided, not testable, not compared) leaves them unranked."""
FLIPPED = {"better": "worse", "worse": "better"}
AGREEMENTS = ("agrees", "disagrees", "undecided")


def agreement(here: str, there: str) -> str:
    """'agrees' when both verdicts decide the same way, 'disagrees' when they decide opposite ways, else 'undecided'."""
    if here in DECIDED and there in DECIDED:
        return "agrees" if here == there else "disagrees"
    return "undecided"


def _verdicts(differences: pd.DataFrame, a: str, b: str, column: str) -> dict[str, tuple[str, str]]:
    """group -> (verdict on a against b, reason) from a difference table holding (a, b) or (b, a)."""
    out = {}
    for _, row in differences.iterrows():
        if (row["A"], row["B"]) == (a, b):
            out[row[column]] = (row["verdict"], row.get("reason", "") or "")
        elif (row["A"], row["B"]) == (b, a):
            out[row[column]] = (FLIPPED.get(row["verdict"], row["verdict"]), row.get("reason", "") or "")
    return out


def agreement_table(here: pd.DataFrame, there: pd.DataFrame, pairs: Sequence[tuple[str, str]], *,
                    column: str = "task") -> pd.DataFrame:
    """Per pair (A, B) and group compared in both difference tables (`comparisons.difference_table` rows, verdict
    on A): the verdict here, the verdict there, their reasons, and whether they agree. Groups in `here`'s order; the
    average rows are left out, as each pools its own table's groups."""
    rows = []
    for a, b in pairs:
        mine, theirs = _verdicts(here, a, b, column), _verdicts(there, a, b, column)
        for group in [g for g in mine if g in theirs and g != AVERAGE]:  # an average pools each side's own tasks
            (v_here, r_here), (v_there, r_there) = mine[group], theirs[group]
            rows.append({column: group, "A": a, "B": b, "here": v_here, "here reason": r_here, "there": v_there,
                         "there reason": r_there, "agreement": agreement(v_here, v_there)})
    return pd.DataFrame(rows, columns=[column, "A", "B", "here", "here reason", "there", "there reason",
                                       "agreement"])


def overall(table: pd.DataFrame) -> str:
    """The rankings' agreement over every comparison: 'disagrees' if any decided pair disagrees, 'agrees' if every
    pair agrees, 'undecided' otherwise (some comparison is undecided in a regime); 'not compared' if none."""
    if table.empty:
        return "not compared"
    if (table["agreement"] == "disagrees").any():
        return "disagrees"
    return "agrees" if (table["agreement"] == "agrees").all() else "undecided"


def _verdict_text(verdict: str, reason: str) -> str:
    """'better', 'undecided (one run)'."""
    return verdict + (f" ({SHORT_REASONS.get(reason, reason)})" if reason else "")


ANSWERS = {"agrees": "yes, on every comparison", "disagrees": "no, on at least one decided comparison",
           "undecided": "undecided (a comparison one regime leaves undecided is no agreement)",
           "not compared": "not compared (no comparison was made in both regimes)"}
"""The overall agreement as the answer to "does the ranking of the methods agree between the regimes?"."""


def sentence(table: pd.DataFrame, here: str, there: str, *, column: str = "task") -> str:
    """The agreement in words (plain text, for glue): which comparisons both regimes made, how many agree, disagree
    or are undecided, and each comparison's two verdicts (on its first method)."""
    regimes = f"this chapter's regime ({here}) and the cross-check ({there})"
    if table.empty:
        return f"No comparison of methods was made on the same collection in both {regimes}."
    counts = table["agreement"].value_counts()
    against: dict[str, list[str]] = {}
    for a, b in zip(table["A"], table["B"]):
        against.setdefault(a, []).append(b)
    pairs = "; ".join(f"{a} against {join_words(bs)}" for a, bs in against.items())
    groups = join_words([task_label(g) for g in table[column]])
    each = "; ".join(f"{task_label(r[column])}, {r['A']} against {r['B']}: {_verdict_text(r['here'], r['here reason'])} "
                     f"here, {_verdict_text(r['there'], r['there reason'])} in the cross-check"
                     for _, r in table.iterrows())
    return (f"Both {regimes} compared {pairs} on {groups}: {len(table)} comparisons, each verdict on the first "
            f"method read from its 95% paired interval. The verdicts agree on {counts.get('agrees', 0)}, disagree on "
            f"{counts.get('disagrees', 0)} and are undecided in at least one regime on "
            f"{counts.get('undecided', 0)} ({each}).")


def facts(here: pd.DataFrame, there: pd.DataFrame | None, pairs: Sequence[tuple[str, str]], *, here_label: str,
          there_label: str, key: str = "rank") -> dict[str, object]:
    """Gluable facts: {key}_agreement (agrees / disagrees / undecided / not compared), {key}_answer (it as the answer
    to "does the ranking agree?"), {key}_counts ('1 agree, 0 disagree, 5 undecided of 6') and {key}_sentence
    (`sentence`). `there` None: nothing was compared (e.g. no cross-check section at this scale)."""
    table = agreement_table(here, pd.DataFrame(columns=["task", "A", "B", "verdict"]) if there is None else there,
                            pairs)
    counts = table["agreement"].value_counts()
    return {f"{key}_agreement": overall(table), f"{key}_answer": ANSWERS[overall(table)],
            f"{key}_counts": (f"{counts.get('agrees', 0)} agree, {counts.get('disagrees', 0)} disagree, "
                              f"{counts.get('undecided', 0)} undecided of {len(table)}"),
            f"{key}_sentence": sentence(table, here_label, there_label)}
