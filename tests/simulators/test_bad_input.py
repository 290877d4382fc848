"""Every simulator refuses, in one line naming the problem, data with NaN values, a single run, or another scale."""
import dataclasses

import numpy as np
import pytest

from lib.dynamics import Dynamics
from lib.simulators import GPTfluence, GradDot, Simfluence, SimfluenceSGD, TracInCP


def learned(encoder):
    """The simulators that learn from training runs."""
    return [Simfluence(), Simfluence("multiplicative", l2=0.1), SimfluenceSGD(l2=0.1, epochs=1),
            GPTfluence(encoder, hidden=8, max_epochs=1)]


def with_nan(dynamics: Dynamics, run: int, step: int, test: int) -> Dynamics:
    """The same runs with one value overwritten by NaN after construction (Dynamics itself refuses NaN)."""
    values = dynamics.values.copy()
    values[run, step, test] = np.nan
    broken = dataclasses.replace(dynamics)
    object.__setattr__(broken, "values", values)
    return broken


def gradient_data(dynamics: Dynamics) -> Dynamics:
    """The runs with gradient data, for TracIn-CP and Grad-Dot."""
    shape = dynamics.curricula.shape + (dynamics.n_tests,)
    grads = {key: np.full(shape, 0.1) for key in ("all", "ckpt10", "final")}
    return dataclasses.replace(dynamics, grad_dots=grads, learning_rates=np.full(dynamics.curricula.shape[:2], 1e-3))


@pytest.mark.parametrize("index", range(4))
def test_fit_refuses_nan_values_naming_where(process, encoder_for, index):
    p = process(runs=6, splits=(4, 1, 1))
    train = p.split("train")
    simulator = learned(encoder_for(p))[index]
    with pytest.raises(ValueError, match=r"^training runs hold nan at run 2, step 5, test id 1003 \(1 non-finite"):
        simulator.fit(with_nan(train, 2, 5, 3), p.split("val"))
    with pytest.raises(ValueError, match=r"^validation runs hold nan at run 4, step 1"):
        simulator.fit(train, with_nan(p.split("val"), 0, 1, 0))


@pytest.mark.parametrize("index", range(4))
def test_simulate_refuses_a_nan_given_value_and_ignores_nan_in_the_rest(process, encoder_for, index):
    p = process(runs=6, splits=(4, 1, 1))
    simulator = learned(encoder_for(p))[index].fit(p.split("train"), p.split("val"))
    held_out = p.split("test")
    with pytest.raises(ValueError, match=r"^the runs' given values hold nan at run 5, step 0, test id 1001"):
        simulator.simulate(with_nan(held_out, 0, 0, 1))
    simulator.simulate(with_nan(held_out, 0, 3, 1))  # only y_0 is given: later values are never read


@pytest.mark.parametrize("index", range(4))
def test_fit_refuses_a_single_run(process, encoder_for, index):
    p = process(runs=6, splits=(4, 1, 1))
    simulator = learned(encoder_for(p))[index]
    with pytest.raises(ValueError, match=r"fit needs at least 2 training runs, got 1: one run cannot separate"):
        simulator.fit(p.split("train").select_runs([0]), p.split("val"))


def test_gradient_baselines_fit_sigma_on_a_single_run(process):
    p = process(runs=6, splits=(4, 1, 1))
    one = gradient_data(p.split("test"))
    assert one.n_runs == 1
    for simulator in (TracInCP("ckpt10"), TracInCP("all"), GradDot()):
        simulator.fit(one).simulate(one)


@pytest.mark.parametrize("metric, factor, message", [
    ("rougeL", 30.0, r"^training runs: rougeL must be \[0, 1\], found [\d.]+ at run 0, step 0, test id 1000 "
                     r"\(a metric on another scale\?\)"),
    ("bleu", 100.0, r"^training runs: bleu must be \[0, 100\], found [\d.]+ at run"),
    ("loss", -1.0, r"^training runs: loss must be >= 0, found -[\d.]+ at run 0, step 0"),
])
def test_fit_refuses_values_outside_the_metrics_range(process, encoder_for, metric, factor, message):
    p = process(runs=6, splits=(4, 1, 1))
    train = p.split("train")
    off_scale = dataclasses.replace(train, values=factor * train.values, metric=metric)
    for simulator in learned(encoder_for(p)):
        with pytest.raises(ValueError, match=message):
            simulator.fit(off_scale)
    if metric == "loss":
        with pytest.raises(ValueError, match=message):
            TracInCP().fit(gradient_data(off_scale))


@pytest.mark.parametrize("index", range(4))
def test_simulate_refuses_given_values_on_another_scale(process, encoder_for, index):
    """Fitted on BLEU as fractions (0-1), asked to simulate BLEU on sacrebleu's 0-100 scale."""
    p = process(runs=6, splits=(4, 1, 1))
    fractions = dataclasses.replace(p.dynamics, values=p.dynamics.values / 10, metric="bleu")
    simulator = learned(encoder_for(p))[index].fit(fractions.select_runs("train"), fractions.select_runs("val"))
    held_out = fractions.select_runs("test")
    simulator.simulate(held_out)
    percent = dataclasses.replace(held_out, values=100 * held_out.values)
    with pytest.raises(ValueError, match=r"^the runs' given bleu values reach [\d.]+, over 10x the largest fitted value"):
        simulator.simulate(percent)
