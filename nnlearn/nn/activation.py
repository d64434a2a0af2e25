"""Activation functions as Modules, so they can sit inside :class:`~nnlearn.nn.Sequential`.

Each one just calls the function of the same name in :mod:`nnlearn.functional`, where the math, the
gradients and the input checks live. ``input: (*)`` -> ``output: (*)`` (the same shape) for all of them.
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Any

from .. import functional as F
from ..tensor import Tensor
from .module import Module


def _check_real(value: Any, name: str, layer: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{layer}: {name} must be a number, got {type(value).__name__}")
    return float(value)


class ReLU(Module):
    """``max(0, x)`` elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class LeakyReLU(Module):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise: a ReLU whose negative side still has a gradient."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = _check_real(negative_slope, "negative_slope", "LeakyReLU")

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise: smooth, with outputs down to ``-alpha``."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = _check_real(alpha, "alpha", "ELU")

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """``x * Phi(x)`` with Phi the standard normal CDF (``approximate='none'``) or its tanh approximation
    (``approximate='tanh'``): the activation of transformers."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``: squashes to (0, 1)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """Hyperbolic tangent: squashes to (-1, 1), centred at 0."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


def _check_dim(dim: Any, layer: str) -> int | None:
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, Integral)):
        raise TypeError(f"{layer}: dim must be an int or None, got {type(dim).__name__}")
    return None if dim is None else int(dim)


class Softmax(Module):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``: turns scores into probabilities that sum to 1.

    Args:
        dim: the dimension that sums to 1, e.g. ``dim=1`` for scores of shape ``(N, C)``. ``None`` means the
            last dimension (PyTorch guesses from the number of dims and warns; pass ``dim`` explicitly).
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _check_dim(dim, "Softmax")

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, dim=-1 if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably; pairs with :class:`~nnlearn.nn.NLLLoss`.

    Args:
        dim: as for :class:`Softmax` (``None`` means the last dimension).
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _check_dim(dim, "LogSoftmax")

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, dim=-1 if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
