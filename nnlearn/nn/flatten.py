"""``Flatten``: merge a range of dimensions into one (e.g. images ``(N, C, H, W)`` into rows ``(N, C*H*W)``)."""
from __future__ import annotations

import math
from numbers import Integral
from typing import Any

from ..tensor import Tensor
from .module import Module


def _check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"Flatten: {name} must be an int, got {type(value).__name__}")
    return int(value)


class Flatten(Module):
    """Flatten dimensions ``start_dim`` to ``end_dim`` (inclusive; negative counts from the end) into one.

    The default keeps the batch dimension: ``(N, C, H, W)`` -> ``(N, C*H*W)``, ready for a ``Linear`` layer.

    Shapes:
        ``input: (*, S_start, ..., S_end, *)`` -> ``output: (*, S_start * ... * S_end, *)``.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = _check_int(start_dim, "start_dim")
        self.end_dim = _check_int(end_dim, "end_dim")

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"Flatten: input must be a Tensor, got {type(input).__name__}")
        ndim = max(input.ndim, 1)  # a 0-d tensor flattens like a 1-element vector, as in PyTorch
        start, end = self.start_dim, self.end_dim
        for name, dim in (("start_dim", start), ("end_dim", end)):
            if not -ndim <= dim < ndim:
                raise ValueError(f"Flatten: {name}={dim} is out of range for an input of shape {input.shape} "
                                 f"(expected a dim in [{-ndim}, {ndim - 1}])")
        start, end = start % ndim, end % ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim ({self.start_dim}) must not come after end_dim "
                             f"({self.end_dim}) for an input of shape {input.shape}")
        shape = input.shape if input.ndim else (1,)
        merged = math.prod(shape[start:end + 1])  # explicit, not -1: -1 is ambiguous for empty tensors
        return input.reshape(*shape[:start], merged, *shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
