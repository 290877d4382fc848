"""load_examples: a task's source split rendered into Examples, with parsed files cached per path and mtime."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from .. import paths
from .errors import DataError
from .example import Example, make_id
from .hub import hub_records
from .registry import TaskSpec, check_split, get_task
from .sources import Record, read_source, source_files
from .templates import check_style, template_for

HUB_ENV = "GPTFLUENCE_ALLOW_HUB"

_Signature = tuple[tuple[str, int, int], ...]


def _signature(files: list[Path]) -> _Signature:
    """(path, mtime_ns, size) of each file: the cache key, so an edited file is re-read."""
    out = []
    for p in files:
        st = p.stat()
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


@lru_cache(maxsize=32)
def _records_cached(task: str, split: str, signature: _Signature) -> tuple[Record, ...]:
    """Parsed Records of one source split, cached in-process on the files' signature."""
    return tuple(read_source(task, split, [Path(s[0]) for s in signature]))


def _local_signature(task: str, split: str, data_dir: str | os.PathLike | None) -> _Signature | None:
    """The signature of a source split's local files; None when they are missing and the Hub fallback is allowed."""
    root = paths.data_dir(data_dir).resolve()
    try:
        return _signature(source_files(task, split, root))
    except DataError:
        if os.environ.get(HUB_ENV) == "1":
            return None
        raise


def load_records(task: str, split: str = "train", *, data_dir: str | os.PathLike | None = None) -> tuple[Record, ...]:
    """All Records of `task`'s source `split` (the parsed rows behind load_examples), in source order."""
    get_task(task)
    check_split(task, split)
    sig = _local_signature(task, split, data_dir)
    if sig is None:
        return hub_records(task, split)
    return _records_cached(task, split, sig)


def render(spec: TaskSpec, record: Record, style: str = "plain", template: int | None = None) -> Example:
    """The Example of one Record under a prompt style (and, for FLAN, a forced or id-picked template)."""
    eid = make_id(spec.index, record.row)
    prompt = template_for(spec.name, style, eid, template).format(**record.fields)
    if spec.is_classification:
        return Example(id=eid, task=spec.name, prompt=prompt, target=spec.label_words[record.label], label=record.label)
    return Example(
        id=eid,
        task=spec.name,
        prompt=prompt,
        target=" " + record.references[0],
        label=None,
        references=record.references,
    )


@lru_cache(maxsize=64)
def _examples_cached(
    task: str, split: str, style: str, template: int | None, signature: _Signature
) -> tuple[Example, ...]:
    """Rendered Examples of one source split, cached on the files' signature and the prompt choice."""
    spec = get_task(task)
    return tuple(render(spec, r, style, template) for r in _records_cached(task, split, signature))


def load_examples(
    task: str,
    split: str = "train",
    *,
    style: str = "plain",
    template: int | None = None,
    data_dir: str | os.PathLike | None = None,
) -> list[Example]:
    """All examples of `task`'s source `split` ("train" or "test") as Examples in `style` ("plain" or "flan")."""
    spec = get_task(task)
    check_split(task, split)
    check_style(task, style)
    template_for(task, style, 0, template)  # validate the template index before any file is read
    sig = _local_signature(task, split, data_dir)
    if sig is None:
        return [render(spec, r, style, template) for r in hub_records(task, split)]
    return list(_examples_cached(task, split, style, template, sig))


def clear_cache() -> None:
    """Forget every parsed and rendered split (tests use it; files edited in place are re-read anyway)."""
    _records_cached.cache_clear()
    _examples_cached.cache_clear()
