"""Tests of lib.dynamics: validation, selections, thinning and concatenation."""
import numpy as np
import pytest

from lib.dynamics import Dynamics


def make(runs=4, steps=6, batch=2, tests=3, seed=0, **kwargs) -> Dynamics:
    """A small random Dynamics with grad data and learning rates."""
    rng = np.random.default_rng(seed)
    curricula = rng.integers(0, 10, size=(runs, steps, batch))
    values = rng.normal(size=(runs, steps + 1, tests))
    defaults = dict(
        split=["train", "train", "val", "test"][:runs] + ["train"] * max(0, runs - 4),
        train_texts={i: f"train {i}" for i in range(10)},
        test_texts={100 + j: f"test {j}" for j in range(tests)},
        grad_dots={"all": rng.normal(size=(runs, steps, batch, tests))},
        learning_rates=np.full((runs, steps), 1e-3),
    )
    defaults.update(kwargs)
    return Dynamics.from_arrays(curricula, values, np.arange(100, 100 + tests), "loss", **defaults)


def test_from_arrays_defaults_and_dtypes():
    d = Dynamics.from_arrays(np.zeros((2, 3, 1), dtype=np.int32), np.zeros((2, 4, 5), dtype=np.float32), range(5), "bleu")
    assert d.curricula.dtype == np.int64 and d.values.dtype == np.float64
    assert d.split.tolist() == ["train", "train"]
    assert d.steps.tolist() == [0, 1, 2, 3] and d.run_ids.tolist() == [0, 1]
    assert (d.n_runs, d.n_steps, d.n_tests, d.batch_size) == (2, 3, 5, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(values=np.zeros((2, 3, 5))), "values must be"),
        (dict(test_ids=range(4)), "test_ids must have shape"),
        (dict(test_ids=[0, 1, 2, 3, 3]), "duplicates \\[3\\]"),
        (dict(metric="accuracy"), "'accuracy'"),
        (dict(split=["train", "dev"]), "'dev'"),
        (dict(steps=[0, 2, 1, 3]), "strictly increasing"),
        (dict(grad_dots={"all": np.zeros((2, 3, 1, 4))}), "grad_dots\\['all'\\]"),
        (dict(grad_dots={"every": np.zeros((2, 3, 1, 5))}), "'every'"),
        (dict(learning_rates=np.zeros((2, 4))), "learning_rates"),
        (dict(values=np.full((2, 4, 5), np.nan)), "finite"),
        (dict(curricula=np.zeros((2, 3, 1)) + 0.5), "integers"),
        (dict(learning_rates=np.array([[1e-3, np.nan, 1e-3]] * 2)), r"learning_rates\[0, 1\] = nan"),
        (dict(learning_rates=np.array([[1e-3, 1e-3, -1e-3]] * 2)), r"learning_rates\[0, 2\] = -0.001"),
        (dict(learning_rates=np.full((2, 3), np.inf)), "finite and >= 0"),
        (dict(grad_dots={"all": np.where(np.arange(5) == 4, np.inf, 0.0) * np.ones((2, 3, 1, 5))}),
         r"grad_dots\['all'\]\[0, 0, 0, 4\] = inf"),
        (dict(grad_dots={"final": np.full((2, 3, 1, 5), -np.inf)}), "finite or NaN"),
    ],
)
def test_from_arrays_rejects_bad_fields(kwargs, message):
    args = dict(curricula=np.zeros((2, 3, 1), dtype=int), values=np.zeros((2, 4, 5)), test_ids=range(5), metric="loss")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Dynamics.from_arrays(args.pop("curricula"), args.pop("values"), args.pop("test_ids"), args.pop("metric"), **args)


def test_nan_grad_dots_and_zero_learning_rates_are_accepted():
    """NaN marks a run that recorded no gradients; a zero learning rate (warm-up) is a real value."""
    d = make(grad_dots={"all": np.full((4, 6, 2, 3), np.nan)}, learning_rates=np.zeros((4, 6)))
    assert np.isnan(d.grad_dots["all"]).all() and not d.learning_rates.any()


