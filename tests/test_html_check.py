from pathlib import Path

import pytest

from lib import html_check
from lib.html_check import Finding, check_book

HEAD = '<html><head><script src="../_static/mathjax/tex-chtml.js"></script></head><body>'
CLEAN = (HEAD + '<p>Math <span class="math notranslate nohighlight">\\(y_t = \\alpha y_{t-1}\\)</span> renders.</p>'
         '<div class="math notranslate nohighlight">$$x$$</div>'
         '<div class="cell docutils container"><div class="cell_input"><pre>re.compile(r"\\(") + "$$"</pre></div>'
         '<div class="cell_output docutils container"><div class="output stream"><pre>loss 0.40 after 16 steps</pre>'
         '</div></div></div><img src="../_images/a.png"><br></body></html>')


def _book(tmp_path: Path, **pages: str) -> Path:
    (tmp_path / "_static" / "mathjax").mkdir(parents=True)
    (tmp_path / "_static" / "mathjax" / "tex-chtml.js").write_text("// mathjax")
    (tmp_path / "_static" / "ignored.html").write_text("Traceback (most recent call last)")
    (tmp_path / "notebooks").mkdir()
    for name, html in pages.items():
        (tmp_path / "notebooks" / f"{name}.html").write_text(html)
    return tmp_path


def _kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


def test_a_clean_page_with_local_mathjax_passes(tmp_path):
    assert check_book(_book(tmp_path, clean=CLEAN), paths=["/build/machine"]) == []


@pytest.mark.parametrize("body, kind", [
    ('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>', "external script"),
    ('<script src="//cdn.example.org/x.js"></script>', "external script"),
    ('<script src="../_static/nope.js"></script>', "missing script"),
    ('<p>data in <code>/build/machine/shared/data</code></p>', "machine path"),
    ('<img src="/build/machine/main/fig.png">', "machine path"),
    ('<p>/home/alice/venv/bin</p>', "machine path"),
    ('<pre>/opt/venv/lib/python3.11/site-packages/tqdm/auto.py:21</pre>', "machine path"),
    ('<pre>KeyError   Traceback (most recent call last)</pre>', "traceback"),
    ('<div class="cell_output"><div class="output traceback"><pre>KeyError</pre></div></div>', "traceback in an output"),
    ('<div class="cell_output"><div class="output stream"><pre>FutureWarning: x is deprecated</pre></div></div>',
     "warning in an output"),
    ('<div class="cell_output"><div class="output stream"><pre>Loading weights: 100%|###| 3/3 [00:00&lt;00:00, 9.1it/s]'
     '</pre></div></div>', "progress bar in an output"),
    ('<div class="cell_output"><div class="output stream"><pre>  40%|████      | 4/10</pre></div></div>',
     "progress bar in an output"),
    ('<div class="cell_output"><div class="output stderr"><pre>anything</pre></div></div>', "stderr in an output"),
    ('<p>Readers see \\(y_t = \\alpha\\) unrendered.</p>', "raw math delimiter"),
    ('<p>a glued $$x$$ paragraph</p>', "raw math delimiter"),
    ('<td>\\[x\\]</td>', "raw math delimiter"),
])
def test_each_problem_is_found(tmp_path, body, kind):
    page = CLEAN.replace("</body>", body + "</body>")
    findings = check_book(_book(tmp_path, page=page), paths=["/build/machine"])
    assert kind in _kinds(findings), findings
    assert all(f.page == "notebooks/page.html" for f in findings)


def test_a_page_with_math_needs_a_local_mathjax(tmp_path):
    page = CLEAN.replace(HEAD, "<html><head></head><body>")
    assert _kinds(check_book(_book(tmp_path, page=page), paths=[])) == {"math without a local MathJax"}


def test_a_warning_word_in_the_prose_is_not_an_output_warning(tmp_path):
    page = CLEAN.replace("</body>", "<p>A DeprecationWarning is raised by old code; 50%|x| is prose.</p></body>")
    assert check_book(_book(tmp_path, page=page), paths=[]) == []


def test_machine_paths_name_this_checkout_and_never_the_filesystem_root():
    paths = html_check.machine_paths()
    assert str(html_check.REPO_ROOT) in paths
    assert "/" not in paths


def test_the_cli_exits_1_on_findings_and_0_when_clean(tmp_path, capsys):
    book = _book(tmp_path, clean=CLEAN)
    assert html_check.main([str(book)]) == 0
    (book / "notebooks" / "bad.html").write_text(CLEAN.replace("</body>", "<p>$$</p></body>"))
    assert html_check.main([str(book)]) == 1
    assert "notebooks/bad.html: raw math delimiter" in capsys.readouterr().out


def test_an_unbuilt_book_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the book"):
        check_book(tmp_path)
