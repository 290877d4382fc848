"""Importer / exporter for the official GPTDynamics JSONL layout (method.md section 6).

The official layout has one folder per run:

    <run folder>/train_samples_id.json        JSONL {"step": t, "samples_id": [ids of the batch of step t]}
    <run folder>/all_loss_trajectory.out      JSONL {"id": k, "loss_trajectory": [{"step": s, "loss": v}, ...]}
    <run folder>/all_bleu_trajectory.out      same, BLEU values (the key is "loss" whatever the metric)
    <run folder>/all_rougeL_trajectory.out    same, ROUGE-L values

and text files of JSONL {"id", "input", "context"} for the training and the test examples. Here they
are `train.jsonl` and `eval.jsonl` at the top ("input" = the example text, prompt + target, which the
simulator embeds; "context" = the prompt alone), plus `runs.json` (our addition: run folder -> run
id and split), all optional on import.

No step 0. The official trajectories start at step 1 (after the first update). The importer keeps what
is there: `Dynamics.steps` lists the recorded steps (1..T), values column j is the value after step
steps[j], and curricula[:, j] is the batch (or, for steps recorded every k, the k concatenated
batches) that leads from steps[j] to steps[j + 1]. The batches before the first recorded step (the
batch of step 1) cannot be used by a simulator and are kept in `config["dropped_batches"]`. Rollouts
of such data start from y_1, not y_0. The exporter writes the same layout from a Dynamics; by default
it drops step 0 like the official data (`include_step0=True` keeps it, for exact round trips).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from lib.dynamics import METRICS, Dynamics

from .folder import read_examples, read_header
from .stored import load_dynamics

SAMPLES_FILE = "train_samples_id.json"
RUNS_FILE = "runs.json"
TEXT_FILES = ("train.jsonl", "eval.jsonl")


def trajectory_file(metric: str) -> str:
    """all_{metric}_trajectory.out."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return f"all_{metric}_trajectory.out"


def _read_jsonl(path: Path) -> list[tuple[str, dict]]:
    """(`path:line`, object) for every non-blank line; a line that is not a JSON object is an error naming path:line."""
    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{number}: invalid JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
                rows.append((f"{path}:{number}", row))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return rows


def _get(where: str, row: dict, key: str, kind: str):
    """row[key] checked to be an "int" (not bool), a "number" or a "list"; else ValueError naming path:line and key."""
    if key not in row:
        raise ValueError(f"{where}: missing key {key!r} (has {sorted(row)})")
    value = row[key]
    ok = {"int": isinstance(value, int) and not isinstance(value, bool),
          "number": isinstance(value, (int, float)) and not isinstance(value, bool),
          "list": isinstance(value, list), "str": isinstance(value, str)}[kind]
    if not ok:
        raise ValueError(f"{where}: {key!r} must be {'an' if kind == 'int' else 'a'} {kind}, got {value!r:.60}")
    return value


def _ints(where: str, row: dict, key: str) -> list[int]:
    """row[key] as a list of ints (ValueError naming path:line otherwise)."""
    values = _get(where, row, key, "list")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{where}: {key!r} must be a list of integer ids, got {values!r:.60}")
    return values


