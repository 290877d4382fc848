"""Execute every notebook of notebooks/ with papermill at a named scale, then build the Jupyter Book.

    python -m lib.book_runner --scale smoke --out build/smoke-book   # CI: minutes, untracked output
    python -m lib.book_runner --scale default --out book              # the committed book
    python -m lib.book_runner --scale default --out book --jobs 1     # one chapter at a time

The chapters run side by side in --jobs processes (default: the CPU cores this process may use), each kernel on
one thread; those that read the others' results (the intro) run after all of them. Each notebook is written
atomically (a failed run never replaces a good page); the parameters of the run and each chapter's seconds are
recorded in <out>/parameters.json; a failing notebook is named with its failing cell.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from lib.cores import available_cores
from lib.paths import REPO_ROOT, data_dir
from lib.scales import SCALES, get_scale

NOTEBOOKS = REPO_ROOT / "notebooks"
READS_CHAPTERS = ("00_intro",)
"""Notebooks that read the other executed chapters (the intro's scoreboard): executed after them."""
BOOK_FILES = ("_config.yml", "_toc.yml", "_static")
COMMITTED_BOOK = REPO_ROOT / "book"
"""The committed book: only the default scale is executed into it."""
# the kernel's environment: no progress bars or library chatter on the pages; one thread per chapter, so that chapters
# running side by side (--jobs) do not oversubscribe the cores
KERNEL_ENV = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
              "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def book_chapters(toc: Path = REPO_ROOT / "_toc.yml") -> set[str]:
    """The notebook stems the book's table of contents lists: only those are executed (a chapter joins the book when
    it is listed)."""
    entries = yaml.safe_load(toc.read_text())
    files = [entries["root"]] + [c["file"] for c in entries.get("chapters", [])]
    return {Path(f).stem for f in files}


class NotebookFailed(RuntimeError):
    """A notebook raised: names the notebook, the failing cell and the error. `timings`: the seconds of the chapters
    that did finish before the run stopped (execute_all), so that a failed run still records them."""

    def __init__(self, message: str, timings: dict[str, float] | None = None):
        super().__init__(message)
        self.timings = dict(timings or {})


@dataclass
class BookRun:
    """One execution of the notebooks at a scale into an output book folder."""

    scale: str
    out: Path
    data_dir: Path = field(default_factory=data_dir)
    only: tuple[str, ...] = ()

    def parameters(self) -> dict:
        """The notebooks' parameters; the data folder relative to the repository (the kernel's cwd), never absolute."""
        return {"scale": self.scale, "data_dir": os.path.relpath(os.path.abspath(self.data_dir), REPO_ROOT)}  # symlinks kept

    def notebook_parameters(self, notebook: Path) -> dict:
        """`parameters()`, plus for a notebook that reads the other executed chapters (READS_CHAPTERS) the folder
        this run writes them to, relative to the repository."""
        extra = {}
        if notebook.stem in READS_CHAPTERS:
            extra["chapters_dir"] = os.path.relpath(os.path.abspath(self.out / "notebooks"), REPO_ROOT)
        return {**self.parameters(), **extra}

    def notebooks(self) -> list[Path]:
        """The notebooks to execute, in execution order: those that read the other chapters (READS_CHAPTERS) last."""
        in_book = book_chapters()
        found = sorted((p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.stem in in_book),
                       key=lambda p: (p.stem in READS_CHAPTERS, p.name))
        if self.only:
            unknown = set(self.only) - {p.stem for p in found}
            if unknown:
                raise ValueError(f"unknown notebook(s) {sorted(unknown)}; have {[p.stem for p in found]}")
            found = [p for p in found if p.stem in self.only]
        return found

    def prepare(self) -> None:
        """Make `out` a book root: relative symlinks to the top-level _config.yml, _toc.yml and _static/ (page style)."""
        (self.out / "notebooks").mkdir(parents=True, exist_ok=True)
        for name in BOOK_FILES:
            link = self.out / name
            if not link.exists():
                link.symlink_to(os.path.relpath(REPO_ROOT / name, self.out.resolve()))

    def execute(self, notebook: Path) -> float:
        """Run one notebook with papermill into out/notebooks/, atomically; return its wall time."""
        import papermill as pm

        target = self.out / "notebooks" / notebook.name
        partial = target.with_suffix(".running.ipynb")
        start, cpu_before = time.perf_counter(), children_cpu_seconds()
        os.environ.update(KERNEL_ENV)
        try:
            pm.execute_notebook(str(notebook), str(partial), parameters=self.notebook_parameters(notebook),
                                kernel_name="python3", cwd=str(REPO_ROOT), progress_bar=False)
        except pm.PapermillExecutionError as err:
            failed = target.with_suffix(".failed.ipynb")
            os.replace(partial, failed)
            first_line = (err.source or "").strip().splitlines()[0] if (err.source or "").strip() else ""
            raise NotebookFailed(f"notebook {notebook.name} failed in the cell starting {first_line!r} "
                                 f"({err.ename}: {err.evalue}); executed copy with the traceback: {failed}") from None
        for line in tidy_executed(partial, cpu_seconds=children_cpu_seconds() - cpu_before):
            print(f"[book] {notebook.name} stderr (kept off the page): {line}", flush=True)
        os.replace(partial, target)
        return time.perf_counter() - start

    def record(self, timings: dict[str, float], *, jobs: int | None = None, wall_seconds: float | None = None,
               failed: bool = False) -> None:
        """Write <out>/parameters.json: each chapter's wall seconds and its kernel's CPU seconds (read from the page:
        on a shared machine the CPU seconds are what the chapter costs, the wall grows with the load); a partial run
        (--only, or `failed`: stopped by a failing chapter) keeps the other notebooks' recorded timings when they were
        executed at the same scale. `jobs` and `wall_seconds` (the whole execution, chapters side by side) are recorded
        when given; `wall_seconds` only for a full run that finished."""
        path = self.out / "parameters.json"
        partial = bool(self.only) or failed
        if partial and path.exists():
            previous = json.loads(path.read_text())
            if previous.get("parameters", {}).get("scale") == self.scale:
                timings = {**previous.get("notebook_seconds", {}), **timings}
        pages = {stem: self.out / "notebooks" / f"{stem}.ipynb" for stem in timings}
        cpu = {stem: seconds for stem, page in pages.items() if page.exists() and (seconds := cpu_seconds(page))}
        record = {"parameters": self.parameters(), "notebook_seconds": timings, "kernel_cpu_seconds": cpu,
                  "python": platform.python_version(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        if jobs is not None:
            record["jobs"] = jobs
        if wall_seconds is not None and not partial:
            record["execution_seconds"] = round(wall_seconds, 1)
        if failed:
            record["stopped_by_a_failure"] = True
        (self.out / "parameters.json").write_text(json.dumps(record, indent=2) + "\n")

    def previous_seconds(self) -> dict[str, float]:
        """The chapters' seconds recorded by the last run at this scale in <out>/parameters.json ({} if none)."""
        path = self.out / "parameters.json"
        if not path.exists():
            return {}
        previous = json.loads(path.read_text())
        if previous.get("parameters", {}).get("scale") != self.scale:
            return {}
        return {k: float(v) for k, v in previous.get("notebook_seconds", {}).items()}

    def execute_all(self, jobs: int, say: Callable[[str], None] = print) -> dict[str, float]:
        """Execute `notebooks()`: the independent chapters side by side in `jobs` processes (the slowest of the last
        run at this scale first, so the longest does not start last), then those that read them (READS_CHAPTERS),
        one by one in this process. Return each chapter's seconds; raise NotebookFailed naming every failed
        chapter (after a failure no further chapter starts; those running finish)."""
        if jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {jobs}")
        notebooks = self.notebooks()
        previous = self.previous_seconds()
        independent = sorted((p for p in notebooks if p.stem not in READS_CHAPTERS),
                             key=lambda p: (-previous.get(p.stem, 0.0), p.name))
        readers = [p for p in notebooks if p.stem in READS_CHAPTERS]
        timings: dict[str, float] = {}
        failures = self._execute_side_by_side(independent, jobs, timings, say)
        if failures:
            raise NotebookFailed("; ".join(failures), timings)
        for notebook in readers:  # only once every chapter it reads is written
            say(f"[book] executing {notebook.name} at scale {self.scale} ...")
            timings[notebook.stem] = round(self.execute(notebook), 1)
            say(f"[book] {notebook.name} done in {timings[notebook.stem]} s")
        return timings

    def _execute_side_by_side(self, notebooks: list[Path], jobs: int, timings: dict[str, float],
                              say: Callable[[str], None]) -> list[str]:
        """Run `notebooks` through `chapter_pool(jobs)`, at most `jobs` at a time, filling `timings`; return the
        failure messages (a failure stops new submissions)."""
        pending, failures = list(notebooks), []
        running: dict[Future, Path] = {}
        if not pending:
            return failures
        with chapter_pool(min(jobs, len(pending))) as pool:
            while pending or running:
                while pending and not failures and len(running) < jobs:
                    notebook = pending.pop(0)
                    say(f"[book] executing {notebook.name} at scale {self.scale} ...")
                    running[pool.submit(self.execute, notebook)] = notebook
                if not running:  # a failure left chapters unstarted
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    notebook = running.pop(future)
                    try:
                        timings[notebook.stem] = round(future.result(), 1)
                        say(f"[book] {notebook.name} done in {timings[notebook.stem]} s")
                    except NotebookFailed as err:
                        failures.append(str(err))
                    except Exception as err:  # the kernel or the worker process died: still name the chapter
                        failures.append(f"notebook {notebook.name} failed ({type(err).__name__}: {err})")
        if failures and pending:
            say(f"[book] not started after the failure: {', '.join(p.name for p in pending)}")
        return failures

    def scope_toc(self, toc: Path = REPO_ROOT / "_toc.yml") -> list[str]:
        """Make <out>/_toc.yml list only the chapters executed under out/notebooks when some listed one is not (a
        scratch book of some chapters then builds with -W), else the symlink to the book's; the committed book keeps
        its symlink. Returns the chapters left out of the toc."""
        entries = yaml.safe_load(toc.read_text())
        missing = [c["file"] for c in entries.get("chapters", [])
                   if not (self.out / f"{c['file']}.ipynb").exists()]
        if self.out.resolve() == COMMITTED_BOOK.resolve():
            return missing
        target = self.out / "_toc.yml"
        target.unlink(missing_ok=True)
        if not missing:
            target.symlink_to(os.path.relpath(toc, self.out.resolve()))
        else:
            kept = {**entries, "chapters": [c for c in entries["chapters"] if c["file"] not in missing]}
            target.write_text("# This book's chapters only (lib.book_runner.BookRun.scope_toc); the book's: _toc.yml\n"
                              + yaml.safe_dump(kept, sort_keys=False))
        return missing

    def build(self) -> None:
        """`jupyter-book build <out> -W`: warnings are errors. A book of some chapters lists only those
        (`scope_toc`)."""
        for chapter in self.scope_toc():
            print(f"[book] {chapter} is not executed in {self.out}: left out of its table of contents", flush=True)
        exe = Path(sys.executable).with_name("jupyter-book")
        cmd = [str(exe), "build", str(self.out), "-W", "-n", "--keep-going"]
        if subprocess.run(cmd).returncode != 0:
            raise NotebookFailed(f"book build failed: {' '.join(cmd)}")


def chapter_pool(jobs: int) -> Executor:
    """Worker processes for the chapters (spawned: no state of this process is inherited); each runs papermill,
    which starts the chapter's kernel."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def _relative_paths(record: dict) -> None:
    """Absolute paths among papermill's recorded paths and parameters, made relative to the repository, in place."""
    for key, value in record.items():
        if isinstance(value, dict):
            _relative_paths(value)
        elif isinstance(value, str) and os.path.isabs(value):
            record[key] = os.path.relpath(value, REPO_ROOT)


def children_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's finished children: a chapter's kernel, once papermill has shut
    it down. Unlike the wall time it does not grow when other jobs share the cores."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(path: Path) -> float | None:
    """The kernel CPU seconds recorded in an executed notebook's metadata (None for one executed before they were)."""
    seconds = json.loads(path.read_text()).get("metadata", {}).get("book_runner", {}).get("kernel_cpu_seconds")
    return None if seconds is None else float(seconds)


def tidy_executed(path: Path, cpu_seconds: float | None = None) -> list[str]:
    """Make an executed notebook a page: papermill's recorded paths made relative, stderr streams (warnings,
    progress bars) and both parameters cells (the default and the injected one; the run's parameters are in
    parameters.json) removed; return the removed stderr's distinct lines."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    _relative_paths(notebook.metadata.get("papermill", {}))
    if cpu_seconds is not None:
        notebook.metadata["book_runner"] = {"kernel_cpu_seconds": round(cpu_seconds, 1)}
    removed: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.setdefault("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
        removed += [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    nbformat.write(notebook, path)
    lines = (line.strip() for text in removed for line in text.replace("\r", "\n").splitlines())
    return list(dict.fromkeys(line for line in lines if line))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="default", help=" | ".join(SCALES))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "book", help="book folder to write")
    parser.add_argument("--data-dir", type=Path, default=None, help="task data (default: $GPTFLUENCE_DATA_DIR or ../shared/data)")
    parser.add_argument("--only", nargs="*", default=(), help="notebook stems to run (default: all)")
    parser.add_argument("--no-build", action="store_true", help="execute notebooks only")
    parser.add_argument("--jobs", type=int, default=None,
                        help="chapters executed side by side (default: the CPU cores this process may use); "
                             "the intro runs after them")
    args = parser.parse_args(argv)
    jobs = available_cores() if args.jobs is None else args.jobs
    run = BookRun(scale=args.scale, out=args.out, data_dir=data_dir(args.data_dir), only=tuple(args.only))
    try:  # every argument is checked before anything is written
        get_scale(args.scale)
        run.notebooks()
        if jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {jobs}")
        if args.out.exists() and not args.out.is_dir():
            raise ValueError(f"--out {args.out} is a file, not a book folder")
        if args.out.resolve() == COMMITTED_BOOK.resolve() and args.scale != "default":
            raise ValueError(f"--out {args.out} is the committed book, built at scale 'default' only "
                             f"(got --scale {args.scale}); write another scale's book under build/")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run.prepare()
    try:
        start = time.perf_counter()
        timings = run.execute_all(jobs, say=lambda line: print(line, flush=True))
        run.record(timings, jobs=jobs, wall_seconds=time.perf_counter() - start)
        if not args.no_build:
            run.build()
    except NotebookFailed as err:
        if err.timings:  # the chapters that finished keep their timings
            run.record(err.timings, jobs=jobs, failed=True)
        print(f"[book] ERROR: {err}", file=sys.stderr)
        return 1
    if not args.no_build:
        print(f"[book] built {args.out}/_build/html/index.html", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
