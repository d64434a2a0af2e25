"""Max and average pooling compiled with Numba: plain loops over windows, in parallel over the ``N * C`` planes.

Pooling does a handful of comparisons or additions per output, so the loops are the whole story: no BLAS, no
temporary window copies. Every ``(n, c)`` plane is independent — pooling never mixes channels — so the planes
are shared out among the threads (``prange``) and no two threads ever write the same element, not even in the
backward pass where overlapping windows add into the same input pixel.

Each window is clipped to the image once, so padding costs nothing: max-pool padding can never win (it acts as
``-inf``), and average pooling still divides by the full ``kH * kW`` (PyTorch's ``count_include_pad=True``).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


def _output_hw(x_shape, kernel_size, stride, padding):
    _, _, H, W = x_shape
    return ((H + 2 * padding[0] - kernel_size[0]) // stride[0] + 1,
            (W + 2 * padding[1] - kernel_size[1]) // stride[1] + 1)


@njit(cache=True, parallel=True)
def _max_forward(x, kH, kW, sh, sw, ph, pw, H_out, W_out):
    """``x: (P, H, W)`` planes -> ``out, indices: (P, H_out, W_out)``."""
    P, H, W = x.shape
    out = np.empty((P, H_out, W_out), x.dtype)
    indices = np.empty((P, H_out, W_out), np.int64)
    for p in prange(P):
        plane = x[p]
        for i in range(H_out):
            h0 = i * sh - ph
            h_lo, h_hi = max(h0, 0), min(h0 + kH, H)          # the window's rows inside the image
            for j in range(W_out):
                w0 = j * sw - pw
                w_lo, w_hi = max(w0, 0), min(w0 + kW, W)
                # Start from the window's first real pixel (padding never wins, not even against -inf); only
                # a strictly larger value, or a NaN (as np.argmax would), takes over: the first maximum wins.
                best, best_index = plane[h_lo, w_lo], h_lo * W + w_lo
                for h in range(h_lo, h_hi):
                    for w in range(w_lo, w_hi):
                        v = plane[h, w]
                        # Written as selects, not an ``if``: on random data "is this the new maximum?" is a
                        # coin flip, and a mispredicted branch per element made this loop twice as slow.
                        take = (v > best) | ((v != v) & (best == best))
                        best_index = h * W + w if take else best_index
                        best = v if take else best
                out[p, i, j] = best
                indices[p, i, j] = best_index
    return out, indices


@njit(cache=True, parallel=True)
def _max_backward(dout, indices, H, W):
    """``dout, indices: (P, H_out, W_out)`` -> ``dx: (P, H * W)``, each gradient added at its maximum."""
    P, H_out, W_out = dout.shape
    dx = np.zeros((P, H * W), dout.dtype)
    for p in prange(P):
        for i in range(H_out):
            for j in range(W_out):
                dx[p, indices[p, i, j]] += dout[p, i, j]
    return dx


@njit(cache=True, parallel=True)
def _avg_forward(x, kH, kW, sh, sw, ph, pw, H_out, W_out):
    """``x: (P, H, W)`` -> ``out: (P, H_out, W_out)``, window sums over real pixels divided by ``kH * kW``."""
    P, H, W = x.shape
    out = np.empty((P, H_out, W_out), x.dtype)
    scale = 1.0 / (kH * kW)
    for p in prange(P):
        plane = x[p]
        for i in range(H_out):
            h0 = i * sh - ph
            h_lo, h_hi = max(h0, 0), min(h0 + kH, H)
            for j in range(W_out):
                w0 = j * sw - pw
                w_lo, w_hi = max(w0, 0), min(w0 + kW, W)
                total = 0.0
                for h in range(h_lo, h_hi):
                    for w in range(w_lo, w_hi):
                        total += plane[h, w]
                out[p, i, j] = total * scale
    return out


@njit(cache=True, parallel=True)
def _avg_backward(dout, H, W, kH, kW, sh, sw, ph, pw):
    """``dout: (P, H_out, W_out)`` -> ``dx: (P, H, W)``, each window's gradient shared evenly by its pixels."""
    P, H_out, W_out = dout.shape
    dx = np.zeros((P, H, W), dout.dtype)
    scale = 1.0 / (kH * kW)
    for p in prange(P):
        plane = dx[p]
        for i in range(H_out):
            h0 = i * sh - ph
            h_lo, h_hi = max(h0, 0), min(h0 + kH, H)
            for j in range(W_out):
                w0 = j * sw - pw
                w_lo, w_hi = max(w0, 0), min(w0 + kW, W)
                share = dout[p, i, j] * scale
                for h in range(h_lo, h_hi):
                    for w in range(w_lo, w_hi):
                        plane[h, w] += share
    return dx


def max_pool2d_forward(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Same contract as :func:`nnlearn.kernels.reference.pool2d.max_pool2d_forward`.

    ``x: (N, C, H, W)`` -> ``out: (N, C, H_out, W_out)`` and int64 ``indices`` of the same shape.
    """
    N, C, H, W = x.shape
    H_out, W_out = _output_hw(x.shape, kernel_size, stride, padding)
    planes = np.ascontiguousarray(x).reshape(N * C, H, W)
    out, indices = _max_forward(planes, *_ints(kernel_size, stride, padding), int(H_out), int(W_out))
    return out.reshape(N, C, H_out, W_out), indices.reshape(N, C, H_out, W_out)


def max_pool2d_backward(dout: np.ndarray, indices: np.ndarray, x_shape: tuple[int, int, int, int]) -> np.ndarray:
    """Same contract as :func:`nnlearn.kernels.reference.pool2d.max_pool2d_backward`: ``dx: (N, C, H, W)``."""
    N, C, H, W = x_shape
    _, _, H_out, W_out = dout.shape
    dout = np.ascontiguousarray(dout).reshape(N * C, H_out, W_out)
    indices = np.ascontiguousarray(indices, dtype=np.int64).reshape(N * C, H_out, W_out)
    return _max_backward(dout, indices, int(H), int(W)).reshape(N, C, H, W)


def avg_pool2d_forward(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> np.ndarray:
    """Same contract as :func:`nnlearn.kernels.reference.pool2d.avg_pool2d_forward`: ``(N, C, H_out, W_out)``."""
    N, C, H, W = x.shape
    H_out, W_out = _output_hw(x.shape, kernel_size, stride, padding)
    planes = np.ascontiguousarray(x).reshape(N * C, H, W)
    return _avg_forward(planes, *_ints(kernel_size, stride, padding), int(H_out), int(W_out)).reshape(
        N, C, H_out, W_out)


def avg_pool2d_backward(dout: np.ndarray, x_shape: tuple[int, int, int, int], kernel_size: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """Same contract as :func:`nnlearn.kernels.reference.pool2d.avg_pool2d_backward`: ``dx: (N, C, H, W)``."""
    N, C, H, W = x_shape
    _, _, H_out, W_out = dout.shape
    dout = np.ascontiguousarray(dout).reshape(N * C, H_out, W_out)
    return _avg_backward(dout, int(H), int(W), *_ints(kernel_size, stride, padding)).reshape(N, C, H, W)


def _ints(kernel_size, stride, padding):
    """``(kH, kW, sh, sw, ph, pw)`` as Python ints, so that NumPy integers never trigger a recompilation."""
    return tuple(int(v) for v in (*kernel_size, *stride, *padding))
