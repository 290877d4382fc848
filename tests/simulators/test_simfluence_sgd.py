"""The Adam-trained Simfluence of the official code reaches the closed-form answer."""
import numpy as np
import pytest

from lib.simulators import Simfluence, SimfluenceSGD


def test_sgd_agrees_with_closed_form(process):
    p = process(pool=12, subset=8, tests=3, runs=8, splits=(6, 0, 2))
    train, held_out = p.split("train"), p.split("test")
    exact = Simfluence(l2=1.0).fit(train)
    # 108 transitions < batch 128: full-batch Adam, which the decaying schedule lets settle on the minimizer
    sgd = SimfluenceSGD(l2=1.0, lr=5e-2, epochs=2000, warmup_steps=50).fit(train)
    np.testing.assert_allclose(sgd.A_, exact.A_, atol=1e-4)
    np.testing.assert_allclose(sgd.B_, exact.B_, atol=1e-4)
    np.testing.assert_allclose(sgd.simulate(held_out), exact.simulate(held_out), atol=1e-4)


def test_sgd_bad_arguments():
    with pytest.raises(ValueError, match="lr=0"):
        SimfluenceSGD(lr=0)