def _write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _natural_key(name: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _read_texts(path: Path | None) -> dict[int, str]:
    if path is None or not Path(path).is_file():
        return {}
    return {_get(where, r, "id", "int"): _get(where, r, "input", "str") for where, r in _read_jsonl(Path(path))}


def run_folders(root: str | os.PathLike) -> list[Path]:
    """The run folders under `root` (those holding train_samples_id.json), in natural name order."""
    root = Path(root)
    if (root / SAMPLES_FILE).is_file():
        return [root]
    found = [p for p in root.iterdir() if p.is_dir() and (p / SAMPLES_FILE).is_file()]
    if not found:
        raise ValueError(f"{root}: no run folder with {SAMPLES_FILE}")
    return sorted(found, key=lambda p: _natural_key(p.name))


def read_runs_json(root: Path) -> dict[str, dict] | None:
    """runs.json of an export (run folder -> {"folder", "run", "split"}, checked), or None when there is none."""
    path = root / RUNS_FILE
    if not path.is_file():
        return None
    try:
        runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
        meta = {r["folder"]: {"folder": r["folder"], "run": int(r["run"]), "split": str(r["split"])} for r in runs}
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a runs list of {{folder, run, split}} ({type(err).__name__}: {err})") from None
    missing = [name for name in meta if not (root / name / SAMPLES_FILE).is_file()]
    if missing or not meta:
        raise ValueError(f"{path}: lists run folder(s) {missing} that hold no {SAMPLES_FILE}" if missing
                         else f"{path}: lists no run")
    return meta


def _read_run(folder: Path, metric: str) -> tuple[dict[int, list[int]], list[int], list[int], np.ndarray]:
    """(batches by step, test ids in file order, recorded steps, values [steps, tests]) of one run folder."""
    batches = {}
    for where, row in _read_jsonl(folder / SAMPLES_FILE):
        step = _get(where, row, "step", "int")
        if step in batches:
            raise ValueError(f"{where}: step {step} appears twice")
        batches[step] = _ints(where, row, "samples_id")
    path = folder / trajectory_file(metric)
    if not path.is_file():
        raise ValueError(f"{folder}: no {path.name} (metric {metric!r} not recorded)")
    test_ids, columns, steps = [], [], None
    for where, row in _read_jsonl(path):
        test_id = _get(where, row, "id", "int")
        points = _get(where, row, "loss_trajectory", "list")
        if not all(isinstance(p, dict) for p in points):
            raise ValueError(f"{where}: 'loss_trajectory' must be a list of {{\"step\", \"loss\"}} objects")
        trajectory = sorted((_get(where, p, "step", "int"), float(_get(where, p, "loss", "number"))) for p in points)
        these = [s for s, _ in trajectory]
        if steps is None:
            steps = these
        elif these != steps:
            raise ValueError(f"{where}: test example {test_id} is recorded at other steps than the first one")
        test_ids.append(test_id)
        columns.append([v for _, v in trajectory])
    if not test_ids:
        raise ValueError(f"{path}: no trajectory")
    if len(set(test_ids)) != len(test_ids):
        raise ValueError(f"{path}: duplicate test ids")
    return batches, test_ids, steps, np.array(columns, dtype=np.float64).T


def import_gptdynamics(root: str | os.PathLike, metric: str = "loss", *, train_texts: str | os.PathLike | None = None,
                       eval_texts: str | os.PathLike | None = None, split: Sequence[str] | None = None):
    """Read run folders in the official layout into a Dynamics (see the module docstring for step numbering)."""
    root = Path(root)
    meta = read_runs_json(root)
    if meta is None:
        folders, meta = run_folders(root), {}
    else:  # exactly the runs the export lists, never leftovers of an earlier export in the same folder
        folders = [root / name for name in meta]
    curricula, values, dropped = [], [], {}
    test_ids = steps = None
    for folder in folders:
        batches, ids, these_steps, array = _read_run(folder, metric)
        if test_ids is None:
            test_ids, steps = ids, these_steps
        else:
            if sorted(ids) != sorted(test_ids):
                raise ValueError(f"{folder}: other test examples than {folders[0].name}")
            if these_steps != steps:
                raise ValueError(f"{folder}: recorded at other steps than {folders[0].name}")
            position = {t: k for k, t in enumerate(ids)}
            array = array[:, [position[t] for t in test_ids]]
        gaps = np.diff(steps)
        if len(steps) < 2 or np.any(gaps != gaps[0]) or gaps[0] < 1:
            raise ValueError(f"{folder}: recorded steps must be evenly spaced and at least two, got {steps[:10]}...")
        rows = []
        for prev, cur in zip(steps[:-1], steps[1:]):
            missing = [s for s in range(prev + 1, cur + 1) if s not in batches]
            if missing:
                raise ValueError(f"{folder / SAMPLES_FILE}: no batch for step(s) {missing}")
            rows.append([i for s in range(prev + 1, cur + 1) for i in batches[s]])
        if len({len(r) for r in rows}) != 1:
            raise ValueError(f"{folder / SAMPLES_FILE}: batches of different sizes")
        curricula.append(rows)
        values.append(array)
        dropped[folder.name] = {s: batches[s] for s in sorted(batches) if s <= steps[0]}
    names = [f.name for f in folders]
    run_ids = [int(meta[n]["run"]) if n in meta else i for i, n in enumerate(names)]
    if split is None:
        split = [meta[n]["split"] if n in meta else "train" for n in names]
    return Dynamics.from_arrays(
        np.array(curricula, dtype=np.int64), np.stack(values), np.array(test_ids, dtype=np.int64), metric,
        run_ids=np.array(run_ids), split=np.array(list(split)), steps=np.array(steps, dtype=np.int64),
        train_texts=_read_texts(Path(train_texts) if train_texts else root / "train.jsonl"),
        test_texts=_read_texts(Path(eval_texts) if eval_texts else root / "eval.jsonl"),
        config={"format": "gptdynamics-jsonl", "source": str(root), "run_folders": names,
                "first_step": int(steps[0]), "dropped_batches": dropped},
    )


def _check_destination(dest: Path, overwrite: bool) -> bool:
    """Whether `dest` holds anything; a non-empty `dest` (its stale runs would be imported with the new ones)
    is refused unless `overwrite`, and a file always."""
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"export destination {dest} is a file, not a folder")
    if not dest.is_dir() or not any(dest.iterdir()):
        return False
    if not overwrite:
        raise ValueError(f"export destination {dest} is not empty; choose an empty folder or pass overwrite=True")
    return True


