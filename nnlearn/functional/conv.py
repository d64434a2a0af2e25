"""2-D convolution, ``torch.nn.functional.conv2d``: a fused autograd Function over the conv2d kernels.

The arithmetic lives in :mod:`nnlearn.kernels` (readable NumPy, Numba on the CPU, or CUDA, chosen with
:func:`nnlearn.set_backend`). This file only checks the arguments, so that a wrong shape fails here with a
message naming both shapes rather than deep inside compiled code, and connects the kernels to autograd.
"""
from __future__ import annotations

from typing import Any

from ..autograd import Context, Function
from ..tensor import Tensor
from ._checks import (as_tensor, check_4d, check_pair, check_window_fits, contiguous, kernels_for,
                      require_kernel_dtype, require_same_dtype)


class Conv2d(Function):
    """``out = conv2d(x, w) + b`` with ``x: (N, C_in, H, W)``, ``w: (C_out, C_in, kH, kW)``, ``b: (C_out,)``."""

    @staticmethod
    def forward(ctx: Context, x, weight, bias, stride, padding):
        # Chosen once: the backward pass must use the same implementation (and device) as the forward pass.
        ctx.kernels = kernels_for("conv2d", x)
        # The kernels index raw memory: hand them C-ordered arrays (a transposed view would be read wrongly).
        x, weight = contiguous(x), contiguous(weight)
        bias = None if bias is None else contiguous(bias)
        ctx.save_for_backward(x, weight, stride, padding)
        return ctx.kernels.conv2d_forward(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx: Context, grad):
        x, weight, stride, padding = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx, dw, db = ctx.kernels.conv2d_backward(contiguous(grad), x, weight, stride, padding)
        return (dx if need_x else None, dw if need_w else None, db if need_b else None, None, None)


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0) -> Tensor:
    """2-D cross-correlation of a batch of images with a bank of filters, as ``torch.nn.functional.conv2d``.

    Args:
        input: ``(N, C_in, H, W)`` images.
        weight: ``(C_out, C_in, kH, kW)`` filters (PyTorch's layout).
        bias: ``(C_out,)``, added to every position of each output channel, or None.
        stride: step between windows, an int or a pair ``(sh, sw)``.
        padding: zeros added on both sides of each spatial axis, an int or a pair ``(ph, pw)``.

    Returns:
        ``(N, C_out, H_out, W_out)`` with ``H_out = (H + 2 ph - kH) // sh + 1`` (likewise ``W_out``).

    All tensors must share one dtype, float32 or float64.
    """
    fn = "conv2d"
    input, weight = as_tensor(input, "input", fn), as_tensor(weight, "weight", fn)
    stride = check_pair(stride, "stride", fn, minimum=1)
    padding = check_pair(padding, "padding", fn, minimum=0)
    check_4d(input, "input", "(N, C_in, H, W)", fn)
    check_4d(weight, "weight", "(C_out, C_in, kH, kW)", fn)
    require_kernel_dtype(input, "input", fn)
    require_kernel_dtype(weight, "weight", fn)
    require_same_dtype(input, "input", weight, "weight", fn)
    c_out, c_in, kh, kw = weight.shape
    if input.shape[1] != c_in:
        raise ValueError(f"{fn}: input has {input.shape[1]} channels, weight expects {c_in}: shapes "
                         f"{input.shape} and {weight.shape} (input is (N, C_in, H, W), weight is "
                         f"(C_out, C_in, kH, kW))")
    check_window_fits(input.shape, (kh, kw), padding, fn,
                      f"input shape {input.shape}, weight shape {weight.shape}, padding {padding}")
    if bias is not None:
        bias = as_tensor(bias, "bias", fn)
        if bias.shape != (c_out,):
            raise ValueError(f"{fn}: bias must have shape (C_out,) = ({c_out},) to match weight of shape "
                             f"{weight.shape}, got bias of shape {bias.shape}")
        require_same_dtype(bias, "bias", weight, "weight", fn)
    return Conv2d.apply(input, weight, bias, stride, padding)

