"""`python -m lib.whatif` end to end on tiny-neox dynamics: a saved GPTfluence, a curriculum file, a table, a figure."""
import json
import runpy
import sys

import pandas as pd
import pytest

from lib.whatif.cli import main
from lib.whatif.saved import save
from lib.whatif.simulate import simulate_curriculum


def test_the_command_writes_what_the_function_returns(tmp_path, monkeypatch, capsys, runs, gptfluence):
    monkeypatch.setenv("GPTFLUENCE_CACHE_DIR", str(tmp_path / "cache"))  # the saved encoder is loaded by name
    save(gptfluence, tmp_path / "fitted.pt")
    steps = [[int(i) for i in step] for step in runs.train.curricula[0][:4]]
    steps[1][0] = "a review that no run trained on"
    (tmp_path / "curriculum.jsonl").write_text("".join(json.dumps(step) + "\n" for step in steps))
    test_ids = [int(t) for t in runs.train.test_ids[:3]]
    (tmp_path / "initial.csv").write_text("test_id,value\n" + "".join(f"{t},{2.0 + k}\n" for k, t in enumerate(test_ids)))
    code = main(["--simulator", str(tmp_path / "fitted.pt"), "--curriculum", str(tmp_path / "curriculum.jsonl"),
                 "--initial", str(tmp_path / "initial.csv"), "--out", str(tmp_path / "out.csv"),
                 "--figure", str(tmp_path / "fig.png")])
    assert code == 0 and "4 steps x 3 test examples (0 diverged) by GPTfluence" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "out.csv")
    expected = simulate_curriculum(gptfluence, {t: 2.0 + k for k, t in enumerate(test_ids)}, steps)
    pd.testing.assert_frame_equal(written, expected, check_exact=False, rtol=1e-12)
    assert (tmp_path / "fig.png").stat().st_size > 0


def test_bad_input_ends_with_a_message(tmp_path, capsys, runs, simfluence):
    save(simfluence, tmp_path / "fitted.pt")
    (tmp_path / "c.csv").write_text("step,text\n1,never seen\n")
    code = main(["--simulator", str(tmp_path / "fitted.pt"), "--curriculum", str(tmp_path / "c.csv"),
                 "--out", str(tmp_path / "out.csv")])
    assert code == 2 and "Simfluence cannot simulate unseen training examples" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_the_module_runs_as_a_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["python -m lib.whatif", "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("lib.whatif", run_name="__main__")
    assert done.value.code == 0 and "CSV   header `step,id,text`" in capsys.readouterr().out
