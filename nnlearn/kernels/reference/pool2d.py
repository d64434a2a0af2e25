"""Max and average pooling in plain NumPy, over window views of the input.

Pooling summarises each ``kH x kW`` window of every channel by one number: its maximum or its mean. There is
nothing to learn, so the backward pass only has to route ``dout`` back to the input:

* **max** — only the element that won the window influenced the output, so it alone receives the gradient
  (the forward pass remembers where it was: ``indices``);
* **average** — each of the ``kH * kW`` elements contributed ``1 / (kH * kW)`` of the output, so each receives
  that share of the gradient.

Overlapping windows (stride smaller than the kernel) send several gradients to one element; they add up.
Conventions follow PyTorch: max-pool padding acts as ``-inf`` (it never wins), the first maximum wins a tie,
and average pooling divides by the whole window, padding included (``count_include_pad=True``).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .conv2d import pad2d


def pool_windows(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int], pad_value: float) -> np.ndarray:
    """A read-only view of every pooling window: ``x: (N, C, H, W)`` -> ``(N, C, H_out, W_out, kH, kW)``."""
    windows = sliding_window_view(pad2d(x, padding, pad_value), kernel_size, axis=(2, 3))
    return windows[:, :, ::stride[0], ::stride[1]]


def max_pool2d_forward(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each window, and where it was.

    Args:
        x: ``(N, C, H, W)``; kernel_size, stride, padding: ``(int, int)`` pairs.

    Returns:
        ``out: (N, C, H_out, W_out)`` and ``indices``: int64, same shape, the flat position ``h * W + w`` of
        each maximum in its ``(H, W)`` plane of ``x`` (PyTorch's ``return_indices=True``).
    """
    N, C, H, W = x.shape
    (kH, kW), (sh, sw), (ph, pw) = kernel_size, stride, padding
    windows = pool_windows(x, kernel_size, stride, padding, -np.inf)
    H_out, W_out = windows.shape[2:4]
    flat = windows.reshape(N, C, H_out, W_out, kH * kW)
    # argmax returns the first maximum in row-major (di, dj) order: PyTorch's tie rule.
    arg = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    # Turn "position inside window (i, j)" into "position in the unpadded plane".
    di, dj = np.divmod(arg, kW)
    h = np.arange(H_out)[:, None] * sh - ph + di           # (N, C, H_out, W_out) by broadcasting
    w = np.arange(W_out)[None, :] * sw - pw + dj
    # A window's maximum can only be in the padding when every real element in it is -inf too; PyTorch then
    # reports the window's first real element, which is where clipping moves argmax's answer (0, 0).
    h, w = np.clip(h, 0, H - 1), np.clip(w, 0, W - 1)
    indices = (h * W + w).astype(np.int64)
    return np.ascontiguousarray(out, dtype=x.dtype), indices


def max_pool2d_backward(dout: np.ndarray, indices: np.ndarray, x_shape: tuple[int, int, int, int]) -> np.ndarray:
    """Send each window's gradient to the element that was its maximum.

    Args:
        dout: ``(N, C, H_out, W_out)``; indices: from :func:`max_pool2d_forward`; x_shape: ``(N, C, H, W)``.

    Returns:
        ``dx: (N, C, H, W)``, of ``dout``'s dtype.
    """
    N, C, H, W = x_shape
    dx = np.zeros((N * C, H * W), dtype=dout.dtype)
    planes = np.arange(N * C)[:, None]                     # which (n, c) plane each window belongs to
    # np.add.at, not dx[...] += dout: overlapping windows may share a maximum, and each must add its share
    # (fancy-index += would keep only the last one).
    np.add.at(dx, (planes, indices.reshape(N * C, -1)), dout.reshape(N * C, -1))
    return dx.reshape(N, C, H, W)


def avg_pool2d_forward(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> np.ndarray:
    """The mean of each window, padding counted as zeros.

    Args:
        x: ``(N, C, H, W)``; kernel_size, stride, padding: ``(int, int)`` pairs.

    Returns:
        ``out: (N, C, H_out, W_out)``.
    """
    windows = pool_windows(x, kernel_size, stride, padding, 0.0)
    return np.ascontiguousarray(windows.mean(axis=(-2, -1)), dtype=x.dtype)


def avg_pool2d_backward(dout: np.ndarray, x_shape: tuple[int, int, int, int], kernel_size: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """Spread each window's gradient evenly over its ``kH * kW`` elements.

    Args:
        dout: ``(N, C, H_out, W_out)``; x_shape: ``(N, C, H, W)``; the rest as in the forward pass.

    Returns:
        ``dx: (N, C, H, W)``, of ``dout``'s dtype.
    """
    N, C, H, W = x_shape
    (kH, kW), (sh, sw), (ph, pw) = kernel_size, stride, padding
    _, _, H_out, W_out = dout.shape
    share = dout / (kH * kW)
    dx_padded = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    # One kernel offset at a time, as in conv2d's col2im: for a fixed (di, dj) the windows hit distinct pixels.
    for di in range(kH):
        for dj in range(kW):
            dx_padded[:, :, di:di + sh * H_out:sh, dj:dj + sw * W_out:sw] += share
    return np.ascontiguousarray(dx_padded[:, :, ph:ph + H, pw:pw + W])
