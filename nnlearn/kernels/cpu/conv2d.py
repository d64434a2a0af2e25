"""2-D convolution compiled with Numba: the reference's im2col + matmul, one image at a time, in parallel.

The NumPy reference builds the im2col matrix of the whole batch at once, ``kH * kW`` times the size of the
input, and then makes one large matrix product. That is simple but walks through far more memory than the
arithmetic needs. Here the batch is split into one chunk per thread (``prange``), and each thread, for one
image at a time:

1. copies the image into a zero-bordered buffer (the padding), then its windows into a small
   ``(C_in * kH * kW, H_out * Wx)`` matrix ``cols`` that stays in cache (see :func:`_im2col` for ``Wx``);
2. multiplies the filters ``(C_out, C_in * kH * kW)`` by ``cols`` with BLAS (``np.dot``, single-threaded:
   the threads are ours) and adds the bias while copying the result into the image's slot of the output.

The backward pass does the same per image — rebuild ``cols``; ``dW += dout_n @ cols.T``;
``dcols = W.T @ dout_n``; add ``dcols`` back onto the pixels they were copied from (col2im) — and each
thread keeps its own ``dW`` and ``db`` partial sums, added up at the end, so no two threads write the same
memory.

Numba's cache is per source file and does not notice edits to other files, which is why the helpers live here.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._threads import num_threads, single_threaded_blas


@njit(cache=True)
def _pad_into(x, xp, ph, pw, Hp, Wp):
    """Copy one image ``x: (C, H, W)`` into the interior of ``xp``, a flat ``(C, Hp, Wp)`` buffer whose zero
    border is the padding (it was zeroed once, and only the interior is ever written)."""
    C, H, W = x.shape
    for c in range(C):
        for h in range(H):
            start = (c * Hp + h + ph) * Wp + pw
            dst, src = xp[start:start + W], x[c, h]
            for w in range(W):
                dst[w] = src[w]


@njit(cache=True)
def _im2col(xp, cols, C, kH, kW, sh, sw, Hp, Wp, H_out, Wx):
    """``cols[k, i * Wx + j] = xp[c, i * sh + di, j * sw + dj]`` for ``k = (c, di, dj)``.

    ``xp`` is the padded image, flat. ``Wx`` is the width of the output grid: ``W_out`` in general, but ``Wp``
    when ``sw == 1``, so that output row ``i + 1`` starts exactly ``Wp`` elements after row ``i`` in ``xp``.
    The extra ``Wp - W_out`` columns per row are garbage the caller never reads, and they buy something big:
    with ``sh == sw == 1`` a whole row of ``cols`` is *one* contiguous run of ``xp`` — a long loop the compiler
    vectorises — instead of ``H_out`` short ones.
    """
    L = H_out * Wx
    for c in range(C):
        for di in range(kH):
            for dj in range(kW):
                row = cols[(c * kH + di) * kW + dj]
                start = (c * Hp + di) * Wp + dj
                if sh == 1 and sw == 1:
                    src = xp[start:start + L]
                    for q in range(L):
                        row[q] = src[q]
                else:
                    for i in range(H_out):
                        # Slice, then index with the bare loop counter: Numba cannot prove a computed index
                        # like ``start + j`` non-negative, and its wrap-around test would stop vectorisation.
                        dst, src = row[i * Wx:(i + 1) * Wx], xp[start + i * sh * Wp:]
                        for j in range(Wx):
                            dst[j] = src[j * sw]


@njit(cache=True)
def _col2im(dcols, dxp, C, kH, kW, sh, sw, Hp, Wp, H_out, Wx):
    """The transpose of :func:`_im2col`: add every ``dcols`` entry back onto the padded pixel it was copied from."""
    L = H_out * Wx
    for q in range(dxp.shape[0]):
        dxp[q] = 0
    for c in range(C):
        for di in range(kH):
            for dj in range(kW):
                row = dcols[(c * kH + di) * kW + dj]
                start = (c * Hp + di) * Wp + dj
                if sh == 1 and sw == 1:
                    dst = dxp[start:start + L]
                    for q in range(L):
                        dst[q] += row[q]
                else:
                    for i in range(H_out):
                        src, dst = row[i * Wx:(i + 1) * Wx], dxp[start + i * sh * Wp:]
                        for j in range(Wx):
                            dst[j * sw] += src[j]


@njit(cache=True, parallel=True)
def _forward(x, w2, b, kH, kW, sh, sw, ph, pw, H_out, W_out, n_chunks):
    """``x: (N, C, H, W)``, ``w2: (C_out, C * kH * kW)``, ``b: (C_out,)`` -> ``out: (N, C_out, H_out, W_out)``."""
    N, C, H, W = x.shape
    C_out, K = w2.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Wx = Wp if sw == 1 else W_out
    out = np.empty((N, C_out, H_out, W_out), x.dtype)
    chunk = (N + n_chunks - 1) // n_chunks
    for t in prange(n_chunks):                             # thread t: images [t * chunk, (t + 1) * chunk)
        # Buffers per thread, reused for every image. xp has kW spare zeros at the end: the last garbage
        # columns of the last row of cols read a little past the final padded row.
        xp = np.zeros(C * Hp * Wp + kW, x.dtype)
        cols = np.empty((K, H_out * Wx), x.dtype)
        prod = np.empty((C_out, H_out * Wx), x.dtype)
        for n in range(t * chunk, min(N, (t + 1) * chunk)):
            _pad_into(x[n], xp, ph, pw, Hp, Wp)
            _im2col(xp, cols, C, kH, kW, sh, sw, Hp, Wp, H_out, Wx)
            np.dot(w2, cols, prod)                         # (C_out, K) @ (K, H_out * Wx) with BLAS
            for o in range(C_out):                         # keep the W_out real columns of each row, add bias
                bias = b[o]
                for i in range(H_out):
                    dst, src = out[n, o, i], prod[o, i * Wx:(i + 1) * Wx]
                    for j in range(W_out):
                        dst[j] = src[j] + bias
    return out


# "reassoc" lets LLVM reorder the floating-point additions of the bias-gradient sum so that it can vectorise
# them; without it a sum is one long chain of dependent additions, which made up half the backward pass here.
@njit(cache=True, parallel=True, fastmath={"reassoc"})
def _backward(dout, x, w2t, kH, kW, sh, sw, ph, pw, n_chunks):
    """``dout: (N, C_out, H_out, W_out)``, ``w2t: (C * kH * kW, C_out)`` -> ``dx: (N, C, H, W)`` and the
    per-thread partial sums of ``dW.T: (n_chunks, K, C_out)`` and ``db: (n_chunks, C_out)``."""
    N, C, H, W = x.shape
    _, C_out, H_out, W_out = dout.shape
    K = w2t.shape[0]
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Wx = Wp if sw == 1 else W_out
    dx = np.empty_like(x)
    dwt_parts = np.zeros((n_chunks, K, C_out), x.dtype)   # one partial sum per thread: no write conflicts
    db_parts = np.zeros((n_chunks, C_out), x.dtype)
    chunk = (N + n_chunks - 1) // n_chunks
    for t in prange(n_chunks):
        xp = np.zeros(C * Hp * Wp + kW, x.dtype)
        dxp = np.empty(C * Hp * Wp + kW, x.dtype)
        cols = np.empty((K, H_out * Wx), x.dtype)
        dcols = np.empty((K, H_out * Wx), x.dtype)
        # dout on the output grid of cols; the garbage columns stay zero so that they add nothing to dW or dx
        # (for finite inputs: an inf read into a garbage column of cols would turn 0 * inf into NaN).
        dgrid = np.zeros((C_out, H_out * Wx), x.dtype)
        dwt_n = np.empty((K, C_out), x.dtype)
        for n in range(t * chunk, min(N, (t + 1) * chunk)):
            _pad_into(x[n], xp, ph, pw, Hp, Wp)
            _im2col(xp, cols, C, kH, kW, sh, sw, Hp, Wp, H_out, Wx)
            for o in range(C_out):
                total = 0.0
                for i in range(H_out):
                    dst, src = dgrid[o, i * Wx:(i + 1) * Wx], dout[n, o, i]
                    for j in range(W_out):
                        dst[j] = src[j]
                        total += src[j]
                db_parts[t, o] += total                    # the bias was added at every output position
            np.dot(cols, dgrid.T, dwt_n)                   # dW_n.T = cols @ dout_n.T (measured faster than dW_n)
            acc = dwt_parts[t]                             # explicit loops: an array expression such as
            for a in range(K):                             # ``dwt_parts[t] += dwt_n`` costs seconds to compile
                for o in range(C_out):
                    acc[a, o] += dwt_n[a, o]
            np.dot(w2t, dgrid, dcols)                      # dcols = W.T @ dout_n
            _col2im(dcols, dxp, C, kH, kW, sh, sw, Hp, Wp, H_out, Wx)
            for c in range(C):                             # the interior of dxp is dx; the border was padding
                for h in range(H):
                    dst, src = dx[n, c, h], dxp[(c * Hp + h + ph) * Wp + pw:]
                    for w in range(W):
                        dst[w] = src[w]
    return dx, dwt_parts, db_parts


def _output_hw(x_shape, w_shape, stride, padding):
    (_, _, H, W), (_, _, kH, kW) = x_shape, w_shape
    return (H + 2 * padding[0] - kH) // stride[0] + 1, (W + 2 * padding[1] - kW) // stride[1] + 1


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple[int, int],
                   padding: tuple[int, int]) -> np.ndarray:
    """Same contract as :func:`nnlearn.kernels.reference.conv2d.conv2d_forward`.

    ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, kH, kW)``, ``b: (C_out,)`` or ``None`` ->
    ``out: (N, C_out, H_out, W_out)``.
    """
    C_out, _, kH, kW = w.shape
    H_out, W_out = _output_hw(x.shape, w.shape, stride, padding)
    x = np.ascontiguousarray(x)
    w2 = np.ascontiguousarray(w, dtype=x.dtype).reshape(C_out, -1)
    b = np.zeros(C_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    n_chunks = max(1, min(x.shape[0], num_threads()))
    with single_threaded_blas():
        return _forward(x, w2, b, int(kH), int(kW), int(stride[0]), int(stride[1]), int(padding[0]),
                        int(padding[1]), int(H_out), int(W_out), n_chunks)


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: tuple[int, int],
                    padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same contract as :func:`nnlearn.kernels.reference.conv2d.conv2d_backward`.

    ``dout: (N, C_out, H_out, W_out)`` -> ``(dx, dw, db)`` shaped like ``x``, ``w`` and ``(C_out,)``.
    """
    C_out, _, kH, kW = w.shape
    x = np.ascontiguousarray(x)
    # dout may come from autograd as a broadcast or transposed view: make it a plain array of x's dtype.
    dout = np.ascontiguousarray(dout, dtype=x.dtype)
    w2t = np.ascontiguousarray(w.reshape(C_out, -1).T, dtype=x.dtype)
    n_chunks = max(1, min(x.shape[0], num_threads()))
    with single_threaded_blas():
        dx, dwt_parts, db_parts = _backward(dout, x, w2t, int(kH), int(kW), int(stride[0]), int(stride[1]),
                                            int(padding[0]), int(padding[1]), n_chunks)
    # Adding up the threads' partial sums is cheap, and NumPy does it here rather than the compiled function:
    # array reductions along an axis are among the slowest things for Numba to compile.
    return dx, np.ascontiguousarray(dwt_parts.sum(axis=0).T).reshape(w.shape), db_parts.sum(axis=0)
