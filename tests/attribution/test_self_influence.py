"""Self-influence with kronfluence and traker on tiny-neox: >= 0, and a mislabelled copy of a fitted example stands out."""
import copy

import numpy as np
import pytest
import torch
from attribution_helpers import MISLABELLED

from lib.attribution import EKFACSettings, TRAKSettings, TrainedPart, example_set
from lib.attribution.ekfac import ekfac_self_scores
from lib.attribution.trak import trak_self_scores

METHODS = {"ekfac": lambda part, examples: ekfac_self_scores(part, examples),
           "trak": lambda part, examples: trak_self_scores(part, examples, TRAKSettings(proj_dim=8))}
FLIPPED = next(iter(MISLABELLED))


def fitted_part(tiny_top, steps: int = 60) -> TrainedPart:
    """A copy of the tiny model's trained part after `steps` full-batch Adam steps on the 16 training examples."""
    part = TrainedPart(copy.deepcopy(tiny_top.parts))
    batch = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids).collate(
        example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids).items)
    optimizer = torch.optim.Adam(part.parameters(), lr=3e-3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for _ in range(steps):
            optimizer.zero_grad()
            part.example_losses(batch).mean().backward()
            optimizer.step()
    part.zero_grad(set_to_none=True)
    return part


@pytest.fixture(scope="module")
def results(tiny_top):
    """Both methods' self-influence of the 16 training examples and a mislabelled copy of example 0, at a model
    fitted to the 16 (the copy's label contradicts what it learnt)."""
    part = fitted_part(tiny_top)
    losses = part.example_losses(example_set(tiny_top.encoded, tiny_top.states, [0, FLIPPED]).batches(2)[0])
    examples = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids + [FLIPPED])
    return {"losses": losses.detach().numpy(), **{m: compute(part, examples) for m, compute in METHODS.items()}}


def test_the_model_fits_example_0_so_its_mislabelled_copy_has_a_high_loss(results):
    """The premise of the next test: the fitted model contradicts the copy's label."""
    fitted, flipped = results["losses"]
    assert flipped > 20 * fitted


@pytest.mark.parametrize("method", sorted(METHODS))
def test_self_influence_is_positive_and_the_mislabelled_copy_ranks_first(results, method, tiny_top):
    """Larger = more suspicious: the copy whose label contradicts the fitted example outranks every consistent one."""
    result = results[method]
    assert list(result.ids) == tiny_top.train_ids + [FLIPPED] and result.method == method
    assert np.isfinite(result.scores).all() and (result.scores > 0).all()
    by_id = result.by_id()
    assert by_id[FLIPPED] > max(by_id[i] for i in tiny_top.train_ids)
    assert by_id[FLIPPED] > 3 * by_id[0]


def test_ekfac_self_score_is_the_diagonal_of_its_pairwise_scores(tiny_top):
    """kronfluence's self-scores equal its pairwise scores of each example against itself (same factors)."""
    from lib.attribution import ekfac_scores

    part = TrainedPart(tiny_top.parts)
    examples = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids[:6])
    self_scores = ekfac_self_scores(part, examples).scores
    pairwise = ekfac_scores(part, examples, examples).scores
    np.testing.assert_allclose(self_scores, np.diag(pairwise), rtol=1e-3)


def test_refusals(tiny_top):
    part = TrainedPart(tiny_top.parts)
    examples = example_set(tiny_top.encoded, tiny_top.states, tiny_top.train_ids[:8])
    with pytest.raises(ValueError, match="proj_dim 8 >= 8 training examples"):
        trak_self_scores(part, examples, TRAKSettings(proj_dim=8))
    with pytest.raises(ValueError, match="no nn.Linear layer of at most 10 per side"):
        ekfac_self_scores(part, examples, EKFACSettings(max_factor_dim=10))
