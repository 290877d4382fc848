"""How the book writes numbers and comparisons: every number, table cell and comparison phrase the chapters glue.

Formatting, one rule for every glued number and table cell (`number`): 3 significant figures, thousands separators
from 1,000 up (whole numbers, no decimals), scientific notation below 0.001. `fmt` and `sci` apply it to the text,
`cell` to a table cell "value (std)", `use_book_numbers` to every pandas table a notebook shows; `human_count` (135M).
Comparisons, all of which read "better" through `lib.metrics.LOWER_IS_BETTER`:
- exact: `compare_word` ("better" / "worse" / "equal"), `change_phrase` ("42% lower"), `verdict` ("holds on most
  tasks", read from win counts);
- within a relative tolerance (1%): `compared` ("better than" / "on par with"), `relative` ("higher" / "about the
  same"), `trend` ("rises" / "stays level");
- `ratio_phrase` ("320 times as much as") and `position_phrase` ("above" / "the same as", at the printed digits).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.metrics import LOWER_IS_BETTER

REL_TOL = 0.01
"""Two values within 1% of the second read as level / on par / about the same."""


def _finite(*values) -> bool:
    return all(v is not None and np.isfinite(v) for v in values)


SIGNIFICANT = 3
"""Significant figures of every number the book prints."""


def number(value) -> str:
    """The book's one number format: '0.851', '0.500', '12.3', '1,863' (whole from 1,000 up), '1.23e-05' (below
    0.001), '0'; integers as they are ('16', '1,024'); 'n/a' when missing, not a number or not finite."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not np.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    rounded = float(f"{value:.{SIGNIFICANT}g}")
    if abs(rounded) >= 1000:
        return f"{round(value):,}"
    if abs(rounded) < 1e-3:
        return f"{value:.{SIGNIFICANT - 1}e}"
    return f"{rounded:#.{SIGNIFICANT}g}".rstrip(".")


def published(value) -> str:
    """A paper's number without digits it did not publish: `number`, minus trailing zeros ('0.008', not '0.00800';
    '0.5', not '0.500'), so a value copied from a paper's table never reads more precise than printed."""
    text = number(value)
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fmt(value) -> str:
    """A number for the text, by the book's rule (`number`)."""
    return number(value)


def sci(value) -> str:
    """A number for the text that spans orders of magnitude (latencies, FLOPs): `number`, but scientific from a
    million up ('1.50e-05', '0.0314', '1.20', '32.0', '1.86e+06'), or 'n/a'."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if np.isfinite(value) and abs(value) >= 1e6:
        return f"{value:.{SIGNIFICANT - 1}e}"
    return number(value)


def cell(value: float | None, std: float | None = None, *, missing: str = "", paper: bool = False) -> str:
    """A table cell 'value (std)' by the book's rule (a paper's value with `published`); `missing` when value is
    not finite."""
    if not _finite(value):
        return missing
    write = published if paper else number
    return f"{write(value)} ({write(std)})" if _finite(std) else write(value)


def interval_text(low: float, high: float, *, missing: str = "n/a") -> str:
    """A 95% interval as '[-0.12, 0.0345]' by the book's rule, or `missing` when an end is not finite."""
    if not _finite(low, high):
        return missing
    return f"[{number(low)}, {number(high)}]"


