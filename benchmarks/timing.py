"""Shared timing helpers for the benchmarks: median of repeated runs, and a machine description.

The machines are shared and noisy, so every benchmark reports the median of several runs and compares
implementations measured in the same process, one after another, as ratios.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable


def median_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_description() -> str:
    """One line naming the CPU, core count and library versions, for the results table."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numpy as np
    parts = [cpu, f"{os.cpu_count()} cores", f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    try:
        import torch
        parts.append(f"PyTorch {torch.__version__}")
    except ImportError:
        pass
    return ", ".join(parts)
