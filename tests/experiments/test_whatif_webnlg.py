"""The what-if chapter's WebNLG part on the smoke (tiny-neox) collection: the designs are what they say, BLEU is
simulated by the methods that can, and the chapter says why WebNLG is missing where its runs are not trained."""
from __future__ import annotations

import numpy as np
import pytest

from lib.experiments import whatif
from lib.experiments.store import collection_config, progress, stored
from lib.whatif.categories import webnlg_categories
from lib.whatif.designs import DesignSettings, shuffled

TASK = whatif.get_task("webnlg")


@pytest.fixture(scope="module")
def plan():
    return whatif.build_plan("smoke", task="webnlg")


def _by_design(plan, name):
    return [d for d in plan.designs if d.design == name]


def _pool() -> list[int]:
    rows = stored("smoke", "webnlg").examples()
    return rows.loc[rows["role"] == "pool", "id"].astype(int).tolist()


def test_webnlg_designs_never_train_on_the_dropped_category(plan):
    rows = stored("smoke", "webnlg").examples()
    pool = set(rows.loc[rows["role"] == "pool", "id"].astype(int))
    categories = webnlg_categories(pool)
    dropped = plan.group.removeprefix("category ")
    assert plan.group == f"category {dropped}" and dropped in set(categories.values())
    designs = _by_design(plan, "category dropped")
    assert [d.seed for d in designs] == list(whatif.SEEDS)
    for design in designs:
        used = set(np.unique(design.curriculum.batches).tolist())
        assert used <= pool and dropped not in {categories[i] for i in used}
        assert used == set(design.curriculum.subset.tolist())
    kept = sum(c != dropped for c in categories.values())
    config = collection_config("smoke", "webnlg")
    assert len(designs[0].curriculum.subset) == min(kept, config.training.subset_size)


def test_webnlg_orderings_sort_the_same_examples_by_their_starting_loss(plan):
    config = collection_config("smoke", "webnlg")
    per_pass = config.training.steps_per_epoch
    for easy, hard in zip(_by_design(plan, "easy to hard"), _by_design(plan, "hard to easy")):
        settings = DesignSettings.of_config(config.training, seed=easy.seed)
        np.testing.assert_array_equal(easy.curriculum.subset, shuffled(_pool(), settings).subset)
        np.testing.assert_array_equal(easy.curriculum.subset, hard.curriculum.subset)
        assert easy.curriculum.batches.shape == (config.training.steps, config.training.batch_size)
        for up, down in zip(easy.curriculum.batches.reshape(-1, per_pass * config.training.batch_size),
                            hard.curriculum.batches.reshape(-1, per_pass * config.training.batch_size)):
            assert [plan.difficulty[int(i)] for i in up] == sorted(plan.difficulty[int(i)] for i in up)
            assert [plan.difficulty[int(i)] for i in down] == sorted((plan.difficulty[int(i)] for i in up), reverse=True)


