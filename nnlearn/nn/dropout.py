"""``Dropout``: randomly zero activations during training, a regulariser."""
from __future__ import annotations

from numbers import Real
from typing import Any

from .. import functional as F
from ..tensor import Tensor
from .module import Module


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The scaling keeps the expected value of every activation unchanged, so in evaluation mode
    (``model.eval()``) the layer is simply the identity. The mask is drawn from the library's generator, so
    ``nnlearn.manual_seed`` makes it repeatable.

    Args:
        p: probability of zeroing an element, in [0, 1] (default 0.5).

    Shapes:
        ``input: (*)`` -> ``output: (*)``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p(p)

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, p=self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _check_p(p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, Real):
        raise TypeError(f"Dropout: p must be a number in [0, 1], got {type(p).__name__}")
    if not 0 <= p <= 1:
        raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
    return float(p)
