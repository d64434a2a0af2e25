"""``Parameter``: a Tensor that a :class:`~nnlearn.nn.Module` learns.

A Parameter is an ordinary leaf :class:`~nnlearn.Tensor` (so autograd fills its ``.grad`` and optimizers update
its ``.data``) with two differences: it requires a gradient by default, and assigning one to a Module attribute
registers it, so ``model.parameters()`` finds it.
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor.

    Args:
        data: a number, nested list, NumPy array or Tensor. A Tensor's or array's storage is shared, not
            copied (as in PyTorch), so ``Parameter(t)`` sees later changes to ``t.data`` in place.
        requires_grad: whether autograd computes a gradient for it (default True).

    >>> w = Parameter([[1.0, 2.0]])
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data  # share the array; a Parameter is a leaf even if `data` came out of an operation
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
