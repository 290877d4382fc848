"""Tests of lib.precision: the bf16 probe reads the CPU flags, and autocast switches matmul precision."""
import pytest
import torch

from lib import precision


@pytest.mark.parametrize("flags, expected", [("fpu avx2 amx_bf16 amx_tile", True), ("fpu avx512_bf16", True),
                                             ("fpu sse avx2", False)])
def test_fast_bf16_detection_reads_cpu_flags(monkeypatch, flags, expected):
    monkeypatch.setattr(precision.Path, "read_text", lambda self: f"processor\t: 0\nflags\t\t: {flags}\n")
    assert precision.fast_bf16_available("cpu") is expected


def test_bf16_autocast_switches_matmul_precision():
    a = torch.randn(4, 8)
    with precision.bf16_autocast("cpu", True):
        assert (a @ a.T).dtype == torch.bfloat16
    with precision.bf16_autocast("cpu", False):
        assert (a @ a.T).dtype == torch.float32