def test_train_ids_sorted_unique():
    d = Dynamics.from_arrays([[[5, 2], [2, 9]]], np.zeros((1, 3, 1)), [0], "loss")
    assert d.train_ids.tolist() == [2, 5, 9]


def test_select_runs_by_split_mask_and_index():
    d = make()
    val = d.select_runs("val")
    assert val.n_runs == 1 and val.run_ids.tolist() == [2]
    np.testing.assert_array_equal(val.values[0], d.values[2])
    np.testing.assert_array_equal(val.grad_dots["all"][0], d.grad_dots["all"][2])
    masked = d.select_runs(np.array([True, False, True, False]))
    assert masked.run_ids.tolist() == [0, 2]
    indexed = d.select_runs([3, 0])
    assert indexed.run_ids.tolist() == [3, 0] and indexed.split.tolist() == ["test", "train"]
    np.testing.assert_array_equal(indexed.curricula[0], d.curricula[3])
    with pytest.raises(ValueError, match="out of range"):
        d.select_runs([7])
    with pytest.raises(ValueError, match="'dev'"):
        d.select_runs("dev")


def test_select_tests_keeps_given_order_and_names_unknown():
    d = make()
    sub = d.select_tests([102, 100])
    assert sub.test_ids.tolist() == [102, 100]
    np.testing.assert_array_equal(sub.values, d.values[:, :, [2, 0]])
    np.testing.assert_array_equal(sub.grad_dots["all"], d.grad_dots["all"][..., [2, 0]])
    assert set(sub.test_texts) == {100, 102}
    with pytest.raises(ValueError, match="unknown test ids \\[555\\]"):
        d.select_tests([100, 555])


def test_select_steps():
    d = make()
    sub = d.select_steps(4)
    assert sub.n_steps == 4 and sub.values.shape[1] == 5 and sub.steps.tolist() == [0, 1, 2, 3, 4]
    assert sub.grad_dots["all"].shape[1] == 4 and sub.learning_rates.shape == (4, 4)
    np.testing.assert_array_equal(sub.values, d.values[:, :5])


def test_every_k_steps_concatenates_batches_and_drops_tail():
    d = make(steps=7, batch=2)
    thin = d.every_k_steps(3)  # 7 steps -> 2 thinned steps of 3; step 7 dropped
    assert thin.n_steps == 2 and thin.batch_size == 6
    assert thin.steps.tolist() == [0, 3, 6]
    np.testing.assert_array_equal(thin.values, d.values[:, [0, 3, 6]])
    np.testing.assert_array_equal(thin.curricula[1, 1], d.curricula[1, 3:6].ravel())
    assert thin.grad_dots == {} and thin.learning_rates is None
    again = thin.every_k_steps(2)
    assert again.steps.tolist() == [0, 6] and again.batch_size == 12


def test_selections_do_not_modify_the_original():
    d = make()
    before = d.values.copy()
    d.select_runs([0]).values[:] = 99
    d.select_tests([100]).values[:] = 99
    np.testing.assert_array_equal(d.values, before)


def test_concat_stacks_runs_and_checks_compatibility():
    a, b = make(seed=0), make(seed=1, run_ids=[10, 11, 12, 13])
    both = Dynamics.concat([a, b])
    assert both.n_runs == 8 and both.run_ids.tolist() == [0, 1, 2, 3, 10, 11, 12, 13]
    np.testing.assert_array_equal(both.values[4:], b.values)
    assert both.grad_dots["all"].shape[0] == 8 and both.learning_rates.shape == (8, 6)
    no_grads = make(seed=2, grad_dots={}, learning_rates=None)
    mixed = Dynamics.concat([a, no_grads])
    assert mixed.grad_dots == {} and mixed.learning_rates is None
    with pytest.raises(ValueError, match="steps"):
        Dynamics.concat([a, make(steps=5)])
    with pytest.raises(ValueError, match="test_ids"):
        Dynamics.concat([a, make(tests=2)])


def test_repr_is_a_summary():
    assert repr(make()) == (
        "Dynamics(metric='loss', runs=4 {'train': 2, 'val': 1, 'test': 1}, steps=6, batch=2, tests=3, "
        "train_ids=10, grad_dots=['all'])"
    )
