"""Max and average pooling on an NVIDIA GPU with ``numba.cuda``: one GPU thread for each number computed.

Conventions are PyTorch's, as in the reference (``nnlearn.kernels.reference.pool2d``): max-pool padding acts
as ``-inf`` (it never wins), the first maximum wins a tie, a NaN wins (it propagates), and average pooling
divides by the whole window, padding included. The kernels:

* **forward** (both) — one thread per output element ``out[n, c, oh, ow]``: a loop over its window.
* **average backward** — one thread per input element ``x[n, c, h, v]``. It *gathers* ``dout / (kH * kW)``
  from every window that covered it, as conv2d's ``dx`` does: each ``dx`` element is written once, without
  atomics, and the result is the same on every run.
* **max backward** — the contract hands this step only ``dout``, ``indices`` and ``x``'s shape, not the window
  geometry, so an input thread cannot tell which windows covered it. Instead one thread per *output* element
  *scatters*: it adds its gradient to the input element its window picked (``indices``). Overlapping windows
  can pick the same element, and threads run at the same time, so the add must be atomic
  (``cuda.atomic.add``: a read-modify-write no other thread can interleave with). ``dx`` starts at zero.
  Atomic adds of the same values can happen in any order, so when windows share a maximum the float sum may
  differ from run to run in its last bits — the usual price of atomics on a GPU.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

from ._index import unravel4
from ._launch import ArraySpace


@cuda.jit(cache=True)
def _max_forward_kernel(x, kH, kW, sh, sw, ph, pw, out, indices):
    """One thread per output element: the maximum of its window, and ``h * W + v``, where it was."""
    index = cuda.grid(1)
    if index >= out.size:  # a spare thread of the last, ragged block
        return
    n, c, oh, ow = unravel4(index, out.shape)
    _, _, H, W = x.shape
    h0 = oh * sh - ph  # the window's top-left corner, possibly in the padding
    v0 = ow * sw - pw
    best = x.dtype.type(-math.inf)
    # If every real element is -inf nothing beats the start value; PyTorch then names the window's first real
    # element, so start there.
    best_at = max(h0, 0) * W + max(v0, 0)
    for i in range(kH):
        h = h0 + i
        if 0 <= h < H:  # padding rows are -inf: they never win, so skip them
            for j in range(kW):
                v = v0 + j
                if 0 <= v < W:
                    value = x[n, c, h, v]
                    # Strictly greater, so the first maximum keeps a tie. A NaN wins once and then stays,
                    # since nothing compares greater than NaN: the first NaN, as np.argmax reports it.
                    if value > best or (math.isnan(value) and not math.isnan(best)):
                        best = value
                        best_at = h * W + v
    out[n, c, oh, ow] = best
    indices[n, c, oh, ow] = best_at


@cuda.jit(cache=True)
def _max_backward_kernel(dout, indices, dx):
    """One thread per output element: ``dx[n, c].flat[indices[n, c, oh, ow]] += dout[n, c, oh, ow]``, atomically."""
    index = cuda.grid(1)
    if index >= dout.size:
        return
    n, c, oh, ow = unravel4(index, dout.shape)
    W = dx.shape[3]
    h, v = divmod(indices[n, c, oh, ow], W)
    cuda.atomic.add(dx, (n, c, h, v), dout[n, c, oh, ow])


@cuda.jit(cache=True)
def _avg_forward_kernel(x, kH, kW, sh, sw, ph, pw, out):
    """One thread per output element: the sum of its window's real elements over the full window size."""
    index = cuda.grid(1)
    if index >= out.size:
        return
    n, c, oh, ow = unravel4(index, out.shape)
    _, _, H, W = x.shape
    acc = x.dtype.type(0)
    for i in range(kH):
        h = oh * sh - ph + i
        if 0 <= h < H:  # padding counts as zeros: nothing to add
            for j in range(kW):
                v = ow * sw - pw + j
                if 0 <= v < W:
                    acc += x[n, c, h, v]
    out[n, c, oh, ow] = acc / x.dtype.type(kH * kW)  # divide in x's dtype: the padding counts in the window


