"""Execute every notebook of notebooks/ with papermill at a named scale, then build the Jupyter Book.

    python -m lib.book_runner --scale smoke --out build/smoke-book   # CI: minutes, untracked output
    python -m lib.book_runner --scale default --out book              # the committed book

Each notebook is written atomically (a failed run never replaces a good page); the parameters of
the run are recorded in <out>/parameters.json; a failing notebook is named with its failing cell.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lib.paths import REPO_ROOT, data_dir
from lib.scales import SCALES, get_scale

NOTEBOOKS = REPO_ROOT / "notebooks"
READS_CHAPTERS = ("00_intro",)
"""Notebooks that read the other executed chapters (the intro's scoreboard): executed after them."""
BOOK_FILES = ("_config.yml", "_toc.yml", "_static")
# the kernel's environment: no progress bars or library chatter on the pages
KERNEL_ENV = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
              "TOKENIZERS_PARALLELISM": "false"}


def book_chapters(toc: Path = REPO_ROOT / "_toc.yml") -> set[str]:
    """The notebook stems the book's table of contents lists: only those are executed (a chapter joins the book when
    it is listed)."""
    entries = yaml.safe_load(toc.read_text())
    files = [entries["root"]] + [c["file"] for c in entries.get("chapters", [])]
    return {Path(f).stem for f in files}


class NotebookFailed(RuntimeError):
    """A notebook raised: names the notebook, the failing cell and the error."""


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
        start = time.perf_counter()
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
        for line in tidy_executed(partial):
            print(f"[book] {notebook.name} stderr (kept off the page): {line}", flush=True)
        os.replace(partial, target)
        return time.perf_counter() - start

    def record(self, timings: dict[str, float]) -> None:
        """Write <out>/parameters.json; a partial run (--only) keeps the other notebooks' recorded timings
        when they were executed at the same scale."""
        path = self.out / "parameters.json"
        if self.only and path.exists():
            previous = json.loads(path.read_text())
            if previous.get("parameters", {}).get("scale") == self.scale:
                timings = {**previous.get("notebook_seconds", {}), **timings}
        record = {"parameters": self.parameters(), "notebook_seconds": timings,
                  "python": platform.python_version(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        (self.out / "parameters.json").write_text(json.dumps(record, indent=2) + "\n")

    def build(self) -> None:
        """`jupyter-book build <out> -W`: warnings are errors."""
        exe = Path(sys.executable).with_name("jupyter-book")
        cmd = [str(exe), "build", str(self.out), "-W", "-n", "--keep-going"]
        if subprocess.run(cmd).returncode != 0:
            raise NotebookFailed(f"book build failed: {' '.join(cmd)}")


def _relative_paths(record: dict) -> None:
    """Absolute paths among papermill's recorded paths and parameters, made relative to the repository, in place."""
    for key, value in record.items():
        if isinstance(value, dict):
            _relative_paths(value)
        elif isinstance(value, str) and os.path.isabs(value):
            record[key] = os.path.relpath(value, REPO_ROOT)


def tidy_executed(path: Path) -> list[str]:
    """Make an executed notebook a page (papermill's recorded paths made relative): stderr streams (warnings, progress bars) and both parameters cells (the
    default and the injected one; the run's parameters are in parameters.json) removed; return the removed stderr's
    distinct lines."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    _relative_paths(notebook.metadata.get("papermill", {}))
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
    args = parser.parse_args(argv)
    run = BookRun(scale=args.scale, out=args.out, data_dir=data_dir(args.data_dir), only=tuple(args.only))
    try:  # every argument is checked before anything is written
        get_scale(args.scale)
        run.notebooks()
        if args.out.exists() and not args.out.is_dir():
            raise ValueError(f"--out {args.out} is a file, not a book folder")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run.prepare()
    timings = {}
    try:
        for notebook in run.notebooks():
            print(f"[book] executing {notebook.name} at scale {args.scale} ...", flush=True)
            timings[notebook.stem] = round(run.execute(notebook), 1)
            print(f"[book] {notebook.name} done in {timings[notebook.stem]} s", flush=True)
        run.record(timings)
        if not args.no_build:
            run.build()
    except NotebookFailed as err:
        print(f"[book] ERROR: {err}", file=sys.stderr)
        return 1
    if not args.no_build:
        print(f"[book] built {args.out}/_build/html/index.html", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
