"""The official GPTDynamics JSONL layout: import of a hand-written fixture, export -> import round trips."""
from __future__ import annotations

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
