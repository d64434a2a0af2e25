"""2-D convolution in plain NumPy: im2col, one matrix multiplication, and the same steps run backwards.

A convolution layer slides each of its ``C_out`` filters over the input and takes a dot product at every
position. Written as loops that is six nested ``for`` statements; written as linear algebra it is one
matrix product:

1. **im2col** — copy every ``(C_in, kH, kW)`` window of the (zero-padded) input into one row of a matrix
   ``cols`` of shape ``(N * H_out * W_out, C_in * kH * kW)``;
2. **matmul** — ``cols @ w.reshape(C_out, -1).T`` is every filter's dot product with every window at once.

The backward pass runs these steps in reverse: the gradient of a matrix product is two matrix products, and
the transpose of "copy windows out" (im2col) is "add windows back" (col2im), because a pixel that appeared
in several overlapping windows receives the gradient of each of them.

Like ``torch.nn.functional.conv2d`` this is a cross-correlation: the filter is not flipped.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Number of window positions along one axis: ``(size + 2 * padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def pad2d(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    """``x: (N, C, H, W)`` -> ``(N, C, H + 2 ph, W + 2 pw)``, the border filled with ``value``."""
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def im2col(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
           padding: tuple[int, int]) -> np.ndarray:
    """Every window of ``x`` as one row: ``x: (N, C, H, W)`` -> ``cols: (N, H_out, W_out, C * kH * kW)``.

    ``cols[n, i, j]`` holds the window whose top-left corner is at ``(i * sh - ph, j * sw - pw)`` in ``x``,
    flattened in ``(c, di, dj)`` order — the same order as a filter ``w[o]`` of shape ``(C, kH, kW)``.
    """
    N, C, H, W = x.shape
    (kH, kW), (sh, sw) = kernel_size, stride
    H_out = output_size(H, kH, sh, padding[0])
    W_out = output_size(W, kW, sw, padding[1])
    # A view of every kH x kW window at stride 1, (N, C, H_pad - kH + 1, W_pad - kW + 1, kH, kW); no copy yet.
    windows = sliding_window_view(pad2d(x, padding), (kH, kW), axis=(2, 3))
    # Keep every sh-th row and sw-th column of window positions: that is what stride means.
    windows = windows[:, :, ::sh, ::sw]
    assert windows.shape[2:4] == (H_out, W_out)
    # Put the window position first and the window contents last, then flatten the contents.
    # This reshape copies: each input pixel appears in up to kH * kW rows, which is im2col's memory cost.
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(N, H_out, W_out, C * kH * kW)


def col2im(dcols: np.ndarray, x_shape: tuple[int, int, int, int], kernel_size: tuple[int, int],
           stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """The transpose of :func:`im2col`: ``dcols: (N, H_out, W_out, C * kH * kW)`` -> ``dx: (N, C, H, W)``.

    Each entry of ``dcols`` is the gradient for one copy of an input pixel; a pixel's gradient is the sum over
    all its copies. We add them back one kernel offset ``(di, dj)`` at a time: for a fixed offset the windows
    touch distinct pixels (a strided grid), so ``+=`` on a slice is safe; overlaps only happen between offsets.
    """
    N, C, H, W = x_shape
    (kH, kW), (sh, sw), (ph, pw) = kernel_size, stride, padding
    _, H_out, W_out, _ = dcols.shape
    dcols = dcols.reshape(N, H_out, W_out, C, kH, kW).transpose(0, 3, 4, 5, 1, 2)  # (N, C, kH, kW, H_out, W_out)
    dx_padded = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dcols.dtype)
    for di in range(kH):
        for dj in range(kW):
            # Window (i, j) saw padded pixel (i * sh + di, j * sw + dj) at offset (di, dj).
            dx_padded[:, :, di:di + sh * H_out:sh, dj:dj + sw * W_out:sw] += dcols[:, :, di, dj]
    # Gradients that landed on the zero padding belong to no input pixel: drop them.
    return dx_padded[:, :, ph:ph + H, pw:pw + W]


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple[int, int],
                   padding: tuple[int, int]) -> np.ndarray:
    """Cross-correlate ``x`` with the filters ``w`` and add the bias ``b``.

    Args:
        x: ``(N, C_in, H, W)`` input images.
        w: ``(C_out, C_in, kH, kW)`` filters (PyTorch's layout).
        b: ``(C_out,)`` bias, or ``None``.
        stride, padding: ``(sh, sw)`` and ``(ph, pw)``; ``padding`` zeros are added on both sides.

    Returns:
        ``out: (N, C_out, H_out, W_out)`` with ``H_out = (H + 2 ph - kH) // sh + 1`` (likewise ``W_out``).
    """
    C_out, _, kH, kW = w.shape
    cols = im2col(x, (kH, kW), stride, padding)           # (N, H_out, W_out, C_in * kH * kW)
    out = cols @ w.reshape(C_out, -1).T                    # (N, H_out, W_out, C_out): all dot products at once
    if b is not None:
        out += b                                           # broadcasts over the last axis, C_out
    # Channels-first like the input, and contiguous so the caller gets an ordinary array.
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=x.dtype)


def conv2d_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: tuple[int, int],
                    padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv2d_forward` given ``dout = dL/dout``.

    Args:
        dout: ``(N, C_out, H_out, W_out)``; x, w, stride, padding: as in the forward pass.

    Returns:
        ``(dx, dw, db)`` with the shapes of ``x``, ``w`` and ``(C_out,)``.
    """
    C_out, _, kH, kW = w.shape
    cols = im2col(x, (kH, kW), stride, padding)           # recomputed rather than stored: memory over time
    dout_rows = dout.transpose(0, 2, 3, 1)                 # (N, H_out, W_out, C_out), matching cols' rows
    # The bias was added at every output position: its gradient sums over them and the batch.
    db = dout.sum(axis=(0, 2, 3))
    # out = cols @ W.T  =>  dW = dout.T @ cols, summed over every row (image n, position i, j).
    dw = np.tensordot(dout_rows, cols, axes=([0, 1, 2], [0, 1, 2])).reshape(w.shape)
    # ... and dcols = dout @ W, one gradient per copied pixel, which col2im adds back into place.
    dcols = dout_rows @ w.reshape(C_out, -1)
    dx = col2im(dcols, x.shape, (kH, kW), stride, padding)
    return (np.ascontiguousarray(dx, dtype=x.dtype), dw.astype(x.dtype, copy=False),
            db.astype(x.dtype, copy=False))
