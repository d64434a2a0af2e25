"""``MaxPool2d`` and ``AvgPool2d``: summarise each window of every channel by its maximum or its mean."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from ..functional._checks import check_pair
from ..tensor import Tensor
from .module import Module


class _Pool2d(Module):
    """What both pooling layers share: the window arguments, checked once and shown like PyTorch's."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        name = type(self).__name__
        # Checked now so a typo fails where the model is built; kept as given (int or pair), as PyTorch does.
        check_pair(kernel_size, "kernel_size", name, minimum=1)
        if stride is not None:
            check_pair(stride, "stride", name, minimum=1)
        check_pair(padding, "padding", name, minimum=0)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride  # the default tiles without overlap
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling, as ``torch.nn.MaxPool2d``: the largest value of each ``kernel_size`` window.

    Args:
        kernel_size: window size, an int or a pair ``(kH, kW)``.
        stride: step between windows (int or pair); default ``kernel_size``.
        padding: implicit ``-inf`` border on both sides (int or pair), at most half the kernel size.

    Shapes:
        ``input: (N, C, H, W)`` -> ``output: (N, C, H_out, W_out)``,
        ``H_out = (H + 2 * padding[0] - kernel_size[0]) // stride[0] + 1`` (likewise ``W_out``).
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Average pooling, as ``torch.nn.AvgPool2d``: the mean of each window (padding counts as zeros).

    Arguments and shapes as :class:`MaxPool2d`.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding)
