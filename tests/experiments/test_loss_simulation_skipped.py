"""The loss chapter with incomplete collections: Table 1 left out without the mixture, Table 2 on the others."""
import nbformat

from lib.book_runner import NOTEBOOKS
from lib.experiments import loss_simulation, scoring
from lib.experiments.settings import INSTRUCTION_TUNING
from lib.experiments.store import Progress
from lib.simulators import GPTfluenceConfig

from test_ablations import HashEncoder, cited_keys

FAST = GPTfluenceConfig(lr=1e-3, hidden=16, max_epochs=3, warmup_steps=0, patience=2)


def test_without_the_mixture_table_1_is_left_out_and_every_cited_key_says_why(monkeypatch):
    incomplete = {INSTRUCTION_TUNING, "webnlg"}
    monkeypatch.setattr(loss_simulation, "progress", lambda scale, name, data_dir=None:
                        Progress(scale, name, 2 if name in incomplete else 8, 8))
    monkeypatch.setattr(scoring, "gptfluence_config", lambda scale: FAST)
    result = loss_simulation.run("smoke", encoder=HashEncoder(), tasks=["sst2", "webnlg"])
    assert not result.has_t1 and result.t2_tasks == ["sst2"] and list(result.fine_tuning) == ["sst2"]
    assert "webnlg: 2 of 8 runs collected" in result.skipped_text
    facts = loss_simulation.facts(result)
    assert facts["t1_gs_claim"] == "not testable" and f"{INSTRUCTION_TUNING}: 2 of 8" in facts["t1_gs_why"]
    assert facts["t1_wins_mse_ours"] == "n/a" and facts["t1_wins_mse_paper"] != "n/a"  # the paper's, as always
    assert facts["t2_gs_claim"] != "not testable" or facts["t2_gs_why"]
    page = {k for k in cited_keys(NOTEBOOKS / "03_loss_simulation.ipynb") if k.startswith(("t1_", "t2_", "sigma_"))}
    assert page <= set(facts), sorted(page - set(facts))


def test_the_chapter_reads_the_cross_check_of_its_scale_not_a_fixed_regime():
    setup = "\n".join(c.source for c in nbformat.read(NOTEBOOKS / "03_loss_simulation.ipynb", as_version=4).cells
                      if c.cell_type == "code")
    assert '"paper_size"' not in setup and "loss_simulation.cross_check(scale" in setup


def test_table_2_alone_when_no_instruction_collection_is_asked_for(monkeypatch):
    asked = []
    monkeypatch.setattr(loss_simulation, "progress", lambda scale, name, data_dir=None:
                        asked.append(name) or Progress(scale, name, 8, 8))
    monkeypatch.setattr(scoring, "gptfluence_config", lambda scale: FAST)
    result = loss_simulation.run("smoke", encoder=HashEncoder(), instruction=None, tasks=["sst2"])
    assert asked == ["sst2"] and not result.has_t1 and result.t2_tasks == ["sst2"] and result.skipped == []


def test_the_cross_check_is_table_2_of_the_other_regime_and_none_at_smoke(monkeypatch):
    from lib.scales import cross_check_of

    calls = []
    monkeypatch.setattr(loss_simulation, "run", lambda scale, **kw: calls.append((scale, kw)) or "table 2")
    assert loss_simulation.cross_check("smoke", encoder="e") is None and calls == []
    for scale in ("default", "paper_size", "full_fine_tuning"):
        assert loss_simulation.cross_check(scale, encoder="e", tasks=["rte"]) == "table 2"
        assert calls[-1] == (cross_check_of(scale).name, {"encoder": "e", "instruction": None, "tasks": ["rte"],
                                                          "data_dir": None})
