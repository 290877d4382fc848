"""Check a built Jupyter Book's HTML for what a reader must never see: CDN scripts, machine paths, tracebacks,
warnings or progress bars in outputs, raw math delimiters outside rendered math, math without local MathJax.

    python -m lib.html_check build/smoke-book/_build/html   # exit status 1 and one line per finding
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from lib.paths import REPO_ROOT

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
VERBATIM_TAGS = {"pre", "code", "script", "style", "textarea"}
GENERIC_PATH = re.compile(r"(?<![\w/.~-])(?:/(?:home|Users)/[\w.-]+|/root/|[A-Za-z]:\\Users\\|\S*site-packages)")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
WARNING = re.compile(r"\b\w*Warning\b|\bwarnings\.warn\b")
PROGRESS = re.compile(r"\d+%\|[^|\n]*\||\d+/\d+ \[\d+:\d+|\b(?:it/s|s/it)\]|[█▏▎▍▌▋▊▉]{2,}|Loading weights")
RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$")


@dataclass(frozen=True)
class Finding:
    """One problem on one page: which page, what kind, and the offending text."""

    page: str
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.excerpt}"


def machine_paths() -> list[str]:
    """Absolute folders of this machine that a page must not name: the repository, its parent, home, Python's prefixes."""
    candidates = [REPO_ROOT, REPO_ROOT.parent, Path.home(), Path(sys.prefix), Path(sys.base_prefix)]
    roots = {str(p) for c in candidates for p in (c, c.resolve()) if len(p.parts) > 1}
    return sorted(roots)


class _PageParser(HTMLParser):
    """Collects a page's script sources and its text, each text piece with the context it appears in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, frozenset[str]]] = []
        self.scripts: list[str] = []
        self.texts: list[tuple[str, frozenset[str], bool]] = []  # text, classes around it, inside pre/code/script
        self.has_math = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = frozenset((attributes.get("class") or "").split())
        if tag == "script" and attributes.get("src"):
            self.scripts.append(attributes["src"] or "")
        if "math" in classes:
            self.has_math = True
        if tag not in VOID_TAGS:
            self.stack.append((tag, classes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)
        else:
            self.handle_starttag(tag, attrs) if tag in VOID_TAGS else None

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not data.strip():
            return
        classes = frozenset().union(*(c for _, c in self.stack))
        self.texts.append((data, classes, any(t in VERBATIM_TAGS for t, _ in self.stack)))


def _excerpt(text: str, match: re.Match) -> str:
    start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
    return " ".join(text[start:end].split())


def _local_target(page: Path, src: str) -> Path | None:
    """The file a relative script source points at (None for a URL with a scheme or host)."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or src.startswith("//"):
        return None
    return (page.parent / parts.path).resolve()


def check_page(page: Path, root: Path, paths: list[str]) -> list[Finding]:
    """Every finding on one HTML page (`root` names it relative; `paths` are the machine's folders to flag)."""
    html = page.read_text(encoding="utf-8", errors="replace")
    name = str(page.relative_to(root))
    parser = _PageParser()
    parser.feed(html)
    found: list[Finding] = []
    local_scripts = []
    for src in parser.scripts:
        target = _local_target(page, src)
        if target is None:
            found.append(Finding(name, "external script", src))
        elif not target.exists():
            found.append(Finding(name, "missing script", src))
        else:
            local_scripts.append(src)
    if parser.has_math and not any("mathjax" in s.lower() for s in local_scripts):
        found.append(Finding(name, "math without a local MathJax", "no _static/mathjax script on a page with math"))
    if paths:
        roots = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
        for match in re.finditer(r"(?<![\w/.-])(?:" + roots + r")(?=[/\\\"'<\s]|$)", html):
            found.append(Finding(name, "machine path", _excerpt(html, match)))
    for text, classes, verbatim in parser.texts:
        checks = [("machine path", GENERIC_PATH), ("traceback", TRACEBACK)]
        if "cell_output" in classes:
            checks += [("warning in an output", WARNING), ("progress bar in an output", PROGRESS)]
        if "math" not in classes and not verbatim:
            checks.append(("raw math delimiter", RAW_MATH))
        for kind, pattern in checks:
            match = pattern.search(text)
            if match:
                found.append(Finding(name, kind, _excerpt(text, match)))
        for kind in ("stderr", "traceback"):
            if kind in classes and "cell_output" in classes:
                found.append(Finding(name, f"{kind} in an output", " ".join(text.split())[:80]))
    return list(dict.fromkeys(found))


def check_book(html_dir: Path, paths: list[str] | None = None) -> list[Finding]:
    """Every finding on every HTML page under `html_dir` (a built book's _build/html), its _static/ excepted."""
    html_dir = Path(html_dir)
    pages = sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.relative_to(html_dir).parts)
    if not pages:
        raise FileNotFoundError(f"no HTML pages under {html_dir}: build the book first")
    paths = machine_paths() if paths is None else paths
    return [f for page in pages for f in check_page(page, html_dir, paths)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("html_dir", type=Path, help="a built book's HTML folder (<book>/_build/html)")
    args = parser.parse_args(argv)
    findings = check_book(args.html_dir)
    for finding in findings:
        print(finding)
    pages = len({f.page for f in findings})
    print(f"[html-check] {args.html_dir}: {len(findings)} finding(s) on {pages} page(s)" if findings
          else f"[html-check] {args.html_dir}: clean")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