def table_cell(value) -> str:
    """A Styler cell: numbers by `number`, anything else (text, a missing value's marker) as it is."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return number(value)
    return str(value)


def use_book_numbers() -> None:
    """Every pandas table a notebook shows (DataFrame and Styler) formats its floats by `number` and shows its text
    cells in full (no '...')."""
    pd.set_option("display.float_format", number)
    pd.set_option("styler.format.formatter", table_cell)
    pd.set_option("display.max_colwidth", None)


def human_count(count: float) -> str:
    """A parameter count as '135M', '1.2B', '4.5k' (3 significant digits)."""
    count = float(count)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= size:
            return f"{count / size:.3g}{unit}"
    return f"{count:.0f}"


# --- exact comparisons of scores -----------------------------------------------------------------------------


def compare_word(a: float, b: float, metric: str) -> str:
    """'better' / 'worse' / 'equal' for a against b on `metric` (lower errors, higher Spearman), or 'not comparable'."""
    if not _finite(a, b):
        return "not comparable"
    if a == b:
        return "equal"
    return "better" if (a < b) == LOWER_IS_BETTER[metric] else "worse"


def change_phrase(a: float, b: float) -> str:
    """a's value relative to b's as text: '42% lower', '122% higher', 'equal', or 'n/a'; beyond a factor of 10
    either way as a factor ('25 times higher', '1.9e+06 times higher', '40 times lower'), which reads better
    than '190912915% higher' when b is nearly 0."""
    if not _finite(a, b) or b == 0:
        return "n/a"
    ratio = a / b
    if ratio >= 10 or 0 < ratio <= 0.1:
        factor = ratio if ratio >= 10 else 1.0 / ratio
        return f"{factor:.0f} times {'higher' if ratio >= 10 else 'lower'}" if factor < 1000 else \
            f"{factor:.1e} times {'higher' if ratio >= 10 else 'lower'}"
    change = 100.0 * (ratio - 1.0)
    if round(change) == 0:
        return "equal" if a == b else f"{abs(change):.1f}% {'lower' if change < 0 else 'higher'}"
    return f"{abs(change):.0f}% {'lower' if change < 0 else 'higher'}"


def verdict(k: int, n: int, unit: str = "task") -> str:
    """A claim that a beats b, read from 'a is better on k of n' groups: 'holds on every task', 'holds on most
    tasks', 'holds on half of the tasks', 'holds on a minority of tasks', 'does not hold on any task', or
    'cannot be checked' (n = 0)."""
    if n == 0:
        return "cannot be checked"
    if k == n:
        return f"holds on every {unit}"
    if 2 * k > n:
        return f"holds on most {unit}s"
    if 2 * k == n:
        return f"holds on half of the {unit}s"
    return f"holds on a minority of {unit}s" if k else f"does not hold on any {unit}"


# --- comparisons within a tolerance --------------------------------------------------------------------------


def _level(a: float, b: float, rel_tol: float) -> bool:
    return abs(a - b) <= rel_tol * max(abs(b), 1e-12)


def compared(a: float, b: float, metric: str, rel_tol: float = REL_TOL) -> str:
    """"better than", "worse than" or "on par with" (a against b on `metric`), or "not comparable with" with a nan."""
    if not _finite(a, b):
        return "not comparable with"
    if _level(a, b, rel_tol):
        return "on par with"
    return "better than" if (a < b) == LOWER_IS_BETTER[metric] else "worse than"


def relative(a: float, b: float, rel_tol: float = REL_TOL) -> str:
    """"higher", "lower" or "about the same" (a against b, within rel_tol of b), or "undefined" with a nan."""
    if not _finite(a, b):
        return "undefined"
    if _level(a, b, rel_tol):
        return "about the same"
    return "higher" if a > b else "lower"


def trend(start: float, end: float, rel_tol: float = REL_TOL) -> str:
    """"rises", "falls" or "stays level" (within rel_tol of the start), or "is undefined" with a nan."""
    if not _finite(start, end):
        return "is undefined"
    if _level(end, start, rel_tol):
        return "stays level"
    return "rises" if end > start else "falls"


def ratio_phrase(a: float, b: float) -> str:
    """How a compares to b as text: '320 times as much as', '2 times less than'; 'n/a' when undefined."""
    if not _finite(a, b) or a <= 0 or b <= 0:
        return "n/a"
    r = a / b
    if r >= 1:
        return f"{r:.3g} times as much as"
    return f"{1 / r:.3g} times less than"


def position_phrase(a: float, b: float, digits: int = 2) -> str:
    """"above", "below" or "the same as" (a against b as printed with `digits` decimals)."""
    if round(a, digits) == round(b, digits):
        return "the same as"
    return "above" if a > b else "below"


def join_words(items) -> str:
    """'a', 'a and b', 'a, b and c' of `items` in order, each once."""
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
