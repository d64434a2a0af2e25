"""``Linear`` (a fully connected layer, ``y = x W^T + b``) and ``Identity`` (``y = x``)."""
from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import numpy as np

from ..dtypes import get_default_dtype
from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


def _check_features(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"Linear: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"Linear: {name} must be positive, got {value}")
    return int(value)


class Linear(Module):
    """Fully connected layer: ``y = x @ weight.T + bias``.

    Args:
        in_features: size of each input sample (the last dimension of ``x``).
        out_features: size of each output sample.
        bias: learn an additive bias (default True).
        dtype: dtype of the parameters (default: :func:`nnlearn.get_default_dtype`, float32).

    Shapes:
        ``input: (*, in_features)`` -> ``output: (*, out_features)``; ``*`` is any number of leading dims.

    Attributes:
        weight: Parameter of shape ``(out_features, in_features)`` (PyTorch's layout), initialised from
            U(-1/sqrt(in_features), 1/sqrt(in_features)).
        bias: Parameter of shape ``(out_features,)`` from the same distribution, or None.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.in_features = _check_features(in_features, "in_features")
        self.out_features = _check_features(out_features, "out_features")
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation.

        ``kaiming_uniform_(weight, a=sqrt(5))`` has gain sqrt(2 / (1 + 5)) = sqrt(1/3), so its bound is
        sqrt(3) * sqrt(1/3) / sqrt(fan_in) = 1 / sqrt(fan_in): the same range as the bias.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        shape = getattr(input, "shape", None)
        if shape is not None and (len(shape) == 0 or shape[-1] != self.in_features):
            raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): input "
                             f"must have shape (*, {self.in_features}) (its last dim is in_features), "
                             f"got {tuple(shape)}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged. Handy as a placeholder (e.g. to remove a layer from a model).

    Any constructor arguments are accepted and ignored, as in PyTorch.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input