@cuda.jit(cache=True)
def _avg_backward_kernel(dout, kH, kW, sh, sw, ph, pw, dx):
    """One thread per input element: ``dx[n, c, h, v]`` gathers ``dout / (kH * kW)`` from each window over it."""
    index = cuda.grid(1)
    if index >= dx.size:
        return
    n, c, h, v = unravel4(index, dx.shape)
    _, _, H_out, W_out = dout.shape
    acc = dx.dtype.type(0)
    for i in range(kH):
        # Window row oh covers this pixel at offset i when oh * sh - ph + i == h: a whole number, and a real row.
        t = h + ph - i
        if t < 0 or t % sh != 0 or t // sh >= H_out:
            continue
        for j in range(kW):
            u = v + pw - j
            if u < 0 or u % sw != 0 or u // sw >= W_out:
                continue
            acc += dout[n, c, t // sh, u // sw]
    dx[n, c, h, v] = acc / dx.dtype.type(kH * kW)  # every window passes on 1 / (kH * kW) of its gradient


def _output_shape(x_shape: tuple[int, ...], kernel_size: tuple[int, int], stride: tuple[int, int],
                  padding: tuple[int, int]) -> tuple[int, int, int, int]:
    N, C, H, W = x_shape
    (kH, kW), (sh, sw), (ph, pw) = kernel_size, stride, padding
    return N, C, (H + 2 * ph - kH) // sh + 1, (W + 2 * pw - kW) // sw + 1


def _ints(*pairs: tuple[int, int]) -> tuple[int, ...]:
    """The pairs' numbers as one flat tuple of Python ints (NumPy integers would each compile a new kernel)."""
    return tuple(int(n) for pair in pairs for n in pair)


def max_pool2d_forward(x: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> tuple[Any, Any]:
    """The maximum of each window, and where it was, on the GPU.

    Args:
        x: ``(N, C, H, W)``; kernel_size, stride, padding: ``(int, int)`` pairs.

    Returns:
        ``out: (N, C, H_out, W_out)`` and ``indices``: int64, same shape, the flat position ``h * W + w`` of each
        maximum in its ``(H, W)`` plane of ``x`` — NumPy arrays for NumPy input, else GPU arrays of its kind.
    """
    space = ArraySpace(x)
    shape = _output_shape(tuple(x.shape), kernel_size, stride, padding)
    out, indices = space.empty(shape, x.dtype), space.empty(shape, np.int64)
    space.launch(_max_forward_kernel, out.size, space.gpu(x), *_ints(kernel_size, stride, padding),
                 space.gpu(out), space.gpu(indices))
    return space.result(out), space.result(indices)


def max_pool2d_backward(dout: Any, indices: Any, x_shape: tuple[int, int, int, int]) -> Any:
    """Send each window's gradient to the element that was its maximum, on the GPU.

    Args:
        dout: ``(N, C, H_out, W_out)``; indices: from :func:`max_pool2d_forward`; x_shape: ``(N, C, H, W)``.

    Returns:
        ``dx: (N, C, H, W)``, of ``dout``'s dtype, in the form of the inputs.
    """
    space = ArraySpace(dout, indices)
    dx = space.zeros(tuple(int(n) for n in x_shape), dout.dtype)  # the atomic adds accumulate into zeros
    space.launch(_max_backward_kernel, dout.size, space.gpu(dout), space.gpu(indices), space.gpu(dx))
    return space.result(dx)


def avg_pool2d_forward(x: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> Any:
    """The mean of each window, padding counted as zeros, on the GPU.

    Args:
        x: ``(N, C, H, W)``; kernel_size, stride, padding: ``(int, int)`` pairs.

    Returns:
        ``out: (N, C, H_out, W_out)``, in the form of ``x``.
    """
    space = ArraySpace(x)
    out = space.empty(_output_shape(tuple(x.shape), kernel_size, stride, padding), x.dtype)
    space.launch(_avg_forward_kernel, out.size, space.gpu(x), *_ints(kernel_size, stride, padding), space.gpu(out))
    return space.result(out)


def avg_pool2d_backward(dout: Any, x_shape: tuple[int, int, int, int], kernel_size: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """Spread each window's gradient evenly over its ``kH * kW`` elements, on the GPU.

    Args:
        dout: ``(N, C, H_out, W_out)``; x_shape: ``(N, C, H, W)``; the rest as in the forward pass.

    Returns:
        ``dx: (N, C, H, W)``, of ``dout``'s dtype, in the form of ``dout``.
    """
    space = ArraySpace(dout)
    dx = space.empty(tuple(int(n) for n in x_shape), dout.dtype)
    space.launch(_avg_backward_kernel, dx.size, space.gpu(dout), *_ints(kernel_size, stride, padding), space.gpu(dx))
    return space.result(dx)
