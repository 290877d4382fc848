"""lib.experiments.wording: the book's numbers and comparison phrases."""
import numpy as np

from lib.experiments.wording import (cell, published, change_phrase, compare_word, compared, fmt, human_count, number,
                                     position_phrase, ratio_phrase, relative, sci, trend, use_book_numbers, verdict)


def test_numbers_follow_one_rule_three_significant_figures_and_thousands_separators():
    assert number(0.8510000109672546) == "0.851" and number(12.345) == "12.3" and number(2.5) == "2.50"
    assert number(1862959.9521) == "1,862,960" and number(999.7) == "1,000" and number(-1234.5) == "-1,234"
    assert number(100.0) == "100" and number(16) == "16" and number(np.int64(1024)) == "1,024"
    assert number(0.000012345) == "1.23e-05" and number(0.00123) == "0.00123" and number(0) == "0"
    assert number(np.nan) == "n/a" and number(None) == "n/a" and number("x") == "n/a" and number(np.inf) == "n/a"
    assert fmt(0.12345) == "0.123" and fmt(np.float64(1.2)) == "1.20"
    assert sci(0.000012345) == "1.23e-05" and sci(1862959.9521) == "1.86e+06" and sci(float("nan")) == "n/a"
    assert sci(1.2) == "1.20" and sci(32.0) == "32.0" and sci(768.0) == "768"
    assert human_count(134_515_008) == "135M" and human_count(1.2e9) == "1.2B" and human_count(512) == "512"


def test_cells():
    assert cell(1.0, np.nan) == "1.00" and cell(np.nan, 1.0) == ""
    assert cell(0.012345, 0.001234, missing="-") == "0.0123 (0.00123)"
    assert cell(None, missing="n/a") == "n/a" and cell(2.0, 0.5) == "2.00 (0.500)" and cell(12345.6, 7.0) == "12,346 (7.00)"


def test_pandas_tables_show_floats_by_the_same_rule():
    import pandas as pd

    use_book_numbers()
    frame = pd.DataFrame({"latency (s)": [0.000012345, 1862959.9521], "accuracy": [0.8510000109672546, 1.0]})
    html, styled = frame._repr_html_(), frame.style.to_html()
    for text in ("1.23e-05", "1,862,960", "0.851"):
        assert text in html and text in styled
    assert "0.8510000109672546" not in html + styled
    assert "x" * 80 in pd.DataFrame({"why": ["x" * 80]})._repr_html_()
    styled = pd.DataFrame({"kind": ["classification"], "examples": [67349]}).style.to_html()
    assert "classification" in styled and "67,349" in styled and "n/a" not in styled
    pd.reset_option("display.max_colwidth")
    pd.reset_option("display.float_format")
    pd.reset_option("styler.format.formatter")


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


def test_interval_text_uses_the_book_number_rule():
    from lib.experiments.wording import interval_text
    assert interval_text(-0.0123456, 1234.5) == "[-0.0123, 1,234]"
    assert interval_text(float("nan"), 1.0) == "n/a" and interval_text(None, 1.0, missing="—") == "—"


def test_papers_values_show_only_the_digits_they_published():
    assert published(0.008) == "0.008" and published(0.5) == "0.5" and published(0.929) == "0.929"
    assert published(12.0) == "12" and published(1862.0) == "1,862" and published(1.5e-05) == "1.50e-05"
    assert cell(0.008, 0.007, paper=True) == "0.008 (0.007)" and cell(0.008, 0.007) == "0.00800 (0.00700)"


def test_join_words_lists_each_item_once_in_order():
    from lib.experiments.wording import join_words
    assert join_words(["SST-2"]) == "SST-2"
    assert join_words(["SST-2", "RTE"]) == "SST-2 and RTE"
    assert join_words(["SST-2", "RTE", "SST-2", "BoolQ"]) == "SST-2, RTE and BoolQ"
