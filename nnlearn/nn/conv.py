"""``Conv2d``: a 2-D convolution layer, a bank of ``out_channels`` learned filters slid over the image."""
from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..functional._checks import check_pair
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


def _check_channels(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"Conv2d: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"Conv2d: {name} must be positive, got {value}")
    return int(value)


class Conv2d(Module):
    """2-D convolution (cross-correlation) with learned filters, as ``torch.nn.Conv2d``.

    Each of the ``out_channels`` filters spans all ``in_channels`` and a ``kernel_size`` window; sliding it over
    the image with the given ``stride`` gives one output channel (a feature map).

    Args:
        in_channels: channels of the input image (1 for grey, 3 for RGB, or the previous layer's maps).
        out_channels: number of filters, hence of output channels.
        kernel_size: the filter's height and width, an int or a pair ``(kH, kW)``.
        stride: step between windows, an int or a pair (default 1).
        padding: zeros added on both sides of each spatial axis, an int or a pair (default 0).
        bias: learn one additive bias per output channel (default True; keyword-only).
        dtype: dtype of the parameters (default: :func:`nnlearn.get_default_dtype`, float32; keyword-only).

    Shapes:
        ``input: (N, in_channels, H, W)`` -> ``output: (N, out_channels, H_out, W_out)`` with
        ``H_out = (H + 2 * padding[0] - kernel_size[0]) // stride[0] + 1`` (likewise ``W_out``).

    Attributes:
        weight: Parameter of shape ``(out_channels, in_channels, kH, kW)`` (PyTorch's layout), initialised
            from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = in_channels * kH * kW``.
        bias: Parameter of shape ``(out_channels,)`` from the same distribution, or None.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 *, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.in_channels = _check_channels(in_channels, "in_channels")
        self.out_channels = _check_channels(out_channels, "out_channels")
        # Stored as pairs, as PyTorch does, so the repr and the arithmetic never have to ask "int or tuple?".
        self.kernel_size = check_pair(kernel_size, "kernel_size", "Conv2d", minimum=1)
        self.stride = check_pair(stride, "stride", "Conv2d", minimum=1)
        self.padding = check_pair(padding, "padding", "Conv2d", minimum=0)
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels, *self.kernel_size), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation, as for ``Linear`` but with ``fan_in = in_channels * kH * kW``.

        ``kaiming_uniform_(weight, a=sqrt(5))`` has bound ``sqrt(3) * sqrt(1/3) / sqrt(fan_in) = 1/sqrt(fan_in)``.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text
