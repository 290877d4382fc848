"""Replaying a finished run gives back its final model bitwise, or says that it could not."""
import numpy as np
import pytest

from lib.collect import load_runs
from lib.collect import replay as replay_module
from lib.collect.replay import ReplayMismatch, replay_run


def test_replay_reproduces_the_stored_run_bitwise(reference_collection):
    stored = {r.run_index: r for r in load_runs(reference_collection)}
    steps = []
    replayed = replay_run(reference_collection, 3, on_step=lambda t, model: steps.append(t))
    assert replayed.record.split == "test" and steps == list(range(1, stored[3].steps + 1))
    np.testing.assert_array_equal(replayed.final_losses, stored[3].values["loss"][-1])
    assert not np.array_equal(replayed.final_losses, stored[3].values["loss"][0])  # it trained
    assert replayed.seconds > 0


def test_a_replay_that_drifts_is_refused(reference_collection, monkeypatch):
    original = replay_module.batch_loss

    def drifting(parts, batch):
        loss, hidden, logp = original(parts, batch)
        return loss * (1 + 1e-6), hidden, logp

    monkeypatch.setattr(replay_module, "batch_loss", drifting)
    with pytest.raises(ReplayMismatch, match="run 0, step 1: training loss"):
        replay_run(reference_collection, 0)


def test_unknown_run_is_refused(reference_collection):
    with pytest.raises(ValueError, match="has no finished run 7"):
        replay_run(reference_collection, 7)
