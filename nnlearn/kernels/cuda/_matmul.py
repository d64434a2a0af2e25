"""Plain matrix products on the GPU, one thread per output element: the large, time-independent parts of the
recurrent layers (their input projection, ``dx``, ``dW_ih``, ``dW_hh`` and the bias gradients).

Each kernel computes one output element as a dot product in a loop, accumulating in the arrays' own dtype.
This is the simplest correct GPU matrix product — a tuned library (cuBLAS) tiles the matrices through fast
on-chip shared memory and is many times faster on large matrices — but it shows the one habit that matters most
on a GPU, *coalescing*: the 32 threads of a warp run in lockstep, and when they read 32 neighbouring addresses the
hardware serves them with one or two memory transactions, while 32 scattered addresses cost up to 32.
Threads are numbered along the last (fastest) axis of the output, so in every kernel here neighbouring threads
read neighbouring elements of the second operand's rows, and all read the *same* element of the first operand
(one transaction, broadcast to the warp). That is why :func:`matmul` wants its second operand as ``(K, Q)`` —
``x @ w_ih.T`` is computed as ``x @ transpose(w_ih)`` after one cheap :func:`transpose`.

Host functions take Numba device arrays (:meth:`ArraySpace.gpu` makes them) and the call's
:class:`~nnlearn.kernels.cuda._launch.ArraySpace`, which sizes the grid and queues the kernels on its stream.
Every sum runs in one thread in a fixed order: the results are the same on every run (no atomics).
"""
from __future__ import annotations

from typing import Any

from numba import cuda

from ._launch import ArraySpace


@cuda.jit(cache=True)
def _matmul_kernel(a, b, bias1, bias2, out):
    """``out[m, q] = bias1[q] + bias2[q] + sum_k a[m, k] * b[k, q]``, one thread per ``(m, q)``.

    ``a: (M, K)``, ``b: (K, Q)``, ``out: (M, Q)``; a bias of size 0 means "no bias" (kernels take no ``None``).
    """
    index = cuda.grid(1)
    if index >= out.size:  # a spare thread of the last, ragged block
        return
    Q = out.shape[1]
    m, q = divmod(index, Q)  # neighbouring threads: neighbouring q, so their reads of b[k, q] are coalesced
    acc = out.dtype.type(0)
    if bias1.size != 0:
        acc += bias1[q]
    if bias2.size != 0:
        acc += bias2[q]
    for k in range(a.shape[1]):
        acc += a[m, k] * b[k, q]
    out[m, q] = acc


@cuda.jit(cache=True)
def _matmul_at_kernel(a, b, out):
    """``out[p, q] = sum_m a[m, p] * b[m, q]`` (``a.T @ b``), one thread per ``(p, q)``.

    ``a: (M, P)``, ``b: (M, Q)``, ``out: (P, Q)``: a weight gradient, where ``m`` runs over every time step and
    batch row, so each thread's loop is long and the grid is the size of the weight matrix.
    """
    index = cuda.grid(1)
    if index >= out.size:
        return
    Q = out.shape[1]
    p, q = divmod(index, Q)
    acc = out.dtype.type(0)
    for m in range(a.shape[0]):
        acc += a[m, p] * b[m, q]
    out[p, q] = acc


@cuda.jit(cache=True)
def _column_sums_kernel(a, out):
    """``out[q] = sum_m a[m, q]``, one thread per column: a bias gradient, summed over time and batch."""
    q = cuda.grid(1)
    if q >= out.size:
        return
    acc = out.dtype.type(0)
    for m in range(a.shape[0]):
        acc += a[m, q]
    out[q] = acc


@cuda.jit(cache=True)
def _transpose_kernel(a, out):
    """``out[q, p] = a[p, q]``, one thread per element of ``out`` (its writes are coalesced, its reads not)."""
    index = cuda.grid(1)
    if index >= out.size:
        return
    q, p = divmod(index, out.shape[1])
    out[q, p] = a[p, q]


def no_array(dtype: Any) -> Any:
    """An array of size 0, which kernels read as "not given" (a kernel argument cannot be ``None``).

    A Numba device array of size 0 allocates no memory (its pointer is NULL), whatever the call's array kind.
    """
    return cuda.device_array((0,), dtype=dtype)


def matmul(space: ArraySpace, a: Any, b: Any, out: Any, bias1: Any = None, bias2: Any = None) -> Any:
    """``out = a @ b (+ bias1) (+ bias2)`` with ``a: (M, K)``, ``b: (K, Q)``, biases ``(Q,)`` or None; returns ``out``.

    All arguments are Numba device arrays (``out``: ``(M, Q)``, C-contiguous).
    """
    none = no_array(out.dtype)
    space.launch(_matmul_kernel, out.size, a, b, none if bias1 is None else bias1, none if bias2 is None else bias2,
                 out)
    return out


def matmul_at(space: ArraySpace, a: Any, b: Any, out: Any) -> Any:
    """``out = a.T @ b`` with ``a: (M, P)``, ``b: (M, Q)``, ``out: (P, Q)`` (device arrays); returns ``out``."""
    space.launch(_matmul_at_kernel, out.size, a, b, out)
    return out


def column_sums(space: ArraySpace, a: Any, out: Any) -> Any:
    """``out = a.sum(axis=0)`` with ``a: (M, Q)``, ``out: (Q,)`` (device arrays); returns ``out``."""
    space.launch(_column_sums_kernel, out.size, a, out)
    return out


def transpose(space: ArraySpace, a: Any) -> Any:
    """``a.T`` as a new C-ordered device array: ``a: (P, Q)`` -> ``(Q, P)``."""
    out = space.gpu(space.empty((a.shape[1], a.shape[0]), a.dtype))
    space.launch(_transpose_kernel, out.size, a, out)
    return out
