"""``Embedding``: a lookup table that turns integer tokens (words, characters, ids) into learned vectors.

Looking up row ``i`` of the weight is the same as multiplying a one-hot vector for ``i`` by it, without building
the one-hot vector. Its gradient is that of indexing: each row receives the sum of the gradients of the positions
that looked it up (a token seen three times in a batch gets three contributions).
"""
from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from ..device import to_device
from ..dtypes import get_default_dtype
from ..tensor import Tensor, where
from . import init
from .module import Module
from .parameter import Parameter


def _check_size(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"Embedding: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"Embedding: {name} must be positive, got {value}")
    return int(value)


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``, as ``torch.nn.Embedding``.

    Args:
        num_embeddings: size of the vocabulary; valid indices are ``0 .. num_embeddings - 1``.
        embedding_dim: length of each vector.
        padding_idx: an index whose vector starts at zero and never receives a gradient (for padding tokens);
            negative values count from the end, as in PyTorch. Default None.
        dtype: dtype of the weight (default float32; keyword-only).

    Shapes:
        ``input: (*)`` integer indices of any shape -> ``output: (*, embedding_dim)``.

    Attributes:
        weight: Parameter ``(num_embeddings, embedding_dim)``, initialised from N(0, 1) (PyTorch's choice).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_embeddings = _check_size(num_embeddings, "num_embeddings")
        self.embedding_dim = _check_size(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, Integral):
                raise TypeError(f"Embedding: padding_idx must be an int or None, got {type(padding_idx).__name__}")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be in [{-self.num_embeddings}, "
                                 f"{self.num_embeddings - 1}] for num_embeddings={self.num_embeddings}, "
                                 f"got {padding_idx}")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 1) for every vector; the padding vector (if any) zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input: Any) -> Tensor:
        indices = self._check_indices(input)
        rows = self.weight[to_device(indices, self.weight.device)]
        if self.padding_idx is None:
            return rows
        # The padding vector is looked up like any other but must not learn: its positions take the
        # gradient-free copy of the rows, so the gradient reaches every row except it.
        learn = to_device((indices != self.padding_idx)[..., None], self.weight.device)
        return where(learn, rows, rows.detach())

    def _check_indices(self, input: Any) -> np.ndarray:
        """``input`` as an integer NumPy array of indices in ``[0, num_embeddings)``, or a clear error."""
        data = input.data if isinstance(input, Tensor) else input
        data = np.asarray(to_device(data, "cpu"))
        if data.size == 0 and data.dtype.kind == "f":   # [] arrives as float: no index to be wrong
            data = data.astype(np.int64)
        if data.dtype.kind not in "iu":
            raise TypeError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): input must hold integer "
                            f"indices (e.g. int64), got dtype {data.dtype}; convert with .astype('int64') "
                            f"if the values are whole numbers")
        bad = (data < 0) | (data >= self.num_embeddings)
        if bad.any():
            position = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): input indices must be in "
                             f"[0, {self.num_embeddings - 1}] (num_embeddings={self.num_embeddings}), got "
                             f"{int(data[position])} at position {position} of input of shape {data.shape}")
        return data.astype(np.intp, copy=False)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
