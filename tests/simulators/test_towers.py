"""FactorTowers: K stacked MLPs equal K separate ones, and their inner products skip no term."""
import torch
from torch import nn

from lib.simulators.towers import FactorTowers


def towers_and_features(n_factors=3, dim=5, hidden=7, rows=4):
    """Towers with the seeded initialization, and random feature rows."""
    towers = FactorTowers(n_factors, dim, hidden, torch.Generator().manual_seed(0))
    return towers, torch.randn(rows, dim, generator=torch.Generator().manual_seed(1))


def separate_mlp(towers: FactorTowers, k: int) -> nn.Sequential:
    """Factor k's tower as an ordinary Linear -> ReLU -> Linear."""
    first, second = nn.Linear(*towers.w1.shape[1:]), nn.Linear(*towers.w2.shape[1:])
    with torch.no_grad():
        first.weight.copy_(towers.w1[k].T)
        first.bias.copy_(towers.b1[k, 0])
        second.weight.copy_(towers.w2[k].T)
        second.bias.copy_(towers.b2[k, 0])
    return nn.Sequential(first, nn.ReLU(), second)


def test_forward_equals_separate_mlps():
    towers, x = towers_and_features()
    out = towers(x)
    assert out.shape == (3, 4, 7)
    for k in range(3):
        torch.testing.assert_close(out[k], separate_mlp(towers, k)(x))


def test_inner_products_equal_the_products_of_the_outputs():
    towers, x = towers_and_features()
    others = torch.randn(3, 6, 7, generator=torch.Generator().manual_seed(2))
    products = towers.inner_products(towers.hidden_layer(x), others)
    assert products.shape == (3, 4, 6)
    torch.testing.assert_close(products, torch.einsum("kih,kjh->kij", towers(x), others))


def test_initialization_is_nn_linears_and_seeded():
    towers, _ = towers_and_features(dim=16, hidden=9)
    assert towers.w1.abs().max() <= 16 ** -0.5 and towers.w2.abs().max() <= 9 ** -0.5
    assert towers.w1.abs().max() > 0.9 * 16 ** -0.5  # uniform over the whole range
    again, _ = towers_and_features(dim=16, hidden=9)
    assert all(torch.equal(a, b) for a, b in zip(towers.parameters(), again.parameters()))
