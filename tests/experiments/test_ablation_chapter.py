"""Chapter 05 split into process groups gives the numbers of one sequential run."""
import pandas as pd
import pytest

from lib.experiments import ablation_chapter, ablations, simfluence_variants
from lib.experiments.ablations import ABLATIONS, VARIANTS, AblationGrid
from lib.experiments.settings import INSTRUCTION_TUNING

from test_ablations import FAST, HashEncoder, incomplete

SPLIT = dict(interval_tasks=("sst2",), intervals=(1, 4), order_targets={"sst2": ("loss",)}, orders=(1, 2),
             encoder_collection=INSTRUCTION_TUNING, size_collections=("sst2", "sst2_size2"), variant_tasks=("sst2",),
             adam_tasks=("sst2",), why="test")


@pytest.fixture
def split_grid(monkeypatch):
    """Smoke scale on a small grid whose Markov orders run in a process of their own; the mixture incomplete (the
    encoder part is left out and must be named once)."""
    grid = AblationGrid(**SPLIT, process_groups=(("order",), ("interval", "encoder", "size", VARIANTS)))
    monkeypatch.setitem(ablations.GRIDS, "smoke", grid)
    monkeypatch.setattr(ablations, "progress", incomplete({INSTRUCTION_TUNING}))
    monkeypatch.setattr(ablations, "gptfluence_config", lambda scale: FAST)
    monkeypatch.setattr(ablation_chapter, "load_encoder", lambda name: HashEncoder())
    return grid


def numbers(table):
    """A table without its timing columns (wall seconds differ between any two runs)."""
    return table.drop(columns=[c for c in table.columns if "seconds" in c])


def assert_same_numbers(a, b):
    for field in ("interval", "orders", "sizes", "size_models"):
        pd.testing.assert_frame_equal(numbers(getattr(a, field)), numbers(getattr(b, field)))
    for field in ("interval_differences", "order_differences", "size_differences"):
        pd.testing.assert_frame_equal(getattr(a, field), getattr(b, field))
    assert (a.interval_steps, a.order_steps) == (b.interval_steps, b.order_steps)


def test_groups_in_worker_processes_give_the_sequential_numbers(split_grid):
    sequential = ablations.run("smoke", encoder=HashEncoder())
    variants = simfluence_variants.run("smoke")
    split, split_variants = ablation_chapter.run_chapter("smoke", workers=2, context="fork")
    assert_same_numbers(split, sequential)
    pd.testing.assert_frame_equal(numbers(split_variants.variants), numbers(variants.variants))
    pd.testing.assert_frame_equal(numbers(split_variants.fits), numbers(variants.fits))
    assert [s.ablation for s in split.skipped] == ["encoder"]  # named once, by the group that ran it
    assert list(split.seconds) == list(ABLATIONS)
    assert split.side_by_side == split_grid.process_groups  # the page says which parts ran at once
    # order n = 1 (GPTfluence and Simfluence) is the k = 1 fit: reused in one process, made again in the other
    assert split.fits_made + split.fits_reused == sequential.fits_made + sequential.fits_reused
    assert split.fits_made == sequential.fits_made + 2


def test_one_worker_runs_the_groups_in_this_process(split_grid):
    split, _ = ablation_chapter.run_chapter("smoke", workers=1, encoder=HashEncoder())
    assert_same_numbers(split, ablations.run("smoke", encoder=HashEncoder()))
    assert split.side_by_side == ()  # one after the other: the page must not say "side by side"


def test_a_subset_of_parts_leaves_the_others_empty_and_unnamed(split_grid):
    result = ablations.run("smoke", encoder=HashEncoder(), parts=["order"])
    assert result.has("order") and not any(result.has(p) for p in ("interval", "encoder", "size"))
    assert result.skipped == [] and list(result.seconds) == ["order"]


def test_bad_parts_and_groups_are_refused_with_their_names():
    with pytest.raises(ValueError, match=r"unknown ablation\(s\) \['orders'\]"):
        ablations.run("smoke", encoder=HashEncoder(), parts=["orders"])
    with pytest.raises(ValueError, match="process_groups must hold each of"):
        AblationGrid(**SPLIT, process_groups=(("order",), ("interval",)))
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        ablation_chapter.run_chapter("smoke", workers=0)


def test_the_paper_size_grid_splits_the_markov_orders_from_the_rest():
    assert ablations.PAPER_SIZE_GRID.process_groups[0] == ("order",)
    assert len(ablations.FULL_GRID.process_groups) == 1  # the default book: one process, every fit shared
