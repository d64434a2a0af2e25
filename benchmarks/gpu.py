"""Shared by the GPU benchmarks (``conv_cuda.py``, ``recurrent_cuda.py``): finding the GPU, the array kind and
PyTorch CUDA, printing the run's header, and measuring one workload against PyTorch.

Nothing here imports Numba's CUDA support or PyTorch at module level: without a GPU the scripts must still be
able to say so and exit.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from timing import machine_description, median_time


def gpu_or_reason() -> str | None:
    """``None`` when a real CUDA GPU can be used, else why not."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "NUMBA_ENABLE_CUDASIM=1: Numba's CUDA simulator is on, and timing a simulator means nothing"
    from numba import cuda
    if not cuda.is_available():
        return "no CUDA GPU available (numba.cuda.is_available() is False)"
    return None


@dataclass
class GPU:
    """What a GPU benchmark works with: ``to_gpu(host_array)`` makes the kind of device array nnlearn's
    kernels get (CuPy's when installed, else Numba's), ``sync()`` waits for the whole device, and ``torch`` is
    PyTorch when it has CUDA (else ``None``: nnlearn is measured alone)."""

    to_gpu: Callable[[np.ndarray], Any]
    arrays: str
    sync: Callable[[], None]
    torch: Any
    repeats: int


def setup(script: str, description: str) -> GPU | None:
    """Parse ``--repeats``, find the GPU and print the header; ``None`` (having said why) when there is no GPU."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per workload (median; at least 7)")
    repeats = max(parser.parse_args().repeats, 7)

    reason = gpu_or_reason()
    if reason:
        print(f"{script}: {reason}; nothing to measure.")
        return None
    from numba import cuda

    try:
        import cupy
        to_gpu, arrays = cupy.asarray, f"CuPy {cupy.__version__} arrays"
    except ImportError:
        to_gpu, arrays = cuda.to_device, "Numba device arrays (CuPy not installed)"
    try:
        import torch
        torch_cuda = torch if torch.cuda.is_available() else None
    except ImportError:
        torch_cuda = None

    name = cuda.get_current_device().name
    name = name.decode() if isinstance(name, bytes) else name
    print(f"GPU: {name}; host: {machine_description()}")
    pytorch = (f"CUDA {torch_cuda.version.cuda}, cuDNN {torch_cuda.backends.cudnn.version()}" if torch_cuda
               else "no CUDA build")
    print(f"nnlearn on {arrays}; PyTorch: {pytorch}")
    print(f"float32, forward + backward, median of {repeats} runs after 3 warm-up runs\n")
    # synchronize() waits for the whole device: Numba's and CuPy's work alike.
    return GPU(to_gpu, arrays, cuda.synchronize, torch_cuda, repeats)


def measure(ours, theirs, repeats: int, work: float | None = None) -> list[str]:
    """The table cells for one workload: times, ratio, (GFLOP/s when ``work`` — the flops — is given,) and the
    largest difference of the outputs. ``ours()`` returns a device array, ``theirs()`` a torch tensor (or
    ``theirs`` is ``None``)."""
    t_ours = median_time(ours, repeats=repeats, warmup=3)  # the warm-up runs also compile the kernels
    out = ours()
    out = out.get() if hasattr(out, "get") else out.copy_to_host()  # CuPy or Numba device array
    rate = (lambda t: f"{work / t / 1e9:.0f}") if work else None
    if theirs is None:
        return [f"{t_ours * 1e3:.3f}", "—", "—"] + ([rate(t_ours), "—"] if rate else []) + ["—"]
    t_theirs = median_time(theirs, repeats=repeats, warmup=3)
    diff = float(np.abs(out - theirs().detach().cpu().numpy()).max())
    cells = [f"{t_ours * 1e3:.3f}", f"{t_theirs * 1e3:.3f}", f"{t_ours / t_theirs:.2f}x"]
    return cells + ([rate(t_ours), rate(t_theirs)] if rate else []) + [f"{diff:.1e}"]
