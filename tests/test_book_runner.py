import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from lib import book_runner, cores
from lib.book_runner import BookRun, NotebookFailed


def _notebook(path, *sources):
    cells = [new_code_cell("scale = 'default'\ndata_dir = None")]
    cells[0].metadata["tags"] = ["parameters"]
    cells += [new_code_cell(s) for s in sources]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), path)


def test_every_book_notebook_has_a_parameters_cell():
    notebooks = BookRun(scale="smoke", out=book_runner.REPO_ROOT / "book").notebooks()
    assert notebooks
    for path in notebooks:
        tags = [c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells]
        assert ["parameters"] in tags, path.name


def test_runner_injects_parameters_and_names_the_failing_cell(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    _notebook(src / "01_ok.ipynb", "assert scale == 'smoke', scale\nprint('ran at', scale)")
    _notebook(src / "02_bad.ipynb", "x = 1", "raise KeyError('boom')")
    monkeypatch.setattr(book_runner, "NOTEBOOKS", src)
    monkeypatch.setattr(book_runner, "book_chapters", lambda: {p.stem for p in src.glob("*.ipynb")})
    run = BookRun(scale="smoke", out=tmp_path / "book", data_dir=tmp_path)
    run.prepare()
    assert (run.out / "_config.yml").resolve() == book_runner.REPO_ROOT / "_config.yml"
    ok, bad = run.notebooks()
    run.execute(ok)
    executed = nbformat.read(run.out / "notebooks" / "01_ok.ipynb", as_version=4)
    assert "ran at smoke" in json.dumps(executed.cells[-1].outputs)
    with pytest.raises(NotebookFailed, match=r"02_bad.ipynb failed in the cell starting \"raise KeyError\('boom'\)\" \(KeyError"):
        run.execute(bad)
    assert not (run.out / "notebooks" / "02_bad.ipynb").exists()
    assert (run.out / "notebooks" / "02_bad.failed.ipynb").exists()


def test_unknown_notebook_selection_is_named(tmp_path):
    with pytest.raises(ValueError, match="nope"):
        BookRun(scale="smoke", out=tmp_path, only=("nope",)).notebooks()


def test_a_partial_run_keeps_the_other_notebooks_timings_of_the_same_scale_only(tmp_path):
    import json
    BookRun(scale="smoke", out=tmp_path, data_dir=tmp_path).record({"01_a": 1.0, "02_b": 2.0})
    BookRun(scale="smoke", out=tmp_path, data_dir=tmp_path, only=("02_b",)).record({"02_b": 5.0})
    assert json.loads((tmp_path / "parameters.json").read_text())["notebook_seconds"] == {"01_a": 1.0, "02_b": 5.0}
    BookRun(scale="default", out=tmp_path, data_dir=tmp_path, only=("02_b",)).record({"02_b": 7.0})
    assert json.loads((tmp_path / "parameters.json").read_text())["notebook_seconds"] == {"02_b": 7.0}
    BookRun(scale="default", out=tmp_path, data_dir=tmp_path).record({"03_c": 3.0})  # a full run starts afresh
    assert json.loads((tmp_path / "parameters.json").read_text())["notebook_seconds"] == {"03_c": 3.0}


@pytest.mark.parametrize("argv, message", [
    (["--scale", "nonsense"], "error: unknown scale 'nonsense'; valid scales: smoke, default"),
    (["--scale", "smoke", "--only", "nonsense"], "error: unknown notebook(s) ['nonsense']"),
    (["--scale", "smoke", "--jobs", "0"], "error: --jobs must be >= 1, got 0"),
])
def test_bad_arguments_give_one_line_exit_2_and_write_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "book"
    assert book_runner.main([*argv, "--out", str(out), "--no-build"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_an_output_path_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "book"
    out.write_text("not a folder")
    assert book_runner.main(["--scale", "smoke", "--out", str(out), "--no-build", "--only", "nonsense"]) == 2
    assert book_runner.main(["--scale", "smoke", "--out", str(out), "--no-build"]) == 2
    assert "is a file" in capsys.readouterr().err and out.read_text() == "not a folder"


def test_only_the_default_scale_is_executed_into_the_committed_book(capsys):
    stamp = book_runner.COMMITTED_BOOK / "parameters.json"
    before = stamp.read_text()
    assert book_runner.main(["--scale", "paper_size", "--out", str(book_runner.COMMITTED_BOOK), "--no-build"]) == 2
    assert "committed book" in capsys.readouterr().err and stamp.read_text() == before


def test_parameters_never_name_an_absolute_path(tmp_path):
    run = BookRun(scale="smoke", out=tmp_path, data_dir=book_runner.REPO_ROOT.parent / "shared" / "data")
    assert run.parameters() == {"scale": "smoke", "data_dir": "../shared/data"}


def test_the_intro_runs_last_and_reads_this_runs_chapters(tmp_path):
    run = BookRun(scale="smoke", out=book_runner.REPO_ROOT / "build" / "some-book")
    order = [p.stem for p in run.notebooks()]
    assert order[-1] == "00_intro" and order[:-1] == sorted(order[:-1])
    intro, other = run.notebooks()[-1], run.notebooks()[0]
    assert run.notebook_parameters(intro)["chapters_dir"] == "build/some-book/notebooks"
    assert "chapters_dir" not in run.notebook_parameters(other)


def test_tidying_removes_stderr_and_both_parameters_cells(tmp_path):
    from nbformat.v4 import new_output

    defaults, injected, cell = new_code_cell("scale = 'default'"), new_code_cell("scale = 'smoke'"), new_code_cell("work()")
    defaults.metadata["tags"], injected.metadata["tags"] = ["parameters"], ["injected-parameters"]
    cell.outputs = [new_output("stream", name="stderr", text="/venv/tqdm/auto.py:21: TqdmWarning: IProgress\n"),
                    new_output("stream", name="stdout", text="result 3\n"),
                    new_output("stream", name="stderr", text="\rLoading weights:   0%|\rLoading weights: 100%|\n")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[defaults, injected, cell], metadata={"papermill": {
        "input_path": str(book_runner.REPO_ROOT / "notebooks" / "01.ipynb"),
        "parameters": {"scale": "smoke", "data_dir": str(book_runner.REPO_ROOT.parent / "shared" / "data")}}}), path)
    lines = book_runner.tidy_executed(path)
    assert nbformat.read(path, as_version=4).metadata.papermill == {
        "input_path": "notebooks/01.ipynb", "parameters": {"scale": "smoke", "data_dir": "../shared/data"}}
    assert lines == ["/venv/tqdm/auto.py:21: TqdmWarning: IProgress", "Loading weights:   0%|", "Loading weights: 100%|"]
    cells = nbformat.read(path, as_version=4).cells
    assert [(o.name, o.text) for o in cells[2].outputs] == [("stdout", "result 3\n")]
    assert cells[0].metadata.tags == ["parameters", "remove-cell"]
    assert cells[1].metadata.tags == ["injected-parameters", "remove-cell"]
    assert cells[2].metadata.tags == []


def test_executed_pages_carry_no_stderr_and_the_kernel_runs_without_progress_bars(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    _notebook(src / "01_noisy.ipynb", "import os, sys, warnings\nwarnings.warn('careful')\nprint('stderr', file=sys.stderr)\n"
                                      "print(os.environ['TQDM_DISABLE'], os.environ['HF_HUB_DISABLE_PROGRESS_BARS'])")
    monkeypatch.setattr(book_runner, "NOTEBOOKS", src)
    monkeypatch.setattr(book_runner, "book_chapters", lambda: {p.stem for p in src.glob("*.ipynb")})
    for name in book_runner.KERNEL_ENV:
        monkeypatch.setenv(name, "0")  # execute() sets them; monkeypatch restores this process's values afterwards
    run = BookRun(scale="smoke", out=tmp_path / "book", data_dir=tmp_path)
    run.prepare()
    run.execute(run.notebooks()[0])
    outputs = nbformat.read(run.out / "notebooks" / "01_noisy.ipynb", as_version=4).cells[-1].outputs
    assert [(o.name, o.text) for o in outputs] == [("stdout", "1 1\n")]


def test_a_book_of_some_chapters_lists_only_those_and_a_whole_book_keeps_the_link(tmp_path):
    import yaml

    run = BookRun(scale="paper_size", out=tmp_path / "book", data_dir=tmp_path)
    run.prepare()
    listed = yaml.safe_load((book_runner.REPO_ROOT / "_toc.yml").read_text())
    for stem in [listed["root"], *(c["file"] for c in listed["chapters"])]:
        (run.out / f"{stem}.ipynb").write_text("{}")
    assert run.scope_toc() == [] and (run.out / "_toc.yml").is_symlink()
    first = listed["chapters"][0]["file"]
    (run.out / f"{first}.ipynb").unlink()
    assert run.scope_toc() == [first]
    scoped = yaml.safe_load((run.out / "_toc.yml").read_text())
    assert not (run.out / "_toc.yml").is_symlink() and scoped["root"] == listed["root"]
    assert [c["file"] for c in scoped["chapters"]] == [c["file"] for c in listed["chapters"][1:]]
    (run.out / f"{first}.ipynb").write_text("{}")  # executed later: the whole book's toc again
    assert run.scope_toc() == [] and (run.out / "_toc.yml").is_symlink()


def test_a_book_root_links_the_top_level_config_toc_and_page_style(tmp_path):
    run = BookRun(scale="smoke", out=tmp_path / "book", data_dir=tmp_path)
    run.prepare()
    for name in book_runner.BOOK_FILES:
        link = run.out / name
        assert link.is_symlink() and not Path(link.readlink()).is_absolute()
        assert link.resolve() == book_runner.REPO_ROOT / name
    assert (run.out / "_static" / "book.css").is_file()


def test_only_the_chapters_the_table_of_contents_lists_are_executed(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: notebooks/00_intro\nchapters:\n  - file: notebooks/03_loss_simulation\n")
    assert book_runner.book_chapters(toc) == {"00_intro", "03_loss_simulation"}
    listed = {p.stem for p in BookRun(scale="smoke", out=tmp_path).notebooks()}
    assert listed == book_runner.book_chapters() and "01_foundation" in listed


def _stub_book(tmp_path, monkeypatch, stems=("00_intro", "01_a", "02_b", "03_c")):
    """Empty notebooks `stems` as the book's chapters, chapters run in threads of this process (no real execution)."""
    from concurrent.futures import ThreadPoolExecutor

    src = tmp_path / "src"
    src.mkdir()
    for stem in stems:
        _notebook(src / f"{stem}.ipynb")
    monkeypatch.setattr(book_runner, "NOTEBOOKS", src)
    monkeypatch.setattr(book_runner, "book_chapters", lambda: set(stems))
    monkeypatch.setattr(book_runner, "chapter_pool", lambda jobs: ThreadPoolExecutor(jobs))
    return BookRun(scale="smoke", out=tmp_path / "book", data_dir=tmp_path)


def test_the_chapters_run_side_by_side_and_the_intro_after_all_of_them(tmp_path, monkeypatch):
    import threading
    import time

    run = _stub_book(tmp_path, monkeypatch)
    events, lock = [], threading.Lock()
    together = threading.Barrier(3, timeout=20)  # the three chapters must be running at once to pass it

    def execute(self, notebook):
        with lock:
            events.append(("start", notebook.stem))
        if notebook.stem != "00_intro":
            together.wait()
            time.sleep(0.2)  # an intro started alongside would log its start before these end
        with lock:
            events.append(("end", notebook.stem))
        return 1.0

    monkeypatch.setattr(BookRun, "execute", execute)
    timings = run.execute_all(jobs=4)
    assert set(timings) == {"00_intro", "01_a", "02_b", "03_c"}
    intro_start = events.index(("start", "00_intro"))
    assert all(events.index(("end", stem)) < intro_start for stem in ("01_a", "02_b", "03_c")), events


def test_the_slowest_chapter_of_the_last_run_starts_first(tmp_path, monkeypatch):
    run = _stub_book(tmp_path, monkeypatch)
    run.prepare()
    run.record({"00_intro": 99.0, "01_a": 1.0, "02_b": 50.0, "03_c": 5.0})
    started = []
    monkeypatch.setattr(BookRun, "execute", lambda self, notebook: started.append(notebook.stem) or 1.0)
    run.execute_all(jobs=1)
    assert started == ["02_b", "03_c", "01_a", "00_intro"]


def test_a_failing_chapter_fails_the_build_with_its_name_and_the_intro_never_runs(tmp_path, monkeypatch, capsys):
    run = _stub_book(tmp_path, monkeypatch)
    started = []

    def execute(self, notebook):
        started.append(notebook.stem)
        if notebook.stem == "02_b":
            raise NotebookFailed("notebook 02_b.ipynb failed in the cell starting 'x' (KeyError: 'boom')")
        if notebook.stem == "03_c":
            raise RuntimeError("Kernel died")  # not papermill's error: the chapter is still named
        return 1.0

    monkeypatch.setattr(BookRun, "execute", execute)
    argv = ["--scale", "smoke", "--out", str(run.out), "--no-build"]
    assert book_runner.main([*argv, "--jobs", "3"]) == 1
    err = capsys.readouterr().err
    assert "02_b.ipynb failed in the cell starting 'x' (KeyError: 'boom')" in err
    assert "notebook 03_c.ipynb failed (RuntimeError: Kernel died)" in err
    assert "00_intro" not in started
    # the chapter that finished keeps its timing; the run is marked as stopped, with no whole-run wall time
    recorded = json.loads((run.out / "parameters.json").read_text())
    assert recorded["notebook_seconds"] == {"01_a": 1.0} and recorded["stopped_by_a_failure"] is True
    assert "execution_seconds" not in recorded
    started.clear()
    assert book_runner.main([*argv, "--jobs", "1"]) == 1  # one at a time: nothing starts after the failure
    assert started == ["01_a", "02_b"] and "02_b.ipynb failed" in capsys.readouterr().err
    monkeypatch.setattr(BookRun, "execute", lambda self, notebook: 5.0)
    assert book_runner.main(argv) == 0  # a run that finishes records every chapter afresh, unmarked
    recorded = json.loads((run.out / "parameters.json").read_text())
    assert "stopped_by_a_failure" not in recorded and recorded["notebook_seconds"]["02_b"] == 5.0


def test_jobs_default_to_the_cores_this_process_may_use_and_are_recorded(tmp_path, monkeypatch):
    run = _stub_book(tmp_path, monkeypatch)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: {0, 3, 5})
    used = []
    monkeypatch.setattr(BookRun, "execute_all", lambda self, jobs, say=print: used.append(jobs) or {"01_a": 1.0})
    assert book_runner.main(["--scale", "smoke", "--out", str(run.out), "--no-build"]) == 0
    assert used == [3]
    assert json.loads((run.out / "parameters.json").read_text())["jobs"] == 3


def test_chapters_run_in_worker_processes_on_one_thread_and_the_intro_reads_them(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    burn = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 3: pass\n"  # 3 CPU s in 01_a
    for stem in ("01_a", "02_b"):
        code = "import os\nprint('threads', os.environ['OMP_NUM_THREADS'])"
        _notebook(src / f"{stem}.ipynb", (burn if stem == "01_a" else "") + code)
    _notebook(src / "00_intro.ipynb", "import os\npages = sorted(p for p in os.listdir(chapters_dir) if '.running' not in p)\n"
                                      "assert pages == ['01_a.ipynb', '02_b.ipynb'], pages")
    monkeypatch.setattr(book_runner, "NOTEBOOKS", src)
    monkeypatch.setattr(book_runner, "book_chapters", lambda: {p.stem for p in src.glob("*.ipynb")})
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # the kernels get 1 whatever the caller has
    out = tmp_path / "book"
    assert book_runner.main(["--scale", "smoke", "--out", str(out), "--no-build", "--jobs", "2"]) == 0
    for stem in ("01_a", "02_b"):
        outputs = nbformat.read(out / "notebooks" / f"{stem}.ipynb", as_version=4).cells[-1].outputs
        assert [o.text for o in outputs] == ["threads 1\n"]
    record = json.loads((out / "parameters.json").read_text())
    assert set(record["notebook_seconds"]) == {"00_intro", "01_a", "02_b"} and record["jobs"] == 2
    cpu = record["kernel_cpu_seconds"]  # each kernel's own CPU time, measured in the worker that ran it
    assert set(cpu) == {"00_intro", "01_a", "02_b"} and cpu["01_a"] - cpu["02_b"] >= 2.5
    assert book_runner.cpu_seconds(out / "notebooks" / "01_a.ipynb") == cpu["01_a"]
