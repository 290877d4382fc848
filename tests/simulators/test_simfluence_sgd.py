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


@pytest.mark.parametrize("variant", ["linear", "additive", "multiplicative"])
def test_the_hand_written_batch_gradient_is_autograds(variant):
    import torch

    from lib.simulators.simfluence_sgd import batch_gradient
    rng = torch.Generator().manual_seed(0)
    A = torch.randn(7, 5, dtype=torch.float64, generator=rng) if variant != "additive" else None
    B = torch.randn(7, 5, dtype=torch.float64, generator=rng) if variant != "multiplicative" else None
    cells = torch.randint(0, 35, (6 * 4,), generator=rng)  # 6 samples, batches of 4 training examples, repeats
    previous, target = torch.rand(6, dtype=torch.float64, generator=rng), torch.rand(6, dtype=torch.float64, generator=rng)
    params = [p for p in (A, B) if p is not None]
    for p in params:
        p.grad = torch.full_like(p, 9.0)  # stale values must be overwritten
    batch_gradient(A, B, cells, previous, target, penalty=0.3)
    leaves = [p.detach().clone().requires_grad_() for p in params]
    a = leaves[0] if A is not None else None
    b = leaves[-1] if B is not None else None
    alpha = a.view(-1)[cells].view(6, 4).sum(1) if a is not None else 1.0
    beta = b.view(-1)[cells].view(6, 4).sum(1) if b is not None else 0.0
    loss = torch.mean((alpha * previous + beta - target) ** 2) + 0.3 * sum(p.pow(2).sum() for p in leaves)
    loss.backward()
    for p, leaf in zip(params, leaves):
        torch.testing.assert_close(p.grad, leaf.grad, rtol=1e-12, atol=1e-12)
