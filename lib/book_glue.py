"""The values a book glues (myst-nb `glue`): gluing a chapter's facts, and diffing every glued value of two builds.

A chapter glues the dict of its experiment's `facts(...)` with `glue_facts`.

A refactoring that must not change the book's numbers is checked by diffing the glued values of the committed
notebooks against a fresh build:

    python -m lib.book_glue HEAD:book/notebooks book/notebooks     # a git revision's notebooks vs the folder's

A side is a folder of executed notebooks or `REV:folder` (read with `git show`, no checkout). Text, HTML and
Markdown outputs are compared exactly; figures (PNG, SVG) are reported apart, as they may differ by renderer
details while every number drawn is also glued or tabulated. Some values differ between two executions of the
same code (timings, float noise of multithreaded fitting): `--rebuild DIR`, a second execution of the `before`
code, names them, and their differences are listed apart. Exit status 1 when any other glued text differs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from myst_nb import glue

from lib.paths import REPO_ROOT

GLUE_KEY = "scrapbook"
FIGURE_MIMES = ("image/png", "image/svg+xml", "image/jpeg")


@dataclass(frozen=True)
class GlueDiff:
    """What changed between two books: per (notebook, name), the differing MIME types, plus names only one has."""

    changed: dict[tuple[str, str], list[str]]
    figures: list[tuple[str, str]]
    only_before: list[tuple[str, str]]
    only_after: list[tuple[str, str]]
    compared: int
    varying: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # changed, but also between two runs

    @property
    def identical(self) -> bool:
        """No glued text, table or name differs (figures, and values that vary from run to run, aside)."""
        return not (self.changed or self.only_before or self.only_after)


def glue_facts(facts: Mapping[str, object]) -> None:
    """Glue every fact for the text ({glue:text}`name`), floats (numpy's too) as plain Python floats."""
    for key, value in facts.items():
        glue(key, float(value) if isinstance(value, float) else value, display=False)


def glued_values(notebook: dict) -> dict[str, dict[str, str]]:
    """name -> {MIME type without the papermill prefix: content} of every glue output of an executed notebook."""
    out: dict[str, dict[str, str]] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get(GLUE_KEY)
            if not record:
                continue
            prefix = record.get("mime_prefix", "")
            data = {mime.removeprefix(prefix): "".join(v) if isinstance(v, list) else json.dumps(v, sort_keys=True)
                    if isinstance(v, dict) else str(v) for mime, v in output.get("data", {}).items()}
            out[record["name"]] = data
    return out


def read_book(source: str) -> dict[str, dict[str, dict[str, str]]]:
    """notebook file name -> its glued values, from a folder or from `REV:folder` of the repository."""
    if ":" in source and not Path(source).exists():
        rev, folder = source.split(":", 1)
        names = subprocess.run(["git", "ls-tree", "--name-only", f"{rev}:{folder}"], cwd=REPO_ROOT, check=True,
                               capture_output=True, text=True).stdout.split()
        texts = {n: subprocess.run(["git", "show", f"{rev}:{folder}/{n}"], cwd=REPO_ROOT, check=True,
                                   capture_output=True, text=True).stdout for n in names if n.endswith(".ipynb")}
    else:
        texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(source).glob("*.ipynb"))}
    if not texts:
        raise FileNotFoundError(f"no executed notebooks in {source}")
    return {name: glued_values(json.loads(text)) for name, text in sorted(texts.items())}


def diff_books(before: dict[str, dict[str, dict[str, str]]], after: dict[str, dict[str, dict[str, str]]],
               rebuild: dict[str, dict[str, dict[str, str]]] | None = None) -> GlueDiff:
    """Compare every glued value of two books (as `read_book` returns them); with `rebuild` (a second execution of
    the `before` code) the values that differ between before and rebuild are set apart as `varying`."""
    keys_before = {(nb, name) for nb, values in before.items() for name in values}
    keys_after = {(nb, name) for nb, values in after.items() for name in values}
    changed, figures = {}, []
    for nb, name in sorted(keys_before & keys_after):
        a, b = before[nb][name], after[nb][name]
        mimes = sorted(m for m in set(a) | set(b) if a.get(m) != b.get(m))
        text = [m for m in mimes if m not in FIGURE_MIMES]
        if text:
            changed[(nb, name)] = text
        elif mimes:
            figures.append((nb, name))
    varying = {}
    if rebuild is not None:
        noisy = diff_books(before, rebuild).changed
        varying = {key: mimes for key, mimes in changed.items() if set(mimes) <= set(noisy.get(key, ()))}
        changed = {key: mimes for key, mimes in changed.items() if key not in varying}
    return GlueDiff(changed, figures, sorted(keys_before - keys_after), sorted(keys_after - keys_before),
                    len(keys_before & keys_after), varying)


def report(diff: GlueDiff, before: dict, after: dict) -> str:
    """The differences as lines of text, each with both values of a changed glue."""
    lines = [f"{diff.compared} glued values compared: "
             + ("identical" if diff.identical else f"{len(diff.changed)} differ")
             + (f" ({len(diff.varying)} more differ as they do between two runs of the same code)" if diff.varying
                else "")
             + (f"; {len(diff.figures)} figures differ in their image bytes only" if diff.figures else "")]
    for tag, items in (("", diff.changed), ("varies run to run: ", diff.varying)):
        for (nb, name), mimes in items.items():
            for mime in mimes:
                old, new = before[nb][name].get(mime), after[nb][name].get(mime)
                lines.append(f"{tag}{nb} {name} [{mime}]: {old!r:.200} -> {new!r:.200}")
    lines += [f"{nb} {name}: only before" for nb, name in diff.only_before]
    lines += [f"{nb} {name}: only after" for nb, name in diff.only_after]
    lines += [f"{nb} {name}: figure bytes differ" for nb, name in diff.figures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: diff the glued values of two books; exit 1 when any glued text differs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", help="folder of executed notebooks, or REV:folder")
    parser.add_argument("after", help="folder of executed notebooks, or REV:folder")
    parser.add_argument("--rebuild", help="a second execution of the before code: values it changes vary run to run")
    args = parser.parse_args(argv)
    before, after = read_book(args.before), read_book(args.after)
    diff = diff_books(before, after, read_book(args.rebuild) if args.rebuild else None)
    print(report(diff, before, after))
    return 0 if diff.identical else 1


if __name__ == "__main__":
    sys.exit(main())
