"""The book's notebooks show the narrative, tables, figures and short library calls; setup and long code fold away."""
import nbformat
import pytest

from lib.book_runner import NOTEBOOKS

HIDDEN = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
MAX_SHOWN_LINES = 8
PAGES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_no_long_code_cell_is_shown_unfolded(path):
    long_shown = [c.source.splitlines()[0] for c in _code_cells(path)
                  if len(c.source.splitlines()) > MAX_SHOWN_LINES and not HIDDEN & set(c.metadata.get("tags", []))]
    assert not long_shown, f"{path.name}: cells over {MAX_SHOWN_LINES} lines shown unfolded, starting {long_shown}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_the_setup_cell_after_the_parameters_is_folded_and_sets_the_book_style(path):
    cells = _code_cells(path)
    first = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    setup = cells[first + 1]
    assert "use_book_numbers()" in setup.source, path.name
    if "import matplotlib" in setup.source:
        assert "use_book_style()" in setup.source, path.name
        assert HIDDEN & set(setup.metadata.get("tags", [])), path.name


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_no_page_states_a_smoke_scale_caveat_outside_a_smoke_only_cell(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if "`smoke` scale" in cell.source or "smoke scale" in cell.source:
            assert cell.cell_type == "code" and 'if scale == "smoke"' in cell.source, cell.source[:120]