def _remove_earlier_export(dest: Path) -> None:
    """Delete the run folders and files of an earlier export in `dest` (and nothing else)."""
    for path in dest.iterdir():
        if path.is_dir() and (path / SAMPLES_FILE).is_file():
            shutil.rmtree(path)
        elif path.name in (RUNS_FILE, *TEXT_FILES) and path.is_file():
            path.unlink()


def export_gptdynamics(source, dest: str | os.PathLike, *, include_step0: bool = False,
                       prompts: dict[int, str] | None = None, overwrite: bool = False) -> Path:
    """Write Dynamics (one per metric, same runs) or a collection folder in the official layout under `dest`
    (an empty or new folder; `overwrite=True` first removes an earlier export there)."""
    dest = Path(dest)
    earlier = _check_destination(dest, overwrite)  # before any loading: a refused call costs nothing
    if isinstance(source, (str, os.PathLike)):

        header = read_header(source)
        parts = [load_dynamics(source, m) for m in header["metrics"]]
        prompts = prompts or {int(r["id"]): r["prompt"] for r in read_examples(source)}
    elif isinstance(source, Dynamics):
        parts = [source]
    else:
        parts = list(source)
    first = parts[0]
    for part in parts[1:]:
        if not (np.array_equal(part.curricula, first.curricula) and np.array_equal(part.steps, first.steps)
                and np.array_equal(part.run_ids, first.run_ids)):
            raise ValueError("all Dynamics to export must share runs, curricula and steps")
    if len({p.metric for p in parts}) != len(parts):
        raise ValueError("one Dynamics per metric")
    if earlier:
        _remove_earlier_export(dest)
    dest.mkdir(parents=True, exist_ok=True)
    prompts = prompts or {}
    steps = first.steps
    keep = np.arange(len(steps)) if include_step0 or steps[0] != 0 else np.arange(1, len(steps))
    width = np.diff(steps)
    batch = first.batch_size
    runs_meta = []
    for r in range(first.n_runs):
        folder = dest / f"run-{int(first.run_ids[r]):04d}"
        folder.mkdir(exist_ok=True)
        samples = []
        for j in range(first.n_steps):  # the batch leading to steps[j + 1], split back into its single steps
            k = int(width[j])
            if batch % k:
                raise ValueError(f"batch of {batch} ids does not split into {k} steps")
            per = batch // k
            for q in range(k):
                ids = first.curricula[r, j, q * per:(q + 1) * per]
                samples.append({"step": int(steps[j]) + q + 1, "samples_id": [int(i) for i in ids]})
        _write_jsonl(folder / SAMPLES_FILE, samples)
        for part in parts:
            rows = [{"id": int(t), "loss_trajectory": [{"step": int(steps[j]), "loss": float(part.values[r, j, k])}
                                                        for j in keep]}
                    for k, t in enumerate(part.test_ids)]
            _write_jsonl(folder / trajectory_file(part.metric), rows)
        runs_meta.append({"folder": folder.name, "run": int(first.run_ids[r]), "split": str(first.split[r])})
    _write_jsonl(dest / "train.jsonl", [{"id": i, "input": t, "context": prompts.get(i, "")}
                                        for i, t in sorted(first.train_texts.items())])
    _write_jsonl(dest / "eval.jsonl", [{"id": i, "input": t, "context": prompts.get(i, "")}
                                       for i, t in sorted(first.test_texts.items())])
    with open(dest / RUNS_FILE, "w", encoding="utf-8") as handle:
        json.dump({"metrics": [p.metric for p in parts], "runs": runs_meta}, handle, indent=2)
    return dest
