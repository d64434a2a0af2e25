"""Max and average pooling, ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``: fused Functions over the kernels.

As in :mod:`~nnlearn.functional.conv`, the arithmetic is in :mod:`nnlearn.kernels` (chosen with
:func:`nnlearn.set_backend`); this file checks the arguments and connects the kernels to autograd.
"""
from __future__ import annotations

from typing import Any

from ..autograd import Context, Function
from ..tensor import Tensor
from ._checks import as_tensor, check_4d, check_pair, check_window_fits, contiguous, kernels_for, require_kernel_dtype


class MaxPool2d(Function):
    """The maximum of each window; the gradient goes to the element that was the maximum."""

    @staticmethod
    def forward(ctx: Context, x, kernel_size, stride, padding):
        ctx.kernels = kernels_for("pool2d", x)  # chosen once, so backward runs on the same implementation
        out, indices = ctx.kernels.max_pool2d_forward(contiguous(x), kernel_size, stride, padding)
        ctx.save_for_backward(indices, x.shape)  # where each maximum was: all backward needs, not x itself
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        indices, x_shape = ctx.saved
        return ctx.kernels.max_pool2d_backward(contiguous(grad), indices, x_shape), None, None, None


class AvgPool2d(Function):
    """The mean of each window (padding counts as zeros); each element gets ``1 / (kH kW)`` of the gradient."""

    @staticmethod
    def forward(ctx: Context, x, kernel_size, stride, padding):
        ctx.kernels = kernels_for("pool2d", x)
        ctx.save_for_backward(x.shape, kernel_size, stride, padding)
        return ctx.kernels.avg_pool2d_forward(contiguous(x), kernel_size, stride, padding)

    @staticmethod
    def backward(ctx: Context, grad):
        x_shape, kernel_size, stride, padding = ctx.saved
        dx = ctx.kernels.avg_pool2d_backward(contiguous(grad), x_shape, kernel_size, stride, padding)
        return dx, None, None, None


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Max pooling over ``kernel_size`` windows, as ``torch.nn.functional.max_pool2d``.

    Args:
        input: ``(N, C, H, W)``, float32 or float64.
        kernel_size: window size, an int or a pair ``(kH, kW)``.
        stride: step between windows (int or pair); None (the default) means ``kernel_size``, so the windows
            tile the image without overlapping.
        padding: implicit ``-inf`` border on both sides (int or pair), at most half the kernel size.

    Returns:
        ``(N, C, H_out, W_out)`` with ``H_out = (H + 2 ph - kH) // sh + 1`` (likewise ``W_out``).
    """
    input, kernel_size, stride, padding = _check_pool_args("max_pool2d", input, kernel_size, stride, padding)
    return MaxPool2d.apply(input, kernel_size, stride, padding)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Average pooling over ``kernel_size`` windows, as ``torch.nn.functional.avg_pool2d``.

    Arguments and output shape as :func:`max_pool2d`; the padding counts as zeros and each window is divided by
    ``kH * kW`` (PyTorch's default ``count_include_pad=True``).
    """
    input, kernel_size, stride, padding = _check_pool_args("avg_pool2d", input, kernel_size, stride, padding)
    return AvgPool2d.apply(input, kernel_size, stride, padding)


def _check_pool_args(fn: str, input: Any, kernel_size: Any, stride: Any,
                     padding: Any) -> tuple[Tensor, tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Validate a pooling call; return the input as a Tensor and the three arguments as ``(int, int)`` pairs."""
    input = as_tensor(input, "input", fn)
    kernel_size = check_pair(kernel_size, "kernel_size", fn, minimum=1)
    stride = kernel_size if stride is None else check_pair(stride, "stride", fn, minimum=1)
    padding = check_pair(padding, "padding", fn, minimum=0)
    check_4d(input, "input", "(N, C, H, W)", fn)
    require_kernel_dtype(input, "input", fn)
    # PyTorch's rule: with more padding than half a window, some windows would hold nothing but padding.
    if padding[0] > kernel_size[0] // 2 or padding[1] > kernel_size[1] // 2:
        raise ValueError(f"{fn}: padding must be at most half of kernel_size, got padding={padding} for "
                         f"kernel_size={kernel_size} (a window must not lie entirely in the padding)")
    check_window_fits(input.shape, kernel_size, padding, fn,
                      f"input shape {input.shape}, kernel_size {kernel_size}, padding {padding}")
    return input, kernel_size, stride, padding
