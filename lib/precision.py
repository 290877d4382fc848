"""bf16 on this machine: whether it is fast here, and the autocast context every bf16 forward runs under.

Without bf16 units (AMD EPYC / AVX2 only, as here) a bf16 matmul is emulated and measured ~45x slower than
fp32 (benchmarks/bench_autocast.py), so configs say `bf16 = "auto"` or `false` and "auto" resolves to fp32
on such CPUs. One probe serves the collector, the encoders and the benchmarks.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags() -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where it can't be read, e.g. not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def fast_bf16_available(device: str = "cpu") -> bool:
    """Whether bf16 autocast speeds `device` up: CUDA with bf16, or a CPU with AMX or AVX512-BF16 units."""
    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return any(flag in cpu_flags() for flag in CPU_BF16_FLAGS)


def bf16_autocast(device_type: str = "cpu", enabled: bool = True) -> contextlib.AbstractContextManager:
    """bf16 autocast on `device_type` ("cpu" | "cuda") when `enabled`, else nothing."""
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=enabled)
