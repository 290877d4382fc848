"""EK-FAC (kronfluence) and TRAK (traker) on tiny-neox: the documented sign, shapes, and refusals."""
import numpy as np
import pytest
from attribution_helpers import COPY_OF

from lib.attribution import EKFACSettings, TRAKSettings, TrainedPart, ekfac_scores, example_set, trak_scores

METHODS = {"ekfac": lambda part, train, tests: ekfac_scores(part, train, tests),
           "trak": lambda part, train, tests: trak_scores(part, train, tests)}  # proj_dim: half of the 16


@pytest.fixture(scope="module")
def results(tiny_top):
    """Both methods' scores of the 16 training examples for the 3 test examples (100 copies training example 4)."""
    part = TrainedPart(tiny_top.parts)
    train = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids)
    tests = example_set(tiny_top.encoded, tiny_top.states, tiny_top.test_ids)
    before = {name: p.detach().clone() for name, p in part.named_parameters()}
    out = {method: compute(part, train, tests) for method, compute in METHODS.items()}
    out["unchanged"] = all(p.requires_grad and p.equal(before[name]) for name, p in part.named_parameters())
    return out


@pytest.mark.parametrize("method", sorted(METHODS))
def test_an_identical_training_example_lowers_the_test_loss_most(results, method):
    """Sign convention: > 0 means training on the example lowers the test loss; its own copy stands out."""
    result = results[method]
    column = result.scores[:, list(result.test_ids).index(100)]
    assert result.train_ids[np.argmax(column)] == COPY_OF
    assert column[COPY_OF] > 0
    assert column[COPY_OF] > 3 * np.median(np.abs(column))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_scores_are_train_by_test_and_finite(results, method, tiny_top):
    result = results[method]
    assert result.scores.shape == (16, 3)
    assert np.isfinite(result.scores).all()
    assert list(result.train_ids) == tiny_top.train_ids and list(result.test_ids) == tiny_top.test_ids
    assert result.method == method and set(result.seconds) == {"fit", "score"}


def test_trak_projects_to_64_or_half_the_training_examples(results):
    assert results["trak"].info["proj_dim"] == 8  # 16 training examples
    assert TRAKSettings().resolved(128).proj_dim == 64 and TRAKSettings().resolved(64).proj_dim == 32
    assert TRAKSettings(proj_dim=5).resolved(64).proj_dim == 5


def test_the_model_is_left_as_it_was(results):
    """kronfluence freezes and wraps the model it is given: it gets a copy."""
    assert results["unchanged"]


def test_ekfac_covers_the_linear_layers_that_fit(results):
    info = results["ekfac"].info
    assert info["tracked_modules"][-1] == "head" and info["skipped_modules"] == []
    assert info["tracked_parameters"] == 3 * 96 * 96 + 3 * 96 + 96 * 96 + 96 + 2 * (4 * 96 * 96) + 4 * 96 + 96 + 257 * 96


def test_refusals(tiny_top):
    part = TrainedPart(tiny_top.parts)
    train = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids[:8])
    tests = example_set(tiny_top.encoded, tiny_top.states, tiny_top.test_ids)
    with pytest.raises(ValueError, match="proj_dim 8 >= 8 training examples"):
        trak_scores(part, train, tests, TRAKSettings(proj_dim=8))
    with pytest.raises(ValueError, match="no nn.Linear layer of at most 10 per side"):
        ekfac_scores(part, train, tests, EKFACSettings(max_factor_dim=10))


def test_ekfac_keeps_kronfluences_gradscaler_deprecation_out_of_the_logs(tiny_top):
    import warnings

    part = TrainedPart(tiny_top.parts)
    train = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ekfac_scores(part, train, train)
    assert not [w for w in caught if "GradScaler" in str(w.message)], [str(w.message) for w in caught]
