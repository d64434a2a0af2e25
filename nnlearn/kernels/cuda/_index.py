"""Device-side helper shared by the CUDA kernels: from a thread's number to the element it computes."""
from __future__ import annotations

from numba import cuda


@cuda.jit(device=True)
def unravel4(index, shape):
    """``(a, b, c, d)`` such that ``index = ((a * B + b) * C + c) * D + d`` for ``shape = (A, B, C, D)``.

    This undoes C (row-major) order, ``numpy.unravel_index`` for four axes: thread ``index`` of a 1-D grid
    computes element ``[a, b, c, d]``, so neighbouring threads work on neighbouring elements of the last axis
    and their memory accesses land side by side (the GPU merges them into few transactions).

    The kernels compile this function into themselves and are cached on disk; Numba checks only the kernel's
    own file for changes, so after editing this one, delete the kernels' cache (``__pycache__/*.nbi|nbc``).
    """
    _, B, C, D = shape
    index, d = divmod(index, D)
    index, c = divmod(index, C)
    a, b = divmod(index, B)
    return a, b, c, d
