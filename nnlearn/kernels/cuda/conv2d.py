"""2-D convolution on an NVIDIA GPU with ``numba.cuda``: one GPU thread for each number computed.

The reference (``nnlearn.kernels.reference.conv2d``) is fast on a CPU by turning convolution into one large
matrix product. A GPU offers a different route: it runs tens of thousands of threads at once, so each thread
can simply evaluate the textbook formula for *one* output element,

    out[n, f, oh, ow] = b[f] + sum over c, i, j of  x[n, c, oh*sh - ph + i, ow*sw - pw + j] * w[f, c, i, j]

where a tap that falls into the zero padding is skipped (it would add zero). The kernels:

* **forward** — one thread per ``out[n, f, oh, ow]``: the dot product of filter ``f`` with one window.
* **dx** — one thread per input element ``x[n, c, h, v]``. It *gathers*: it finds every output whose window
  covered the pixel and adds ``dout * w`` for each. (The mirror image — each output thread *scattering* into
  the pixels it read — needs atomic adds, because overlapping windows share pixels; gathering writes every
  ``dx`` element exactly once, needs no atomics, and gives the same bits on every run.)
* **dw, db** — a weight takes part in every output position of every image, so its gradient is a sum of
  ``N * H_out * W_out`` products. One thread per weight would leave most of the GPU idle (a 3→32 layer with
  3×3 filters has only 864 weights), so each sum is split: ``K`` threads per weight each add up a slice of the
  ``N * H_out`` output rows into a scratch array ``partial[k, weight]``, and a second kernel adds the ``K``
  slices. Both steps are plain loops — no shared memory, no atomics — and the result is deterministic.

Each kernel numbers its threads along a 1-D grid (see ``_launch.py``) and unravels the number into the
element's indices; its arguments are the input arrays, then the numbers (sizes, strides, paddings), then the
arrays it writes. The host wrappers below size the grid, allocate the outputs and move arrays as needed.
"""
from __future__ import annotations

from typing import Any

from numba import cuda

from ._index import unravel4
from ._launch import ArraySpace

# How many threads the dw/db sums aim to occupy: about what a large GPU keeps in flight (an H100 holds
# 132 SMs x 2048 threads), so a sum is only split as finely as it takes to fill the device.
TARGET_THREADS = 2 ** 18


@cuda.jit(cache=True)
def _forward_kernel(x, w, b, sh, sw, ph, pw, out):
    """One thread per output element: ``out[n, f, oh, ow] = b[f] + <filter f, window (oh, ow) of image n>``."""
    index = cuda.grid(1)
    if index >= out.size:  # a spare thread of the last, ragged block
        return
    n, f, oh, ow = unravel4(index, out.shape)
    _, C, H, W = x.shape
    _, _, kH, kW = w.shape
    acc = b[f]  # accumulate in the arrays' own dtype (float32 stays float32)
    for c in range(C):
        for i in range(kH):
            ih = oh * sh - ph + i  # the input row under filter row i
            if 0 <= ih < H:  # rows in the padding contribute zero: skip them
                for j in range(kW):
                    iw = ow * sw - pw + j
                    if 0 <= iw < W:
                        acc += x[n, c, ih, iw] * w[f, c, i, j]
    out[n, f, oh, ow] = acc


@cuda.jit(cache=True)
def _dx_kernel(dout, w, sh, sw, ph, pw, dx):
    """One thread per input element: ``dx[n, c, h, v]`` (row ``h``, column ``v``) gathers ``dout * w`` from every
    window that covered it."""
    index = cuda.grid(1)
    if index >= dx.size:
        return
    n, c, h, v = unravel4(index, dx.shape)
    _, F, H_out, W_out = dout.shape
    _, _, kH, kW = w.shape
    acc = dx.dtype.type(0)
    for i in range(kH):
        # Output row oh read this pixel through filter row i when oh * sh - ph + i == h, i.e. oh = (h + ph - i) / sh:
        # that must be a whole number, and a row that exists.
        t = h + ph - i
        if t < 0 or t % sh != 0 or t // sh >= H_out:
            continue
        oh = t // sh
        for j in range(kW):
            u = v + pw - j
            if u < 0 or u % sw != 0 or u // sw >= W_out:
                continue
            ow = u // sw
            for f in range(F):
                acc += dout[n, f, oh, ow] * w[f, c, i, j]
    dx[n, c, h, v] = acc


@cuda.jit(cache=True)
def _dw_partial_kernel(dout, x, kH, kW, sh, sw, ph, pw, partial):
    """``partial[k, e]``: slice ``k`` of the sum that makes weight ``e`` (flat index into ``w``) — one thread each.

    Slice ``k`` of ``K`` takes the output rows ``r = k, k + K, k + 2K, ...`` of the ``N * H_out`` rows ``(n, oh)``,
    and every column ``ow`` of each: ``sum dout[n, f, oh, ow] * x[n, c, oh*sh - ph + i, ow*sw - pw + j]``.
    """
    index = cuda.grid(1)
    if index >= partial.size:
        return
    K, E = partial.shape
    k, e = divmod(index, E)  # neighbouring threads take neighbouring weights: their reads of x sit side by side
    N, F, H_out, W_out = dout.shape
    _, C, H, W = x.shape
    f, c, i, j = unravel4(e, (F, C, kH, kW))
    acc = partial.dtype.type(0)
    for r in range(k, N * H_out, K):
        n, oh = divmod(r, H_out)
        ih = oh * sh - ph + i
        if ih < 0 or ih >= H:  # this whole output row read padding through filter row i
            continue
        for ow in range(W_out):
            iw = ow * sw - pw + j
            if 0 <= iw < W:
                acc += dout[n, f, oh, ow] * x[n, c, ih, iw]
    partial[k, e] = acc


