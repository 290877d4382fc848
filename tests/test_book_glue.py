"""lib.book_glue: every glued value of an executed notebook, and the differences between two books."""
from __future__ import annotations

import json

from lib.book_glue import diff_books, glued_values, main, read_book

PREFIX = "application/papermill.record/"


def _glue(name: str, text: str, mime: str = "text/plain") -> dict:
    return {"output_type": "display_data", "data": {PREFIX + mime: text},
            "metadata": {"scrapbook": {"name": name, "mime_prefix": PREFIX}}}


def _notebook(*outputs: dict) -> dict:
    plain = {"output_type": "stream", "name": "stdout", "text": "not glued"}
    return {"cells": [{"cell_type": "code", "source": "", "outputs": [plain, *outputs]}], "metadata": {},
            "nbformat": 4, "nbformat_minor": 5}


def test_glued_values_keep_names_and_mime_types_and_skip_other_outputs():
    values = glued_values(_notebook(_glue("mse", "'0.012'"), _glue("fig", "abc", "image/png")))
    assert values == {"mse": {"text/plain": "'0.012'"}, "fig": {"image/png": "abc"}}


def test_a_changed_number_a_missing_name_and_a_figure_are_told_apart(tmp_path):
    before = {"03.ipynb": glued_values(_notebook(_glue("mse", "'0.012'"), _glue("gone", "1"),
                                                 _glue("fig", "abc", "image/png")))}
    after = {"03.ipynb": glued_values(_notebook(_glue("mse", "'0.013'"), _glue("fig", "abd", "image/png")))}
    diff = diff_books(before, after)
    assert diff.changed == {("03.ipynb", "mse"): ["text/plain"]}
    assert diff.only_before == [("03.ipynb", "gone")] and diff.only_after == []
    assert diff.figures == [("03.ipynb", "fig")] and not diff.identical
    assert diff_books(before, before).identical


def test_the_command_exits_1_on_a_difference(tmp_path, capsys):
    for side, value in (("a", "'1'"), ("b", "'1'"), ("c", "'2'")):
        (tmp_path / side).mkdir()
        (tmp_path / side / "01.ipynb").write_text(json.dumps(_notebook(_glue("x", value))))
    assert read_book(str(tmp_path / "a")) == {"01.ipynb": {"x": {"text/plain": "'1'"}}}
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert main([str(tmp_path / "a"), str(tmp_path / "c")]) == 1
    assert "01.ipynb x [text/plain]: \"'1'\" -> \"'2'\"" in capsys.readouterr().out


def test_values_that_vary_between_two_runs_of_the_same_code_are_set_apart():
    before = {"08.ipynb": glued_values(_notebook(_glue("latency", "'1e-5'"), _glue("mse", "'0.012'")))}
    rebuild = {"08.ipynb": glued_values(_notebook(_glue("latency", "'3e-5'"), _glue("mse", "'0.012'")))}
    after = {"08.ipynb": glued_values(_notebook(_glue("latency", "'2e-5'"), _glue("mse", "'0.012'")))}
    diff = diff_books(before, after, rebuild)
    assert diff.identical and diff.varying == {("08.ipynb", "latency"): ["text/plain"]}
    moved = {"08.ipynb": glued_values(_notebook(_glue("latency", "'2e-5'"), _glue("mse", "'0.013'")))}
    assert diff_books(before, moved, rebuild).changed == {("08.ipynb", "mse"): ["text/plain"]}
