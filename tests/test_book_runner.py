import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from lib import book_runner
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
