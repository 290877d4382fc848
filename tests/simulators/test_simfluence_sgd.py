"""The Adam-trained Simfluence of the official code: its settings, its batches, and the closed-form answer it reaches."""
import math

import numpy as np
import pytest

from lib.simulators import Simfluence, SimfluenceSGD
from lib.simulators.simfluence_sgd import PAPER_SETTINGS


@pytest.mark.parametrize("variant", ["linear", "additive", "multiplicative"])
def test_sgd_agrees_with_closed_form(process, variant):
    p = process(variant, pool=12, subset=8, tests=3, runs=8, splits=(6, 0, 2))
    train, held_out = p.split("train"), p.split("test")
    exact = Simfluence(variant, l2=1.0).fit(train)
    # 108 transitions x 3 tests = 324 samples: 3 batches of 128 an epoch; the decaying schedule lets Adam settle
    sgd = SimfluenceSGD(variant, l2=1.0, lr=5e-2, epochs=700, warmup_steps=50).fit(train)
    for fitted, reference in ((sgd.A_, exact.A_), (sgd.B_, exact.B_)):
        if reference is None:
            assert fitted is None
        else:
            np.testing.assert_allclose(fitted, reference, atol=2e-4)
    np.testing.assert_allclose(sgd.simulate(held_out), exact.simulate(held_out), atol=2e-4)


def test_paper_settings_and_batches_of_run_step_test_transitions(process):
    sgd = SimfluenceSGD(l2=1.0)
    assert (sgd.lr, sgd.epochs, sgd.batch_size) == (1e-3, 300, 128) == tuple(PAPER_SETTINGS.values())
    p = process(pool=12, subset=8, tests=3, runs=8, splits=(6, 0, 2))
    train = p.split("train")
    fitted = SimfluenceSGD(l2=1.0, epochs=2).fit(train)
    assert fitted.updates_ == 2 * math.ceil(train.n_runs * train.n_steps * train.n_tests / 128)


def test_sgd_bad_arguments():
    with pytest.raises(ValueError, match="lr=0"):
        SimfluenceSGD(lr=0)
