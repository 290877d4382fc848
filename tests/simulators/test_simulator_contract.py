"""Every simulator sees only the curricula and the first `order` values of the runs it simulates."""
import numpy as np
import pytest

from lib.dynamics import Dynamics
from lib.simulators import GPTfluence, GradDot, Simfluence, SimfluenceSGD, TracInCP


def with_gradients(dynamics: Dynamics, seed=0) -> Dynamics:
    """The same runs with random gradient data, so gradient baselines can run on them."""
    rng = np.random.default_rng(seed)
    shape = dynamics.curricula.shape + (dynamics.n_tests,)
    grads = {key: rng.normal(size=shape) for key in ("all", "ckpt10", "final")}
    return Dynamics.from_arrays(dynamics.curricula, dynamics.values, dynamics.test_ids, dynamics.metric,
                                split=dynamics.split, train_texts=dynamics.train_texts, test_texts=dynamics.test_texts,
                                grad_dots=grads, learning_rates=np.full(dynamics.curricula.shape[:2], 1e-3))


def simulators(encoder):
    """One quickly fitted instance of every simulator and its Markov order."""
    return [
        Simfluence("linear"), Simfluence("additive"), Simfluence("multiplicative", l2=0.1),
        SimfluenceSGD(l2=0.1, epochs=2), GPTfluence(encoder, hidden=8, max_epochs=2),
        GPTfluence(encoder, order=3, hidden=8, max_epochs=2), TracInCP("ckpt10"), TracInCP("all"), GradDot(),
    ]


@pytest.mark.parametrize("index", range(9))
def test_predictions_ignore_values_after_the_given_ones(process, encoder_for, index):
    p = process(pool=16, subset=12, runs=8, splits=(5, 1, 2))
    runs = with_gradients(p.dynamics)
    simulator = simulators(encoder_for(p))[index].fit(runs.select_runs("train"), runs.select_runs("val"))
    held_out = runs.select_runs("test")
    n = simulator.order
    pred = simulator.simulate(held_out)
    assert pred.shape == held_out.values.shape
    np.testing.assert_array_equal(pred[:, :n], held_out.values[:, :n])
    scrambled_values = held_out.values.copy()
    scrambled_values[:, n:] = np.random.default_rng(1).uniform(-50, 50, size=scrambled_values[:, n:].shape)
    scrambled = Dynamics.from_arrays(held_out.curricula, scrambled_values, held_out.test_ids, held_out.metric,
                                     train_texts=held_out.train_texts, test_texts=held_out.test_texts,
                                     grad_dots=held_out.grad_dots, learning_rates=held_out.learning_rates)
    np.testing.assert_array_equal(simulator.simulate(scrambled), pred)
    changed_start = scrambled_values.copy()
    changed_start[:, 0] += 1.0
    moved = Dynamics.from_arrays(held_out.curricula, changed_start, held_out.test_ids, held_out.metric,
                                 train_texts=held_out.train_texts, test_texts=held_out.test_texts,
                                 grad_dots=held_out.grad_dots, learning_rates=held_out.learning_rates)
    assert not np.allclose(simulator.simulate(moved)[:, n:], pred[:, n:])  # the given values do matter


@pytest.mark.parametrize("index", [0, 4, 6])
def test_refuses_before_fit_and_another_metric(process, encoder_for, index):
    p = process(runs=6, splits=(4, 1, 1))
    runs = with_gradients(p.dynamics)
    simulator = simulators(encoder_for(p))[index]
    with pytest.raises(ValueError, match="not fitted"):
        simulator.simulate(runs)
    if index == 6:
        return  # TracIn refuses every metric but the loss at fit already
    simulator.fit(runs.select_runs("train"), runs.select_runs("val"))
    bleu = Dynamics.from_arrays(runs.curricula, runs.values, runs.test_ids, "bleu",
                                train_texts=runs.train_texts, test_texts=runs.test_texts)
    with pytest.raises(ValueError, match="fitted on metric 'loss', runs have 'bleu'"):
        simulator.simulate(bleu)
