"""Figure tests draw off-screen and close every figure they open."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from plot_helpers import make_dynamics  # noqa: E402


@pytest.fixture
def dyn():
    return make_dynamics()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")
