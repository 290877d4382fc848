"""Saving a fitted simulator and loading it back: identical predictions, provenance, refusals."""
import dataclasses

import numpy as np
import pytest
import torch

from lib.simulators import GPTfluence, Simfluence, SimfluenceSGD
from lib.whatif.saved import FORMAT_VERSION, dynamics_hash, fitted, load, save


def test_simfluence_round_trip_predicts_identically(tmp_path, runs, simfluence):
    save(simfluence, tmp_path / "simfluence.pt")
    loaded = load(tmp_path / "simfluence.pt")
    sim, again = simfluence.simulator, loaded.simulator
    assert type(again) is Simfluence and again.variant == sim.variant and again.l2_ == sim.l2_
    np.testing.assert_array_equal(again.simulate(runs.train), sim.simulate(runs.train))
    assert loaded.dynamics_hash == dynamics_hash(runs.train) == simfluence.dynamics_hash
    assert loaded.collection_hash == runs.train.config["config_hash"]
    assert loaded.train_texts == runs.train.train_texts and loaded.test_texts == runs.train.test_texts
    np.testing.assert_allclose([loaded.initial[int(t)][0] for t in runs.train.test_ids],
                               runs.train.values[:, 0].mean(axis=0))


def test_gptfluence_round_trip_predicts_identically(tmp_path, monkeypatch, runs, gptfluence, encoder):
    monkeypatch.setenv("GPTFLUENCE_CACHE_DIR", str(tmp_path / "cache"))  # the embedding cache of the named encoder
    save(gptfluence, tmp_path / "gptfluence.pt")
    loaded = load(tmp_path / "gptfluence.pt", encoder=encoder)
    sim, again = gptfluence.simulator, loaded.simulator
    assert type(again) is GPTfluence and again.config == sim.config and again.best_epoch_ == sim.best_epoch_
    assert again.history_.equals(sim.history_)
    np.testing.assert_array_equal(again.simulate(runs.all), sim.simulate(runs.all))
    by_name = load(tmp_path / "gptfluence.pt")  # the encoder loaded by its saved name
    assert by_name.simulator.features.encoder.name == "tiny-neox"
    np.testing.assert_array_equal(by_name.simulator.simulate(runs.test), sim.simulate(runs.test))


def test_sgd_simfluence_and_tracin_round_trip(tmp_path, runs, tracin):
    sgd = SimfluenceSGD(l2=0.1, epochs=2, lr=1e-2, warmup_steps=0).fit(runs.train)
    save(fitted(sgd, runs.train), tmp_path / "sgd.pt")
    again = load(tmp_path / "sgd.pt").simulator
    assert (again.epochs, again.lr, again.updates_) == (2, 1e-2, sgd.updates_)
    np.testing.assert_array_equal(again.simulate(runs.train), sgd.simulate(runs.train))
    save(tracin, tmp_path / "tracin.pt")
    loaded = load(tmp_path / "tracin.pt")
    assert loaded.simulator.setting == "all" and loaded.simulator.sigma_ == tracin.simulator.sigma_
    np.testing.assert_array_equal(loaded.simulator.simulate(runs.test), tracin.simulator.simulate(runs.test))
    for field in dataclasses.fields(tracin.pairs):
        np.testing.assert_array_equal(getattr(loaded.pairs, field.name), getattr(tracin.pairs, field.name))


def test_ekfac_round_trip_predicts_identically(tmp_path, runs, ekfac):
    """EK-FAC (TRAK shares its class) keeps its stored scores, sigma and pair scores through a save."""
    from lib.whatif.simulate import simulate_curriculum

    save(ekfac, tmp_path / "ekfac.pt")
    loaded = load(tmp_path / "ekfac.pt")
    assert type(loaded.simulator) is type(ekfac.simulator) and loaded.simulator.sigma_ == ekfac.simulator.sigma_
    np.testing.assert_array_equal(loaded.simulator.simulate(runs.test), ekfac.simulator.simulate(runs.test))
    for field in dataclasses.fields(ekfac.pairs):
        np.testing.assert_array_equal(getattr(loaded.pairs, field.name), getattr(ekfac.pairs, field.name))
    curriculum = runs.test.curricula[0][::-1]
    assert simulate_curriculum(loaded, None, curriculum).equals(simulate_curriculum(ekfac, None, curriculum))


def test_validation_runs_join_the_texts_and_the_hash(runs, gptfluence):
    both = fitted(gptfluence.simulator, runs.train, runs.val)
    assert set(both.train_texts) == set(runs.train.train_texts) | set(runs.val.train_texts)
    assert both.dynamics_hash not in (gptfluence.dynamics_hash, dynamics_hash(runs.val))


def test_the_dynamics_hash_follows_the_content(runs):
    changed = dataclasses.replace(runs.train, values=runs.train.values + 1e-9)
    assert dynamics_hash(changed) != dynamics_hash(runs.train)
    assert dynamics_hash(runs.train.select_runs([1, 0])) != dynamics_hash(runs.train)
    assert dynamics_hash(runs.all.select_runs("train")) == dynamics_hash(runs.train)


def test_refusals(tmp_path, runs, simfluence):
    with pytest.raises(ValueError, match="Simfluence is not fitted"):
        fitted(Simfluence(), runs.train)
    save(simfluence, tmp_path / "s.pt")
    payload = torch.load(tmp_path / "s.pt", weights_only=True)
    torch.save({**payload, "version": FORMAT_VERSION + 1}, tmp_path / "newer.pt")
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}; this code reads version "
                                         f"{FORMAT_VERSION} only"):
        load(tmp_path / "newer.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not a saved fitted simulator"):
        load(tmp_path / "other.pt")
    (tmp_path / "table.csv").write_text("step,id\n0,1\n")
    with pytest.raises(ValueError, match="table.csv is not a saved fitted simulator"):
        load(tmp_path / "table.csv")
    torch.save({**payload, "cls": "Oracle"}, tmp_path / "oracle.pt")
    with pytest.raises(ValueError, match="holds a 'Oracle'; loadable simulators: Simfluence"):
        load(tmp_path / "oracle.pt")
