"""lib.experiments.wording: the book's numbers and comparison phrases."""
import numpy as np

from lib.experiments.wording import (cell, change_phrase, compare_word, compared, fmt, human_count, position_phrase,
                                     ratio_phrase, relative, sci, trend, verdict)


def test_numbers():
    assert fmt(0.12345) == "0.123" and fmt(np.float64(2.5), 0) == "2" and fmt(np.nan) == "n/a" and fmt(None) == "n/a"
    assert sci(0.000012345) == "1.2e-05" and sci(float("nan")) == "n/a" and sci("x") == "n/a"
    assert human_count(134_515_008) == "135M" and human_count(1.2e9) == "1.2B" and human_count(512) == "512"


def test_cells():
    assert cell(1.0, np.nan, spec=".2f") == "1.00" and cell(np.nan, 1.0, spec=".2f") == ""
    assert cell(0.012345, 0.001234, spec=".3g", std_spec=".2g", missing="-") == "0.0123 (0.0012)"
    assert cell(None, missing="n/a") == "n/a" and cell(2.0, 0.5, spec=".3g") == "2 (0.5)"


def test_exact_comparisons():
    assert change_phrase(1.0, 2.0) == "50% lower"
    assert change_phrase(3.0, 1.0) == "200% higher"
    assert change_phrase(25.0, 1.0) == "25 times higher" and change_phrase(1.0, 40.0) == "40 times lower"
    assert change_phrase(1909129.15, 1.0) == "1.9e+06 times higher" and change_phrase(0.0, 1.0) == "100% lower"
    assert change_phrase(1.0, 1.0) == "equal"
    assert change_phrase(1.001, 1.0) == "0.1% higher"
    assert change_phrase(np.nan, 1.0) == "n/a"
    assert compare_word(0.1, 0.2, "mse") == "better" and compare_word(0.1, 0.2, "spearman") == "worse"
    assert compare_word(np.nan, 0.2, "mae") == "not comparable"
    assert verdict(3, 3) == "holds on every task" and verdict(2, 3) == "holds on most tasks"
    assert verdict(1, 3) == "holds on a minority of tasks" and verdict(0, 3, "cell") == "does not hold on any cell"
    assert verdict(1, 2) == "holds on half of the tasks" and verdict(0, 0) == "cannot be checked"


def test_comparisons_within_a_tolerance_follow_the_score_direction():
    assert trend(1.0, 2.0) == "rises" and trend(2.0, 1.0) == "falls" and trend(1.0, 1.001) == "stays level"
    assert trend(float("nan"), 1.0) == "is undefined"
    assert compared(0.1, 0.2, "mse") == "better than" and compared(0.1, 0.2, "spearman") == "worse than"
    assert compared(0.2, 0.2, "mae") == "on par with" and compared(np.nan, 0.2, "mse") == "not comparable with"
    assert relative(2.0, 1.0) == "higher" and relative(1.0, 2.0) == "lower" and relative(1.0, 1.0) == "about the same"
    assert ratio_phrase(10.0, 2.0) == "5 times as much as" and ratio_phrase(2.0, 10.0) == "5 times less than"
    assert ratio_phrase(0.0, 1.0) == "n/a"
    assert position_phrase(0.501, 0.499) == "the same as" and position_phrase(0.6, 0.5) == "above"
    assert position_phrase(0.4, 0.5) == "below"
