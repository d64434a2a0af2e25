"""``Dataset``: anything with a length that returns one sample per index; ``TensorDataset`` wraps arrays.

As in PyTorch, a data set answers two questions — how many samples (``len(ds)``) and what is sample ``i``
(``ds[i]``) — and the ``DataLoader`` turns those answers into shuffled mini-batches.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset"]


class Dataset:
    """Base class for data sets: subclasses define ``__len__`` and ``__getitem__(index) -> sample``.

    A sample is usually a tuple ``(x, y)`` of arrays, Tensors or numbers; the ``DataLoader`` stacks the
    samples of a batch field by field.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples taken row by row from arrays or Tensors that share their first dimension.

    ``TensorDataset(X, y)`` with ``X: (N, D)`` and ``y: (N,)`` gives ``ds[i] == (X[i], y[i])`` as Tensors.
    NumPy arrays keep their dtype; Python lists follow the Tensor rule (floats become the default dtype).
    The data are stored as NumPy arrays in ``arrays`` (no gradient history is kept).
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array or Tensor, got none")
        arrays = []
        for i, t in enumerate(tensors):
            array = t.data if isinstance(t, Tensor) else Tensor(t).data
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: tensors[{i}] must have at least one dimension "
                                 f"(one row per sample), got a scalar")
            arrays.append(array)
        n = len(arrays[0])
        for i, array in enumerate(arrays[1:], start=1):
            if len(array) != n:
                raise ValueError(f"TensorDataset: all tensors must have the same first dimension: "
                                 f"tensors[0] has {n} rows but tensors[{i}] has {len(array)}")
        self.arrays: tuple[np.ndarray, ...] = tuple(arrays)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The stored data as Tensors (sharing memory with ``arrays``), as PyTorch names it."""
        return tuple(Tensor(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        if isinstance(index, Tensor):
            index = index.data
        return tuple(Tensor(a[index]) for a in self.arrays)

    def __repr__(self) -> str:
        fields = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({len(self)} samples: {fields})"
