"""The official GPTDynamics JSONL layout: import of a hand-written fixture, export -> import round trips."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from lib.collect import export_gptdynamics, import_gptdynamics, load_dynamics

FIXTURE = Path(__file__).parent / "fixtures" / "gptdynamics_small"


def test_import_fixture_starts_at_step_1():
    dyn = import_gptdynamics(FIXTURE, "loss")
    assert dyn.steps.tolist() == [1, 2, 3, 4]  # no value before training in the official data
    assert (dyn.n_runs, dyn.n_steps, dyn.batch_size) == (2, 3, 2)
    assert dyn.test_ids.tolist() == [35000001, 35000007, 35000004]  # order of the first run's file
    np.testing.assert_array_equal(dyn.values[0, :, 0], [2.75, 2.5, 2.375, 2.25])
    np.testing.assert_array_equal(dyn.values[1, :, 0], [2.875, 2.625, 2.5, 2.4375])  # reordered by id
    np.testing.assert_array_equal(dyn.curricula[0], [[30000005, 30000002], [30000011, 30000005],
                                                     [30000002, 30000003]])  # batches of steps 2, 3, 4
    first = dyn.config["dropped_batches"]["output_webnlg_bs-2_shot-6_sample-4_lr-1e-6_epoch-2_seed-1"]
    assert first == {1: [30000003, 30000011]}
    assert dyn.train_texts[30000002].startswith("Triples: Aarhus") and len(dyn.test_texts) == 3
    bleu = import_gptdynamics(FIXTURE, "bleu")
    np.testing.assert_array_equal(bleu.values[0, :, 2], [12.0, 12.5, 14.75, 15.0])
    with pytest.raises(ValueError, match="rougeL"):
        import_gptdynamics(FIXTURE, "rougeL")


def test_fixture_round_trip(tmp_path):
    dyn = import_gptdynamics(FIXTURE, "loss")
    back = import_gptdynamics(export_gptdynamics(dyn, tmp_path / "out"), "loss")
    np.testing.assert_array_equal(back.values, dyn.values)
    np.testing.assert_array_equal(back.curricula, dyn.curricula)
    np.testing.assert_array_equal(back.steps, dyn.steps)
    assert back.train_texts == dyn.train_texts and back.test_texts == dyn.test_texts


def test_collection_round_trip(reference_collection, tmp_path):
    dyn = load_dynamics(reference_collection)
    with_step0 = import_gptdynamics(export_gptdynamics(dyn, tmp_path / "full", include_step0=True), "loss")
    np.testing.assert_array_equal(with_step0.values, dyn.values)
    np.testing.assert_array_equal(with_step0.curricula, dyn.curricula)
    np.testing.assert_array_equal(with_step0.steps, dyn.steps)
    np.testing.assert_array_equal(with_step0.run_ids, dyn.run_ids)
    assert with_step0.split.tolist() == dyn.split.tolist()
    assert with_step0.train_texts == dyn.train_texts and with_step0.test_texts == dyn.test_texts
    official = import_gptdynamics(export_gptdynamics(reference_collection, tmp_path / "official"), "loss")
    assert official.steps.tolist() == dyn.steps[1:].tolist()
    np.testing.assert_array_equal(official.values, dyn.values[:, 1:])
    np.testing.assert_array_equal(official.curricula, dyn.curricula[:, 1:])
    lines = (tmp_path / "official" / "run-0000" / "all_loss_trajectory.out").read_text().splitlines()
    assert '"step": 1,' in lines[0] and '"step": 0,' not in lines[0]
    thinned = dyn.every_k_steps(2)
    back = import_gptdynamics(export_gptdynamics(thinned, tmp_path / "thin", include_step0=True), "loss")
    np.testing.assert_array_equal(back.curricula, thinned.curricula)
    np.testing.assert_array_equal(back.steps, thinned.steps)


RUN1 = "output_webnlg_bs-2_shot-6_sample-4_lr-1e-6_epoch-2_seed-1"


def test_export_refuses_a_non_empty_destination_unless_asked_to_overwrite(tmp_path):
    dyn = import_gptdynamics(FIXTURE, "loss")
    dest = export_gptdynamics(dyn, tmp_path / "out")
    keep = tmp_path / "out" / "notes.txt"
    keep.write_text("mine")
    with pytest.raises(ValueError, match=r"out is not empty; .*overwrite=True"):
        export_gptdynamics(dyn.select_runs([1]), dest)
    assert import_gptdynamics(dest, "loss").n_runs == 2  # the refused call changed nothing
    export_gptdynamics(dyn.select_runs([1]), dest, overwrite=True)
    back = import_gptdynamics(dest, "loss")
    assert back.n_runs == 1 and back.run_ids.tolist() == [1]  # the earlier export's run 0 is gone
    np.testing.assert_array_equal(back.values[0], dyn.values[1])
    assert keep.read_text() == "mine" and not (dest / "run-0000").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        export_gptdynamics(dyn, tmp_path / "file", overwrite=True)


def test_import_reads_the_runs_that_runs_json_lists(tmp_path):
    dyn = import_gptdynamics(FIXTURE, "loss")
    dest = export_gptdynamics(dyn.select_runs([0]), tmp_path / "out")
    shutil.copytree(dest / "run-0000", dest / "run-0007")  # a stale run folder of an earlier export
    assert import_gptdynamics(dest, "loss").run_ids.tolist() == [0]
    shutil.rmtree(dest / "run-0000")
    with pytest.raises(ValueError, match=r"runs.json: lists run folder\(s\) \['run-0000'\]"):
        import_gptdynamics(dest, "loss")
    (dest / "runs.json").write_text('{"runs": [{"folder": "run-0007"}]}')
    with pytest.raises(ValueError, match=r"runs.json: not a runs list .*KeyError"):
        import_gptdynamics(dest, "loss")


@pytest.mark.parametrize("file, line, old, new, message", [
    (f"{RUN1}/train_samples_id.json", 2, '"samples_id"', '"samples"', "missing key 'samples_id'"),
    (f"{RUN1}/train_samples_id.json", 3, '"step": 3', '"step": "3"', "'step' must be an int"),
    (f"{RUN1}/train_samples_id.json", 1, '30000003', '"30000003"', "'samples_id' must be a list of integer ids"),
    (f"{RUN1}/all_loss_trajectory.out", 2, '"id"', '"idx"', "missing key 'id'"),
    (f"{RUN1}/all_loss_trajectory.out", 3, '"loss": 1.25', '"loss": "1.25"', "'loss' must be a number"),
    (f"{RUN1}/all_loss_trajectory.out", 1, '"loss_trajectory": [', '"loss_trajectory": 5, "x": [',
     "'loss_trajectory' must be a list"),
    ("eval.jsonl", 2, '"input"', '"text"', "missing key 'input'"),
    ("train.jsonl", 1, '{"id"', '[{"id"', "expected a JSON object, got list"),
    ("train.jsonl", 2, '{"id"', '{id', "invalid JSON"),
])
def test_malformed_lines_are_named_by_path_and_line(tmp_path, file, line, old, new, message):
    root = shutil.copytree(FIXTURE, tmp_path / "data")
    path = root / file
    lines = path.read_text().splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    if new.startswith("["):
        lines[line - 1] += "]"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}:{line}: .*{re.escape(message)}"):
        import_gptdynamics(root, "loss")
