"""The one exception the data module raises, so callers can catch bad data without catching real bugs."""
from __future__ import annotations


class DataError(ValueError):
    """Task data missing, malformed or asked for wrongly; the message names the task, the path and what was expected."""


HINT = "(set GPTFLUENCE_DATA_DIR or pass data_dir=...)"