@cuda.jit(cache=True)
def _db_partial_kernel(dout, partial):
    """``partial[k, f]``: slice ``k`` of ``db[f] = sum of dout[:, f]``, over the rows ``r = k, k + K, ...`` as above."""
    index = cuda.grid(1)
    if index >= partial.size:
        return
    K, F = partial.shape
    k, f = divmod(index, F)
    N, _, H_out, W_out = dout.shape
    acc = partial.dtype.type(0)
    for r in range(k, N * H_out, K):
        n, oh = divmod(r, H_out)
        for ow in range(W_out):
            acc += dout[n, f, oh, ow]
    partial[k, f] = acc


@cuda.jit(cache=True)
def _sum_slices_kernel(partial, total):
    """``total[e] = sum over k of partial[k, e]``: the second step of the split sums, one thread per ``e``."""
    e = cuda.grid(1)
    if e >= total.size:
        return
    acc = total.dtype.type(0)
    for k in range(partial.shape[0]):
        acc += partial[k, e]
    total[e] = acc


def slices_per_sum(n_sums: int, n_rows: int) -> int:
    """How many threads share each of ``n_sums`` sums over ``n_rows`` rows: enough to give the GPU about
    :data:`TARGET_THREADS` threads in all, never more than one per row, at least one."""
    return max(1, min(n_rows, TARGET_THREADS // max(n_sums, 1)))


def _split_sum(space: ArraySpace, partial_kernel: Any, args: tuple, total: Any, n_rows: int) -> None:
    """Fill ``total`` (any shape, ``E`` elements) with ``E`` sums over ``n_rows`` rows, each split into slices:
    ``partial_kernel(*args, partial)`` writes the slices, :func:`_sum_slices_kernel` adds them up."""
    n_sums = total.size
    K = slices_per_sum(n_sums, n_rows)
    partial = space.empty((K, n_sums), total.dtype)          # scratch, one slice per row of the array
    space.launch(partial_kernel, K * n_sums, *args, space.gpu(partial))
    space.launch(_sum_slices_kernel, n_sums, space.gpu(partial), space.gpu(total).reshape(n_sums))


def _output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_forward(x: Any, w: Any, b: Any, stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """Cross-correlate ``x`` with the filters ``w`` and add the bias ``b``, on the GPU.

    Args:
        x: ``(N, C_in, H, W)`` input images.
        w: ``(C_out, C_in, kH, kW)`` filters (PyTorch's layout).
        b: ``(C_out,)`` bias, or ``None``.
        stride, padding: ``(sh, sw)`` and ``(ph, pw)``; ``padding`` zeros are added on both sides.

    Returns:
        ``out: (N, C_out, H_out, W_out)`` with ``H_out = (H + 2 ph - kH) // sh + 1`` (likewise ``W_out``): a NumPy
        array if the inputs were NumPy arrays, else a GPU array of the inputs' kind (see ``_launch.py``).
    """
    space = ArraySpace(x, w, b)
    N, _, H, W = x.shape
    C_out, _, kH, kW = w.shape
    (sh, sw), (ph, pw) = stride, padding
    out = space.empty((N, C_out, _output_size(H, kH, sh, ph), _output_size(W, kW, sw, pw)), x.dtype)
    bias = space.zeros((C_out,), x.dtype) if b is None else b  # no bias adds the same as a zero bias
    space.launch(_forward_kernel, out.size, space.gpu(x), space.gpu(w), space.gpu(bias),
                 int(sh), int(sw), int(ph), int(pw), space.gpu(out))
    return space.result(out)


def conv2d_backward(dout: Any, x: Any, w: Any, stride: tuple[int, int],
                    padding: tuple[int, int]) -> tuple[Any, Any, Any]:
    """Gradients of :func:`conv2d_forward` given ``dout = dL/dout``, on the GPU.

    Args:
        dout: ``(N, C_out, H_out, W_out)``; x, w, stride, padding: as in the forward pass.

    Returns:
        ``(dx, dw, db)`` with the shapes of ``x``, ``w`` and ``(C_out,)``, in the form of the inputs.
    """
    space = ArraySpace(dout, x, w)
    N, C_out, H_out, _ = dout.shape
    _, _, kH, kW = w.shape
    sh, sw, ph, pw = int(stride[0]), int(stride[1]), int(padding[0]), int(padding[1])
    dout_d, x_d, w_d = space.gpu(dout), space.gpu(x), space.gpu(w)
    dx = space.empty(tuple(x.shape), x.dtype)
    dw = space.empty(tuple(w.shape), x.dtype)
    db = space.empty((C_out,), x.dtype)
    space.launch(_dx_kernel, dx.size, dout_d, w_d, sh, sw, ph, pw, space.gpu(dx))
    _split_sum(space, _dw_partial_kernel, (dout_d, x_d, int(kH), int(kW), sh, sw, ph, pw), dw, N * H_out)
    _split_sum(space, _db_partial_kernel, (dout_d,), db, N * H_out)
    return space.result(dx), space.result(dw), space.result(db)
