"""flushed_denormals: denormal floats read as zero inside the block, as themselves after it, also after an error."""
import pytest
import torch

from lib.simulators.denormals import flushed_denormals

DENORMAL = torch.tensor([1e-40], dtype=torch.float32)


def test_denormals_are_zero_inside_and_themselves_after():
    assert float((DENORMAL * 1.0)[0]) > 0
    with flushed_denormals() as supported:
        inside = float((DENORMAL * 1.0)[0])
    assert supported and inside == 0.0  # x86 CPUs with SSE3 support it (every CPU this runs on)
    assert float((DENORMAL * 1.0)[0]) > 0


def test_the_default_comes_back_after_an_error():
    with pytest.raises(RuntimeError, match="inside"):
        with flushed_denormals():
            raise RuntimeError("inside")
    assert float((DENORMAL * 1.0)[0]) > 0