def test_webnlg_repeated_unseen_and_longer_designs(plan):
    config = collection_config("smoke", "webnlg")
    steps = config.training.steps
    pool_rows = stored("smoke", "webnlg").examples()
    unseen = set(pool_rows.loc[pool_rows["role"] == "unseen", "id"].astype(int))
    assert plan.repeated_id == max(_pool(), key=lambda i: (plan.difficulty[i], -i))  # the hardest pool example
    for design in _by_design(plan, "one repeated"):
        assert int((design.curriculum.batches == plan.repeated_id).sum()) == max(1, steps // whatif.REPEAT_SHARE)
    for design in _by_design(plan, "half unseen"):
        # no smoke webnlg_unseen config: the unseen split of the collection itself, which none of its runs trains on
        assert design.collection == whatif.unseen_collection("smoke", TASK) == "webnlg"
        assert int(np.isin(design.curriculum.subset, list(unseen)).sum()) == len(design.curriculum.subset) // 2
    for design in _by_design(plan, "twice as long"):
        settings = DesignSettings.of_config(config.training, seed=design.seed)
        assert design.curriculum.steps == 2 * steps
        np.testing.assert_array_equal(design.curriculum.batches[:steps],
                                      shuffled(_pool(), settings).batches)
    train = stored("smoke", "webnlg").dynamics("loss", require_complete=True).select_runs("train")
    assert DesignSettings.of(train.curricula) == DesignSettings.of_config(config.training)  # laid out as its runs


@pytest.fixture(scope="module")
def bleu_result():
    return whatif.run("smoke", encoder=None, task="webnlg", metric="bleu", methods=("Simfluence", "TracIn-CP (10 ckpts)"))


def test_webnlg_bleu_is_simulated_by_the_methods_that_simulate_it(bleu_result):
    assert set(bleu_result.truth) == set(whatif.WEBNLG_DESIGNS)
    assert all(t.metric == "bleu" and t.n_runs == len(whatif.SEEDS) for t in bleu_result.truth.values())
    assert bleu_result.unfit == {"TracIn-CP (10 ckpts)": "TracIn-CP (10 ckpts) simulates the loss only (its scores "
                                                         "approximate loss changes), not bleu"}
    assert ("Simfluence", "half unseen") in bleu_result.refusals
    assert {m for m, _ in bleu_result.predictions} == {"Simfluence", whatif.REFERENCE}
    facts = whatif.facts(bleu_result)
    assert facts["whatif_webnlg_bleu_group"] == bleu_result.group
    assert facts["whatif_webnlg_bleu_planned"] == len(whatif.WEBNLG_DESIGNS) * len(whatif.SEEDS)
    assert not any(key.startswith("whatif_") and not key.startswith("whatif_webnlg_bleu_") for key in facts)
    text = whatif.design_text(bleu_result, "category dropped")
    assert text.startswith(f"**What if every example of {bleu_result.group} is dropped?**")
    with pytest.raises(ValueError, match="scored on \\['loss', 'bleu'\\], not 'rougeL'"):
        whatif.run("smoke", encoder=None, task="webnlg", metric="rougeL")


def test_the_cost_of_the_designs_is_measured_on_the_collections_runs():
    cost = whatif.planned_cost("smoke", "webnlg")
    timings = stored("smoke", "webnlg").timings()
    assert cost["runs"] == len(whatif.WEBNLG_DESIGNS) * len(whatif.SEEDS)
    assert cost["run_equivalents"] == len(whatif.SEEDS) * (len(whatif.WEBNLG_DESIGNS) + 1)  # twice as long: 2 runs
    assert cost["seconds_per_run"] == pytest.approx(timings["wall_seconds"].mean())
    assert cost["core_hours"] == pytest.approx(cost["run_equivalents"] * cost["seconds_per_run"] / 3600)


def test_the_chapter_says_why_webnlg_is_missing(monkeypatch):
    """At the default scale with no designed run trained (the difficulty scores not computed yet), the sentence names
    the collection's progress, the trained count, the command and its cost; smoke collects, so it has no reason."""
    assert whatif.status("smoke", "webnlg") is None

    def not_computed(*args, **kwargs):
        raise FileNotFoundError("start_losses.json is missing")

    monkeypatch.setattr(whatif, "plan", not_computed)
    why = whatif.status("default", "webnlg")
    cost = whatif.planned_cost("default", "webnlg")
    assert why.startswith("WebNLG is not in this chapter yet: ")
    assert progress(whatif.data_scale("default"), "webnlg").runs_text in why
    assert "0 of its 18 designed runs are trained" in why
    assert "`python -m lib.experiments.whatif --scale default --task webnlg --collect`" in why
    assert f"about {cost['core_hours']:.1f} core-hours" in why
    assert whatif.webnlg_sentence(why) == why and "Grad-Dot" in whatif.webnlg_sentence(None)


@pytest.mark.parametrize("task", ["sst2", "webnlg"])
def test_half_unseen_starts_from_the_collections_model(task):
    """'half unseen' is trained under the unseen collection's config: at paper size its pool, test and warm-up
    examples (hence the model every run starts from) are the collection's, so only the curriculum differs."""
    from lib.collect.examples import draw_examples

    spec = whatif.get_task(task)
    own = draw_examples(collection_config("paper_size", spec.collection))
    lender = draw_examples(collection_config("paper_size", spec.unseen))
    np.testing.assert_array_equal(own.pool_ids, lender.pool_ids)
    np.testing.assert_array_equal(own.test_ids, lender.test_ids)
    assert [int(e.id) for e in own.warmup] == [int(e.id) for e in lender.warmup]
    assert len(lender.unseen) and not set(lender.unseen_ids.tolist()) & set(own.by_id())


def test_the_paper_size_webnlg_plan(monkeypatch):
    """The designs the later session trains, laid out on the paper-size WebNLG collection (difficulty made up here,
    as its start losses are computed with the first designed run): no dropped category, 'half unseen' under
    webnlg_unseen's config with unseen examples that webnlg does not hold, every layout as its runs'."""
    difficulty = {}

    def start_losses(self, config, *, collect_missing, how, examples=None):
        rows = whatif.examples_table("default", config.name)
        ids = rows.loc[rows["role"].isin(["pool", "unseen"]), "id"].astype(int)
        difficulty.update({int(i): float((int(i) * 7919) % 1000) for i in ids})
        return dict(difficulty)

    monkeypatch.setattr(whatif.DesignedRunStore, "start_losses", start_losses)
    plan = whatif.build_plan("default", task="webnlg")
    rows = whatif.examples_table("default", "webnlg")
    pool = set(rows.loc[rows["role"] == "pool", "id"].astype(int))
    config = collection_config(whatif.data_scale("default"), "webnlg")
    categories = webnlg_categories(pool)
    dropped = plan.group.removeprefix("category ")
    assert len(plan.designs) == len(whatif.WEBNLG_DESIGNS) * len(whatif.SEEDS)
    for design in plan.designs:
        used = set(np.unique(design.curriculum.batches).tolist())
        steps = config.training.steps * whatif.LENGTH_FACTOR.get(design.design, 1)
        assert design.curriculum.batches.shape == (steps, config.training.batch_size)
        if design.design == "category dropped":
            assert used <= pool and dropped not in {categories[i] for i in used}
        elif design.design == "half unseen":
            assert design.collection == "webnlg_unseen"
            new = used - pool
            assert len(new) == config.training.subset_size // 2 and not new & set(rows["id"].astype(int))
        else:
            assert used <= pool and design.collection == "webnlg"
    assert sum(c == dropped for c in categories.values()) > 0


def test_the_command_line_trains_a_tasks_designs_and_says_the_cost_first(capsys):
    """`--task webnlg --collect` at smoke: the cost line, then one line per designed run (all trained already by the
    fixtures above, so none is trained again)."""
    whatif.main(["--scale", "smoke", "--task", "webnlg", "--collect"])
    lines = capsys.readouterr().out.strip().splitlines()
    cost = whatif.planned_cost("smoke", "webnlg")
    assert lines[0].startswith(f"18 designed runs, about {cost['core_hours']:.1f} core-hours")
    assert [line.split(":")[0] for line in lines[1:]] == [d.name for d in whatif.plan("smoke", task="webnlg")]
