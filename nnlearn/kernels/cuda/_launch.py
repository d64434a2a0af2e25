"""Host-side helpers shared by the CUDA kernels: grid sizes, and where a call's arrays live.

A kernel launch names a grid of thread blocks: ``kernel[blocks, threads_per_block](*args)``. Every kernel in
this package gives one thread to one element of its output and numbers the threads ``0, 1, 2, ...`` along a
1-D grid, so the launch only needs "how many elements": the block count is a ceiling division, and the last
block is usually *ragged* — its spare threads find ``index >= size`` and return.

The host wrappers take their arrays in three forms and answer in the same form (:class:`ArraySpace`):

* NumPy arrays (on the host): copied to the GPU, the kernels run, the results are copied back as NumPy arrays;
* Numba device arrays (``numba.cuda.to_device``, ``numba.cuda.device_array``; the simulator's too): used in
  place, results are Numba device arrays;
* any other GPU array exposing ``__cuda_array_interface__`` — CuPy's, which is what a tensor moved with
  ``.to("cuda")`` holds: read in place without a copy, and results allocated with CuPy itself (from its memory
  pool), returned as CuPy arrays, with the kernels queued on CuPy's current stream so they run in order with
  the CuPy work around them. Other producers of such arrays (PyTorch, ...) get Numba device arrays back.
"""
from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
from numba import cuda

THREADS_PER_BLOCK = 128  # a power of two and a multiple of the 32-thread warp; 128-256 suits most GPUs


def blocks_for(n_threads: int, threads_per_block: int = THREADS_PER_BLOCK) -> int:
    """How many blocks of ``threads_per_block`` cover ``n_threads`` threads: ``ceil(n_threads / threads_per_block)``."""
    return (n_threads + threads_per_block - 1) // threads_per_block


@cuda.jit(cache=True)
def _zero_kernel(flat):
    """``flat[i] = 0`` for every ``i``, one thread each (``flat``: a 1-D view of the array to clear)."""
    i = cuda.grid(1)
    if i < flat.size:
        flat[i] = 0


def is_device_array(a: Any) -> bool:
    """True for arrays on the GPU: Numba device arrays (real or simulated) and ``__cuda_array_interface__`` ones."""
    return bool(getattr(a, "__cuda_ndarray__", False)) or hasattr(a, "__cuda_array_interface__")


def _cupy_of(a: Any) -> Any:
    """The CuPy module if ``a`` is a CuPy array, else ``None`` (CuPy is never imported here, only found)."""
    module = sys.modules.get(type(a).__module__.split(".")[0])
    return module if getattr(module, "__name__", None) == "cupy" else None


class ArraySpace:
    """Where one call's arrays live, so its results can be handed back in the same form.

    ``space = ArraySpace(x, w, b)`` looks at the inputs (``None`` is skipped): if any is a GPU array the call
    works on the GPU and answers with GPU arrays of that kind; if all are NumPy arrays, it answers with NumPy
    arrays. Use :meth:`gpu` to turn any array into a kernel argument, :meth:`empty` / :meth:`zeros` for outputs
    and scratch space, :meth:`launch` to run a kernel, and :meth:`result` on each output before returning it.
    """

    def __init__(self, *arrays: Any):
        on_gpu = [a for a in arrays if a is not None and is_device_array(a)]
        self.on_host = not on_gpu
        self.cupy = None if self.on_host else _cupy_of(on_gpu[0])
        self.stream: Any = 0  # Numba's default stream
        if self.cupy is not None:
            # Queue our kernels behind the CuPy work that produced the inputs, and ahead of what will use ours.
            ptr = self.cupy.cuda.get_current_stream().ptr
            self.stream = cuda.external_stream(ptr) if ptr else 0  # 0: the default stream, CuPy's too

    def gpu(self, a: Any) -> Any:
        """``a`` as a kernel argument: a Numba device array, copied from the host only if ``a`` is on the host."""
        if getattr(a, "__cuda_ndarray__", False):
            return a
        if hasattr(a, "__cuda_array_interface__"):
            # A zero-copy view. No extra synchronisation: we launch on the stream the array was made on.
            return cuda.as_cuda_array(a, sync=False)
        return cuda.to_device(np.ascontiguousarray(a))

    def empty(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """An uninitialised array on the GPU, of the kind this call answers with (pass it through :meth:`gpu`)."""
        if self.cupy is not None:
            return self.cupy.empty(shape, dtype=dtype)
        return cuda.device_array(shape, dtype=dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """Like :meth:`empty`, filled with zeros (on the GPU: no host array is made and copied)."""
        if self.cupy is not None:
            return self.cupy.zeros(shape, dtype=dtype)
        a = cuda.device_array(shape, dtype=dtype)
        self.launch(_zero_kernel, a.size, a.reshape(a.size))
        return a

    def launch(self, kernel: Any, n_threads: int, *args: Any) -> None:
        """Run ``kernel`` with (at least) ``n_threads`` threads: 1-D blocks of :data:`THREADS_PER_BLOCK`."""
        if n_threads == 0:  # a launch of zero blocks is an error on a real GPU; there is no work anyway
            return
        with warnings.catch_warnings():
            # On a real GPU Numba warns about grids under 128 blocks; a small layer has no more work to give.
            warnings.filterwarnings("ignore", message="Grid size .* under-utilization")
            kernel[blocks_for(n_threads), THREADS_PER_BLOCK, self.stream](*args)

    def result(self, a: Any) -> Any:
        """An output as the caller gets it: copied back to a NumPy array for host callers, else as is."""
        return a.copy_to_host() if self.on_host else a
